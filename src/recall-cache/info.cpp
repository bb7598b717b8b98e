// recall-cache info: totals per function (entries, size, hits, misses, time saved), of a cache directory, a pack root, Redis or S3.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "management.hpp"
#include "output.hpp"
#include "validators.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

struct info_options {
  bool json = false;
  bool verbose = false; // also each function's folder
  std::string scope;    // one partition only
};

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
          {"superseded", f.superseded},
          {"body", f.body.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.body)}};
}

// The version column: which identity of a function name is current, when it has several.
const char* version_label(bool superseded, int versions_of_name) {
  return superseded ? "superseded (prune --superseded removes it)" : versions_of_name > 1 ? "current" : "";
}

void print_functions(const std::vector<recall::function_summary>& functions, bool verbose) {
  // A function name with several identity folders (versions of its code) marks which is current.
  std::map<std::string, int> versions;
  for (const auto& f : functions) {
    versions[f.name] += 1;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>8} {:>8} {:>10} {:>14} {:>14}  {:<12}  {}\n", "function", "entries", "size",
             "hits", "misses", "saved", "oldest", "newest", "code", "version");
  for (const auto& f : functions) {
    fmt::print("{:<40} {:>8} {:>10} {:>8} {:>8} {:>10} {:>14} {:>14}  {:<12}  {}\n", f.name.substr(0, 40), f.entries,
               human_size(f.bytes), f.stats.hits, f.stats.misses,
               human_duration(std::chrono::nanoseconds{static_cast<std::int64_t>(f.stats.saved_ns)}), age(f.oldest),
               age(f.newest), f.entries == 0 ? std::string{"-"} : recall::body_short_form(f.body),
               version_label(f.superseded, versions[f.name]));
    if (verbose) {
      fmt::print("  folder {}\n", f.folder);
    }
  }
}

