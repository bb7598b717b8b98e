// What recall-cache --s3 does, as a library: totals per function and pruning of an S3 store's entries.
#pragma once

// Needs libcurl, like recall/stores/s3_store.hpp.
//
// S3 keeps no access time, and reading an object's header to learn more costs a request per
// entry; so everything here uses what a listing returns for each object: its key (function
// folder and call key), its size and its Last-Modified time. An entry is never rewritten once
// saved (conditional puts), so Last-Modified is when it was saved: "age" below is time since the
// save, not since the last use, and size and count limits remove the oldest saves first.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <recall/management/cache_inspection.hpp>
#include <recall/management/prune.hpp>
#include <recall/stores/s3_store.hpp>

namespace recall {

// One function folder of an S3 store.
struct s3_function_summary {
  std::string folder; // "<safe name>-<8 hex of identity>"
  std::string name;   // the folder without its identity suffix: what versions of a function share
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::chrono::system_clock::time_point oldest{};
  std::chrono::system_clock::time_point newest{};
  // Another folder of the same name holds a newer save: this one belongs to an older version
  // of the function (its identity changed), whose entries no current call can hit.
  bool superseded = false;
};

namespace detail::management {

// "ns_simulate-0123abcd" -> "ns_simulate".
[[nodiscard]] inline std::string_view folder_stem(std::string_view folder) {
  const auto dash = folder.rfind('-');
  return dash == std::string_view::npos ? folder : folder.substr(0, dash);
}

} // namespace detail::management

// Totals per function folder, sorted by folder, with superseded folders marked.
[[nodiscard]] inline std::vector<s3_function_summary> summarize(const std::vector<s3_store::entry_info>& entries) {
  std::map<std::string, s3_function_summary> by_folder;
  for (const auto& e : entries) {
    auto& s = by_folder[e.folder];
    if (s.entries == 0 || e.modified < s.oldest) {
      s.oldest = e.modified;
    }
    s.newest = std::max(s.newest, e.modified);
    s.entries += 1;
    s.bytes += e.size;
  }
  // The current version of each name is the folder with the newest save.
  detail::management::version_table<std::string, std::string> versions;
  for (auto& [folder, s] : by_folder) {
    s.folder = folder;
    s.name = std::string{detail::management::folder_stem(folder)};
    versions.add(s.name, folder, detail::management::to_ns(s.newest));
  }
  std::vector<s3_function_summary> out;
  for (auto& [folder, s] : by_folder) {
    s.superseded = versions.superseded(s.name, folder);
    out.push_back(std::move(s));
  }
  return out;
}

struct s3_prune_options {
  std::optional<std::uint64_t> max_size;       // bytes of entries to keep at most
  std::optional<std::uint64_t> max_count;      // entries to keep at most
  std::optional<std::chrono::seconds> max_age; // remove entries saved longer ago than this
  bool superseded = false;                     // remove the entries of superseded folders
  std::string function;                        // a function's name or folder name; empty: all
  dry_run dry = dry_run::no;
};

enum class s3_prune_reason {
  superseded, // an older version of its function
  age,        // saved longer ago than max_age
  limits,     // removed to meet max_size / max_count, oldest first
};

struct s3_pruned_entry {
  s3_store::entry_info entry;
  s3_prune_reason reason = s3_prune_reason::limits;
};

struct s3_prune_report : prune_totals {
  std::vector<s3_pruned_entry> removed; // in the order removed
};

// Removes (or, dry, picks) entries of `store` matching `o.function`: first those of superseded
// folders (when asked), then those older than max_age, then the oldest until the rest is within
// max_count and max_size. An entry gone before its turn (removed by someone else) is not counted.
// Throws store_error (a read-only store, an unreachable server).
inline s3_prune_report prune(s3_store& store, const s3_prune_options& o) {
  auto entries = store.list(o.function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.call < b.call;
  });
  std::map<std::string, bool> superseded;
  for (const auto& s : summarize(entries)) {
    superseded[s.folder] = s.superseded;
  }
  using entry = s3_store::entry_info;
  s3_prune_report report;
  static_cast<prune_totals&>(report) = detail::management::prune_oldest_first(
      entries, o, [](const entry& e) { return e.modified; }, [](const entry& e) { return e.size; },
      [&](const entry& e) { return o.superseded && superseded[e.folder]; },
      [&](const entry& e) { return o.dry == dry_run::yes || store.remove_object(e.object); },
      [&](const entry& e, detail::management::removal_cause cause) {
        report.removed.push_back({e, cause == detail::management::removal_cause::superseded
                                         ? s3_prune_reason::superseded
                                     : cause == detail::management::removal_cause::age ? s3_prune_reason::age
                                                                                       : s3_prune_reason::limits});
      });
  return report;
}

} // namespace recall
