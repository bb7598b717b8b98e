// Library API behind `recall-cache`: list, summarize, verify and clear the entries of a cache
// directory, partitions (recall::scope folders) included. Reads headers and manifests; never
// decodes results.
#pragma once

// Partitions: a cache root holds function folders and partition folders, each partition holding
// function folders of its own (recall::scope). Every call below walks both unless given a
// `scope`: the name of one partition folder ("channels_1a2b3c4d"), which restricts it to that
// partition. A scope that is not a partition folder name throws config_error; one that names no
// folder under the root throws store_error.

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <recall/detail/management/entry_scan.hpp>
#include <recall/detail/management/progress_throttle.hpp>
#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/detail/stores/stats_file.hpp>
#include <recall/management/progress.hpp>
#include <recall/stores/directory_store.hpp>

namespace recall {

// One entry as recall-cache shows it.
struct entry_record {
  std::filesystem::path path;
  std::string folder;    // the function folder's name
  std::string partition; // the partition folder's name; empty outside any partition
  key call;
  key identity;
  entry_manifest manifest;
  std::uint64_t size = 0; // bytes of the entry file
  std::chrono::system_clock::time_point created{};
  std::chrono::system_clock::time_point last_use{}; // the file's mtime
  std::chrono::nanoseconds compute_time{0};
  bool superseded = false; // its folder holds an older version of the function (function_summary)
};

struct function_summary {
  std::string name; // from the entries' manifests, else the folder name
  std::string folder;
  std::string partition; // the partition folder it is in; empty at the root
  std::string body;      // the body signature of its code (recall-sign); empty when untracked
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t damaged = 0; // entries whose header does not decode (verify says why)
  function_stats stats;
  std::chrono::system_clock::time_point oldest{}; // creation times of its entries
  std::chrono::system_clock::time_point newest{};
  std::chrono::system_clock::time_point last_use{}; // its newest entry file's mtime: last written or read
  // Each identity of a function (another version of its code, parameter types or version tag)
  // has a folder of its own. Of the folders of one function name in one partition, the one
  // written or read most recently is current; the others are superseded: they hold results of
  // older versions, which no current call reaches (prune.hpp's prune_superseded() removes them).
  bool superseded = false;
};

// One partition folder (recall::scope): its own functions, with their own statistics.
struct partition_summary {
  std::string name; // the folder's name, "<label>_<8 hex digits>"
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t damaged = 0;
  std::vector<function_summary> functions; // by folder name
};

struct cache_summary {
  std::filesystem::path root;
  // Writers' temp files (<key>.rce.tmp.*): stores in progress, and leftovers of writers killed
  // mid-store; `stale_temp_files` of them are old enough for prune, clear and verify --repair
  // to remove (detail::management::stale_temp_age). Not counted in entries or bytes.
  std::uint64_t temp_files = 0;
  std::uint64_t temp_bytes = 0;
  std::uint64_t stale_temp_files = 0;
  // Totals over everything summarized: the root's functions and every partition's.
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t damaged = 0;                 // entries whose header does not decode, counted in entries and bytes
  std::optional<std::uint64_t> free_bytes;   // on the root's filesystem
  std::vector<function_summary> functions;   // function folders directly under the root
  std::vector<partition_summary> partitions; // by name
};

// What clear() and verify() did (or, dry, would do).
struct removal_report {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::vector<std::pair<std::filesystem::path, std::string>> problems; // verify: path, reason
  // Files that should have been removed but could not be (read-only filesystem, a folder owned
  // by someone else), with the reason; not counted in entries and bytes. A caller must not
  // report success when this is not empty.
  std::vector<std::pair<std::filesystem::path, std::string>> failures;
};

enum class dry_run { no, yes };
enum class repair { no, yes };

namespace detail {

inline std::chrono::system_clock::time_point to_system(std::filesystem::file_time_type t) {
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(t));
}

// Whether a temp file the scan saw is old enough to be a dead writer's (stale_temp_age).
[[nodiscard]] inline bool is_stale(const management::scanned_temp_file& t) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::nanoseconds{t.mtime_ns} < now - std::chrono::nanoseconds{management::stale_temp_age};
}

// Removes the stale temp files of `scan` (none with dry_run::yes), adding them to `report`'s
// entries and bytes, or to its failures.
inline void remove_stale_temp_files(const management::scan_result& scan, dry_run dry, removal_report& report) {
  for (const auto& t : scan.temp_files) {
    if (!is_stale(t)) {
      continue;
    }
    if (dry == dry_run::no && ::unlink(t.path.c_str()) != 0 && errno != ENOENT) {
      report.failures.emplace_back(t.path, "cannot remove: " + fsio::errno_message(errno));
      continue;
    }
    report.entries += 1;
    report.bytes += t.size;
  }
}

