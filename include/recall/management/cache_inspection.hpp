// Library API behind `recall-cache`: list, summarize, verify and clear the entries of a cache
// directory. Reads headers and manifests; never decodes results.
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
#include <system_error>
#include <utility>
#include <vector>

#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/stats_file.hpp>
#include <recall/stores/directory_store.hpp>

namespace recall {

// One entry as recall-cache shows it.
struct entry_record {
  std::filesystem::path path;
  std::string folder; // the function folder's name
  key call;
  key identity;
  entry_manifest manifest;
  std::uint64_t size = 0; // bytes of the entry file
  std::chrono::system_clock::time_point created{};
  std::chrono::system_clock::time_point last_use{}; // the file's mtime
  std::chrono::nanoseconds compute_time{0};
};

struct function_summary {
  std::string name;   // from the entries' manifests, else the folder name
  std::string folder;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  function_stats stats;
  std::chrono::system_clock::time_point oldest{};
  std::chrono::system_clock::time_point newest{};
};

struct cache_summary {
  std::filesystem::path root;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> free_bytes; // on the root's filesystem
  std::vector<function_summary> functions;
};

// What clear() and verify() did (or, dry, would do).
struct removal_report {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::vector<std::pair<std::filesystem::path, std::string>> problems; // verify: path, reason
};

enum class dry_run { no, yes };
enum class repair { no, yes };

namespace detail {

inline std::chrono::system_clock::time_point to_system(std::filesystem::file_time_type t) {
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(t));
}

// True if `name` looks like a function folder: "<name>-<8 hex digits>".
inline bool is_function_folder(std::string_view name) {
  if (name.size() < 10 || name[name.size() - 9] != '-') {
    return false;
  }
  return std::all_of(name.end() - 8, name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A function filter matches the function's name or its folder's name, exactly.
inline bool matches(std::string_view filter, std::string_view function, std::string_view folder) {
  return filter.empty() || filter == function || filter == folder;
}

template <class Visit>
void for_each_entry_file(const std::filesystem::path& root, Visit&& visit) {
  std::error_code error;
  for (const auto& folder : std::filesystem::directory_iterator{root, error}) {
    const std::string folder_name = folder.path().filename().string();
    std::error_code e;
    if (!folder.is_directory(e) || !is_function_folder(folder_name)) {
      continue;
    }
    for (const auto& file : std::filesystem::recursive_directory_iterator{folder.path(), e}) {
      if (file.path().extension() == directory_store::entry_extension && file.is_regular_file(e)) {
        visit(folder_name, file);
      }
    }
  }
}

} // namespace detail

// Every readable entry under `root` whose function (name or folder) matches `function`
// (empty: all), oldest first. Damaged files are skipped: verify() reports them.
[[nodiscard]] inline std::vector<entry_record> list_entries(const std::filesystem::path& root,
                                                            std::string_view function = {}) {
  std::vector<entry_record> out;
  detail::for_each_entry_file(root, [&](const std::string& folder, const std::filesystem::directory_entry& file) {
    auto description = directory_store::describe_file(file.path().string());
    if (!description || !detail::matches(function, description->manifest.function, folder)) {
      return;
    }
    std::error_code e;
    entry_record r;
    r.path = file.path();
    r.folder = folder;
    r.call = description->call;
    r.identity = description->identity;
    r.manifest = std::move(description->manifest);
    r.size = file.file_size(e);
    r.last_use = detail::to_system(file.last_write_time(e));
    // The header holds creation and compute time; describe_file read it already, read it again
    // cheaply rather than widen entry_description for tools.
    std::array<std::byte, detail::entry_header_size> header{};
    if (const detail::fsio::unique_fd fd{detail::fsio::open_retrying(r.path.c_str(), O_RDONLY)}; fd) {
      ::iovec iov[1] = {{header.data(), header.size()}};
      if (detail::fsio::read_all(fd.get(), iov, 1, r.path.string()) == header.size()) {
        const auto h = detail::decode_header(header);
        r.created = h.metadata.created;
        r.compute_time = h.metadata.compute_time;
      }
    }
    out.push_back(std::move(r));
  });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

// Totals per function and for the whole cache, with each function's recorded statistics.
[[nodiscard]] inline cache_summary cache_info(const std::filesystem::path& root) {
  cache_summary summary;
  summary.root = root;
  std::map<std::string, function_summary> by_folder;
  for (const auto& r : list_entries(root)) {
    auto& f = by_folder[r.folder];
    f.folder = r.folder;
    f.name = r.manifest.function.empty() ? r.folder : r.manifest.function;
    if (f.entries == 0 || r.created < f.oldest) {
      f.oldest = r.created;
    }
    f.newest = std::max(f.newest, r.created);
    f.entries += 1;
    f.bytes += r.size;
    summary.entries += 1;
    summary.bytes += r.size;
  }
  std::error_code error;
  for (const auto& folder : std::filesystem::directory_iterator{root, error}) {
    const std::string name = folder.path().filename().string();
    if (!detail::is_function_folder(name)) {
      continue;
    }
    auto& f = by_folder[name];
    f.folder = name;
    if (f.name.empty()) {
      f.name = name;
    }
    f.stats = detail::read_stats((folder.path() / std::string{detail::stats_file_name}).string());
  }
  for (auto& [folder, f] : by_folder) {
    summary.functions.push_back(std::move(f));
  }
  struct ::statvfs fs{};
  if (::statvfs(root.c_str(), &fs) == 0) {
    summary.free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  }
  return summary;
}

// The entries whose key starts with `key_prefix` (hex, at least 4 digits).
[[nodiscard]] inline std::vector<entry_record> find_entries(const std::filesystem::path& root, std::string_view key_prefix) {
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

// Removes the entries of `function` (empty: every function) and, for a whole clear, the
// function folders' stats files too.
inline removal_report clear(const std::filesystem::path& root, std::string_view function = {},
                            dry_run dry = dry_run::no) {
  removal_report report;
  for (const auto& r : list_entries(root, function)) {
    std::error_code e;
    if (dry == dry_run::yes || std::filesystem::remove(r.path, e)) {
      report.entries += 1;
      report.bytes += r.size;
    }
  }
  return report;
}

// Reads every entry file whole and checks header, key, sizes, checksum and manifest. With
// repair::yes, damaged files are removed.
inline removal_report verify(const std::filesystem::path& root, repair fix = repair::no) {
  removal_report report;
  detail::for_each_entry_file(root, [&](const std::string&, const std::filesystem::directory_entry& file) {
    const std::string path = file.path().string();
    std::string reason;
    try {
      std::error_code e;
      const auto size = file.file_size(e);
      std::vector<std::byte> bytes(static_cast<std::size_t>(size));
      const detail::fsio::unique_fd fd{detail::fsio::open_retrying(path.c_str(), O_RDONLY)};
      if (!fd) {
        return; // vanished
      }
      ::iovec iov[1] = {{bytes.data(), bytes.size()}};
      bytes.resize(detail::fsio::read_all(fd.get(), iov, 1, path));
      const auto stem = file.path().stem().string();
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
    std::error_code e;
    report.entries += 1;
    report.bytes += file.file_size(e);
    report.problems.emplace_back(file.path(), reason);
    if (fix == repair::yes) {
      std::filesystem::remove(file.path(), e);
    }
  });
  return report;
}

} // namespace recall
