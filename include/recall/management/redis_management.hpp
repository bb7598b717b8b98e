// What recall-cache --redis does, as a library: totals per function, listing and pruning of a Redis store's entries.
#pragma once

// Needs hiredis, like recall/stores/redis_store.hpp.
//
// Redis keeps no last-use time or statistics per entry, and an entry's compute time and label sit
// in its header and manifest (whole chunks away): everything here uses what the head record
// carries, namely function, identity, size and creation time. "Age" is time since the save, and
// size and count limits remove the oldest saves first. Clearing is redis_store::clear itself.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <recall/errors.hpp>
#include <recall/management/prune.hpp>
#include <recall/stores/redis_store.hpp>

namespace recall {

// One function folder of a Redis store.
struct redis_function_summary {
  std::string folder; // the function's folder name in a directory_store: "<safe name>-<8 hex of identity>"
  std::string name;   // the function's readable name
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::chrono::system_clock::time_point oldest{}; // creation times of its oldest and newest entries
  std::chrono::system_clock::time_point newest{};
};

struct redis_cache_summary {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::vector<redis_function_summary> functions; // sorted by folder
  redis_store::stray_keys strays;                // keys that belong to no entry: orphan chunks, locks
};

// Totals of every entry under the store's prefix, per function folder, and the stray keys.
// Throws store_error (an unreachable server).
[[nodiscard]] inline redis_cache_summary redis_cache_info(redis_store& store) {
  std::map<std::string, redis_function_summary> by_folder;
  redis_cache_summary out;
  for (const auto& e : store.list()) {
    auto& f = by_folder[e.folder];
    f.name = e.function.name;
    if (f.entries == 0 || e.created < f.oldest) {
      f.oldest = e.created;
    }
    f.newest = std::max(f.newest, e.created);
    f.entries += 1;
    f.bytes += e.size;
    out.entries += 1;
    out.bytes += e.size;
  }
  out.strays = store.strays();
  for (auto& [folder, f] : by_folder) {
    f.folder = folder;
    out.functions.push_back(std::move(f));
  }
  return out;
}

// The entries of `function` (a readable name or folder name, matched as redis_store::list
// matches; empty: all), oldest save first. Throws store_error.
[[nodiscard]] inline std::vector<redis_store::entry_info> redis_list_entries(redis_store& store,
                                                                             std::string_view function = {}) {
  auto entries = store.list(function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return entries;
}

struct redis_pruned_entry {
  redis_store::entry_info entry;
  prune_reason reason = prune_reason::limits; // age: saved longer ago than max_age
};

struct redis_prune_report {
  std::uint64_t considered_entries = 0; // matching the function filter
  std::uint64_t considered_bytes = 0;
  std::uint64_t removed_entries = 0; // with dry_run::yes: would be removed
  std::uint64_t removed_bytes = 0;
  std::uint64_t kept_entries = 0;
  std::uint64_t kept_bytes = 0;
  std::vector<redis_pruned_entry> removed; // in the order removed; only with prune_listing::entries
};

// Removes (or, dry, picks) entries of `o.function`, oldest save first (ties by key): those saved
// longer ago than max_age, and as many more as it takes to meet max_count and max_size; the
// creation time stands in for the last use, which Redis does not keep per entry in a way recall
// could read without changing it. An entry gone before its turn (removed, or replaced by a new
// save) is not counted. `o.scope` and `o.progress` are not used (Redis keys have no partition
// folders). Throws config_error for prune_policy::cost (head records carry no compute time), and
// store_error (an unreachable server).
inline redis_prune_report redis_prune(redis_store& store, const prune_options& o) {
  if (o.policy == prune_policy::cost) {
    throw config_error{"prune of a Redis store supports the lru policy only (oldest first): head records carry no "
                       "compute time"};
  }
  auto entries = store.list(o.function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.created != b.created ? a.created < b.created : a.call < b.call;
  });
  redis_prune_report report;
  for (const auto& e : entries) {
    report.considered_entries += 1;
    report.considered_bytes += e.size;
  }
  std::uint64_t count = report.considered_entries;
  std::uint64_t bytes = report.considered_bytes;
  const auto now = std::chrono::system_clock::now();
  for (const auto& e : entries) {
    const bool too_old = o.max_age && now - e.created > *o.max_age;
    const bool over = (o.max_count && count > *o.max_count) || (o.max_size && bytes > *o.max_size);
    if (!too_old && !over) {
      break; // oldest first: every later entry is newer, and the limits are met
    }
    if (o.dry == dry_run::no && !store.erase(entry_address{e.function, e.call})) {
      continue; // gone already, or replaced by a new save: nothing to count
    }
    if (o.listing == prune_listing::entries) {
      report.removed.push_back({e, too_old ? prune_reason::age : prune_reason::limits});
    }
    count -= 1;
    bytes -= e.size;
    report.removed_entries += 1;
    report.removed_bytes += e.size;
  }
  report.kept_entries = count;
  report.kept_bytes = bytes;
  return report;
}

} // namespace recall
