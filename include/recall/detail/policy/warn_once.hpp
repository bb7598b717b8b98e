// Warnings said once per cause in a process, not once per call.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include <recall/detail/immortal.hpp>
#include <recall/log.hpp>

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

} // namespace recall::detail
