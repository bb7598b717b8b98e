// recall-cache's output helpers (output.hpp).
#include "output.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string_view>

#include <fmt/core.h>

namespace recall_cache {

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string entry_count(std::uint64_t n) { return fmt::format("{} {}", n, n == 1 ? "entry" : "entries"); }

std::string human_duration(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  if (s < 1e-3) {
    return fmt::format("{:.0f} us", s * 1e6);
  }
  if (s < 1) {
    return fmt::format("{:.0f} ms", s * 1e3);
  }
  if (s < 120) {
    return fmt::format("{:.1f} s", s);
  }
  if (s < 7200) {
    return fmt::format("{:.0f} min", s / 60);
  }
  return fmt::format("{:.1f} h", s / 3600);
}

std::string age(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) {
    return "-";
  }
  return human_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now() - t)) +
         " ago";
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

recall::progress_function terminal_progress() {
  if (::isatty(STDERR_FILENO) == 0) {
    return {};
  }
  return [](std::string_view phase, std::uint64_t done, std::uint64_t total) {
    if (total != 0 && done >= total) {
      fmt::print(stderr, "\r\033[K"); // a phase that ended leaves no line behind
    } else if (phase == "importing") {
      fmt::print(stderr, "\r\033[Krecall-cache: {} {} of {}", phase, human_size(done), human_size(total));
    } else if (total != 0) {
      fmt::print(stderr, "\r\033[Krecall-cache: {} {} of {} ({:.0f} %)", phase, done, total,
                 100.0 * static_cast<double>(done) / static_cast<double>(total));
    } else {
      fmt::print(stderr, "\r\033[Krecall-cache: {} {}", phase, done);
    }
    std::fflush(stderr);
  };
}

bool confirmed(std::uint64_t entries, std::uint64_t bytes, const std::string& what, const std::string& where,
               bool force, int& exit_code) {
  if (force) {
    return true;
  }
  if (::isatty(STDIN_FILENO) == 0) {
    fmt::print(stderr, "recall-cache: clear would remove {} of {}; without a terminal to ask, pass --force\n",
               entry_count(entries), what);
    exit_code = 2;
    return false;
  }
  fmt::print("remove {} ({}) of {} from {}? [y/N] ", entry_count(entries), human_size(bytes), what, where);
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "y" && answer != "yes") {
    fmt::print("nothing removed\n");
    exit_code = 0;
    return false;
  }
  return true;
}

int report_failures(const recall::removal_report& report) {
  for (const auto& [path, reason] : report.failures) {
    fmt::print(stderr, "recall-cache: {}: {}\n", path.string(), reason);
  }
  if (!report.failures.empty()) {
    fmt::print(stderr, "recall-cache: {} entries could not be removed\n", report.failures.size());
    return 1;
  }
  return 0;
}

} // namespace recall_cache
