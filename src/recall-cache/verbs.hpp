// recall-cache's verbs: one function per verb (or group of related verbs) that adds its subcommand, options and callback.
#pragma once

#include <CLI/CLI.hpp>

#include "cache_target.hpp"

namespace recall_cache {

// What every verb's callback shares: the global flags (parsed before any callback runs) and the
// exit code main() returns, which the callback of the verb that ran sets.
struct cli_context {
  store_flags flags;
  int exit_code = 0;
};

// Each adds its subcommand(s) to `app`; the callback runs the verb on the store `context.flags`
// name and sets `context.exit_code`. `context` must outlive app.parse().
void add_info_verb(CLI::App& app, cli_context& context);     // info.cpp
void add_entry_verbs(CLI::App& app, cli_context& context);   // entries.cpp: ls, show
void add_running_verb(CLI::App& app, cli_context& context);  // running.cpp
void add_prune_verb(CLI::App& app, cli_context& context);    // prune.cpp
void add_clear_verb(CLI::App& app, cli_context& context);    // clear.cpp
void add_verify_verb(CLI::App& app, cli_context& context);   // verify.cpp
void add_archive_verbs(CLI::App& app, cli_context& context); // archive.cpp: export, import

} // namespace recall_cache
