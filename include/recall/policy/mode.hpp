// recall::mode: what a memoized call may read and write (RECALL_MODE, options.mode).
#pragma once

#include <optional>
#include <string_view>

namespace recall {

enum class mode {
  off,      // plain calls: nothing read, nothing written
  reuse,    // the default: load what is cached, compute and store what is not
  temp,     // cache in a fresh temporary directory that is removed when the process exits
  readonly, // load what is cached, never write to disk (a shared or archived cache)
  refresh,  // ignore what earlier processes stored: recompute and overwrite each entry touched
};

[[nodiscard]] constexpr std::string_view to_string(mode m) noexcept {
  switch (m) {
  case mode::off: return "off";
  case mode::reuse: return "reuse";
  case mode::temp: return "temp";
  case mode::readonly: return "readonly";
  case mode::refresh: return "refresh";
  }
  return "unknown";
}

[[nodiscard]] constexpr std::optional<mode> parse_mode(std::string_view text) noexcept {
  for (mode m : {mode::off, mode::reuse, mode::temp, mode::readonly, mode::refresh}) {
    if (text == to_string(m)) {
      return m;
    }
  }
  return std::nullopt;
}

} // namespace recall
