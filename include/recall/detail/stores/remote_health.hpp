// A circuit breaker for one remote tier (a Redis server or cluster, an S3 bucket): after a failure
// the remote is skipped for a growing back-off, then tried again; one warning per outage.
#pragma once

// Contract, for every remote store (redis_store, the S3 store, ...):
//
//   remote_health health{"redis redis://cache.lab:6379/0", backoff};
//
//   switch (const remote_attempt a = health.admit()) {
//   case remote_attempt::skip:  throw store_error{health.unavailable_message()}; // no I/O at all
//   case remote_attempt::probe: // the back-off is over and this caller (one at a time) checks the
//                               // remote: bound its work by remote_health::probe_budget (50 ms:
//                               // connect + one small request), then go on as below
//   case remote_attempt::go:    ... the operation, bounded by its own deadline ...
//   }
//   success: health.succeeded(a);   failure of the remote or network: health.failed(a, what, why);
//
// - admit() is one atomic load while the remote is healthy, so a working remote pays nothing.
// - After a failure, every admit() answers skip until the back-off (retry_backoff::first, doubled
//   after each failed probe up to retry_backoff::longest) is over; then exactly one caller gets
//   probe, and the others keep skipping until the next back-off ends. So a dead remote costs at
//   most one probe_budget per back-off interval, and nothing to the calls in between.
// - Logging: the first failure of an outage logs one warning (through recall::log); failed
//   probes log debug lines only when RECALL_VERBOSE is set; a successful probe ends the outage
//   with one info note ("... is reachable again ..."). Nothing is logged per skipped call.
// - Only a probe's success ends an outage, and only a failure while healthy or of a probe counts:
//   the success or failure of an operation admitted before the outage began (still in flight
//   when it started) changes nothing, so in-flight stragglers cannot make the state flap.
// - Failures that are not the remote's (a damaged entry, an entry over a size limit, a refused
//   permission the store tolerates) must not be reported to failed().
// - Thread-safe: every member may be called from any thread at once. The `now` parameters exist
//   for tests; callers leave them defaulted.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>

#include <recall/errors.hpp>
#include <recall/log.hpp>

namespace recall {

// How long a failed remote is skipped before it is tried again: `first` after the failure that
// starts an outage, doubled after each failed retry up to `longest`. Part of the options of
// every remote store.
struct retry_backoff {
  std::chrono::milliseconds first{1000};
  std::chrono::milliseconds longest{60'000};
};

namespace detail {

// The same rule as recall::verbose_from_environment() (RECALL_VERBOSE set to anything but "" or
// "0"), which lives in the policy layer that stores may not include. Read on the failure paths
// only, never per call of a healthy remote.
[[nodiscard]] inline bool verbose_logging() {
  const char* value = std::getenv("RECALL_VERBOSE"); // NOLINT(concurrency-mt-unsafe): read-only use
  return value != nullptr && *value != '\0' && std::string_view{value} != "0";
}

// What admit() allows the caller to do now.
enum class remote_attempt {
  go,    // healthy: run the operation
  probe, // down, back-off over: this caller checks the remote, within probe_budget
  skip,  // down: do no I/O, fail the operation at once
};

class remote_health {
public:
  using clock = std::chrono::steady_clock;

  // The most a probe may add to the call that makes it.
  static constexpr std::chrono::milliseconds probe_budget{50};

  // `label` names the remote in every message (without credentials).
  explicit remote_health(std::string label, retry_backoff backoff = {})
      : m_label{std::move(label)}, m_backoff{sanitized(backoff)}, m_current_ticks{ticks(m_backoff.first)},
        m_current{m_backoff.first} {}

  remote_health(const remote_health&) = delete;
  remote_health& operator=(const remote_health&) = delete;

  [[nodiscard]] remote_attempt admit(clock::time_point now = clock::now()) noexcept {
    std::int64_t retry_at = m_retry_at.load(std::memory_order_acquire);
    if (retry_at == healthy) {
      return remote_attempt::go;
    }
    const std::int64_t t = ticks(now);
    if (t < retry_at) {
      return remote_attempt::skip;
    }
    // One caller wins the probe; the window moves on, so the losers (and, should the prober never
    // report, everyone until the next window) skip.
    const std::int64_t next = t + m_current_ticks.load(std::memory_order_relaxed);
    if (m_retry_at.compare_exchange_strong(retry_at, next, std::memory_order_acq_rel)) {
      return remote_attempt::probe;
    }
    return remote_attempt::skip;
  }

