// Tests for detail::remote_health, the circuit breaker of remote tiers: skipping, back-off, one
// probe per window, one warning per outage, one note on recovery, and many threads at once.
#include "catch.hpp"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <recall/detail/stores/remote_health.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using recall::detail::remote_attempt;
using recall::detail::remote_health;

namespace {
const auto t0 = remote_health::clock::time_point{} + 1000s;
}

TEST_CASE("remote_health: healthy remotes go; a failure skips until the back-off ends, then one probe",
          "[stores_remote_health]") {
  recall_test::log_capture capture;
  remote_health h{"redis redis://x:1/0", recall::retry_backoff{100ms, 400ms}};
  CHECK(h.admit(t0) == remote_attempt::go);
  CHECK_FALSE(h.down());
  h.succeeded(remote_attempt::go, t0);
  CHECK(capture.lines().empty());

  h.failed(remote_attempt::go, "load", "recall: redis redis://x:1/0: cannot connect: Connection refused", t0);
  CHECK(h.down());
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::warning, "cannot connect: Connection refused (during load)") == 1);
  CHECK(capture.count(recall::log_level::warning, "skipped for 100 ms") == 1);
  CHECK(h.unavailable_message().find("Connection refused") != std::string::npos);

  CHECK(h.admit(t0 + 50ms) == remote_attempt::skip);
  CHECK(h.admit(t0 + 99ms) == remote_attempt::skip);
  // The window is over: exactly one caller probes.
  CHECK(h.admit(t0 + 100ms) == remote_attempt::probe);
  CHECK(h.admit(t0 + 101ms) == remote_attempt::skip);

  // The probe fails: the back-off doubles (200 ms), then 400 ms, capped there.
  h.failed(remote_attempt::probe, "load", "timed out", t0 + 110ms);
  CHECK(h.admit(t0 + 309ms) == remote_attempt::skip);
  CHECK(h.admit(t0 + 310ms) == remote_attempt::probe);
  h.failed(remote_attempt::probe, "load", "timed out", t0 + 310ms);
  CHECK(h.admit(t0 + 709ms) == remote_attempt::skip);
  CHECK(h.admit(t0 + 710ms) == remote_attempt::probe);
  h.failed(remote_attempt::probe, "load", "timed out", t0 + 710ms);
  CHECK(h.admit(t0 + 1109ms) == remote_attempt::skip);
  CHECK(h.admit(t0 + 1110ms) == remote_attempt::probe);
  // Still one warning: failed probes are debug lines, and only when verbose (not set here).
  CHECK(capture.warnings() == 1);
  CHECK(capture.lines().size() == 1);

  // A straggler admitted before the outage neither ends it nor extends it.
  h.succeeded(remote_attempt::go, t0 + 1115ms);
  CHECK(h.down());
  h.failed(remote_attempt::go, "save", "lost the connection", t0 + 1115ms);
  CHECK(capture.lines().size() == 1);

  // The probe succeeds: one note, healthy again, and the back-off starts over.
  h.succeeded(remote_attempt::probe, t0 + 1120ms);
  CHECK_FALSE(h.down());
  CHECK(capture.count(recall::log_level::info, "reachable again after 1.1 s unreachable") == 1);
  CHECK(h.admit(t0 + 1121ms) == remote_attempt::go);
  h.failed(remote_attempt::go, "save", "timed out", t0 + 2000ms);
  CHECK(capture.warnings() == 2); // a new outage, a new warning
  CHECK(h.admit(t0 + 2099ms) == remote_attempt::skip);
  CHECK(h.admit(t0 + 2100ms) == remote_attempt::probe);
}

TEST_CASE("remote_health: failed probes are debug lines only when RECALL_VERBOSE is set", "[stores_remote_health]") {
  recall_test::log_capture capture;
  remote_health h{"s3 s3://bucket", recall::retry_backoff{10ms, 10ms}};
  h.failed(remote_attempt::go, "load", "HTTP 503 SlowDown", t0);
  REQUIRE(h.admit(t0 + 10ms) == remote_attempt::probe);
  h.failed(remote_attempt::probe, "load", "HTTP 503 SlowDown", t0 + 10ms);
  CHECK(capture.count(recall::log_level::debug, "") == 0);
  ::setenv("RECALL_VERBOSE", "1", 1);
  REQUIRE(h.admit(t0 + 20ms) == remote_attempt::probe);
  h.failed(remote_attempt::probe, "load", "HTTP 503 SlowDown", t0 + 20ms);
  ::unsetenv("RECALL_VERBOSE");
  CHECK(capture.count(recall::log_level::debug, "s3 s3://bucket is still unreachable: HTTP 503 SlowDown") == 1);
  CHECK(capture.warnings() == 1);
}

TEST_CASE("remote_health: a probe that never reports does not block the next window", "[stores_remote_health]") {
  remote_health h{"redis", recall::retry_backoff{100ms, 1000ms}};
  recall_test::log_capture capture;
  h.failed(remote_attempt::go, "lock", "timed out", t0);
  CHECK(h.admit(t0 + 100ms) == remote_attempt::probe); // and its caller vanishes
  CHECK(h.admit(t0 + 150ms) == remote_attempt::skip);
  CHECK(h.admit(t0 + 200ms) == remote_attempt::probe);
}

TEST_CASE("remote_health: many threads, one warning, one probe per window, one note", "[stores_remote_health]") {
  recall_test::log_capture capture;
  remote_health h{"redis", recall::retry_backoff{20ms, 20ms}};
  std::atomic<bool> remote_up{false};
  std::atomic<int> probes{0};
  std::atomic<int> concurrent_probes{0};
  std::atomic<int> most_concurrent{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        const remote_attempt a = h.admit();
        if (a == remote_attempt::skip) {
          std::this_thread::yield();
          continue;
        }
        if (a == remote_attempt::probe) {
          ++probes;
          const int now = ++concurrent_probes;
          int seen = most_concurrent.load();
          while (now > seen && !most_concurrent.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(1ms);
          --concurrent_probes;
        }
        if (remote_up) {
          h.succeeded(a);
        } else {
          h.failed(a, "load", "Connection refused");
        }
      }
    });
  }
  std::this_thread::sleep_for(110ms);
  remote_up = true;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (h.down() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  stop = true;
  for (auto& t : threads) {
    t.join();
  }
  CHECK_FALSE(h.down());
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::info, "reachable again") == 1);
  CHECK(most_concurrent.load() == 1);
  // About one probe per 20 ms window over ~110 ms, not one per call.
  CHECK(probes.load() >= 2);
  CHECK(probes.load() <= 12);
}
