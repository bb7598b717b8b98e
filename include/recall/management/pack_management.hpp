// What recall-cache does on a pack root (recall::pack_store): info, ls, show, clear, verify and
// prune (by compaction), with the report types the directory versions return.
#pragma once

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/key/key.hpp>
#include <recall/management/cache_inspection.hpp>
#include <recall/management/prune.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/pack_store.hpp>
#include <recall/stores/store_layout.hpp>

namespace recall {

// True if `root` holds a pack store: the management functions below apply to it.
[[nodiscard]] inline bool is_pack_root(const std::filesystem::path& root) {
  return detect_store_layout(root) == store_layout::pack;
}

namespace detail::management {

// from_ns: prune.hpp's.

// True if the entry belongs to `function` (its readable name or folder name; empty: any).
[[nodiscard]] inline bool pack_entry_matches(const pack_store::listed_entry& e, std::string_view function) {
  if (function.empty()) {
    return true;
  }
  if (e.description.manifest.function == function) {
    return true;
  }
  return directory_store::folder_name(function_id{e.description.manifest.function, e.description.identity}) == function;
}

[[nodiscard]] inline entry_record pack_record(const std::filesystem::path& root, const pack_store::listed_entry& e) {
  entry_record r;
  r.path = root / std::string{detail::pack::segment_folder} / (e.segment + "@" + std::to_string(e.offset));
  r.folder = directory_store::folder_name(function_id{e.description.manifest.function, e.description.identity});
  r.call = e.description.call;
  r.identity = e.description.identity;
  r.manifest = e.description.manifest;
  r.size = e.size;
  r.created = from_ns(e.created_ns);
  r.last_use = r.created; // a pack store writes nothing on a hit
  r.compute_time = std::chrono::nanoseconds{e.compute_ns};
  return r;
}

} // namespace detail::management

// Entries of `function` (empty: all) in the pack store at `root`, oldest first. An entry of an
// identity of its function name other than the one saved most recently is marked superseded
// (whatever `function` selects: every identity is compared).
[[nodiscard]] inline std::vector<entry_record> pack_list_entries(const std::filesystem::path& root,
                                                                 std::string_view function = {}) {
  pack_store store{root};
  std::vector<entry_record> out;
  detail::management::version_table<std::string, key> versions;
  store.for_each_entry([&](const pack_store::listed_entry& e) {
    versions.add(e.description.manifest.function, e.description.identity, e.created_ns);
    if (detail::management::pack_entry_matches(e, function)) {
      out.push_back(detail::management::pack_record(root, e));
    }
    return true;
  });
  for (auto& r : out) {
    r.superseded = versions.superseded(r.manifest.function, r.identity);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

// Totals per function of the pack store at `root`, with each function's recorded statistics.
// Reads every entry's header and manifest (no payload). Of the identities of one function name,
// all but the one saved most recently are superseded (prune_superseded() removes them).
[[nodiscard]] inline cache_summary pack_cache_info(const std::filesystem::path& root) {
  pack_store store{root};
  cache_summary summary;
  summary.root = root;
  std::map<std::pair<std::string, key>, function_summary> by_function;
  store.for_each_entry([&](const pack_store::listed_entry& e) {
    auto& f = by_function[{e.description.manifest.function, e.description.identity}];
    if (f.folder.empty()) {
      f.name = e.description.manifest.function;
      f.body = e.description.manifest.body;
      f.folder = directory_store::folder_name(function_id{f.name, e.description.identity});
      f.stats = store.stats(function_id{f.name, e.description.identity});
    }
    const auto created = detail::management::from_ns(e.created_ns);
    f.entries += 1;
    f.bytes += e.size;
    if (f.oldest.time_since_epoch().count() == 0 || created < f.oldest) {
      f.oldest = created;
    }
    f.newest = std::max(f.newest, created);
    summary.entries += 1;
    summary.bytes += e.size;
    return true;
  });
  detail::management::version_table<std::string, key> versions;
  for (const auto& [id, f] : by_function) {
    versions.add(id.first, id.second, detail::management::to_ns(f.newest));
  }
  for (auto& [id, f] : by_function) {
    f.superseded = versions.superseded(id.first, id.second);
    f.last_use = f.newest; // a pack store writes nothing on a hit: its newest save
  }
  // Live slots whose records do not read (damaged) are counted apart.
  const std::uint64_t indexed = store.measure().entries;
  summary.damaged = indexed > summary.entries ? indexed - summary.entries : 0;
  summary.entries += summary.damaged;
  for (auto& [id, f] : by_function) {
    summary.functions.push_back(std::move(f));
  }
  struct ::statvfs fs {};
  if (::statvfs(root.c_str(), &fs) == 0) {
    summary.free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  }
  return summary;
}

// Removes the entries of `function` (empty: all) from the pack store's index; their space is
// reclaimed by the next prune (compaction).
inline removal_report pack_clear(const std::filesystem::path& root, std::string_view function = {},
                                 dry_run dry = dry_run::no) {
  pack_store store{root};
  removal_report report;
  std::vector<std::pair<key, std::uint64_t>> doomed;
  store.for_each_entry([&](const pack_store::listed_entry& e) {
    if (detail::management::pack_entry_matches(e, function)) {
      doomed.emplace_back(e.description.call, e.size);
    }
    return true;
  });
  const function_id any{};
  for (const auto& [call, size] : doomed) {
    if (dry == dry_run::yes || store.erase(entry_address{any, call})) {
      report.entries += 1;
      report.bytes += size;
    }
  }
  if (dry == dry_run::no && function.empty()) {
    // Everything: drop the damaged slots too, then reclaim the space.
    for (const auto& call : store.live_keys()) {
      store.erase(entry_address{any, call});
    }
    static_cast<void>(store.compact(compaction_scope::all));
  }
  return report;
}

// Reads every live entry of the pack store whole and checks it; with repair::yes damaged ones are
// dropped from the index.
inline removal_report pack_verify(const std::filesystem::path& root, repair fix = repair::no) {
  pack_store store{root};
  removal_report report;
  const function_id any{};
  for (const auto& call : store.live_keys()) {
    if (auto problem = store.check(call)) {
      report.entries += 1;
      report.problems.emplace_back(store.where(call), *problem);
      if (fix == repair::yes) {
        store.erase(entry_address{any, call});
      }
    }
  }
  return report;
}

// prune() on a pack store: entries older than max_age (by creation: a pack store records no last
// use), then the oldest until max_size / max_count hold, are dropped from the index; then the
// segments that waste space are compacted, which is what returns space to the file system.
inline prune_report pack_prune(const std::filesystem::path& root, const prune_options& options) {
  pack_store store{root};
  std::vector<pack_store::listed_entry> entries;
  store.for_each_entry([&](const pack_store::listed_entry& e) {
    if (detail::management::pack_entry_matches(e, options.function)) {
      entries.push_back(e);
    }
    return true;
  });
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.created_ns < b.created_ns; });
  prune_report report;
  const function_id any{};
  static_cast<prune_totals&>(report) = detail::management::prune_oldest_first(
      entries, options, [](const pack_store::listed_entry& e) { return detail::management::from_ns(e.created_ns); },
      [](const pack_store::listed_entry& e) { return e.size; }, [](const pack_store::listed_entry&) { return false; },
      [&](const pack_store::listed_entry& e) {
        return options.dry == dry_run::yes || store.erase(entry_address{any, e.description.call});
      },
      [&](const pack_store::listed_entry& e, detail::management::removal_cause cause) {
        if (options.listing != prune_listing::entries) {
          return;
        }
        pruned_entry p;
        p.path = detail::management::pack_record(root, e).path;
        p.function = e.description.manifest.function;
        p.size = e.size;
        p.last_use = detail::management::from_ns(e.created_ns);
        p.compute_time = std::chrono::nanoseconds{e.compute_ns};
        p.reason = cause == detail::management::removal_cause::age ? prune_reason::age : prune_reason::limits;
        report.removed.push_back(std::move(p));
      });
  if (options.dry == dry_run::no) {
    static_cast<void>(store.compact(compaction_scope::wasteful));
  }
  return report;
}

} // namespace recall
