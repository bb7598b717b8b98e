// Readable durations and counts for log lines: "4.56 ms", "3 entries".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace recall::detail {

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

} // namespace recall::detail
