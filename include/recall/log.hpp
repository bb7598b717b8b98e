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

// One insertion, so one write(2) on the unbuffered stderr: five pieces cost five system calls
// (a cold process that warns paid four extra), and lines of processes sharing a terminal or a
// log file could interleave mid-line.
inline void write_to_stderr(log_level level, std::string_view line) {
  std::string text;
  text.reserve(11 + to_string(level).size() + line.size());
  text.append("[recall ").append(to_string(level)).append("] ").append(line).push_back('\n');
  std::cerr << text;
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
