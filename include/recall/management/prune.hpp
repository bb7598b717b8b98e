// recall::prune: shrink a directory cache to a size, an entry count or an age, least recently
// used or least valuable entries first; recall::prune_superseded: drop older versions of each
// function (of a directory cache or a pack root); the size and duration parsers prune's options
// use; and the oldest-first prune that stores keeping one time per entry share (Redis, S3, pack).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/management/entry_scan.hpp>
#include <recall/detail/management/progress_throttle.hpp>
#include <recall/errors.hpp>
#include <recall/management/cache_inspection.hpp>
#include <recall/management/progress.hpp>
#include <recall/stores/pack_store.hpp>
#include <recall/stores/store_layout.hpp>

namespace recall {

// Which entries go first when a size or count limit must be met.
enum class prune_policy {
  lru,  // least recently used first (the file's mtime, which the store touches on hits)
  cost, // least compute time saved per byte first (from the entry header); damaged entries first
};

// Whether prune() lists each entry it removed (for --verbose), or only counts them: a prune of a
// million entries should not build a million-line report nobody reads.
enum class prune_listing { totals, entries };

// Limits apply to the entries prune() considers: the whole cache (every partition's entries
// together, one pool ranked by the policy), or the entries of `function` (in every partition) when
// it is set, or of partition `scope` when that is set, or both. Unset limits do not constrain;
// with none set, nothing is removed.
struct prune_options {
  std::optional<std::uint64_t> max_size;       // bytes of entry files to keep at most
  std::optional<std::uint64_t> max_count;      // entries to keep at most
  std::optional<std::chrono::seconds> max_age; // remove entries not used for longer than this
  prune_policy policy = prune_policy::lru;
  std::string function;      // a function's readable name or folder name; empty: all
  std::string scope;         // a partition folder's name ("channels_1a2b3c4d"); empty: all
  dry_run dry = dry_run::no; // yes: decide and report, remove nothing
  prune_listing listing = prune_listing::totals;
  progress_function progress{}; // phases "scanning", "reading headers" (cost only), "removing"
};

// Why an entry was removed.
enum class prune_reason {
  age,    // unused for longer than max_age
  limits, // removed to meet max_size / max_count, in policy order
};

struct pruned_entry {
  std::filesystem::path path;
  std::string function;  // readable name, from one manifest of its folder
  std::string partition; // its partition folder's name; empty outside any partition
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point last_use{};
  std::chrono::nanoseconds compute_time{0}; // cost policy only (the lru policy reads no header)
  prune_reason reason = prune_reason::limits;
};

// The counts of a prune, of any store.
struct prune_totals {
  std::uint64_t considered_entries = 0; // matching the function filter
  std::uint64_t considered_bytes = 0;
  std::uint64_t removed_entries = 0; // with dry_run::yes: would be removed
  std::uint64_t removed_bytes = 0;
  std::uint64_t kept_entries = 0;
  std::uint64_t kept_bytes = 0;
};

struct prune_report : prune_totals {
  std::uint64_t removed_temp_files = 0; // stale temp files of dead writers (with dry_run::yes: would be)
  std::uint64_t removed_temp_bytes = 0;
  std::vector<pruned_entry> removed;                                   // prune_listing::entries only
  std::vector<std::pair<std::filesystem::path, std::string>> failures; // files that could not be removed
};

namespace prune_detail {

struct number_and_unit {
  double number = 0;
  std::string_view unit;
};

// Splits "1.5G" into 1.5 and "G": a leading decimal number (digits and at most one '.', no sign,
// no exponent) and what follows it. Throws config_error(`bad_number`) when there is no number.
[[nodiscard]] inline number_and_unit split_number(std::string_view text, const std::string& bad_number) {
  std::size_t digits = 0;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number, std::chars_format::fixed);
  if (digits == 0 || ec != std::errc{} || end != text.data() + digits) {
    throw config_error{bad_number};
  }
  return {number, text.substr(digits)};
}

} // namespace prune_detail