  // The operation admitted as `attempt` succeeded. Ends the outage if it was a probe.
  void succeeded(remote_attempt attempt, clock::time_point now = clock::now()) {
    if (attempt != remote_attempt::probe || m_retry_at.load(std::memory_order_acquire) == healthy) {
      return;
    }
    std::chrono::milliseconds lasted{};
    {
      const std::lock_guard lock{m_mutex};
      if (m_retry_at.load(std::memory_order_relaxed) == healthy) {
        return;
      }
      lasted = std::chrono::duration_cast<std::chrono::milliseconds>(now - m_outage_started);
      m_current = m_backoff.first;
      m_current_ticks.store(ticks(m_current), std::memory_order_relaxed);
      m_reason.clear();
      m_retry_at.store(healthy, std::memory_order_release);
    }
    log(log_level::info, m_label + " is reachable again after " + describe(lasted) + " unreachable; using it again");
  }

  // The operation admitted as `attempt` failed because of the remote or the network: `what` is the
  // operation ("load", "save", ...), `reason` the error's text (a leading "recall: " is dropped).
  void failed(remote_attempt attempt, std::string_view what, std::string_view reason,
              clock::time_point now = clock::now()) {
    if (reason.starts_with(error::prefix)) {
      reason.remove_prefix(error::prefix.size());
    }
    std::string line;
    log_level level = log_level::warning;
    {
      const std::lock_guard lock{m_mutex};
      const bool down = m_retry_at.load(std::memory_order_relaxed) != healthy;
      if (down && attempt != remote_attempt::probe) {
        return; // in flight when the outage began: already accounted for
      }
      if (!down) {
        m_outage_started = now;
        m_current = m_backoff.first;
        m_reason = reason;
        line = std::string{reason} + " (during " + std::string{what} + "); " + m_label + " is skipped for " +
               describe(m_current) + ", then retried (backing off up to " + describe(m_backoff.longest) +
               "); calls go on without it";
      } else {
        m_current = std::min(m_current * 2, m_backoff.longest);
        m_reason = reason;
        level = log_level::debug;
        if (verbose_logging()) {
          line = m_label + " is still unreachable: " + std::string{reason} + " (during " + std::string{what} +
                 "); next retry in " + describe(m_current);
        }
      }
      m_current_ticks.store(ticks(m_current), std::memory_order_relaxed);
      m_retry_at.store(std::max<std::int64_t>(ticks(now + m_current), healthy + 1), std::memory_order_release);
    }
    if (!line.empty()) {
      log(level, line);
    }
  }

  // True during an outage (from a failure until a probe succeeds).
  [[nodiscard]] bool down() const noexcept { return m_retry_at.load(std::memory_order_acquire) != healthy; }

  // The text of the store_error a skipped operation throws: names the remote and the failure.
  [[nodiscard]] std::string unavailable_message() const {
    const std::lock_guard lock{m_mutex};
    return m_label + " is skipped after a failure (" + m_reason + "); it is retried with back-off";
  }

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }

private:
  static constexpr std::int64_t healthy = 0;

  static retry_backoff sanitized(retry_backoff b) {
    b.first = std::max(b.first, std::chrono::milliseconds{1});
    b.longest = std::max(b.longest, b.first);
    return b;
  }

  [[nodiscard]] static std::int64_t ticks(clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  [[nodiscard]] static std::int64_t ticks(std::chrono::milliseconds d) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }

  [[nodiscard]] static std::string describe(std::chrono::milliseconds d) {
    if (d.count() < 1000) {
      return std::to_string(d.count()) + " ms";
    }
    if (d.count() % 1000 == 0 || d.count() >= 10'000) {
      return std::to_string(d.count() / 1000) + " s";
    }
    return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + " s";
  }

  std::string m_label;
  retry_backoff m_backoff;
  // When the next probe may start, in steady-clock ns; `healthy` (0) when the remote is up.
  std::atomic<std::int64_t> m_retry_at{healthy};
  std::atomic<std::int64_t> m_current_ticks{0};
  mutable std::mutex m_mutex; // guards what follows, and every change of state
  std::chrono::milliseconds m_current;
  clock::time_point m_outage_started{};
  std::string m_reason;
};

} // namespace detail
} // namespace recall
