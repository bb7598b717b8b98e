// Keeps a cache directory under its size and entry limits, least recently used entries first,
// a shard at a time (like ccache's cleanup), and sweeps files that crashed writers left behind.
#pragma once

#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <recall/detail/stores/atomic_file.hpp>

namespace recall {

// Limits of one cache directory. Unset means unlimited.
struct cache_limits {
  std::optional<std::uint64_t> max_size;    // bytes of entry files
  std::optional<std::uint64_t> max_entries; // entry files
};

namespace detail {

// Entries live in <root>/<function folder>/<xx>/<key>.rce; shard xx (256 of them) spans every
// function. The limiter learns each shard's size once (a full scan, the first time a process
// stores with limits set), then counts what this process adds. When the total passes a limit,
// it rescans the largest shard (its true size, other processes' writes included) and deletes
// its least recently used entries (mtime: directory_store touches an entry on every hit),
// shard after shard, until the total is back under 90 % of the limit. Each step touches one
// shard, so no store pays for a scan of the whole cache after the first.
class size_limiter {
public:
  static constexpr std::size_t shard_count = 256;
  // Temp files of writers that died, and lock files nobody holds, older than this are removed.
  static constexpr auto stale_after = std::chrono::hours{1};

  size_limiter(std::filesystem::path root, std::string extension) : m_root{std::move(root)}, m_extension{std::move(extension)} {}

  void set_limits(const cache_limits& limits) {
    const std::lock_guard lock{m_mutex};
    m_limits = limits;
  }

  [[nodiscard]] cache_limits limits() const {
    const std::lock_guard lock{m_mutex};
    return m_limits;
  }

  // Called after an entry of `bytes` was stored in shard `shard`.
  void stored(std::size_t shard, std::uint64_t bytes) {
    const std::lock_guard lock{m_mutex};
    if (!m_limits.max_size && !m_limits.max_entries) {
      return;
    }
    if (!m_known) {
      for (std::size_t s = 0; s < shard_count; ++s) {
        rescan(s);
      }
      m_known = true;
    } else {
      m_shards[shard].bytes += bytes;
      m_shards[shard].entries += 1;
    }
    trim();
  }

  // Sweeps one shard now (tests and tools); returns the entries it evicted.
  std::size_t trim_now() {
    const std::lock_guard lock{m_mutex};
    for (std::size_t s = 0; s < shard_count; ++s) {
      rescan(s);
    }
    m_known = true;
    return trim();
  }

private:
  struct shard_usage {
    std::uint64_t bytes = 0;
    std::uint64_t entries = 0;
  };

  struct file_info {
    std::filesystem::path path;
    std::uint64_t size = 0;
    std::filesystem::file_time_type last_use;
  };

  [[nodiscard]] static std::string shard_name(std::size_t shard) {
    constexpr char digits[] = "0123456789abcdef";
    return {digits[shard >> 4], digits[shard & 0xF]};
  }

  // Lists shard `shard` of every function folder; removes stale temp and lock files on the way.
  // Symbolic links are skipped, never followed: a linked function or shard folder could point
  // anywhere, and eviction deletes what it lists (directory_store refuses them too).
  std::vector<file_info> scan(std::size_t shard) {
    std::vector<file_info> files;
    const std::string name = shard_name(shard);
    const auto now = std::filesystem::file_time_type::clock::now();
    std::error_code error;
    for (const auto& function : std::filesystem::directory_iterator{m_root, error}) {
      std::error_code inner;
      if (function.is_symlink(inner) || !function.is_directory(inner)) {
        continue;
      }
      const auto shard_path = function.path() / name;
      if (std::filesystem::is_symlink(std::filesystem::symlink_status(shard_path, inner))) {
        continue;
      }
      for (const auto& file : std::filesystem::directory_iterator{shard_path, inner}) {
        std::error_code e;
        if (file.is_symlink(e)) {
          continue;
        }
        const auto filename = file.path().filename().string();
        const auto modified = file.last_write_time(e);
        if (e) {
          continue;
        }
        if (filename.ends_with(m_extension)) {
          const auto size = file.file_size(e);
          if (!e) {
            files.push_back({file.path(), size, modified});
          }
        } else if (now - modified > stale_after) {
          remove_if_stale(file.path(), filename);
        }
      }
    }
    return files;
  }

