// recall-cache's CLI11 validators and shared options: sizes, durations, counts, partition names (--scope).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace recall_cache {

// Validators that run recall's own parsers, so a bad value is reported in CLI11's one line (and
// exit code 2) like any other bad flag.
[[nodiscard]] CLI::Validator size_validator();     // recall::parse_size: 500M, 5G, 1048576
[[nodiscard]] CLI::Validator duration_validator(); // recall::parse_duration: 90s, 30m, 12h, 7d
[[nodiscard]] CLI::Validator count_validator();    // a whole number, 0 or more

// Adds --scope NAME to `verb`: one partition folder (recall::scope), for the verbs that walk the
// cache; the name is checked as recall checks partition folder names.
void add_scope_option(CLI::App& verb, std::string& into);

} // namespace recall_cache
