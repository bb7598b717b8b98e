// Fast walk of a directory cache for the management tools: stat only, or stat plus the 96-byte
// header, never a manifest per entry; fit for caches of millions of entries.
#pragma once

// The walk is directory_layout's (detail/stores/directory_layout.hpp: the layout's grammar, and why
// readdir + fstatat rather than std::filesystem): the entry files of the function folders at the
// root and in its partition folders (recall::scope, one level), and apart from them the writers'
// temp files, <32 hex digits>.rce.tmp.<suffix> in a shard folder: a store in progress, or the
// leftover of a writer killed mid-store. Everything else (stats files, lock files, CACHEDIR.TAG,
// foreign files) is ignored. A function's readable name is read from the manifest of one entry
// per folder.

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

#include <recall/detail/management/progress_throttle.hpp>
#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
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
  std::string body;      // from the same manifest: its code's body signature; empty if untracked
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
  std::vector<std::string> partitions;       // every partition folder walked, even one with no function folder

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
    static_cast<void>(directory_layout::append_entry_path(out, e.call));
    return out;
  }
};

// True if `name` looks like a function folder: "<name>-<8 hex digits>".
[[nodiscard]] inline bool is_function_folder_name(std::string_view name) {
  return directory_layout::is_function_folder_name(name);
}

// True if `name` looks like a partition folder (recall::scope::folder_name()): "<label>_<8 hex
// digits>" (directory_layout::is_partition_folder_name).
[[nodiscard]] inline bool is_partition_folder_name(std::string_view name) {
  return directory_layout::is_partition_folder_name(name);
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

// The manifest of the first entry of `folder` that names its function. Every entry of a
// function folder has the same identity, so this one tells the folder's name and body signature.
[[nodiscard]] inline std::optional<entry_manifest> folder_manifest_of(const std::filesystem::path& root,
                                                                      const scanned_folder& folder,
                                                                      const std::vector<scanned_entry>& entries,
                                                                      std::size_t first, std::size_t last) {
  scan_result view{root, {folder}, {}, {}, {}};
  // A damaged first entry should not hide the name: try a few.
  for (std::size_t i = first; i < last && i < first + 8; ++i) {
    scanned_entry e = entries[i];
    e.folder = 0;
    if (auto description = directory_store::describe_file(view.entry_path(e));
        description && !description->manifest.function.empty()) {
      return std::move(description->manifest);
    }
  }
  return std::nullopt;
}

// Walks the function folder `folder` into `out`, unless its function does not match
// `function_filter`.
inline void walk_function_folder(const directory_layout::function_folder& folder, std::string_view function_filter,
                                 scan_result& out, progress_throttle& report) {
  namespace layout = directory_layout;
  const auto folder_index = static_cast<std::uint32_t>(out.folders.size());
  const std::size_t first = out.entries.size();
  const std::size_t first_temp = out.temp_files.size();
  const auto visit = [&](const layout::shard_file& file) {
    if (file.kind == layout::file_kind::temp) {
      std::string path = out.root.string();
      for (const std::string_view part : {folder.partition, folder.name, file.shard, file.name}) {
        if (!part.empty()) {
          path += '/';
          path += part;
        }
      }
      out.temp_files.push_back(scanned_temp_file{std::move(path), static_cast<std::uint64_t>(file.status->st_size),
                                                 fsio::mtime_ns(*file.status)});
      return;
    }
    scanned_entry entry;
    entry.call = file.call;
    entry.folder = folder_index;
    entry.shard = {file.shard[0], file.shard[1]};
    entry.size = static_cast<std::uint64_t>(file.status->st_size);
    entry.last_use_ns = fsio::mtime_ns(*file.status);
    out.entries.push_back(entry);
    report.advance(out.entries.size());
  };
  layout::for_each_shard_file(folder.fd, visit, {layout::file_kind::entry, layout::file_kind::temp});
  scanned_folder described{std::string{folder.name}, {}, std::string{folder.partition}, {}};
  if (auto manifest = folder_manifest_of(out.root, described, out.entries, first, out.entries.size())) {
    described.function = std::move(manifest->function);
    described.body = std::move(manifest->body);
  } else {
    described.function = described.name;
  }
  if (!filter_matches(function_filter, described.function, described.name)) {
    out.entries.resize(first);
    out.temp_files.resize(first_temp);
    return;
  }
  out.folders.push_back(std::move(described));
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
  namespace layout = directory_layout;
  check_scope_name(scope);
  scan_result out;
  out.root = root;
  const std::string root_text = root.string();
  const fsio::unique_fd top{layout::open_root(root_text)};
  if (!top) {
    fsio::throw_io_error("cannot read the cache folder", root_text, errno);
  }
  progress_throttle report{progress, "scanning", 0};
  const auto walk = [&](const layout::function_folder& folder) {
    scan_detail::walk_function_folder(folder, function_filter, out, report);
  };
  if (!scope.empty()) {
    const std::string name{scope};
    struct ::stat status {};
    if (::fstatat(top.get(), name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(status.st_mode)) {
      throw store_error{"no partition " + name + " in " + root_text};
    }
    const fsio::unique_fd partition{layout::open_folder_at(top.get(), name.c_str())};
    if (partition) {
      out.partitions.push_back(name);
      layout::for_each_function_folder(partition.get(), scope, walk);
    }
    report.finish(out.entries.size());
    return out;
  }
  layout::for_each_function_folder_in_tree(top.get(), walk,
                                           [&](std::string_view partition) { out.partitions.emplace_back(partition); });
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
  if (fsio::pread_full(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<::ssize_t>(bytes.size())) {
    return;
  }
  try {
    const entry_header h = decode_header(bytes);
    if (h.call == e.call) {
      e.created_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(h.metadata.created.time_since_epoch()).count();
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
      scan.entries.size(),
      [&](std::size_t i) { scan_detail::read_header(scan.entries[i], scan.entry_path(scan.entries[i])); }, progress,
      "reading headers");
}

} // namespace recall::detail::management