// Totals, then the root's functions, then each partition with its own functions (its own
// statistics: a partition is a cache of its own under the root).
int run(const directory_target& d, const info_options& o) {
  const auto info = d.pack ? recall::pack_cache_info(d.root) : recall::cache_info(d.root, terminal_progress(), o.scope);
  if (o.json) {
    nlohmann::json out{{"root", d.root.string()},       {"store", d.pack ? "pack" : "directory"},
                       {"entries", info.entries},       {"bytes", info.bytes},
                       {"damaged", info.damaged},       {"temp_files", info.temp_files},
                       {"temp_bytes", info.temp_bytes}, {"stale_temp_files", info.stale_temp_files}};
    if (info.free_bytes) {
      out["free_bytes"] = *info.free_bytes;
    }
    out["functions"] = nlohmann::json::array();
    for (const auto& f : info.functions) {
      out["functions"].push_back(to_json(f));
    }
    out["partitions"] = nlohmann::json::array();
    for (const auto& p : info.partitions) {
      nlohmann::json partition{{"name", p.name},
                               {"entries", p.entries},
                               {"bytes", p.bytes},
                               {"damaged", p.damaged},
                               {"functions", nlohmann::json::array()}};
      for (const auto& f : p.functions) {
        partition["functions"].push_back(to_json(f));
      }
      out["partitions"].push_back(std::move(partition));
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("cache root   {}\nstore        {}\n", d.root.string(), d.pack ? "pack" : "directory");
  if (!o.scope.empty()) {
    fmt::print("partition    {} (only)\n", o.scope);
  }
  fmt::print("entries      {}\nsize         {}\n", info.entries, human_size(info.bytes));
  if (info.damaged != 0) {
    fmt::print("damaged      {} (recall-cache verify says why)\n", info.damaged);
  }
  if (info.temp_files != 0) {
    fmt::print("temp files   {} ({}), {} left by writers that died (prune, clear and verify --repair remove those)\n",
               info.temp_files, human_size(info.temp_bytes), info.stale_temp_files);
  }
  if (info.free_bytes) {
    fmt::print("free disk    {}\n", human_size(*info.free_bytes));
  }
  if (!info.partitions.empty() && o.scope.empty()) {
    fmt::print("partitions   {}\n", info.partitions.size());
  }
  if (!info.functions.empty()) {
    print_functions(info.functions, o.verbose);
  }
  for (const auto& p : info.partitions) {
    fmt::print("\npartition {}: {}, {}{}\n", p.name, entry_count(p.entries), human_size(p.bytes),
               p.damaged != 0 ? fmt::format(", {} damaged", p.damaged) : std::string{});
    if (!p.functions.empty()) {
      print_functions(p.functions, o.verbose);
    }
  }
  return 0;
}

#if RECALL_CACHE_WITH_REDIS
// Totals from the head records (no statistics or last use: Redis keeps none per entry), and the
// keys that belong to no entry.
int run(const redis_target& r, const info_options& o) {
  const auto info = recall::redis_cache_info(*r.store);
  if (o.json) {
    nlohmann::json out{{"redis", r.where},
                       {"entries", info.entries},
                       {"bytes", info.bytes},
                       {"orphan_chunks", info.strays.orphan_chunks},
                       {"orphan_bytes", info.strays.orphan_bytes},
                       {"locks", info.strays.locks},
                       {"functions", nlohmann::json::array()}};
    for (const auto& f : info.functions) {
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
  fmt::print("redis        {}\nentries      {}\nsize         {}\n", r.where, info.entries, human_size(info.bytes));
  // Chunks of saves that failed before their head was written: they expire by themselves (or
  // `clear` removes them), but they take memory until then.
  fmt::print("orphans      {} chunks ({})\nlocks        {}\n", info.strays.orphan_chunks,
             human_size(info.strays.orphan_bytes), info.strays.locks);
  if (info.functions.empty()) {
    return 0;
  }
  // Current: of the identities of a name, the one saved most recently (Redis records no reads).
  std::map<std::string, int> versions;
  for (const auto& f : info.functions) {
    versions[f.name] += 1;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>14} {:>14}  {}\n", "function", "entries", "size", "oldest", "newest", "version");
  for (const auto& f : info.functions) {
    fmt::print("{:<40} {:>8} {:>10} {:>14} {:>14}  {}\n", f.name.substr(0, 40), f.entries, human_size(f.bytes),
               age(f.oldest), age(f.newest), version_label(f.superseded, versions[f.name]));
    if (o.verbose) {
      fmt::print("  folder {}\n", f.folder);
    }
  }
  return 0;
}
#endif

#if RECALL_CACHE_WITH_S3
// Totals from a listing: ages are since the save (S3 keeps no access time).
int run(const s3_target& s, const info_options& o) {
  const auto functions = recall::summarize(s.store->list());
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  for (const auto& f : functions) {
    entries += f.entries;
    bytes += f.bytes;
  }
  if (o.json) {
    nlohmann::json out{
        {"s3", s.store->description()}, {"entries", entries}, {"bytes", bytes}, {"functions", nlohmann::json::array()}};
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
  fmt::print("s3           {}\ncredentials  {}\nentries      {}\nsize         {}\n", s.store->description(),
             s.store->credential_source(), entries, human_size(bytes));
  if (functions.empty()) {
    return 0;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>14} {:>14}\n", "function", "entries", "size", "oldest save", "newest save");
  for (const auto& f : functions) {
    fmt::print("{:<40} {:>8} {:>10} {:>14} {:>14}{}\n", f.name.substr(0, 40), f.entries, human_size(f.bytes),
               age(f.oldest), age(f.newest), f.superseded ? "  (superseded)" : "");
    if (o.verbose) {
      fmt::print("  folder {}\n", f.folder);
    }
  }
  return 0;
}
#endif

} // namespace

void add_info_verb(CLI::App& app, cli_context& context) {
  auto o = std::make_shared<info_options>();
  auto* verb = app.add_subcommand("info", "totals per function: entries, size, hits, misses, time saved, free disk");
  verb->add_flag("--json", o->json, "machine-readable output");
  verb->add_flag("--verbose", o->verbose, "also show each function's folder");
  add_scope_option(*verb, o->scope);
  verb->callback([o, &context] {
    context.exit_code = run_verb(context.flags, {.redis = true, .s3 = true, .scope = o->scope}, *o);
  });
}

} // namespace recall_cache