// Parses a size: a number, optionally with a fraction, then an optional unit K, M, G or T
// (powers of 1024, as `info` prints them: 500M = 500 MiB, 1.5G = 1.5 GiB), which may be
// followed by "i" and/or "B" ("500MiB", "500MB", "500M" are one size), or "B" alone. Plain
// digits are bytes. Throws config_error saying what is wrong.
[[nodiscard]] inline std::uint64_t parse_size(std::string_view text) {
  const std::string quoted = "'" + std::string{text} + "'";
  auto [number, unit] = prune_detail::split_number(
      text, "bad size " + quoted + ": expected a number of bytes, optionally with K, M, G or T (e.g. 500M)");
  double scale = 1;
  if (!unit.empty()) {
    switch (unit.front()) {
    case 'k':
    case 'K': scale = 1024.0; break;
    case 'm':
    case 'M': scale = 1024.0 * 1024; break;
    case 'g':
    case 'G': scale = 1024.0 * 1024 * 1024; break;
    case 't':
    case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
    case 'b':
    case 'B': break;
    default: throw config_error{"bad size " + quoted + ": unknown unit '" + std::string{unit} + "' (use K, M, G or T)"};
    }
    if (scale != 1) {
      unit.remove_prefix(1);
      if (unit.starts_with('i')) {
        unit.remove_prefix(1);
      }
    }
    if (unit == "B" || unit == "b") {
      unit.remove_prefix(1);
    }
    if (!unit.empty()) {
      throw config_error{"bad size " + quoted + ": unexpected '" + std::string{unit} + "' after the unit"};
    }
  }
  const double bytes = std::floor(number * scale);
  // 2^64 is exactly representable; anything at or above it does not fit.
  if (!(bytes < 18446744073709551616.0)) {
    throw config_error{"bad size " + quoted + ": too large"};
  }
  if (scale == 1 && number != std::floor(number)) {
    throw config_error{"bad size " + quoted + ": a number of bytes must be whole"};
  }
  return static_cast<std::uint64_t>(bytes);
}

// Parses a duration: a number, optionally with a fraction, and a unit: s (seconds), m
// (minutes), h (hours), d (days) or w (weeks), e.g. 90s, 30m, 12h, 7d, 1.5h. The unit is
// required (a bare "30" could mean anything). Throws config_error saying what is wrong.
[[nodiscard]] inline std::chrono::seconds parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string{text} + "'";
  const auto [number, unit] = prune_detail::split_number(
      text, "bad duration " + quoted + ": expected a number and a unit (e.g. 90s, 30m, 12h, 7d)");
  double scale = 0;
  if (unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else if (unit == "w") {
    scale = 7 * 86400;
  } else if (unit.empty()) {
    throw config_error{"bad duration " + quoted + ": give a unit: s, m, h, d or w (e.g. 7d)"};
  } else {
    throw config_error{"bad duration " + quoted + ": unknown unit '" + std::string{unit} + "' (use s, m, h, d or w)"};
  }
  const double seconds = std::round(number * scale);
  // Far beyond any cache's age, and still far from overflowing time_point arithmetic.
  constexpr double limit = 1e12;
  if (!(seconds <= limit)) {
    throw config_error{"bad duration " + quoted + ": too long"};
  }
  return std::chrono::seconds{static_cast<std::int64_t>(seconds)};
}

namespace detail::management {

// The order in which entries are given up to meet the limits: first to go first.
inline void sort_for_eviction(std::vector<const scanned_entry*>& order, prune_policy policy) {
  if (policy == prune_policy::lru) {
    std::sort(order.begin(), order.end(), [](const scanned_entry* a, const scanned_entry* b) {
      return a->last_use_ns != b->last_use_ns ? a->last_use_ns < b->last_use_ns : a->call < b->call;
    });
    return;
  }
  // Value of keeping an entry: compute time it saves per byte it takes. A damaged header saves
  // nothing (a load would discard it), so it ranks below every readable entry.
  const auto value = [](const scanned_entry* e) {
    return e->header_ok ? static_cast<double>(e->compute_ns) / static_cast<double>(std::max<std::uint64_t>(1, e->size))
                        : -1.0;
  };
  std::sort(order.begin(), order.end(), [&](const scanned_entry* a, const scanned_entry* b) {
    const double va = value(a);
    const double vb = value(b);
    if (va != vb) {
      return va < vb;
    }
    return a->last_use_ns != b->last_use_ns ? a->last_use_ns < b->last_use_ns : a->call < b->call;
  });
}

[[nodiscard]] inline std::chrono::system_clock::time_point from_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{ns})};
}

// Why prune_oldest_first() took an entry.
enum class removal_cause {
  superseded, // an older version of its function
  age,        // older than max_age
  limits,     // taken to meet max_count / max_size, oldest first
};