// Calls visit(path, status) for every *.rce regular file in the shard folders of the function
// folders of `root` and of its partition folders (only of partition `scope` when it is set),
// whatever the file's name: verify() reports misnamed ones. Symbolic links are not followed
// (directory_layout's walk).
template <class Visit>
void for_each_entry_file(const std::filesystem::path& root, std::string_view scope, Visit&& visit) {
  namespace layout = directory_layout;
  management::check_scope_name(scope);
  const std::string root_text = root.string();
  const fsio::unique_fd top{layout::open_root(root_text)};
  if (!top) {
    return;
  }
  const auto walk = [&](const layout::function_folder& folder) {
    layout::for_each_shard_file(
        folder.fd,
        [&](const layout::shard_file& file) {
          std::string path = root_text;
          for (const std::string_view part : {folder.partition, folder.name, file.shard, file.name}) {
            if (!part.empty()) {
              path += '/';
              path += part;
            }
          }
          visit(path, *file.status);
        },
        {layout::file_kind::entry, layout::file_kind::misnamed});
  };
  if (!scope.empty()) {
    const std::string name{scope};
    const fsio::unique_fd partition{layout::open_folder_at(top.get(), name.c_str())};
    if (!partition) {
      throw store_error{"no partition " + name + " in " + root_text};
    }
    layout::for_each_function_folder(partition.get(), scope, walk);
    return;
  }
  layout::for_each_function_folder_in_tree(top.get(), walk, [](std::string_view) {});
}

namespace management {

// The versions (identities) of each function and when each was last written or read: the one
// place that decides which version is current, for every kind of store. A version is
// superseded when another version of the same name was used more recently; versions used at the
// same time are all current. `Name` is what versions are compared within (a function name, or
// a partition and a function name); `Version` tells versions apart (an identity, a folder).
// Times are nanoseconds since the epoch, of whatever the store records: a file's mtime (written
// or read), a save.
template <class Name, class Version>
class version_table {
public:
  // Records a use of `version` of `name` at `used_ns`; a version added with the oldest possible
  // time (no entries left) is superseded as soon as another version of its name has one.
  void add(const Name& name, const Version& version, std::int64_t used_ns) {
    const auto v = m_versions.try_emplace({name, version}, used_ns).first;
    v->second = std::max(v->second, used_ns);
    const auto n = m_newest.try_emplace(name, used_ns).first;
    n->second = std::max(n->second, used_ns);
  }

  [[nodiscard]] bool superseded(const Name& name, const Version& version) const {
    const auto v = m_versions.find({name, version});
    return v != m_versions.end() && v->second < m_newest.at(name);
  }

private:
  std::map<std::pair<Name, Version>, std::int64_t> m_versions; // newest use of each version
  std::map<Name, std::int64_t> m_newest;                       // newest use of any version of a name
};

[[nodiscard]] inline std::int64_t to_ns(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

} // namespace management

// For each folder of `scan`: whether another folder of the same function name in the same
// partition holds an entry written or read (mtime) more recently. A folder with no entries left
// counts as superseded when another of its name has some.
[[nodiscard]] inline std::vector<bool> superseded_folders(const management::scan_result& scan) {
  using name = std::pair<std::string_view, std::string_view>; // partition, function name
  management::version_table<name, std::size_t> versions;
  for (std::size_t i = 0; i < scan.folders.size(); ++i) {
    versions.add({scan.folders[i].partition, scan.folders[i].function}, i, std::numeric_limits<std::int64_t>::min());
  }
  for (const auto& e : scan.entries) {
    const auto& folder = scan.folders[e.folder];
    versions.add({folder.partition, folder.function}, e.folder, e.last_use_ns);
  }
  std::vector<bool> out(scan.folders.size(), false);
  for (std::size_t i = 0; i < scan.folders.size(); ++i) {
    out[i] = versions.superseded({scan.folders[i].partition, scan.folders[i].function}, i);
  }
  return out;
}

} // namespace detail

