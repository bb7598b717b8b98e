// recall-cache verify: check every entry's header and checksums in a cache directory or pack root, and with --repair remove the damaged ones.
#include <memory>
#include <string>

#include <fmt/core.h>

#include "management.hpp"
#include "output.hpp"
#include "validators.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

struct verify_options {
  bool repair = false; // remove damaged entries
  std::string scope;   // one partition only
};

// One line per damaged entry, then the count; 1 when damaged entries are left or some could
// not be removed.
int run(const directory_target& d, const verify_options& o) {
  const auto fixing = o.repair ? recall::repair::yes : recall::repair::no;
  const auto report =
      d.pack ? recall::pack_verify(d.root, fixing) : recall::verify(d.root, fixing, terminal_progress(), o.scope);
  for (const auto& [path, reason] : report.problems) {
    fmt::print("{}{}: {}\n", o.repair ? "removed " : "damaged ", path.string(), reason);
  }
  fmt::print("{} damaged entries{}\n", report.entries, o.repair && report.entries > 0 ? " removed" : "");
  if (report_failures(report) != 0) {
    return 1;
  }
  return report.entries == 0 || o.repair ? 0 : 1;
}

} // namespace

void add_verify_verb(CLI::App& app, cli_context& context) {
  auto o = std::make_shared<verify_options>();
  auto* verb = app.add_subcommand("verify", "check every entry's header and checksums");
  verb->add_flag("--repair", o->repair, "remove damaged entries");
  add_scope_option(*verb, o->scope);
  verb->callback([o, &context] { context.exit_code = run_verb(context.flags, {.scope = o->scope}, *o); });
}

} // namespace recall_cache