// The prune of a store that records one time per entry (a save: Redis, S3 and pack roots keep
// no last use): of `entries`, sorted oldest first, those `superseded(e)` picks, then those older
// than limits.max_age, then the oldest until what is left holds at most limits.max_count
// entries and limits.max_size bytes. `time_of(e)` is the entry's time (a system_clock time
// point), `size_of(e)` its bytes. `remove(e)` removes it (in a dry run: removes nothing and
// returns true); false means it was gone already (removed, or replaced by a new save), and it is
// not counted. `removed(e, cause)` hears of each entry counted as removed. `Limits` has
// prune_options' max_size, max_count and max_age.
template <class Entry, class Limits, class TimeOf, class SizeOf, class Superseded, class Remove, class Removed>
prune_totals prune_oldest_first(const std::vector<Entry>& entries, const Limits& limits, TimeOf time_of, SizeOf size_of,
                                Superseded superseded, Remove remove, Removed removed) {
  prune_totals totals;
  for (const auto& e : entries) {
    totals.considered_entries += 1;
    totals.considered_bytes += size_of(e);
  }
  std::uint64_t count = totals.considered_entries;
  std::uint64_t bytes = totals.considered_bytes;
  const auto take = [&](const Entry& e, removal_cause cause) {
    if (!remove(e)) {
      return;
    }
    count -= 1;
    bytes -= size_of(e);
    totals.removed_entries += 1;
    totals.removed_bytes += size_of(e);
    removed(e, cause);
  };
  const auto now = std::chrono::system_clock::now();
  std::vector<const Entry*> rest;
  for (const auto& e : entries) {
    if (superseded(e)) {
      take(e, removal_cause::superseded);
    } else if (limits.max_age && now - time_of(e) > *limits.max_age) {
      take(e, removal_cause::age);
    } else {
      rest.push_back(&e);
    }
  }
  for (const auto* e : rest) { // oldest first
    if (!((limits.max_count && count > *limits.max_count) || (limits.max_size && bytes > *limits.max_size))) {
      break;
    }
    take(*e, removal_cause::limits);
  }
  totals.kept_entries = count;
  totals.kept_bytes = bytes;
  return totals;
}

// prune_superseded() on a pack root: the index slots of every identity of a function name but
// the one saved most recently (a pack store records no use on a hit) are removed, then the
// segments that waste space are compacted. A pack root has no partition folders: a `scope`
// names none there.
inline removal_report pack_prune_superseded(const std::filesystem::path& root, dry_run dry, std::string_view scope) {
  if (!scope.empty()) {
    check_scope_name(scope);
    throw store_error{"no partition " + std::string{scope} + " in " + root.string() +
                      " (a pack store has no partition folders)"};
  }
  pack_store store{root};
  std::vector<pack_store::listed_entry> entries;
  version_table<std::string, key> versions;
  store.for_each_entry([&](const pack_store::listed_entry& e) {
    versions.add(e.description.manifest.function, e.description.identity, e.created_ns);
    entries.push_back(e);
    return true;
  });
  removal_report report;
  const function_id any{};
  for (const auto& e : entries) {
    if (versions.superseded(e.description.manifest.function, e.description.identity) &&
        (dry == dry_run::yes || store.erase(entry_address{any, e.description.call}))) {
      report.entries += 1;
      report.bytes += e.size;
    }
  }
  if (dry == dry_run::no && report.entries != 0) {
    static_cast<void>(store.compact(compaction_scope::wasteful));
  }
  return report;
}

} // namespace detail::management

