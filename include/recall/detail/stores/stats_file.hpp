// Per-function statistics kept beside a function's entries (<function folder>/stats): hits,
// misses, stores, bytes stored, compute time saved and compute time spent, updated in batches under a file lock.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/stores/store.hpp>

namespace recall {

// The stats file is text, one "name value" line per counter, so people can read it and other
// versions can skip what they do not know.
namespace detail {

using directory_layout::stats_file_name; // <function folder>/stats

[[nodiscard]] inline function_stats parse_stats(std::string_view text) {
  function_stats s;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    const auto space = line.find(' ');
    if (space == std::string_view::npos) {
      continue;
    }
    const std::string_view name = line.substr(0, space);
    std::uint64_t value = 0;
    for (const char c : line.substr(space + 1)) {
      if (c < '0' || c > '9') {
        value = 0;
        break;
      }
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (name == "hits") {
      s.hits = value;
    } else if (name == "misses") {
      s.misses = value;
    } else if (name == "stores") {
      s.stores = value;
    } else if (name == "bytes_stored") {
      s.bytes_stored = value;
    } else if (name == "saved_ns") {
      s.saved_ns = value;
    } else if (name == "compute_ns") {
      s.compute_ns = value;
    }
  }
  return s;
}

[[nodiscard]] inline std::string format_stats(const function_stats& s) {
  return "hits " + std::to_string(s.hits) + "\nmisses " + std::to_string(s.misses) + "\nstores " +
         std::to_string(s.stores) + "\nbytes_stored " + std::to_string(s.bytes_stored) + "\nsaved_ns " +
         std::to_string(s.saved_ns) + "\ncompute_ns " + std::to_string(s.compute_ns) + "\n";
}

// Reads the stats file open as `fd`; an unreadable one reads as zeros.
[[nodiscard]] inline function_stats read_stats(int fd) {
  std::array<char, 1024> buffer{};
  const ::ssize_t got = fsio::pread_full(fd, buffer.data(), buffer.size(), 0);
  return got > 0 ? parse_stats(std::string_view{buffer.data(), static_cast<std::size_t>(got)}) : function_stats{};
}

// Reads a stats file; a missing or unreadable one, a symbolic link or anything but a regular
// file (a FIFO would block the open) reads as zeros.
[[nodiscard]] inline function_stats read_stats(const std::string& path) {
  const fsio::unique_fd fd{fsio::open_regular(path.c_str(), O_RDONLY | O_NOFOLLOW)};
  return fd ? read_stats(fd.get()) : function_stats{};
}

// Adds `delta` to the stats file open (read-write) as `fd`: locks the file, reads, adds,
// rewrites in place. Returns false if the file could not be updated; stats are advisory and a
// failure never matters to a call.
inline bool add_stats(int fd, const function_stats& delta) {
  if (::flock(fd, LOCK_EX) != 0) {
    return false;
  }
  const bool ok = [&] {
    std::array<char, 1024> buffer{};
    const ::ssize_t got = fsio::pread_full(fd, buffer.data(), buffer.size(), 0);
    function_stats total =
        got > 0 ? parse_stats(std::string_view{buffer.data(), static_cast<std::size_t>(got)}) : function_stats{};
    total += delta;
    const std::string text = format_stats(total);
    // Written over the old text, then cut to length: counters only grow, so the new text is at
    // least as long, and a write that fails (a full disk) leaves the old counters, not nothing.
    // The cut is only needed when the old text may be longer (lines another version wrote, a
    // file past the buffer, an unreadable one): one system call fewer per flush, which every
    // process that hits or misses pays once as it ends.
    const bool old_may_be_longer =
        got < 0 || static_cast<std::size_t>(got) > text.size() || static_cast<std::size_t>(got) == buffer.size();
    return ::pwrite(fd, text.data(), text.size(), 0) == static_cast<::ssize_t>(text.size()) &&
           (!old_may_be_longer || ::ftruncate(fd, static_cast<::off_t>(text.size())) == 0);
  }();
  static_cast<void>(::flock(fd, LOCK_UN));
  return ok;
}

// As above, for the stats file at `path` (in an existing folder; a symbolic link or anything but
// a regular file is refused).
inline bool add_stats(const std::string& path, const function_stats& delta) {
  const fsio::unique_fd fd{fsio::open_regular(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW, 0600)};
  return fd && add_stats(fd.get(), delta);
}

} // namespace detail
} // namespace recall
