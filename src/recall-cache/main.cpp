// recall-cache: inspect and manage a recall cache (info, ls, show, running, prune, clear, verify,
// export, import), a directory or, for info, ls, clear and prune (and running, for Redis), a Redis
// server (--redis URL) or an S3 bucket (--s3 URL).
//
// Exit codes (also in --help and docs/CLI.md): 0 success; 1 the operation failed, verify found
// damaged entries, or import rejected entries or stopped early; 2 a bad command line (one line
// on stderr says what is wrong).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <recall/identity/function_identity.hpp>
#include <recall/management/archive.hpp>
#include <recall/management/cache_inspection.hpp>
#include <recall/management/pack_management.hpp>
#include <recall/management/progress.hpp>
#include <recall/management/prune.hpp>
#include <recall/policy/environment.hpp>
#if RECALL_CACHE_WITH_S3
#include <recall/management/s3_cache.hpp>
#endif
#if RECALL_CACHE_WITH_REDIS
#include <recall/stores/redis_store.hpp>
#endif

namespace {

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

// "1 entry", "3 entries".
std::string entry_count(std::uint64_t n) { return fmt::format("{} {}", n, n == 1 ? "entry" : "entries"); }

std::string human_duration(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  if (s < 1e-3) {
    return fmt::format("{:.0f} us", s * 1e6);
  }
  if (s < 1) {
    return fmt::format("{:.0f} ms", s * 1e3);
  }
  if (s < 120) {
    return fmt::format("{:.1f} s", s);
  }
  if (s < 7200) {
    return fmt::format("{:.0f} min", s / 60);
  }
  return fmt::format("{:.1f} h", s / 3600);
}

std::string age(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) {
    return "-";
  }
  return human_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now() - t)) +
         " ago";
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

nlohmann::json to_json(const recall::entry_record& r) {
  return {{"key", r.call.hex()},
          {"function", r.manifest.function},
          {"folder", r.folder},
          {"partition", r.partition.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.partition)},
          {"label", r.manifest.label},
          {"size", r.size},
          {"created", unix_seconds(r.created)},
          {"last_use", unix_seconds(r.last_use)},
          {"compute_ns", r.compute_time.count()},
          {"superseded", r.superseded},
          {"path", r.path.string()}};
}

// Progress on stderr, only when stderr is a terminal: logs and pipes get the results alone.
recall::progress_function terminal_progress() {
  if (::isatty(STDERR_FILENO) == 0) {
    return {};
  }
  return [](std::string_view phase, std::uint64_t done, std::uint64_t total) {
    if (total != 0 && done >= total) {
      fmt::print(stderr, "\r\033[K"); // a phase that ended leaves no line behind
    } else if (phase == "importing") {
      fmt::print(stderr, "\r\033[Krecall-cache: {} {} of {}", phase, human_size(done), human_size(total));
    } else if (total != 0) {
      fmt::print(stderr, "\r\033[Krecall-cache: {} {} of {} ({:.0f} %)", phase, done, total,
                 100.0 * static_cast<double>(done) / static_cast<double>(total));
    } else {
      fmt::print(stderr, "\r\033[Krecall-cache: {} {}", phase, done);
    }
    std::fflush(stderr);
  };
}

nlohmann::json to_json(const recall::function_summary& f) {
  return {{"name", f.name},
          {"folder", f.folder},
          {"entries", f.entries},
          {"bytes", f.bytes},
          {"damaged", f.damaged},
          {"hits", f.stats.hits},
          {"misses", f.stats.misses},
          {"stores", f.stats.stores},
          {"saved_ns", f.stats.saved_ns},
          {"oldest", unix_seconds(f.oldest)},
          {"newest", unix_seconds(f.newest)},
          {"last_use", unix_seconds(f.last_use)},
          {"superseded", f.superseded}};
}

void print_functions(const std::vector<recall::function_summary>& functions, bool verbose) {
  // A function name with several identity folders (versions of its code) marks which is current.
  std::map<std::string, int> versions;
  for (const auto& f : functions) {
    versions[f.name] += 1;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>8} {:>8} {:>10} {:>14} {:>14}  {}\n", "function", "entries", "size", "hits",
             "misses", "saved", "oldest", "newest", "version");
  for (const auto& f : functions) {
    fmt::print("{:<40} {:>8} {:>10} {:>8} {:>8} {:>10} {:>14} {:>14}  {}\n", f.name.substr(0, 40), f.entries,
               human_size(f.bytes), f.stats.hits, f.stats.misses,
               human_duration(std::chrono::nanoseconds{static_cast<std::int64_t>(f.stats.saved_ns)}), age(f.oldest),
               age(f.newest),
               f.superseded ? "superseded (prune --superseded removes it)" : versions[f.name] > 1 ? "current" : "");
    if (verbose) {
      fmt::print("  folder {}\n", f.folder);
    }
  }
}

