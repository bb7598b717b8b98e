// recall-cache prune: remove entries until the cache is within a size, a count and an age (and, with --superseded, older versions), on a cache directory, a pack root, Redis or S3.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "management.hpp"
#include "output.hpp"
#include "validators.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

// What prune was asked, as parsed from the command line.
struct prune_request {
  std::string max_size;
  std::optional<std::uint64_t> max_count;
  std::string max_age;
  std::string policy = "lru"; // lru or cost
  std::string function;
  std::string scope;
  bool dry = false;
  bool verbose = false;
  bool superseded = false;

  [[nodiscard]] bool has_limits() const { return !max_size.empty() || max_count || !max_age.empty(); }

  [[nodiscard]] recall::prune_policy prune_policy() const {
    return policy == "cost" ? recall::prune_policy::cost : recall::prune_policy::lru;
  }

  // The limits and filters as recall::prune takes them; the sizes and durations were validated
  // on the command line.
  [[nodiscard]] recall::prune_options options() const {
    recall::prune_options o;
    if (!max_size.empty()) {
      o.max_size = recall::parse_size(max_size);
    }
    o.max_count = max_count;
    if (!max_age.empty()) {
      o.max_age = recall::parse_duration(max_age);
    }
    o.policy = prune_policy();
    o.function = function;
    o.scope = scope;
    o.dry = dry ? recall::dry_run::yes : recall::dry_run::no;
    o.listing = verbose ? recall::prune_listing::entries : recall::prune_listing::totals;
    return o;
  }

  // "removed" or "would remove".
  [[nodiscard]] std::string_view verb() const { return dry ? "would remove" : "removed"; }
};

std::string_view reason_text(recall::prune_reason r) {
  return r == recall::prune_reason::age ? "unused too long" : "over the limits";
}

// What --superseded removed, in one line; on a pack root, where the space goes.
void print_superseded(const recall::removal_report& removed, const prune_request& request, bool pack) {
  fmt::print("{} {} of superseded versions ({}){}\n", request.verb(), entry_count(removed.entries),
             human_size(removed.bytes),
             !pack || removed.entries == 0 ? ""
             : request.dry ? " from the pack index (prune then compacts the segments that waste space, returning it)"
                           : " from the pack index, and compacted the segments that waste space (space left in "
                             "the others returns at a later prune)");
}

// --superseded needs every version of a name in view.
bool refuse_function_filter(const prune_request& request) {
  if (request.superseded && !request.function.empty()) {
    fmt::print(stderr, "recall-cache: prune --superseded works on every function (no --function)\n");
    return true;
  }
  return false;
}

// Superseded versions first (when asked), then the limits: recall::prune, or recall::pack_prune on
// a pack root (recall::prune_superseded tells a pack root by itself).
int run(const directory_target& d, const prune_request& request) {
  if (request.superseded) {
    if (refuse_function_filter(request)) {
      return 2;
    }
    const auto removed = recall::prune_superseded(d.root, request.dry ? recall::dry_run::yes : recall::dry_run::no,
                                                  terminal_progress(), request.scope);
    print_superseded(removed, request, d.pack);
    if (!request.has_limits()) {
      return 0;
    }
  }
  recall::prune_options options = request.options();
  options.progress = terminal_progress();
  const auto report = d.pack ? recall::pack_prune(d.root, options) : recall::prune(d.root, options);
  for (const auto& e : report.removed) {
    fmt::print("{} {}  {:>10}  last use {}  {}{}\n", request.verb(), e.path.string(), human_size(e.size),
               age(e.last_use),
               options.policy == recall::prune_policy::cost ? "compute " + human_duration(e.compute_time) + "  " : "",
               reason_text(e.reason));
  }
  for (const auto& [path, why] : report.failures) {
    fmt::print(stderr, "recall-cache: cannot remove {}: {}\n", path.string(), why);
  }
  fmt::print("{} {} of {} ({} of {}); {} ({}) kept\n", request.verb(), report.removed_entries,
             entry_count(report.considered_entries), human_size(report.removed_bytes),
             human_size(report.considered_bytes), entry_count(report.kept_entries), human_size(report.kept_bytes));
  if (report.removed_temp_files != 0) {
    fmt::print("{} {} temp files ({}) left by writers that died\n", request.verb(), report.removed_temp_files,
               human_size(report.removed_temp_bytes));
  }
  return report.failures.empty() ? 0 : 1;
}

