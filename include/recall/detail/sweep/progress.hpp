// recall::sweep's counters, its progress line (a terminal only) and its summary line.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

#include <recall/detail/policy/duration_text.hpp>
#include <recall/detail/sweep/stored_times.hpp>

namespace recall::detail::sweep {

// Counters the workers add to (relaxed: they are read for display, and in full after joining).
struct counters {
  std::atomic<std::uint64_t> loaded{0};    // cached before this sweep looked
  std::atomic<std::uint64_t> computed{0};  // computed by this process
  std::atomic<std::uint64_t> elsewhere{0}; // computed by another process meanwhile, then loaded
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::int64_t> computed_ns{0}; // compute time of the points computed here
  std::atomic<std::int64_t> reused_ns{0};   // stored compute time of the points loaded

  [[nodiscard]] std::uint64_t done() const noexcept {
    return loaded.load(std::memory_order_relaxed) + computed.load(std::memory_order_relaxed) +
           elsewhere.load(std::memory_order_relaxed) + failed.load(std::memory_order_relaxed);
  }
};

// The progress line, redrawn in place on stderr at most every 200 ms, only when stderr is a
// terminal: a pipe or a log gets no progress noise. The ETA starts from the stored mean compute
// time and moves to the observed one as points are computed here; once points complete at a
// measurable rate (here or elsewhere) it is the rate's.
class progress_line {
public:
  progress_line(std::string name, std::uint64_t total, unsigned jobs, bool enabled)
      : m_name{std::move(name)}, m_total{total}, m_jobs{jobs}, m_enabled{enabled && ::isatty(STDERR_FILENO) == 1},
        m_started{std::chrono::steady_clock::now()} {}

  void set_prior(std::optional<time_estimate> prior) { m_prior = prior; }

  // Marks the start of computing: the rate counts from here.
  void computing(std::uint64_t done_before) {
    m_compute_started = std::chrono::steady_clock::now();
    m_done_before_compute = done_before;
  }

  // Redraws if due: a branch when stderr is not a terminal, else a clock read and a try-lock.
  void update(const counters& c, bool force = false) {
    if (!m_enabled) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::unique_lock lock{m_mutex, std::try_to_lock};
    if (!lock || (!force && now - m_last_draw < std::chrono::milliseconds{200})) {
      return;
    }
    m_last_draw = now;
    const std::string line = render(c, now);
    std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    std::fflush(stderr);
    m_drawn = true;
  }

  // Clears the line before the summary is written.
  void finish() {
    if (m_drawn) {
      std::fputs("\r\x1b[K", stderr);
      std::fflush(stderr);
    }
  }

  [[nodiscard]] std::string render(const counters& c, std::chrono::steady_clock::time_point now) const {
    const std::uint64_t done = c.done();
    const double elapsed = std::chrono::duration<double>(now - m_started).count();
    std::string out = m_name + ": " + std::to_string(done) + "/" + std::to_string(m_total) + " (" +
                      std::to_string(c.loaded.load()) + " loaded, " + std::to_string(c.computed.load()) +
                      " computed here, " + std::to_string(c.elsewhere.load()) + " elsewhere";
    if (const auto failed = c.failed.load(); failed > 0) {
      out += ", " + std::to_string(failed) + " failed";
    }
    out += ")";
    if (elapsed > 0) {
      char rate[32];
      std::snprintf(rate, sizeof rate, " %.3g/s", static_cast<double>(done) / elapsed);
      out += rate;
    }
    if (const auto eta = eta_seconds(c, now)) {
      out += " ETA " + format_duration(std::chrono::nanoseconds{static_cast<std::int64_t>(*eta * 1e9)});
    }
    return out;
  }

  // Seconds left: from the compute rate observed since computing started once it is measurable,
  // else from the mean compute time (stored, corrected by observed) times the points left over
  // the workers.
  [[nodiscard]] std::optional<double> eta_seconds(const counters& c, std::chrono::steady_clock::time_point now) const {
    const std::uint64_t done = c.done();
    if (done >= m_total) {
      return 0.0;
    }
    const double left = static_cast<double>(m_total - done);
    if (m_compute_started) {
      const std::uint64_t since = done - std::min(done, m_done_before_compute);
      const double spent = std::chrono::duration<double>(now - *m_compute_started).count();
      if (since >= m_jobs && spent > 0) {
        return left * spent / static_cast<double>(since);
      }
    }
    const double computed = static_cast<double>(c.computed.load(std::memory_order_relaxed));
    const double observed_s = static_cast<double>(c.computed_ns.load(std::memory_order_relaxed)) / 1e9;
    constexpr double prior_weight = 3; // the stored mean counts as this many observations
    double mean = 0;
    if (m_prior) {
      mean = (prior_weight * static_cast<double>(m_prior->mean.count()) / 1e9 + observed_s) / (prior_weight + computed);
    } else if (computed > 0) {
      mean = observed_s / computed;
    } else {
      return std::nullopt;
    }
    return left * mean / static_cast<double>(m_jobs);
  }

private:
  std::string m_name;
  std::uint64_t m_total;
  unsigned m_jobs;
  bool m_enabled;
  std::chrono::steady_clock::time_point m_started;
  std::optional<std::chrono::steady_clock::time_point> m_compute_started;
  std::uint64_t m_done_before_compute = 0;
  std::optional<time_estimate> m_prior;
  std::mutex m_mutex;
  std::chrono::steady_clock::time_point m_last_draw{};
  bool m_drawn = false;
};

} // namespace recall::detail::sweep
