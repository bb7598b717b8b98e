// Keeps a cache directory under its size and entry limits, least recently used entries first,
// a shard at a time (like ccache's cleanup), and sweeps files that crashed writers left behind.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/fsio.hpp>

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
  static constexpr std::size_t shard_count = directory_layout::shard_count;
  // Temp files of writers that died, and lock files nobody holds, older than this are removed.
  static constexpr auto stale_after = std::chrono::hours{1};

  explicit size_limiter(std::filesystem::path root) : m_root{std::move(root)} {}

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
    std::string path;
    std::uint64_t size = 0;
    std::int64_t last_use_ns = 0; // mtime
  };

  // Lists shard `shard` of every function folder; removes stale temp and lock files on the way.
  // Symbolic links are skipped, never followed (directory_layout's walk): a linked function or
  // shard folder could point anywhere, and eviction deletes what it lists (directory_store
  // refuses them too).
  std::vector<file_info> scan(std::size_t shard) {
    namespace layout = directory_layout;
    std::vector<file_info> files;
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    constexpr std::int64_t stale_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(stale_after).count();
    const fsio::unique_fd root{layout::open_root(m_root.native())};
    if (!root) {
      return files;
    }
    layout::for_each_function_folder(root.get(), {}, [&](const layout::function_folder& folder) {
      layout::for_each_shard_file(
          folder.fd,
          [&](const layout::shard_file& file) {
            if (file.kind == layout::file_kind::entry) {
              std::string path = m_root.native();
              path.append(1, '/')
                  .append(folder.name)
                  .append(1, '/')
                  .append(file.shard)
                  .append(1, '/')
                  .append(file.name);
              files.push_back(
                  {std::move(path), static_cast<std::uint64_t>(file.status->st_size), fsio::mtime_ns(*file.status)});
            } else if (now_ns - fsio::mtime_ns(*file.status) > stale_ns) {
              remove_if_stale(file);
            }
          },
          {layout::file_kind::entry, layout::file_kind::temp, layout::file_kind::other}, shard);
    });
    return files;
  }

  // Removes a stale temp file (a writer that died mid-store), or an old lock file nobody holds,
  // relative to its shard folder.
  static void remove_if_stale(const directory_layout::shard_file& file) {
    const std::string name{file.name};
    if (file.kind == directory_layout::file_kind::temp) {
      static_cast<void>(::unlinkat(file.shard_fd, name.c_str(), 0));
    } else if (file.name.ends_with(".lock")) {
      // A per-key lock file of recall before the function-wide locks file; only one nobody
      // holds: taking it proves the holder is gone.
      const fsio::unique_fd fd{fsio::open_regular_at(file.shard_fd, name.c_str(), O_RDWR | O_NOFOLLOW)};
      if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
        static_cast<void>(::unlinkat(file.shard_fd, name.c_str(), 0));
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
      std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.last_use_ns < b.last_use_ns; });
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
        if (::unlink(f.path.c_str()) == 0) {
          ++evicted;
        }
        m_shards[shard].bytes -= f.size;
        m_shards[shard].entries -= 1;
      }
    }
    return evicted;
  }

  std::filesystem::path m_root;
  mutable std::mutex m_mutex;
  cache_limits m_limits;
  bool m_known = false;
  std::array<shard_usage, shard_count> m_shards{};
};

} // namespace detail
} // namespace recall