#if RECALL_CACHE_WITH_REDIS
// Superseded versions first (when asked: the identities of a name other than the one saved most
// recently), then oldest creation first (recall::redis_prune): Redis keeps no last use per entry.
int run(const redis_target& r, const prune_request& request) {
  if (request.superseded) {
    if (refuse_function_filter(request)) {
      return 2;
    }
    print_superseded(recall::prune_superseded(*r.store, request.dry ? recall::dry_run::yes : recall::dry_run::no),
                     request, false);
    if (!request.has_limits()) {
      return 0;
    }
  }
  const auto report = recall::redis_prune(*r.store, request.options());
  for (const auto& p : report.removed) {
    fmt::print("{} {}  {:>10}  created {}  {}  {}\n", request.verb(), p.entry.call.hex(), human_size(p.entry.size),
               age(p.entry.created), p.entry.function.name,
               p.reason == recall::prune_reason::age ? "too old" : "over the limits");
  }
  fmt::print("{} {} of {} entries ({} of {}); {} entries ({}) kept\n", request.verb(), report.removed_entries,
             report.considered_entries, human_size(report.removed_bytes), human_size(report.considered_bytes),
             report.kept_entries, human_size(report.kept_bytes));
  return 0;
}
#endif

#if RECALL_CACHE_WITH_S3
// Superseded folders, old saves, then the oldest saves first (recall::prune of s3_cache.hpp).
int run(const s3_target& s, const prune_request& request) {
  const recall::prune_options parsed = request.options();
  recall::s3_prune_options o;
  o.max_size = parsed.max_size;
  o.max_count = parsed.max_count;
  o.max_age = parsed.max_age;
  o.superseded = request.superseded;
  o.function = parsed.function;
  o.dry = parsed.dry;
  const auto report = recall::prune(*s.store, o);
  if (request.verbose) {
    for (const auto& p : report.removed) {
      const char* why = p.reason == recall::s3_prune_reason::superseded ? "superseded"
                        : p.reason == recall::s3_prune_reason::age      ? "saved too long ago"
                                                                        : "over the limits";
      fmt::print("{} {}  {:>10}  saved {}  {}  {}\n", request.verb(), p.entry.call.hex(), human_size(p.entry.size),
                 age(p.entry.modified), p.entry.folder, why);
    }
  }
  fmt::print("{} {} of {} entries ({} of {}); {} entries ({}) kept\n", request.verb(), report.removed_entries,
             report.considered_entries, human_size(report.removed_bytes), human_size(report.considered_bytes),
             report.kept_entries, human_size(report.kept_bytes));
  return 0;
}
#endif

// --policy cost needs compute times, which neither remote store lists: the message, or empty.
std::string refuse_on_remote(const prune_request& request, store_kind kind) {
  if (request.prune_policy() != recall::prune_policy::cost) {
    return {};
  }
  return kind == store_kind::s3
             ? "prune --s3 supports --policy lru only (oldest save first): listings carry no compute time"
             : "prune --redis supports --policy lru only (oldest first): Redis head records carry no "
               "compute time";
}

} // namespace

void add_prune_verb(CLI::App& app, cli_context& context) {
  auto request = std::make_shared<prune_request>();
  auto* verb = app.add_subcommand("prune", "remove entries until the cache is within a size, a count and an age");
  verb->add_option("--max-size", request->max_size, "keep at most this many bytes (500M, 5G, 1.5G, 1048576)")
      ->check(size_validator());
  verb->add_option("--max-count", request->max_count, "keep at most N entries")->check(count_validator());
  verb->add_option("--max-age", request->max_age, "remove entries unused for longer than this (90s, 30m, 12h, 7d)")
      ->check(duration_validator());
  verb->add_option("--policy", request->policy,
                   "which entries go first: lru (least recently used, the default) or cost (least compute time "
                   "saved per byte)")
      ->check(CLI::IsMember({"lru", "cost"}));
  verb->add_option("--function", request->function, "only this function's entries (name or folder)");
  verb->add_flag("--dry-run", request->dry, "say what would be removed; remove nothing");
  verb->add_flag("--verbose", request->verbose, "list every entry removed");
  verb->add_flag("--superseded", request->superseded,
                 "also remove the entries of older versions of each function: of the identity folders of one "
                 "function name, all but the one written or read most recently (on a pack root, --redis and --s3: "
                 "saved most recently)");
  add_scope_option(*verb, request->scope);
  verb->callback([request, &context] {
    if (!request->has_limits() && !request->superseded) {
      fmt::print(stderr,
                 "recall-cache: prune needs --max-size, --max-count or --max-age (see recall-cache prune --help)\n");
      context.exit_code = 2;
      return;
    }
    const verb_reach reach{.redis = true, .s3 = true, .scope = request->scope, .refuse = [&](store_kind kind) {
                             return refuse_on_remote(*request, kind);
                           }};
    context.exit_code = run_verb(context.flags, reach, *request);
  });
}

} // namespace recall_cache
