// Rate-limits progress reports: at most one callback per 100 ms, one clock read per 64 calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include <recall/management/progress.hpp>

namespace recall::detail::management {

// Calls a progress_function at most every 100 ms, so a walk over a million entries pays for a
// clock read per 64 calls rather than a callback per item.
class progress_throttle {
public:
  progress_throttle(const progress_function& report, std::string_view phase, std::uint64_t total)
      : m_report{report}, m_phase{phase}, m_total{total} {}

  void set_total(std::uint64_t total) noexcept { m_total = total; }

  void advance(std::uint64_t done) {
    if (!m_report || (++m_calls & 0x3F) != 0) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last >= std::chrono::milliseconds{100}) {
      m_last = now;
      m_report(m_phase, done, m_total);
    }
  }

  void finish(std::uint64_t done) {
    if (m_report) {
      m_report(m_phase, done, m_total == 0 ? done : m_total);
    }
  }

private:
  const progress_function& m_report;
  std::string_view m_phase;
  std::uint64_t m_total;
  std::uint64_t m_calls = 0;
  std::chrono::steady_clock::time_point m_last = std::chrono::steady_clock::now();
};

} // namespace recall::detail::management