// Every readable entry under `root` whose function (name or folder) matches `function`
// (empty: all), in every partition or in partition `scope`, oldest first. Decodes each entry's
// manifest (for labels): slower than cache_info() on a large cache. Damaged files are skipped:
// verify() reports them.
[[nodiscard]] inline std::vector<entry_record> list_entries(const std::filesystem::path& root,
                                                            std::string_view function = {},
                                                            const progress_function& progress = {},
                                                            std::string_view scope = {}) {
  namespace dm = detail::management;
  dm::scan_result scan = dm::scan_entries(root, function, progress, scope);
  dm::read_headers(scan, progress);
  // Superseded among the folders scanned: with a `function` filter by name, all its versions.
  const std::vector<bool> superseded = detail::superseded_folders(scan);
  std::vector<entry_record> out;
  out.reserve(scan.entries.size());
  dm::progress_throttle report{progress, "reading manifests", scan.entries.size()};
  std::uint64_t done = 0;
  for (const auto& e : scan.entries) {
    report.advance(++done);
    if (!e.header_ok) {
      continue;
    }
    const std::string path = scan.entry_path(e);
    auto description = directory_store::describe_file(path);
    if (!description || description->call != e.call) {
      continue;
    }
    entry_record r;
    r.path = path;
    r.folder = scan.folders[e.folder].name;
    r.partition = scan.folders[e.folder].partition;
    r.call = e.call;
    r.identity = description->identity;
    r.manifest = std::move(description->manifest);
    r.size = e.size;
    r.last_use = std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{e.last_use_ns})};
    r.created = std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{e.created_ns})};
    r.compute_time = std::chrono::nanoseconds{e.compute_ns};
    r.superseded = superseded[e.folder];
    out.push_back(std::move(r));
  }
  report.finish(done);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

// Totals per function, per partition and for the whole cache (or for partition `scope` alone),
// with each function's recorded statistics. Fast on large caches: one stat and one 96-byte
// header read per entry (on a few threads), and one manifest per function folder for its name;
// no payload or per-entry manifest is decoded. Function folders with statistics but no entries
// left (all cleared or pruned), and partitions with no entries, are listed too.
[[nodiscard]] inline cache_summary cache_info(const std::filesystem::path& root, const progress_function& progress = {},
                                              std::string_view scope = {}) {
  namespace dm = detail::management;
  dm::scan_result scan = dm::scan_entries(root, {}, progress, scope);
  dm::read_headers(scan, progress);
  cache_summary summary;
  summary.root = root;
  std::vector<function_summary> by_folder(scan.folders.size());
  const std::vector<bool> superseded = detail::superseded_folders(scan);
  for (std::size_t i = 0; i < scan.folders.size(); ++i) {
    by_folder[i].superseded = superseded[i];
    by_folder[i].folder = scan.folders[i].name;
    by_folder[i].name = scan.folders[i].function;
    by_folder[i].partition = scan.folders[i].partition;
    by_folder[i].body = scan.folders[i].body;
    by_folder[i].stats =
        detail::read_stats(scan.folder_path(scan.folders[i]) + '/' + std::string{detail::stats_file_name});
  }
  for (const auto& e : scan.entries) {
    auto& f = by_folder[e.folder];
    f.entries += 1;
    f.bytes += e.size;
    f.last_use =
        std::max(f.last_use,
                 std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
                     std::chrono::nanoseconds{e.last_use_ns})});
    summary.entries += 1;
    summary.bytes += e.size;
    if (!e.header_ok) {
      f.damaged += 1;
      summary.damaged += 1;
      continue;
    }
    const auto created = std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{e.created_ns})};
    if (f.oldest.time_since_epoch().count() == 0 || created < f.oldest) {
      f.oldest = created;
    }
    f.newest = std::max(f.newest, created);
  }
  // Sorted by (partition, folder); the root's functions have the empty partition name.
  std::map<std::string, partition_summary> partitions;
  for (const auto& name : scan.partitions) {
    partitions[name].name = name;
  }
  std::map<std::pair<std::string, std::string>, function_summary> sorted;
  for (auto& f : by_folder) {
    auto key = std::make_pair(f.partition, f.folder);
    sorted.emplace(std::move(key), std::move(f));
  }
  for (auto& [where, f] : sorted) {
    if (f.partition.empty()) {
      summary.functions.push_back(std::move(f));
      continue;
    }
    auto& p = partitions[f.partition];
    p.name = f.partition;
    p.entries += f.entries;
    p.bytes += f.bytes;
    p.damaged += f.damaged;
    p.functions.push_back(std::move(f));
  }
  for (auto& [name, p] : partitions) {
    summary.partitions.push_back(std::move(p));
  }
  for (const auto& t : scan.temp_files) {
    summary.temp_files += 1;
    summary.temp_bytes += t.size;
    summary.stale_temp_files += detail::is_stale(t) ? 1 : 0;
  }
  struct ::statvfs fs {};
  if (::statvfs(root.c_str(), &fs) == 0) {
    summary.free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  }
  return summary;
}