// Removes entries of the directory cache at `root` until what options.function selects (every
// entry, or one function's) holds at most max_count entries and max_size bytes, after removing
// those unused for longer than max_age. The lru policy costs one stat per entry (no file is
// opened); cost reads each entry's 96-byte header too. Concurrent users of the cache are safe:
// an entry removed under a reader is a miss, and an entry stored during the prune is kept.
// Throws store_error when `root` (or the partition options.scope) cannot be read, config_error
// when options.scope is not a partition folder name; a file that cannot be removed is reported in
// `failures` and counted as kept.
inline prune_report prune(const std::filesystem::path& root, const prune_options& options) {
  namespace dm = detail::management;
  dm::scan_result scan = dm::scan_entries(root, options.function, options.progress, options.scope);
  if (options.policy == prune_policy::cost) {
    dm::read_headers(scan, options.progress);
  }
  prune_report report;
  std::vector<const dm::scanned_entry*> survivors;
  survivors.reserve(scan.entries.size());
  std::vector<std::pair<const dm::scanned_entry*, prune_reason>> doomed;
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& e : scan.entries) {
    report.considered_entries += 1;
    report.considered_bytes += e.size;
    if (options.max_age &&
        now_ns - e.last_use_ns > std::chrono::duration_cast<std::chrono::nanoseconds>(*options.max_age).count()) {
      doomed.emplace_back(&e, prune_reason::age);
    } else {
      survivors.push_back(&e);
    }
  }
  std::uint64_t count = survivors.size();
  std::uint64_t bytes = 0;
  for (const auto* e : survivors) {
    bytes += e->size;
  }
  const auto over = [&] {
    return (options.max_count && count > *options.max_count) || (options.max_size && bytes > *options.max_size);
  };
  if (over()) {
    dm::sort_for_eviction(survivors, options.policy);
    for (const auto* e : survivors) {
      if (!over()) {
        break;
      }
      doomed.emplace_back(e, prune_reason::limits);
      count -= 1;
      bytes -= e->size;
    }
  }
  // Removal goes in the order the scan read the folders (directory by directory, in readdir
  // order), on a few threads: unlinks in eviction order jump between directories at random,
  // and on a busy disk each jump costs a seek (docs/PERFORMANCE.md). What is removed was decided
  // above; the order only matters if the prune is interrupted, and any subset is a valid prune.
  std::vector<std::size_t> order(doomed.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  // doomed holds pointers into scan.entries, which is in scan order.
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return std::less<>{}(doomed[a].first, doomed[b].first); });
  std::vector<int> errors(doomed.size(), 0);
  if (options.dry == dry_run::no) {
    dm::parallel_syscalls(
        order.size(),
        [&](std::size_t i) {
          const std::size_t d = order[i];
          // An entry already gone (a concurrent prune, clear or eviction) counts as removed.
          if (::unlink(scan.entry_path(*doomed[d].first).c_str()) != 0 && errno != ENOENT) {
            errors[d] = errno;
          }
        },
        options.progress, "removing");
  }
  for (std::size_t d = 0; d < doomed.size(); ++d) {
    const auto& [e, reason] = doomed[d];
    if (errors[d] != 0) {
      report.failures.emplace_back(scan.entry_path(*e), detail::fsio::errno_message(errors[d]));
      continue;
    }
    report.removed_entries += 1;
    report.removed_bytes += e->size;
    if (options.listing == prune_listing::entries) {
      const auto& folder = scan.folders[e->folder];
      report.removed.push_back(pruned_entry{scan.entry_path(*e), folder.function, folder.partition, e->size,
                                            dm::from_ns(e->last_use_ns), std::chrono::nanoseconds{e->compute_ns},
                                            reason});
    }
  }
  report.kept_entries = report.considered_entries - report.removed_entries;
  report.kept_bytes = report.considered_bytes - report.removed_bytes;
  // Leftovers of writers killed mid-store (not entries: counted apart).
  removal_report swept;
  detail::remove_stale_temp_files(scan, options.dry, swept);
  report.removed_temp_files = swept.entries;
  report.removed_temp_bytes = swept.bytes;
  report.failures.insert(report.failures.end(), swept.failures.begin(), swept.failures.end());
  return report;
}

// Removes the entries of superseded function folders (function_summary::superseded): of each
// function name, in each partition (or in partition `scope` only), every identity but the one
// written or read most recently. Those entries belong to older versions of the code and no
// current call can hit them. With dry_run::yes, counts what it would remove.
// On a pack root (detect_store_layout), the current identity is the one saved most recently (a
// pack store writes nothing on a hit); the others' index slots are removed and the segments that
// waste space compacted, which returns their space (the rest at a later prune's compaction). A
// `scope` there throws store_error: a pack root has no partitions.
inline removal_report prune_superseded(const std::filesystem::path& root, dry_run dry = dry_run::no,
                                       const progress_function& progress = {}, std::string_view scope = {}) {
  namespace dm = detail::management;
  if (detect_store_layout(root) == store_layout::pack) {
    return dm::pack_prune_superseded(root, dry, scope);
  }
  const dm::scan_result scan = dm::scan_entries(root, {}, progress, scope);
  const std::vector<bool> superseded = detail::superseded_folders(scan);
  std::vector<std::size_t> doomed;
  for (std::size_t i = 0; i < scan.entries.size(); ++i) {
    if (superseded[scan.entries[i].folder]) {
      doomed.push_back(i);
    }
  }
  removal_report report;
  std::vector<char> removed(doomed.size(), dry == dry_run::yes ? 1 : 0);
  if (dry == dry_run::no) {
    dm::parallel_syscalls(
        doomed.size(),
        [&](std::size_t i) { removed[i] = ::unlink(scan.entry_path(scan.entries[doomed[i]]).c_str()) == 0 ? 1 : 0; },
        progress, "removing");
  }
  for (std::size_t i = 0; i < doomed.size(); ++i) {
    if (removed[i] != 0) {
      report.entries += 1;
      report.bytes += scan.entries[doomed[i]].size;
    }
  }
  return report;
}

} // namespace recall
