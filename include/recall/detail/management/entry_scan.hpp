// Fast walk of a directory cache for the management tools: stat only, or stat plus the 96-byte
// header, never a manifest per entry; fit for caches of millions of entries.
#pragma once

// Why not std::filesystem::recursive_directory_iterator: on 1,000,000 entries its path objects
// and per-entry status calls cost several times what readdir + fstatat on the folder's
// descriptor do. The walk follows the store's fixed layout (directory_store.hpp):
//
//   <root>/<function folder>/<kk>/<32 hex digits>.rce
//   <root>/<partition>/<function folder>/<kk>/<32 hex digits>.rce   (recall::scope, one level)
//
// and ignores everything else (stats files, lock files, CACHEDIR.TAG) except writers' temp
// files, <32 hex digits>.rce.tmp.<suffix> in a shard folder, which it lists apart: a store in
// progress, or the leftover of a writer killed mid-store.
// A function's readable name is read from the manifest of one entry per folder.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <recall/detail/stores/entry_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/detail/management/progress_throttle.hpp>
#include <recall/management/progress.hpp>
#include <recall/stores/directory_store.hpp>

namespace recall::detail::management {

// One entry file as the walk saw it. 48 bytes, so a million cost 48 MB: no path string is kept,
// entry_path() rebuilds it.
struct scanned_entry {
  key call;                     // from the file name; the header's is checked only when read
  std::uint32_t folder = 0;     // index into scan_result::folders
  std::array<char, 2> shard{};  // the <kk> folder's name
  std::uint64_t size = 0;       // bytes of the file
  std::int64_t last_use_ns = 0; // the file's mtime: the store touches it on hits
  // Filled by read_headers() only:
  std::int64_t created_ns = 0;
  std::int64_t compute_ns = 0;
  bool header_ok = false; // the header decoded (magic, version, checksum, flags) and names `call`
};

struct scanned_folder {
  std::string name;      // "ns_simulate-0123abcd"
  std::string function;  // from one entry's manifest; the folder name when none is readable
  std::string partition; // "channels_1a2b3c4d" when under a partition folder; empty at the root
};

// A writer's temp file as the walk saw it. Few exist, so each keeps its path.
struct scanned_temp_file {
  std::string path;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0; // its last write: a live writer's is seconds old
};

// Temp files last written longer ago than this are leftovers of killed writers, which the
// management verbs may remove: a live writer writes its temp file in one go and renames it
// within seconds. The store's size limiter uses the same age.
inline constexpr auto stale_temp_age = size_limiter::stale_after;

struct scan_result {
  std::filesystem::path root;
  std::vector<scanned_folder> folders;
  std::vector<scanned_entry> entries;
  std::vector<scanned_temp_file> temp_files; // in the function folders walked
  std::vector<std::string> partitions; // every partition folder walked, even one with no function folder

  // "<root>[/<partition>]/<function folder>"
  [[nodiscard]] std::string folder_path(const scanned_folder& f) const {
    std::string out = root.string();
    out += '/';
    if (!f.partition.empty()) {
      out += f.partition;
      out += '/';
    }
    out += f.name;
    return out;
  }