// The entries whose key starts with `key_prefix` (hex, at least 4 digits).
[[nodiscard]] inline std::vector<entry_record> find_entries(const std::filesystem::path& root,
                                                            std::string_view key_prefix) {
  std::vector<entry_record> out;
  if (key_prefix.size() < 4) {
    return out;
  }
  for (auto& r : list_entries(root)) {
    if (r.call.hex().compare(0, key_prefix.size(), key_prefix) == 0) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

// Removes the entries of `function` (empty: every function) in every partition, or in partition
// `scope` only, and the stale temp files of dead writers there (counted as entries). Costs one
// stat and one unlink per entry; the functions' stats files and the partition folders stay.
inline removal_report clear(const std::filesystem::path& root, std::string_view function = {},
                            dry_run dry = dry_run::no, const progress_function& progress = {},
                            std::string_view scope = {}) {
  namespace dm = detail::management;
  const dm::scan_result scan = dm::scan_entries(root, function, progress, scope);
  removal_report report;
  detail::remove_stale_temp_files(scan, dry, report);
  if (dry == dry_run::yes) {
    for (const auto& e : scan.entries) {
      report.entries += 1;
      report.bytes += e.size;
    }
    return report;
  }
  // In scan order (directory by directory) on a few threads, like prune.
  // Per entry: 0 removed, else the unlink's errno (ENOENT: gone meanwhile, not a failure).
  std::vector<int> outcome(scan.entries.size(), 0);
  dm::parallel_syscalls(
      scan.entries.size(),
      [&](std::size_t i) { outcome[i] = ::unlink(scan.entry_path(scan.entries[i]).c_str()) == 0 ? 0 : errno; },
      progress, "removing");
  for (std::size_t i = 0; i < scan.entries.size(); ++i) {
    if (outcome[i] == 0) {
      report.entries += 1;
      report.bytes += scan.entries[i].size;
    } else if (outcome[i] != ENOENT) {
      report.failures.emplace_back(scan.entry_path(scan.entries[i]),
                                   "cannot remove: " + detail::fsio::errno_message(outcome[i]));
    }
  }
  return report;
}

// Reads every entry file (in every partition, or in partition `scope`) whole and checks header,
// key, sizes, checksum and manifest. With repair::yes, damaged files are removed (those that
// cannot be are in `failures`), and so are the stale temp files of dead writers. Throws store_error when `root` cannot be read: an unreadable
// cache is not a clean one.
inline removal_report verify(const std::filesystem::path& root, repair fix = repair::no,
                             const progress_function& progress = {}, std::string_view scope = {}) {
  {
    const detail::fsio::unique_fd top{detail::fsio::open_retrying(root.c_str(), O_RDONLY | O_DIRECTORY)};
    if (!top) {
      detail::fsio::throw_io_error("cannot read the cache folder", root.string(), errno);
    }
  }
  removal_report report;
  detail::management::progress_throttle checking{progress, "verifying", 0};
  std::uint64_t done = 0;
  detail::for_each_entry_file(root, scope, [&](const std::string& path, const struct ::stat& found) {
    checking.advance(++done);
    const std::filesystem::path file{path};
    std::string reason;
    try {
      const detail::fsio::unique_fd fd{detail::fsio::open_retrying(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW)};
      if (!fd) {
        return; // vanished
      }
      struct ::stat status {};
      if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
        throw format_error{"not a regular file"};
      }
      const auto size = static_cast<std::uint64_t>(status.st_size);
      // The header's sizes are checked against the file's before the file is read whole: a
      // forged header, or a file grown by a hole, costs one read of 96 bytes.
      detail::entry_header_bytes head{};
      const ::ssize_t got = detail::fsio::pread_full(fd.get(), head.data(), head.size(), 0);
      detail::check_entry_size(
          detail::decode_header(std::span<const std::byte>{head}.first(got < 0 ? 0 : static_cast<std::size_t>(got))),
          size);
      std::vector<std::byte> bytes(static_cast<std::size_t>(size));
      ::iovec iov[1] = {{bytes.data(), bytes.size()}};
      bytes.resize(detail::fsio::read_all(fd.get(), iov, 1, path));
      const auto stem = file.stem().string();
      const auto expected = key::from_hex(stem);
      if (!expected) {
        throw format_error{"file name is not a key"};
      }
      const auto entry = detail::decode_entry(bytes, *expected);
      static_cast<void>(entry);
      return;
    } catch (const std::exception& e) {
      reason = e.what();
    }
    report.entries += 1;
    report.bytes += static_cast<std::uint64_t>(found.st_size);
    report.problems.emplace_back(file, reason);
    if (fix == repair::yes && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
      report.failures.emplace_back(file, "cannot remove: " + detail::fsio::errno_message(errno));
    }
  });
  if (fix == repair::yes) {
    // Leftovers of writers killed mid-store are damage too; they are removed, not listed.
    removal_report swept;
    detail::remove_stale_temp_files(detail::management::scan_entries(root, {}, {}, scope), dry_run::no, swept);
    report.failures.insert(report.failures.end(), swept.failures.begin(), swept.failures.end());
  }
  checking.finish(done);
  return report;
}

} // namespace recall