// Totals, then the root's functions, then each partition with its own functions (its own
// statistics: a partition is a cache of its own under the root).
int run_info(const std::filesystem::path& root, const std::string& scope, bool json, bool verbose) {
  // A pack root (recall::pack_store) is told by its marker file; partitions are directory-store folders.
  const bool pack = recall::is_pack_root(root);
  const auto info = pack ? recall::pack_cache_info(root) : recall::cache_info(root, terminal_progress(), scope);
  if (json) {
    nlohmann::json out{{"root", root.string()}, {"store", pack ? "pack" : "directory"}, {"entries", info.entries},
                       {"bytes", info.bytes}, {"damaged", info.damaged}};
    if (info.free_bytes) {
      out["free_bytes"] = *info.free_bytes;
    }
    out["functions"] = nlohmann::json::array();
    for (const auto& f : info.functions) {
      out["functions"].push_back(to_json(f));
    }
    out["partitions"] = nlohmann::json::array();
    for (const auto& p : info.partitions) {
      nlohmann::json partition{
          {"name", p.name}, {"entries", p.entries}, {"bytes", p.bytes}, {"damaged", p.damaged}, {"functions", nlohmann::json::array()}};
      for (const auto& f : p.functions) {
        partition["functions"].push_back(to_json(f));
      }
      out["partitions"].push_back(std::move(partition));
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("cache root   {}\nstore        {}\n", root.string(), pack ? "pack" : "directory");
  if (!scope.empty()) {
    fmt::print("partition    {} (only)\n", scope);
  }
  fmt::print("entries      {}\nsize         {}\n", info.entries, human_size(info.bytes));
  if (info.damaged != 0) {
    fmt::print("damaged      {} (recall-cache verify says why)\n", info.damaged);
  }
  if (info.free_bytes) {
    fmt::print("free disk    {}\n", human_size(*info.free_bytes));
  }
  if (!info.partitions.empty() && scope.empty()) {
    fmt::print("partitions   {}\n", info.partitions.size());
  }
  if (!info.functions.empty()) {
    print_functions(info.functions, verbose);
  }
  for (const auto& p : info.partitions) {
    fmt::print("\npartition {}: {}, {}{}\n", p.name, entry_count(p.entries), human_size(p.bytes),
               p.damaged != 0 ? fmt::format(", {} damaged", p.damaged) : std::string{});
    if (!p.functions.empty()) {
      print_functions(p.functions, verbose);
    }
  }
  return 0;
}

int run_ls(const std::filesystem::path& root, const std::string& function, const std::string& scope, bool json) {
  const auto entries = recall::is_pack_root(root) ? recall::pack_list_entries(root, function)
                                                  : recall::list_entries(root, function, terminal_progress(), scope);
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& r : entries) {
      out.push_back(to_json(r));
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  // The partition column is there only when some entry has one: a cache without partitions
  // lists as it always did.
  const bool partitioned = std::any_of(entries.begin(), entries.end(), [](const auto& r) { return !r.partition.empty(); });
  if (!entries.empty()) {
    fmt::print("{:<32}  {:>10}  {:>14}  {:>14}  {:>9}  {}{}  {}\n", "key", "size", "created", "last use", "compute",
               partitioned ? fmt::format("{:<{}}  ", "partition", 17) : std::string{}, "function", "arguments");
  }
  for (const auto& r : entries) {
    fmt::print("{}  {:>10}  {:>14}  {:>14}  {:>9}  {}{}{}  {}\n", r.call.hex(), human_size(r.size), age(r.created),
               age(r.last_use), human_duration(r.compute_time),
               partitioned ? fmt::format("{:<{}}  ", r.partition.empty() ? "-" : r.partition, 17) : std::string{},
               r.manifest.function, r.superseded ? " (superseded)" : "", r.manifest.label);
  }
  return 0;
}

int run_show(const std::filesystem::path& root, const std::string& key_prefix) {
  std::vector<recall::entry_record> found;
  if (recall::is_pack_root(root)) {
    for (auto& r : key_prefix.size() >= 4 ? recall::pack_list_entries(root) : std::vector<recall::entry_record>{}) {
      if (r.call.hex().compare(0, key_prefix.size(), key_prefix) == 0) {
        found.push_back(std::move(r));
      }
    }
  } else {
    found = recall::find_entries(root, key_prefix);
  }
  if (found.empty()) {
    fmt::print(stderr, "recall-cache: no entry with a key starting with '{}'\n", key_prefix);
    return 1;
  }
  if (found.size() > 1) {
    fmt::print(stderr, "recall-cache: '{}' matches {}; give more digits\n", key_prefix, entry_count(found.size()));
    return 1;
  }
  const auto& r = found.front();
  const auto& m = r.manifest;
  fmt::print("key          {}\nfunction     {}\nsignature    {}\nversion      {}\nidentity     {}\nlabel        {}\n",
             r.call.hex(), m.function, m.signature, m.version.empty() ? "(none)" : m.version, r.identity.hex(),
             m.label);
  // The body signature is part of the identity but not of the manifest: an identity that hashes
  // as "body untracked" with the manifest's parts was written without one.
  const auto untracked = [&](recall::identity_kind kind) {
    return recall::function_identity{kind, m.function, m.signature, m.version, {}}.hash() == r.identity;
  };
  fmt::print("body         {}\n", untracked(recall::identity_kind::function) || untracked(recall::identity_kind::named)
                                        ? "untracked (no recall-sign signature: older code's results are reused)"
                                        : "tracked (a recall-sign signature; entries do not record it)");
  if (!r.partition.empty()) {
    fmt::print("partition    {}\n", r.partition);
  }
  // "<host>:<pid>" since sweeps; older entries name the host only.
  const auto colon = m.host.rfind(':');
  const std::string host = colon == std::string::npos ? m.host : m.host.substr(0, colon);
  const std::string process = colon == std::string::npos ? std::string{"(not recorded)"} : m.host.substr(colon + 1);
  fmt::print("size         {}\ncreated      {}\nlast use     {}\ncompute time {}\nhost         {}\nprocess      {}\n"
             "path         {}\n",
             human_size(r.size), age(r.created), age(r.last_use), human_duration(r.compute_time), host, process,
             r.path.string());
  for (std::size_t i = 0; i < m.argument_digests.size(); ++i) {
    fmt::print("argument {}   {}  {}\n", i, m.argument_digests[i], i < m.argument_types.size() ? m.argument_types[i] : "");
  }
  for (std::size_t i = 0; i < m.global_digests.size(); ++i) {
    fmt::print("global       {}  {}\n", m.global_digests[i], i < m.global_names.size() ? m.global_names[i] : "");
  }
  return 0;
}

// The computations under way, one line each (key, function folder, host, pid, since, label),
// oldest first; or a JSON array.
template <class Running>
int print_running(std::vector<Running> running, bool json) {
  std::sort(running.begin(), running.end(), [](const auto& a, const auto& b) { return a.holder.since < b.holder.since; });
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : running) {
      out.push_back({{"key", r.call.hex()},
                     {"folder", r.folder},
                     {"host", r.holder.host},
                     {"pid", r.holder.pid},
                     {"since", std::chrono::duration_cast<std::chrono::milliseconds>(r.holder.since.time_since_epoch()).count() / 1000},
                     {"label", r.holder.label}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (running.empty()) {
    fmt::print("no computations under way\n");
    return 0;
  }
  for (const auto& r : running) {
    fmt::print("{}  {}  {}  pid {}  since {}  {}\n", r.call.hex(), r.folder, r.holder.host.empty() ? "-" : r.holder.host,
               r.holder.pid, age(r.holder.since), r.holder.label);
  }
  return 0;
}

// Asks on the terminal before deleting; without one, refuses unless --force. Returns whether to
// go on; `exit_code` is set when not.
bool confirmed(std::uint64_t entries, std::uint64_t bytes, const std::string& what, const std::string& where, bool force,
               int& exit_code) {
  if (force) {
    return true;
  }
  if (::isatty(STDIN_FILENO) == 0) {
    fmt::print(stderr, "recall-cache: clear would remove {} of {}; without a terminal to ask, pass --force\n", entry_count(entries),
               what);
    exit_code = 2;
    return false;
  }
  fmt::print("remove {} ({}) of {} from {}? [y/N] ", entry_count(entries), human_size(bytes), what, where);
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "y" && answer != "yes") {
    fmt::print("nothing removed\n");
    exit_code = 0;
    return false;
  }
  return true;
}

int run_clear(const std::filesystem::path& root, const std::string& function, const std::string& scope, bool force,
              bool dry) {
  const bool pack = recall::is_pack_root(root);
  const auto preview = pack ? recall::pack_clear(root, function, recall::dry_run::yes)
                            : recall::clear(root, function, recall::dry_run::yes, terminal_progress(), scope);
  const std::string what = (function.empty() ? "every function" : "'" + function + "'") +
                           (scope.empty() ? std::string{} : " in partition " + scope);
  if (dry) {
    fmt::print("would remove {} ({}) of {}\n", entry_count(preview.entries), human_size(preview.bytes), what);
    return 0;
  }
  if (preview.entries == 0) {
    fmt::print("nothing to remove\n");
    return 0;
  }
  int code = 0;
  if (!confirmed(preview.entries, preview.bytes, what, root.string(), force, code)) {
    return code;
  }
  const auto done = pack ? recall::pack_clear(root, function, recall::dry_run::no)
                         : recall::clear(root, function, recall::dry_run::no, terminal_progress(), scope);
  fmt::print("removed {} ({})\n", entry_count(done.entries), human_size(done.bytes));
  return 0;
}

int run_verify(const std::filesystem::path& root, const std::string& scope, bool fix) {
  const auto fixing = fix ? recall::repair::yes : recall::repair::no;
  const auto report = recall::is_pack_root(root) ? recall::pack_verify(root, fixing)
                                                 : recall::verify(root, fixing, terminal_progress(), scope);
  for (const auto& [path, reason] : report.problems) {
    fmt::print("{}{}: {}\n", fix ? "removed " : "damaged ", path.string(), reason);
  }
  fmt::print("{} damaged entries{}\n", report.entries, fix && report.entries > 0 ? " removed" : "");
  return report.entries == 0 || fix ? 0 : 1;
}

// What prune was asked, as parsed from the command line.
struct prune_request {
  std::string max_size;
  std::optional<std::uint64_t> max_count;
  std::string max_age;
  recall::prune_policy policy = recall::prune_policy::lru;
  std::string function;
  std::string scope;
  bool dry = false;
  bool verbose = false;

  [[nodiscard]] recall::prune_options options() const {
    recall::prune_options o;
    if (!max_size.empty()) {
      o.max_size = recall::parse_size(max_size);
    }
    o.max_count = max_count;
    if (!max_age.empty()) {
      o.max_age = recall::parse_duration(max_age);
    }
    o.policy = policy;
    o.function = function;
    o.scope = scope;
    o.dry = dry ? recall::dry_run::yes : recall::dry_run::no;
    o.listing = verbose ? recall::prune_listing::entries : recall::prune_listing::totals;
    return o;
  }
};

std::string_view reason_text(recall::prune_reason r) { return r == recall::prune_reason::age ? "unused too long" : "over the limits"; }

int run_prune(const std::filesystem::path& root, const prune_request& request, bool superseded) {
  if (superseded) {
    if (recall::is_pack_root(root)) {
      fmt::print(stderr, "recall-cache: prune --superseded works on directory caches (not pack stores) and --s3\n");
      return 2;
    }
    if (!request.function.empty()) {
      fmt::print(stderr, "recall-cache: prune --superseded works on every function (no --function)\n");
      return 2;
    }
    const auto removed = recall::prune_superseded(root, request.dry ? recall::dry_run::yes : recall::dry_run::no,
                                                  terminal_progress(), request.scope);
    fmt::print("{} {} of superseded versions ({})\n", request.dry ? "would remove" : "removed",
               entry_count(removed.entries), human_size(removed.bytes));
    if (request.max_size.empty() && !request.max_count && request.max_age.empty()) {
      return 0;
    }
  }
  recall::prune_options options = request.options();
  options.progress = terminal_progress();
  const auto report = recall::is_pack_root(root) ? recall::pack_prune(root, options) : recall::prune(root, options);
  for (const auto& e : report.removed) {
    fmt::print("{} {}  {:>10}  last use {}  {}{}\n", request.dry ? "would remove" : "removed", e.path.string(),
               human_size(e.size), age(e.last_use),
               request.policy == recall::prune_policy::cost ? "compute " + human_duration(e.compute_time) + "  " : "",
               reason_text(e.reason));
  }
  for (const auto& [path, why] : report.failures) {
    fmt::print(stderr, "recall-cache: cannot remove {}: {}\n", path.string(), why);
  }
  fmt::print("{} {} of {} ({} of {}); {} ({}) kept\n", request.dry ? "would remove" : "removed",
             report.removed_entries, entry_count(report.considered_entries), human_size(report.removed_bytes),
             human_size(report.considered_bytes), entry_count(report.kept_entries), human_size(report.kept_bytes));
  return report.failures.empty() ? 0 : 1;
}

int run_export(const std::filesystem::path& root, const std::string& file, const std::string& function,
               const std::string& scope) {
  const auto report = recall::export_cache(root, file, function, terminal_progress(), scope);
  for (const auto& [path, why] : report.skipped) {
    fmt::print(stderr, "recall-cache: left out damaged entry {}: {}\n", path.string(), why);
  }
  fmt::print("exported {} ({}) to {}{}\n", entry_count(report.entries), human_size(report.bytes), file,
             report.skipped.empty() ? "" : fmt::format("; {} damaged entries left out", report.skipped.size()));
  return 0;
}

int run_import(const std::filesystem::path& root, const std::string& file) {
  recall::import_options options;
  options.progress = terminal_progress();
  options.layout = recall::store_layout_from_environment(); // RECALL_STORE=pack imports into a pack root
  const auto report = recall::import_cache(root, file, options);
  for (const auto& [member, why] : report.problems) {
    fmt::print(stderr, "recall-cache: {}: {}\n", member, why);
  }
  fmt::print("imported {}, already present {}, skipped incompatible {}, rejected corrupt {}\n", report.imported,
             report.already_present, report.skipped_incompatible, report.rejected);
  if (!report.stopped.empty()) {
    fmt::print(stderr, "recall-cache: import {}: {}\n", file, report.stopped);
    return 1;
  }
  return report.rejected == 0 ? 0 : 1;
}

#if RECALL_CACHE_WITH_REDIS

// The same verbs over a Redis store. Redis keeps no last-use time or statistics per entry, and
// an entry's compute time and label sit in its header and manifest (whole chunks away): info,
// ls and prune use what the head record carries, namely function, identity, size and creation
// time.
struct redis_target {
  std::unique_ptr<recall::redis_store> store;
  std::string where; // the redacted URL and prefix, for output
};

redis_target open_redis(const std::string& url, const std::string& prefix) {
  recall::redis_options o;
  o.url = url;
  o.prefix = prefix;
  // An interactive tool can wait longer for a remote server than a hit path should.
  o.connect_timeout = std::chrono::milliseconds{2000};
  o.operation_timeout = std::chrono::milliseconds{10'000};
  redis_target t;
  t.store = std::make_unique<recall::redis_store>(o);
  t.where = t.store->redacted_url() + " prefix " + prefix;
  return t;
}

int run_redis_info(redis_target& r, bool json, bool verbose) {
  struct totals {
    std::string name;
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
    std::chrono::system_clock::time_point oldest{};
    std::chrono::system_clock::time_point newest{};
  };
  std::map<std::string, totals> by_folder;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  for (const auto& e : r.store->list()) {
    auto& t = by_folder[e.folder];
    t.name = e.function.name;
    if (t.entries == 0 || e.created < t.oldest) {
      t.oldest = e.created;
    }
    t.newest = std::max(t.newest, e.created);
    t.entries += 1;
    t.bytes += e.size;
    entries += 1;
    bytes += e.size;
  }
  const auto strays = r.store->strays();
  if (json) {
    nlohmann::json out{{"redis", r.where},
                       {"entries", entries},
                       {"bytes", bytes},
                       {"orphan_chunks", strays.orphan_chunks},
                       {"orphan_bytes", strays.orphan_bytes},
                       {"locks", strays.locks},
                       {"functions", nlohmann::json::array()}};
    for (const auto& [folder, t] : by_folder) {
      out["functions"].push_back({{"name", t.name},
                                  {"folder", folder},
                                  {"entries", t.entries},
                                  {"bytes", t.bytes},
                                  {"oldest", unix_seconds(t.oldest)},
                                  {"newest", unix_seconds(t.newest)}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("redis        {}\nentries      {}\nsize         {}\n", r.where, entries, human_size(bytes));
  // Chunks of saves that failed before their head was written: they expire by themselves (or
  // `clear` removes them), but they take memory until then.
  fmt::print("orphans      {} chunks ({})\nlocks        {}\n", strays.orphan_chunks, human_size(strays.orphan_bytes),
             strays.locks);
  if (by_folder.empty()) {
    return 0;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>14} {:>14}\n", "function", "entries", "size", "oldest", "newest");
  for (const auto& [folder, t] : by_folder) {
    fmt::print("{:<40} {:>8} {:>10} {:>14} {:>14}\n", t.name.substr(0, 40), t.entries, human_size(t.bytes), age(t.oldest),
               age(t.newest));
    if (verbose) {
      fmt::print("  folder {}\n", folder);
    }
  }
  return 0;
}

int run_redis_ls(redis_target& r, const std::string& function, bool json) {
  auto entries = r.store->list(function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"key", e.call.hex()},
                     {"function", e.function.name},
                     {"folder", e.folder},
                     {"size", e.size},
                     {"created", unix_seconds(e.created)}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  for (const auto& e : entries) {
    fmt::print("{}  {:>10}  {:>14}  {}\n", e.call.hex(), human_size(e.size), age(e.created), e.function.name);
  }
  return 0;
}

int run_redis_clear(redis_target& r, const std::string& function, bool force, bool dry) {
  const auto entries = r.store->list(function);
  std::uint64_t bytes = 0;
  for (const auto& e : entries) {
    bytes += e.size;
  }
  const std::string what = function.empty() ? "every function" : "'" + function + "'";
  if (dry) {
    fmt::print("would remove {} ({}) of {}\n", entry_count(entries.size()), human_size(bytes), what);
    return 0;
  }
  if (entries.empty() && !function.empty()) {
    fmt::print("nothing to remove\n");
    return 0;
  }
  int code = 0;
  if (!entries.empty() && !confirmed(entries.size(), bytes, what, r.where, force, code)) {
    return code;
  }
  const std::size_t removed = r.store->clear(function);
  fmt::print("removed {}\n", entry_count(removed));
  return 0;
}

// Redis prune: --max-age and the order for --max-count / --max-size go by creation time (the
// head record's), oldest first: Redis keeps no last use per entry that recall could read
// without changing it. --policy cost is refused before this is called.
int run_redis_prune(redis_target& r, const prune_request& request) {
  const recall::prune_options options = request.options();
  auto entries = r.store->list(options.function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.created != b.created ? a.created < b.created : a.call < b.call;
  });
  const auto now = std::chrono::system_clock::now();
  std::uint64_t count = entries.size();
  std::uint64_t bytes = 0;
  std::uint64_t considered_bytes = 0;
  for (const auto& e : entries) {
    bytes += e.size;
  }
  considered_bytes = bytes;
  std::uint64_t removed = 0;
  std::uint64_t removed_bytes = 0;
  for (const auto& e : entries) {
    const bool too_old = options.max_age && now - e.created > *options.max_age;
    const bool over = (options.max_count && count > *options.max_count) || (options.max_size && bytes > *options.max_size);
    if (!too_old && !over) {
      break; // oldest first: every later entry is newer, and the limits are met
    }
    if (!request.dry && !r.store->erase(recall::entry_address{e.function, e.call})) {
      continue; // gone already, or replaced by a new save: nothing to count
    }
    if (request.verbose) {
      fmt::print("{} {}  {:>10}  created {}  {}  {}\n", request.dry ? "would remove" : "removed", e.call.hex(),
                 human_size(e.size), age(e.created), e.function.name, too_old ? "too old" : "over the limits");
    }
    count -= 1;
    bytes -= e.size;
    removed += 1;
    removed_bytes += e.size;
  }
  fmt::print("{} {} of {} entries ({} of {}); {} entries ({}) kept\n", request.dry ? "would remove" : "removed", removed,
             entries.size(), human_size(removed_bytes), human_size(considered_bytes), count, human_size(bytes));
  return 0;
}

#endif

#if RECALL_CACHE_WITH_S3

// The same verbs over an S3 store (the work is in recall/management/s3_cache.hpp). S3 keeps no
// access time and a listing gives each object's key, size and Last-Modified only: ages are since
// the save, and prune removes superseded versions, then old saves, then the oldest first.
std::unique_ptr<recall::s3_store> open_s3(const std::string& url) {
  recall::s3_options o;
  o.url = url;
  // An interactive tool can wait longer for a remote server than a hit path should.
  o.connect_timeout = std::chrono::milliseconds{5000};
  o.timeout = std::chrono::milliseconds{30'000};
  return std::make_unique<recall::s3_store>(o);
}

int run_s3_info(recall::s3_store& store, bool json, bool verbose) {
  const auto functions = recall::summarize(store.list());
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  for (const auto& f : functions) {
    entries += f.entries;
    bytes += f.bytes;
  }
  if (json) {
    nlohmann::json out{{"s3", store.description()}, {"entries", entries}, {"bytes", bytes}, {"functions", nlohmann::json::array()}};
    for (const auto& f : functions) {
      out["functions"].push_back({{"name", f.name},
                                  {"folder", f.folder},
                                  {"entries", f.entries},
                                  {"bytes", f.bytes},
                                  {"oldest", unix_seconds(f.oldest)},
                                  {"newest", unix_seconds(f.newest)},
                                  {"superseded", f.superseded}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("s3           {}\ncredentials  {}\nentries      {}\nsize         {}\n", store.description(),
             store.credential_source(), entries, human_size(bytes));
  if (functions.empty()) {
    return 0;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>14} {:>14}\n", "function", "entries", "size", "oldest save", "newest save");
  for (const auto& f : functions) {
    fmt::print("{:<40} {:>8} {:>10} {:>14} {:>14}{}\n", f.name.substr(0, 40), f.entries, human_size(f.bytes), age(f.oldest),
               age(f.newest), f.superseded ? "  (superseded)" : "");
    if (verbose) {
      fmt::print("  folder {}\n", f.folder);
    }
  }
  return 0;
}

int run_s3_ls(recall::s3_store& store, const std::string& function, bool json) {
  auto entries = store.list(function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.modified < b.modified; });
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"key", e.call.hex()},
                     {"folder", e.folder},
                     {"object", e.object},
                     {"size", e.size},
                     {"saved", unix_seconds(e.modified)}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  for (const auto& e : entries) {
    fmt::print("{}  {:>10}  {:>14}  {}\n", e.call.hex(), human_size(e.size), age(e.modified), e.folder);
  }
  return 0;
}

int run_s3_clear(recall::s3_store& store, const std::string& function, bool force, bool dry) {
  if (store.read_only() && !dry) {
    fmt::print(stderr, "recall-cache: {} is read-only (access=read-only): clear removes nothing\n", store.description());
    return 1;
  }
  const auto entries = store.list(function);
  std::uint64_t bytes = 0;
  for (const auto& e : entries) {
    bytes += e.size;
  }
  const std::string what = function.empty() ? "every function" : "'" + function + "'";
  if (dry) {
    fmt::print("would remove {} ({}) of {}\n", entry_count(entries.size()), human_size(bytes), what);
    return 0;
  }
  if (entries.empty()) {
    fmt::print("nothing to remove\n");
    return 0;
  }
  int code = 0;
  if (!confirmed(entries.size(), bytes, what, store.description(), force, code)) {
    return code;
  }
  std::size_t removed = 0;
  for (const auto& e : entries) {
    removed += store.remove_object(e.object) ? 1 : 0;
  }
  fmt::print("removed {}\n", entry_count(removed));
  return 0;
}

int run_s3_prune(recall::s3_store& store, const prune_request& request, bool superseded) {
  const recall::prune_options parsed = request.options();
  recall::s3_prune_options o;
  o.max_size = parsed.max_size;
  o.max_count = parsed.max_count;
  o.max_age = parsed.max_age;
  o.superseded = superseded;
  o.function = parsed.function;
  o.dry = parsed.dry;
  const auto report = recall::prune(store, o);
  if (request.verbose) {
    for (const auto& p : report.removed) {
      const char* why = p.reason == recall::s3_prune_reason::superseded ? "superseded"
                        : p.reason == recall::s3_prune_reason::age     ? "saved too long ago"
                                                                        : "over the limits";
      fmt::print("{} {}  {:>10}  saved {}  {}  {}\n", request.dry ? "would remove" : "removed", p.entry.call.hex(),
                 human_size(p.entry.size), age(p.entry.modified), p.entry.folder, why);
    }
  }
  fmt::print("{} {} of {} entries ({} of {}); {} entries ({}) kept\n", request.dry ? "would remove" : "removed",
             report.removed_entries, report.considered_entries, human_size(report.removed_bytes),
             human_size(report.considered_bytes), report.considered_entries - report.removed_entries,
             human_size(report.considered_bytes - report.removed_bytes));
  return 0;
}

#endif

constexpr std::string_view exit_codes_footer =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation failed (unreadable cache, unreachable Redis or S3, unwritable file), verify found\n"
    "     damaged entries, or import rejected entries or stopped on a damaged or truncated archive\n"
    "  2  a bad command line: unknown verb or flag, bad value (size, duration, policy), or clear\n"
    "     without a terminal to ask and no --force\n"
    "\n"
    "Sizes: bytes, or K, M, G, T (powers of 1024): 500M, 5G, 1.5G. Durations: 90s, 30m, 12h, 7d, 2w.\n"
    "Details and examples: docs/CLI.md\n";

// CLI11 validators that run recall's own parsers, so a bad value is reported in CLI11's one
// line (and exit code 2) like any other bad flag.
CLI::Validator size_validator() {
  return CLI::Validator{[](std::string& text) -> std::string {
                          try {
                            static_cast<void>(recall::parse_size(text));
                            return {};
                          } catch (const recall::config_error& e) {
                            return std::string{e.what()}.substr(8); // drop "recall: "
                          }
                        },
                        "SIZE"};
}

CLI::Validator duration_validator() {
  return CLI::Validator{[](std::string& text) -> std::string {
                          try {
                            static_cast<void>(recall::parse_duration(text));
                            return {};
                          } catch (const recall::config_error& e) {
                            return std::string{e.what()}.substr(8);
                          }
                        },
                        "DURATION"};
}

CLI::Validator scope_validator() {
  return CLI::Validator{[](std::string& text) -> std::string {
                          try {
                            recall::detail::management::check_scope_name(text);
                            return {};
                          } catch (const recall::config_error& e) {
                            return std::string{e.what()}.substr(8);
                          }
                        },
                        "PARTITION"};
}

CLI::Validator count_validator() {
  return CLI::Validator{[](std::string& text) -> std::string {
                          const bool digits = !text.empty() && text.size() <= 19 &&
                                              std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
                          return digits ? std::string{} : "bad count '" + text + "': expected a whole number, 0 or more";
                        },
                        "N"};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"recall-cache: inspect and manage a recall cache directory (or, with --redis or --s3, a Redis or S3 store)"};
  app.set_version_flag("--version", "recall-cache 0.1.0");
  app.footer(std::string{exit_codes_footer});
  app.require_subcommand(1);
  std::string root_option;
  app.add_option("--cache-root", root_option, "cache directory (default: $RECALL_CACHE_DIR, else ~/.cache/recall)");
  std::string redis_url;
  std::string redis_prefix = "recall";
  app.add_option("--redis", redis_url,
                 "work on the Redis store at URL (redis://[user:password@]host:port/db or unix:///path) instead of the "
                 "directory; for info, ls, running, clear and prune");
  app.add_option("--redis-prefix", redis_prefix, "the Redis store's key prefix (default: recall)");
  std::string s3_url;
  app.add_option("--s3", s3_url,
                 "work on the S3 store at URL (s3://bucket[/prefix][?endpoint=http://host:port&region=R]; credentials "
                 "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials) instead of the directory; for "
                 "info, ls, clear and prune");

  bool json = false;
  bool verbose = false;
  // --scope NAME: one partition folder (recall::scope), for the verbs that walk the cache.
  std::string scope;
  const auto add_scope = [&](CLI::App* verb, std::string& into) {
    verb->add_option("--scope", into, "only the partition folder NAME (e.g. channels_1a2b3c4d; see info)")
        ->check(scope_validator());
  };
  auto* info = app.add_subcommand("info", "totals per function: entries, size, hits, misses, time saved, free disk");
  info->add_flag("--json", json, "machine-readable output");
  info->add_flag("--verbose", verbose, "also show each function's folder");
  add_scope(info, scope);

  std::string function;
  auto* ls = app.add_subcommand("ls", "entries with key, size, age, last use, compute time and label");
  ls->add_option("function", function, "only this function (name or folder)");
  ls->add_flag("--json", json, "machine-readable output");
  add_scope(ls, scope);

  std::string key_prefix;
  auto* show = app.add_subcommand("show", "one entry's manifest");
  show->add_option("key", key_prefix, "the entry's key, or its first digits (at least 4)")->required();

  auto* running = app.add_subcommand("running", "computations under way: function, key, host, pid, since, arguments");
  running->add_flag("--json", json, "machine-readable output");

  prune_request pruning;
  auto* prune = app.add_subcommand("prune", "remove entries until the cache is within a size, a count and an age");
  prune->add_option("--max-size", pruning.max_size, "keep at most this many bytes (500M, 5G, 1.5G, 1048576)")
      ->check(size_validator());
  prune->add_option("--max-count", pruning.max_count, "keep at most N entries")->check(count_validator());
  prune->add_option("--max-age", pruning.max_age, "remove entries unused for longer than this (90s, 30m, 12h, 7d)")
      ->check(duration_validator());
  std::string policy = "lru";
  prune->add_option("--policy", policy,
                    "which entries go first: lru (least recently used, the default) or cost (least compute time "
                    "saved per byte)")
      ->check(CLI::IsMember({"lru", "cost"}));
  prune->add_option("--function", pruning.function, "only this function's entries (name or folder)");
  prune->add_flag("--dry-run", pruning.dry, "say what would be removed; remove nothing");
  prune->add_flag("--verbose", pruning.verbose, "list every entry removed");
  bool superseded = false;
  prune->add_flag("--superseded", superseded,
                  "also remove the entries of older versions of each function: of the identity folders of one "
                  "function name, all but the one written or read most recently (with --s3: saved most recently)");
  add_scope(prune, pruning.scope);

  bool force = false;
  bool dry = false;
  auto* clear = app.add_subcommand("clear", "remove entries (all, or one function's)");
  clear->add_option("function", function, "only this function (name or folder)");
  clear->add_flag("--force", force, "do not ask");
  clear->add_flag("--dry-run", dry, "say what would be removed; remove nothing");
  add_scope(clear, scope);

  bool fix = false;
  auto* verify = app.add_subcommand("verify", "check every entry's header and checksums");
  verify->add_flag("--repair", fix, "remove damaged entries");
  add_scope(verify, scope);

  std::string archive_file;
  auto* export_verb = app.add_subcommand("export", "write entries to FILE, a zstd-compressed tar archive");
  export_verb->add_option("file", archive_file, "the archive to write (replaced if it exists)")->required();
  export_verb->add_option("--function", function, "only this function's entries (name or folder)");
  add_scope(export_verb, scope);

  auto* import_verb = app.add_subcommand("import", "verify and add the entries of an archive made by export");
  import_verb->add_option("file", archive_file, "the archive to read")->required()->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e); // --help, --version
    }
    fmt::print(stderr, "recall-cache: {} (see recall-cache --help)\n", e.what());
    return 2;
  }
  pruning.policy = policy == "cost" ? recall::prune_policy::cost : recall::prune_policy::lru;
  if (*prune && pruning.max_size.empty() && !pruning.max_count && pruning.max_age.empty() && !superseded) {
    fmt::print(stderr, "recall-cache: prune needs --max-size, --max-count or --max-age (see recall-cache prune --help)\n");
    return 2;
  }
  if (superseded && !redis_url.empty()) {
    fmt::print(stderr, "recall-cache: prune --superseded works with cache directories and --s3 only\n");
    return 2;
  }

  if (!s3_url.empty()) {
    if (!redis_url.empty()) {
      fmt::print(stderr, "recall-cache: --s3 and --redis name two different stores: pick one\n");
      return 2;
    }
    if (*show || *verify || *export_verb || *import_verb || *running) {
      fmt::print(stderr, "recall-cache: --s3 works with info, ls, clear and prune only (an S3 store takes no compute "
                         "locks, so it has no running computations to list)\n");
      return 2;
    }
    if (!scope.empty() || !pruning.scope.empty()) {
      fmt::print(stderr, "recall-cache: --scope works with cache directories only\n");
      return 2;
    }
#if RECALL_CACHE_WITH_S3
    if (*prune && pruning.policy == recall::prune_policy::cost) {
      fmt::print(stderr, "recall-cache: prune --s3 supports --policy lru only (oldest save first): listings carry no "
                         "compute time\n");
      return 2;
    }
    try {
      const auto store = open_s3(s3_url);
      if (*info) {
        return run_s3_info(*store, json, verbose);
      }
      if (*ls) {
        return run_s3_ls(*store, function, json);
      }
      if (*clear) {
        return run_s3_clear(*store, function, force, dry);
      }
      return run_s3_prune(*store, pruning, superseded);
    } catch (const recall::config_error& e) {
      fmt::print(stderr, "recall-cache: {}\n", std::string_view{e.what()}.substr(8));
      return 2;
    } catch (const std::exception& e) {
      fmt::print(stderr, "recall-cache: {}\n", e.what());
      return 1;
    }
#else
    fmt::print(stderr, "recall-cache: --s3: this recall-cache was built without libcurl\n");
    return 2;
#endif
  }

  if (!redis_url.empty()) {
    if (*show || *verify || *export_verb || *import_verb) {
      fmt::print(stderr, "recall-cache: --redis works with info, ls, running, clear and prune only\n");
      return 2;
    }
    if (!scope.empty() || !pruning.scope.empty()) {
      fmt::print(stderr, "recall-cache: --scope works with cache directories only (Redis keys have no partition folders)\n");
      return 2;
    }
#if RECALL_CACHE_WITH_REDIS
    if (*prune && pruning.policy == recall::prune_policy::cost) {
      fmt::print(stderr, "recall-cache: prune --redis supports --policy lru only (oldest first): Redis head records carry "
                         "no compute time\n");
      return 2;
    }
    try {
      redis_target target = open_redis(redis_url, redis_prefix);
      if (*info) {
        return run_redis_info(target, json, verbose);
      }
      if (*ls) {
        return run_redis_ls(target, function, json);
      }
      if (*running) {
        return print_running(target.store->running_computations(), json);
      }
      if (*clear) {
        return run_redis_clear(target, function, force, dry);
      }
      return run_redis_prune(target, pruning);
    } catch (const recall::config_error& e) {
      fmt::print(stderr, "recall-cache: {}\n", std::string_view{e.what()}.substr(8));
      return 2;
    } catch (const std::exception& e) {
      fmt::print(stderr, "recall-cache: {}\n", e.what());
      return 1;
    }
#else
    fmt::print(stderr, "recall-cache: --redis: this recall-cache was built without hiredis\n");
    return 2;
#endif
  }

  const std::filesystem::path root = root_option.empty() ? recall::default_cache_directory() : std::filesystem::path{root_option};
  // import may start a cache; every other verb needs one.
  if (!*import_verb && !std::filesystem::is_directory(root)) {
    fmt::print(stderr, "recall-cache: no cache directory at {}\n", root.string());
    return 1;
  }
  try {
    if (*info) {
      return run_info(root, scope, json, verbose);
    }
    if (*ls) {
      return run_ls(root, function, scope, json);
    }
    if (*show) {
      return run_show(root, key_prefix);
    }
    if (*running) {
      return print_running(recall::directory_store::running_computations(root), json);
    }
    if (*prune) {
      return run_prune(root, pruning, superseded);
    }
    if (*clear) {
      return run_clear(root, function, scope, force, dry);
    }
    if (*export_verb) {
      return run_export(root, archive_file, function, scope);
    }
    if (*import_verb) {
      return run_import(root, archive_file);
    }
    return run_verify(root, scope, fix);
  } catch (const std::exception& e) {
    fmt::print(stderr, "recall-cache: {}\n", e.what());
    return 1;
  }
}