  [[nodiscard]] std::string entry_path(const scanned_entry& e) const {
    std::string out = folder_path(folders[e.folder]);
    out += '/';
    out.append(e.shard.data(), 2);
    out += '/';
    char hex[32];
    e.call.write_hex(hex);
    out.append(hex, 32);
    out.append(directory_store::entry_extension);
    return out;
  }
};

// True if `name` looks like a function folder: "<name>-<8 hex digits>".
[[nodiscard]] inline bool is_function_folder_name(std::string_view name) {
  if (name.size() < 10 || name[name.size() - 9] != '-') {
    return false;
  }
  return std::all_of(name.end() - 8, name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// True if `name` looks like a partition folder (recall::scope::folder_name()): "<label>_<8 hex
// digits>", the label 1 to 48 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. The
// character before the digits ('_', not '-') tells it from a function folder. Archive import
// trusts a partition name from a member path only through this check: it admits no '/', no
// "..", no hidden name.
[[nodiscard]] inline bool is_partition_folder_name(std::string_view name) {
  constexpr std::size_t max_label = 48; // recall::scope::max_label_length (a layer above)
  if (name.size() < 10 || name.size() > max_label + 9 || name[name.size() - 9] != '_') {
    return false;
  }
  const std::string_view label = name.substr(0, name.size() - 9);
  if (label.front() == '.' || label.front() == '-') {
    return false;
  }
  const bool label_ok = std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
  return label_ok &&
         std::all_of(name.end() - 8, name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Throws config_error unless `scope` is empty (every partition) or a partition folder name.
inline void check_scope_name(std::string_view scope) {
  if (!scope.empty() && !is_partition_folder_name(scope)) {
    throw config_error{"bad partition '" + std::string{scope} +
                       "': expected a partition folder name, <label>_<8 hex digits> (e.g. channels_1a2b3c4d)"};
  }
}

// A function filter matches a function's readable name or its folder's name, exactly.
[[nodiscard]] inline bool filter_matches(std::string_view filter, std::string_view function, std::string_view folder) {
  return filter.empty() || filter == function || filter == folder;
}

namespace scan_detail {

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using dir_handle = std::unique_ptr<DIR, dir_closer>;

[[nodiscard]] inline dir_handle open_dir_at(int parent, const char* name) {
  const int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return nullptr;
  }
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
  }
  return dir_handle{d};
}

[[nodiscard]] inline bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

[[nodiscard]] inline std::int64_t mtime_ns(const struct ::stat& s) {
  return std::int64_t{s.st_mtim.tv_sec} * 1'000'000'000 + s.st_mtim.tv_nsec;
}

// The readable name in the manifest of the first entry of `folder` that has one.
[[nodiscard]] inline std::optional<std::string> function_name_of(const std::filesystem::path& root, const scanned_folder& folder,
                                                                 const std::vector<scanned_entry>& entries, std::size_t first,
                                                                 std::size_t last) {
  scan_result view{root, {folder}, {}, {}, {}};
  // A damaged first entry should not hide the name: try a few.
  for (std::size_t i = first; i < last && i < first + 8; ++i) {
    scanned_entry e = entries[i];
    e.folder = 0;
    if (auto description = directory_store::describe_file(view.entry_path(e));
        description && !description->manifest.function.empty()) {
      return std::move(description->manifest.function);
    }
  }
  return std::nullopt;
}

} // namespace scan_detail

namespace scan_detail {

// Records the temp file `name` of the shard folder open as `shard` (a regular file, not a link).
inline void add_temp_file(scan_result& out, int shard, const char* name, std::string_view folder, std::string_view shard_name,
                          std::string_view partition) {
  struct ::stat status{};
  if (::fstatat(shard, name, &status, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(status.st_mode)) {
    return;
  }
  std::string path = out.root.string();
  for (const std::string_view part : {partition, folder, shard_name, std::string_view{name}}) {
    if (!part.empty()) {
      path += '/';
      path += part;
    }
  }
  out.temp_files.push_back(scanned_temp_file{std::move(path), static_cast<std::uint64_t>(status.st_size), mtime_ns(status)});
}

// Walks the function folder `folder_name` (a child of the directory open as `parent`) into
// `out`, unless its function does not match `function_filter`.
inline void walk_function_folder(int parent, std::string_view folder_name, std::string_view partition,
                                 std::string_view function_filter, scan_result& out, progress_throttle& report) {
  const std::string name{folder_name};
  const dir_handle folder{open_dir_at(parent, name.c_str())};
  if (!folder) {
    return;
  }
  const auto folder_index = static_cast<std::uint32_t>(out.folders.size());
  const std::size_t first = out.entries.size();
  const std::size_t first_temp = out.temp_files.size();
  while (const ::dirent* s = ::readdir(folder.get())) {
    const std::string_view shard_name = s->d_name;
    if (shard_name.size() != 2 || !is_hex_digit(shard_name[0]) || !is_hex_digit(shard_name[1]) ||
        (s->d_type != DT_DIR && s->d_type != DT_UNKNOWN)) {
      continue;
    }
    const dir_handle shard{open_dir_at(::dirfd(folder.get()), s->d_name)};
    if (!shard) {
      continue;
    }
    while (const ::dirent* e = ::readdir(shard.get())) {
      const std::string_view file = e->d_name;
      constexpr std::size_t name_size = 32 + directory_store::entry_extension.size();
      if (file.size() > name_size && file.substr(name_size).starts_with(".tmp.") &&
          file.substr(32, directory_store::entry_extension.size()) == directory_store::entry_extension) {
        add_temp_file(out, ::dirfd(shard.get()), e->d_name, name, shard_name, partition);
        continue;
      }
      if (file.size() != name_size || !file.ends_with(directory_store::entry_extension) ||
          (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)) {
        continue;
      }
      const auto call = key::from_hex(file.substr(0, 32));
      struct ::stat status{};
      if (!call || ::fstatat(::dirfd(shard.get()), e->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(status.st_mode)) {
        continue;
      }
      scanned_entry entry;
      entry.call = *call;
      entry.folder = folder_index;
      entry.shard = {shard_name[0], shard_name[1]};
      entry.size = static_cast<std::uint64_t>(status.st_size);
      entry.last_use_ns = mtime_ns(status);
      out.entries.push_back(entry);
      report.advance(out.entries.size());
    }
  }
  scanned_folder described{name, {}, std::string{partition}};
  described.function = function_name_of(out.root, described, out.entries, first, out.entries.size()).value_or(described.name);
  if (!filter_matches(function_filter, described.function, described.name)) {
    out.entries.resize(first);
    out.temp_files.resize(first_temp);
    return;
  }
  out.folders.push_back(std::move(described));
}

// Walks the function folders of the partition folder `partition` (a child of `parent`).
inline void walk_partition(int parent, std::string_view partition, std::string_view function_filter, scan_result& out,
                           progress_throttle& report) {
  const std::string name{partition};
  const dir_handle folder{open_dir_at(parent, name.c_str())};
  if (!folder) {
    return;
  }
  out.partitions.push_back(name);
  while (const ::dirent* f = ::readdir(folder.get())) {
    if ((f->d_type == DT_DIR || f->d_type == DT_UNKNOWN) && is_function_folder_name(f->d_name)) {
      walk_function_folder(::dirfd(folder.get()), f->d_name, partition, function_filter, out, report);
    }
  }
}

} // namespace scan_detail

// Lists every entry file under `root` whose function (readable name or folder name) matches
// `function_filter` (empty: all): those of function folders at the root and of function folders
// inside partition folders (recall::scope), one level down. With `scope` set (a partition folder
// name), only that partition is walked. Throws config_error when `scope` is not a partition
// folder name, store_error when `root` cannot be opened or `scope` names no partition there;
// folders that vanish or cannot be read during the walk are skipped (a cache is written
// concurrently). No symbolic link is followed. `progress` is told the running count of entries
// seen, in phase "scanning".
[[nodiscard]] inline scan_result scan_entries(const std::filesystem::path& root, std::string_view function_filter = {},
                                              const progress_function& progress = {}, std::string_view scope = {}) {
  check_scope_name(scope);
  scan_result out;
  out.root = root;
  const std::string root_text = root.string();
  const scan_detail::dir_handle top{::opendir(root_text.c_str())};
  if (!top) {
    fsio::throw_io_error("cannot read the cache folder", root_text, errno);
  }
  progress_throttle report{progress, "scanning", 0};
  if (!scope.empty()) {
    const std::string name{scope};
    struct ::stat status{};
    if (::fstatat(::dirfd(top.get()), name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(status.st_mode)) {
      throw store_error{"no partition " + name + " in " + root_text};
    }
    scan_detail::walk_partition(::dirfd(top.get()), scope, function_filter, out, report);
    report.finish(out.entries.size());
    return out;
  }
  while (const ::dirent* f = ::readdir(top.get())) {
    const std::string_view name = f->d_name;
    if (f->d_type != DT_DIR && f->d_type != DT_UNKNOWN) {
      continue;
    }
    if (is_function_folder_name(name)) {
      scan_detail::walk_function_folder(::dirfd(top.get()), name, {}, function_filter, out, report);
    } else if (is_partition_folder_name(name)) {
      scan_detail::walk_partition(::dirfd(top.get()), name, function_filter, out, report);
    }
  }
  report.finish(out.entries.size());
  return out;
}

namespace scan_detail {

// Fills e's header fields from the entry file at `path`; leaves header_ok false when it cannot.
inline void read_header(scanned_entry& e, const std::string& path) {
  const fsio::unique_fd fd{fsio::open_regular(path.c_str(), O_RDONLY | O_NOFOLLOW)};
  if (!fd) {
    return; // removed since the scan, or replaced by something else
  }
  entry_header_bytes bytes{};
  if (::pread(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<::ssize_t>(bytes.size())) {
    return;
  }
  try {
    const entry_header h = decode_header(bytes);
    if (h.call == e.call) {
      e.created_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(h.metadata.created.time_since_epoch()).count();
      e.compute_ns = h.metadata.compute_time.count();
      e.header_ok = true;
    }
  } catch (const format_error&) {
    // header_ok stays false: each caller decides what a damaged entry means to it
  }
}

} // namespace scan_detail

// Calls work(i) for every i in [0, count) on this thread and up to three more, and reports
// progress in `phase` from this thread only. The work is syscalls that mostly wait on the kernel
// (opens, unlinks), so a few threads beat the core count; below a few thousand items, starting
// threads costs more than it saves. `work` must not throw.
template <class Work>
void parallel_syscalls(std::size_t count, Work&& work, const progress_function& progress, std::string_view phase) {
  constexpr std::size_t batch = 256;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  // Runs one batch; false when none is left.
  const auto run_batch = [&] {
    const std::size_t start = next.fetch_add(batch, std::memory_order_relaxed);
    if (start >= count) {
      return false;
    }
    const std::size_t end = std::min(count, start + batch);
    for (std::size_t i = start; i < end; ++i) {
      work(i);
    }
    done.fetch_add(end - start, std::memory_order_relaxed);
    return true;
  };
  const std::size_t helpers = count < 4096 ? 0 : 3;
  std::vector<std::jthread> threads;
  threads.reserve(helpers);
  for (std::size_t t = 0; t < helpers; ++t) {
    threads.emplace_back([&] {
      while (run_batch()) {
      }
    });
  }
  progress_throttle report{progress, phase, count};
  while (run_batch()) {
    report.advance(done.load(std::memory_order_relaxed));
  }
  threads.clear(); // joins the helpers before the caller reads what they wrote
  report.finish(count);
}

// Reads the 96-byte header of every scanned entry (creation and compute time), on a few threads:
// one open, pread and close per entry, nothing more. An entry whose header does not decode, or
// names another call than its file name, keeps header_ok = false. `progress` gets phase
// "reading headers" and the count done out of the total, from the calling thread only.
inline void read_headers(scan_result& scan, const progress_function& progress = {}) {
  parallel_syscalls(
      scan.entries.size(), [&](std::size_t i) { scan_detail::read_header(scan.entries[i], scan.entry_path(scan.entries[i])); },
      progress, "reading headers");
}

} // namespace recall::detail::management
