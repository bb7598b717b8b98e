// What recall-cache --redis does, as a library: totals per function, listing and pruning of a Redis store's entries.
#pragma once

// Needs hiredis, like recall/stores/redis_store.hpp.
//
// Redis keeps no last-use time or statistics per entry, and an entry's compute time and label sit
// in its header and manifest (whole chunks away): everything here uses what the head record
// carries, namely function, identity, size and creation time. "Age" is time since the save, and
// size and count limits remove the oldest saves first. Of the identities (versions) of one
// function name, the current one is the one saved most recently; the others are superseded.
// Clearing is redis_store::clear itself. Every call works on a Redis Cluster as well
// (redis_store::list scans every master; erase goes to the key's node).

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
  // Another identity of the same name was saved more recently: this one belongs to an older
  // version of the function, whose entries no current call can hit (prune_superseded()).
  bool superseded = false;
};

// One entry as redis_list_entries() reports it.
struct redis_entry_record : redis_store::entry_info {
  bool superseded = false; // its identity is superseded (redis_function_summary::superseded)
};

struct redis_cache_summary {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::vector<redis_function_summary> functions; // sorted by folder
  redis_store::stray_keys strays;                // keys that belong to no entry: orphan chunks, locks
};

namespace detail::management {

// The identities of each function name among `entries`, by their newest save.
[[nodiscard]] inline version_table<std::string, key> redis_versions(
    const std::vector<redis_store::entry_info>& entries) {
  version_table<std::string, key> versions;
  for (const auto& e : entries) {
    versions.add(e.function.name, e.function.identity, to_ns(e.created));
  }
  return versions;
}

} // namespace detail::management

// Totals of every entry under the store's prefix, per function folder (superseded ones marked),
// and the stray keys. Throws store_error (an unreachable server).
[[nodiscard]] inline redis_cache_summary redis_cache_info(redis_store& store) {
  std::map<std::string, redis_function_summary> by_folder;
  redis_cache_summary out;
  const auto entries = store.list();
  const auto versions = detail::management::redis_versions(entries);
  for (const auto& e : entries) {
    auto& f = by_folder[e.folder];
    f.name = e.function.name;
    f.superseded = versions.superseded(e.function.name, e.function.identity);
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
// matches; empty: all), oldest save first, those of superseded identities marked (every entry's
// head is read to tell, whatever `function` selects). Throws store_error.
[[nodiscard]] inline std::vector<redis_entry_record> redis_list_entries(redis_store& store,
                                                                        std::string_view function = {}) {
  const auto all = store.list();
  const auto versions = detail::management::redis_versions(all);
  std::vector<redis_entry_record> out;
  for (const auto& e : all) {
    // redis_store::list(function)'s match, on the one listing both need.
    if (function.empty() || e.function.name.find(function) != std::string::npos ||
        e.folder.find(function) != std::string::npos) {
      out.push_back({e, versions.superseded(e.function.name, e.function.identity)});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

struct redis_pruned_entry {
  redis_store::entry_info entry;
  prune_reason reason = prune_reason::limits; // age: saved longer ago than max_age
};

struct redis_prune_report : prune_totals {
  std::vector<redis_pruned_entry> removed; // in the order removed; only with prune_listing::entries
};

// Removes (or, dry, picks) entries of `o.function`, oldest save first (ties by key): those saved
// longer ago than max_age, and as many more as it takes to meet max_count and max_size
// (detail::management::prune_oldest_first); the creation time stands in for the last use, which
// Redis does not keep per entry in a way recall could read without changing it. An entry gone
// before its turn (removed, or replaced by a new save) is not counted. `o.scope` and
// `o.progress` are not used (Redis keys have no partition folders). Throws config_error for
// prune_policy::cost (head records carry no compute time), and store_error (an unreachable
// server).
inline redis_prune_report redis_prune(redis_store& store, const prune_options& o) {
  if (o.policy == prune_policy::cost) {
    throw config_error{"prune of a Redis store supports the lru policy only (oldest first): head records carry no "
                       "compute time"};
  }
  auto entries = store.list(o.function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.created != b.created ? a.created < b.created : a.call < b.call;
  });
  using entry = redis_store::entry_info;
  redis_prune_report report;
  static_cast<prune_totals&>(report) = detail::management::prune_oldest_first(
      entries, o, [](const entry& e) { return e.created; }, [](const entry& e) { return e.size; },
      [](const entry&) { return false; },
      [&](const entry& e) {
        return o.dry == dry_run::yes || store.erase(entry_address{e.function, e.call});
      },
      [&](const entry& e, detail::management::removal_cause cause) {
        if (o.listing == prune_listing::entries) {
          report.removed.push_back(
              {e, cause == detail::management::removal_cause::age ? prune_reason::age : prune_reason::limits});
        }
      });
  return report;
}

// prune_superseded() on a Redis store: removes the entries (head and chunks) of every identity of
// a function name but the one saved most recently, under the store's prefix (on every master of
// a cluster). With dry_run::yes, counts what it would remove. An entry gone before its turn is
// not counted. Throws store_error (an unreachable server).
inline removal_report prune_superseded(redis_store& store, dry_run dry = dry_run::no) {
  const auto entries = store.list();
  const auto versions = detail::management::redis_versions(entries);
  removal_report report;
  for (const auto& e : entries) {
    if (versions.superseded(e.function.name, e.function.identity) &&
        (dry == dry_run::yes || store.erase(entry_address{e.function, e.call}))) {
      report.entries += 1;
      report.bytes += e.size;
    }
  }
  return report;
}

} // namespace recall
