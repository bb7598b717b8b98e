// recall-cache export and import: entries to and from a zstd-compressed tar archive, for a cache directory (import also into a pack root).
#include <memory>
#include <string>

#include <fmt/core.h>

#include <recall/policy/environment.hpp>

#include "management.hpp"
#include "output.hpp"
#include "validators.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

struct export_options {
  std::string file;     // the archive to write
  std::string function; // only this function (name or folder)
  std::string scope;    // one partition only
};

struct import_options {
  std::string file; // the archive to read
};

// Damaged entries are left out (said on stderr), not fatal.
int run(const directory_target& d, const export_options& o) {
  const auto report = recall::export_cache(d.root, o.file, o.function, terminal_progress(), o.scope);
  for (const auto& [path, why] : report.skipped) {
    fmt::print(stderr, "recall-cache: left out damaged entry {}: {}\n", path.string(), why);
  }
  fmt::print("exported {} ({}) to {}{}\n", entry_count(report.entries), human_size(report.bytes), o.file,
             report.skipped.empty() ? "" : fmt::format("; {} damaged entries left out", report.skipped.size()));
  return 0;
}

// 1 when entries were rejected or the archive stopped early (damaged, truncated).
int run(const directory_target& d, const import_options& o) {
  recall::import_options options;
  options.progress = terminal_progress();
  options.layout = recall::store_layout_from_environment(); // RECALL_STORE=pack imports into a pack root
  const auto report = recall::import_cache(d.root, o.file, options);
  for (const auto& [member, why] : report.problems) {
    fmt::print(stderr, "recall-cache: {}: {}\n", member, why);
  }
  fmt::print("imported {}, already present {}, skipped incompatible {}, rejected corrupt {}\n", report.imported,
             report.already_present, report.skipped_incompatible, report.rejected);
  if (!report.stopped.empty()) {
    fmt::print(stderr, "recall-cache: import {}: {}\n", o.file, report.stopped);
    return 1;
  }
  return report.rejected == 0 ? 0 : 1;
}

} // namespace

void add_archive_verbs(CLI::App& app, cli_context& context) {
  auto e = std::make_shared<export_options>();
  auto* export_verb = app.add_subcommand("export", "write entries to FILE, a zstd-compressed tar archive");
  export_verb->add_option("file", e->file, "the archive to write (replaced if it exists)")->required();
  export_verb->add_option("--function", e->function, "only this function's entries (name or folder)");
  add_scope_option(*export_verb, e->scope);
  export_verb->callback([e, &context] { context.exit_code = run_verb(context.flags, {.scope = e->scope}, *e); });

  auto i = std::make_shared<import_options>();
  auto* import_verb = app.add_subcommand("import", "verify and add the entries of an archive made by export");
  import_verb->add_option("file", i->file, "the archive to read")->required()->check(CLI::ExistingFile);
  // import may start a cache; every other verb needs one.
  import_verb->callback([i, &context] { context.exit_code = run_verb(context.flags, {.creates_root = true}, *i); });
}

} // namespace recall_cache
