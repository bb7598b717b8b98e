// Where recall's log lines and warnings go: stderr by default, any callable the program sets.
#pragma once

#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <recall/detail/immortal.hpp>

namespace recall {

enum class log_level { debug, info, warning };

[[nodiscard]] constexpr std::string_view to_string(log_level level) noexcept {
  switch (level) {
  case log_level::debug: return "debug";
  case log_level::info: return "info";
  case log_level::warning: return "warning";
  }
  return "unknown";
}

// Receives one complete line (no trailing newline). May be called from any thread, but never
// from two at once: recall serializes calls.
using log_sink = std::function<void(log_level, std::string_view)>;

namespace detail {

struct log_state {
  std::mutex mutex;
  log_sink sink;
};

// Never destroyed: memoize objects log from their destructors, after main returns.
inline log_state& global_log_state() {
  static immortal<log_state> state;
  return state.get();
}

inline void write_to_stderr(log_level level, std::string_view line) {
  std::cerr << "[recall " << to_string(level) << "] " << line << '\n';
}

} // namespace detail

// Replaces the sink; an empty function restores the default (stderr). Returns the previous sink.
inline log_sink set_log_sink(log_sink sink) {
  auto& state = detail::global_log_state();
  const std::lock_guard lock{state.mutex};
  return std::exchange(state.sink, std::move(sink));
}

// Sends one line to the current sink.
inline void log(log_level level, std::string_view line) {
  auto& state = detail::global_log_state();
  const std::lock_guard lock{state.mutex};
  if (state.sink) {
    state.sink(level, line);
  } else {
    detail::write_to_stderr(level, line);
  }
}

} // namespace recall