  void remove_if_stale(const std::filesystem::path& path, const std::string& filename) {
    std::error_code ignored;
    if (filename.find(m_extension + ".tmp.") != std::string::npos) {
      std::filesystem::remove(path, ignored); // a writer that died mid-store
    } else if (filename.ends_with(".lock")) {
      // A per-key lock file of recall before the function-wide locks file; only one nobody
      // holds: taking it proves the holder is gone.
      const int fd = fsio::open_regular(path.c_str(), O_RDWR | O_NOFOLLOW);
      if (fd >= 0) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
          std::filesystem::remove(path, ignored);
        }
        ::close(fd);
      }
    }
  }

  void rescan(std::size_t shard) {
    shard_usage usage;
    for (const auto& f : scan(shard)) {
      usage.bytes += f.size;
      usage.entries += 1;
    }
    m_shards[shard] = usage;
  }

  [[nodiscard]] shard_usage total() const {
    shard_usage t;
    for (const auto& s : m_shards) {
      t.bytes += s.bytes;
      t.entries += s.entries;
    }
    return t;
  }

  [[nodiscard]] bool over(const shard_usage& t, double fraction) const {
    return (m_limits.max_size && static_cast<double>(t.bytes) > fraction * static_cast<double>(*m_limits.max_size)) ||
           (m_limits.max_entries &&
            static_cast<double>(t.entries) > fraction * static_cast<double>(*m_limits.max_entries));
  }

  std::size_t trim() {
    std::size_t evicted = 0;
    if (!over(total(), 1.0)) {
      return 0;
    }
    // At most a few shards per call: a much lowered limit is reached over several stores.
    for (int round = 0; round < 16 && over(total(), 0.9); ++round) {
      const auto largest = std::max_element(m_shards.begin(), m_shards.end(), [&](const auto& a, const auto& b) {
        return m_limits.max_size ? a.bytes < b.bytes : a.entries < b.entries;
      });
      const auto shard = static_cast<std::size_t>(largest - m_shards.begin());
      auto files = scan(shard);
      std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.last_use < b.last_use; });
      shard_usage usage;
      for (const auto& f : files) {
        usage.bytes += f.size;
        usage.entries += 1;
      }
      m_shards[shard] = usage;
      // Down to the shard's fair part of 90 % of the limit, not to empty: LRU is per shard, and
      // emptying one shard would throw away its recent entries before other shards' old ones.
      const auto nonempty = static_cast<double>(std::max<std::ptrdiff_t>(
          1, std::count_if(m_shards.begin(), m_shards.end(), [](const auto& s) { return s.entries > 0; })));
      const double byte_share = m_limits.max_size ? 0.9 * static_cast<double>(*m_limits.max_size) / nonempty : 0.0;
      const double entry_share =
          m_limits.max_entries ? 0.9 * static_cast<double>(*m_limits.max_entries) / nonempty : 0.0;
      const auto above_share = [&] {
        return (m_limits.max_size && static_cast<double>(m_shards[shard].bytes) > byte_share) ||
               (m_limits.max_entries && static_cast<double>(m_shards[shard].entries) > entry_share);
      };
      for (const auto& f : files) {
        if (!over(total(), 0.9) || !above_share()) {
          break;
        }
        std::error_code e;
        if (std::filesystem::remove(f.path, e)) {
          ++evicted;
        }
        m_shards[shard].bytes -= f.size;
        m_shards[shard].entries -= 1;
      }
    }
    return evicted;
  }

  std::filesystem::path m_root;
  std::string m_extension;
  mutable std::mutex m_mutex;
  cache_limits m_limits;
  bool m_known = false;
  std::array<shard_usage, shard_count> m_shards{};
};

} // namespace detail
} // namespace recall
