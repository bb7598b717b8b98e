// Process-wide helpers behind memoize: shared directory stores, the temp-mode directory, warnings
// logged once per cause, and readable durations for log lines.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <recall/detail/immortal.hpp>
#include <recall/errors.hpp>
#include <recall/log.hpp>
#include <recall/stores/durability.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/pack_store.hpp>

namespace recall::detail {

// Logs `message` the first time `cause` is seen in this process; later occurrences are dropped
// so that a cache on a full disk does not print one warning per call. Returns whether it logged.
inline bool warn_once(const std::string& cause, const std::string& message) {
  struct state {
    std::mutex mutex;
    std::set<std::string> seen;
  };
  static immortal<state> causes; // memoize destructors may warn after main returns
  {
    auto& [mutex, seen] = causes.get();
    const std::lock_guard lock{mutex};
    if (!seen.insert(cause).second) {
      return false;
    }
  }
  log(log_level::warning, message);
  return true;
}

// "840 ns", "12.3 us", "4.56 ms", "1.23 s", "2 min 3 s".
[[nodiscard]] inline std::string format_duration(std::chrono::nanoseconds d) {
  const double ns = static_cast<double>(d.count());
  char text[48];
  if (ns < 1e3) {
    std::snprintf(text, sizeof text, "%.0f ns", ns);
  } else if (ns < 1e6) {
    std::snprintf(text, sizeof text, "%.3g us", ns / 1e3);
  } else if (ns < 1e9) {
    std::snprintf(text, sizeof text, "%.3g ms", ns / 1e6);
  } else if (ns < 60e9) {
    std::snprintf(text, sizeof text, "%.3g s", ns / 1e9);
  } else {
    const auto seconds = static_cast<long long>(ns / 1e9);
    std::snprintf(text, sizeof text, "%lld min %lld s", seconds / 60, seconds % 60);
  }
  return text;
}

// "1 entry", "3 entries": a count with its noun in the right number.
[[nodiscard]] inline std::string count_of(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string{n == 1 ? one : many};
}

// One Store (directory_store or pack_store) per (root, durability, compression) for the whole
// process, so that every memoize object on the same cache with the same settings shares its
// state: for a pack store, one writer, one segment and one set of index handles per root.
template <class Store>
[[nodiscard]] std::shared_ptr<Store> shared_store(const std::filesystem::path& root, durability d,
                                                  const compression& c = {}) {
  struct registry {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<Store>> stores;
  };
  static immortal<registry> shared; // used by memoize objects built after main returns too
  auto& [mutex, stores] = shared.get();
  const std::string settings = std::to_string(static_cast<int>(d)) + ' ' + std::to_string(static_cast<int>(c.codec)) +
                               ' ' + std::to_string(c.level) + ' ' + std::to_string(c.threshold) + ' ' +
                               std::to_string(c.keep_ratio) + ' ' + root.string();
  const std::lock_guard lock{mutex};
  auto& slot = stores[settings];
  if (!slot) {
    slot = std::make_shared<Store>(root, d, c);
  }
  return slot;
}

[[nodiscard]] inline std::shared_ptr<directory_store> shared_directory_store(const std::filesystem::path& root,
                                                                            durability d, const compression& c = {}) {
  return shared_store<directory_store>(root, d, c);
}

[[nodiscard]] inline std::shared_ptr<pack_store> shared_pack_store(const std::filesystem::path& root, durability d,
                                                                  const compression& c = {}) {
  return shared_store<pack_store>(root, d, c);
}

// mode::temp's cache: a fresh directory under the system's temporary directory, created on
// first use and removed with everything in it when the process exits normally.
class temp_cache {
public:
  temp_cache() {
    std::string pattern = (std::filesystem::temp_directory_path() / "recall-temp-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw store_error{"cannot create a temporary cache directory from '" + pattern + "'"};
    }
    m_root = pattern;
    m_store = std::make_shared<directory_store>(m_root, durability::none);
  }
  temp_cache(const temp_cache&) = delete;
  temp_cache& operator=(const temp_cache&) = delete;
  ~temp_cache() {
    std::error_code ignored;
    std::filesystem::remove_all(m_root, ignored);
  }

  [[nodiscard]] const std::shared_ptr<directory_store>& store() const noexcept { return m_store; }
  [[nodiscard]] const std::filesystem::path& root() const noexcept { return m_root; }

private:
  std::filesystem::path m_root;
  std::shared_ptr<directory_store> m_store;
};

[[nodiscard]] inline temp_cache& process_temp_cache() {
  static temp_cache cache;
  return cache;
}

} // namespace recall::detail
