// A memoize object's hit, miss and store counters, kept without locks until they are added to its store.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <recall/stores/store.hpp>

namespace recall::detail {

// A memoize object's counters since they were last added to its store. Relaxed atomics: they
// are statistics, and the hot path must not take a lock for them. Hits come from every thread
// at memory-tier speed, so they are striped over cache lines: threads counting into one shared
// atomic would bounce its line between cores and serialize on it.
struct stats_batch {
  static constexpr std::size_t stripes = 8;
  struct alignas(64) hit_stripe {
    std::atomic<std::uint64_t> hits{0};
    std::atomic<std::uint64_t> saved_ns{0};
  };
  std::array<hit_stripe, stripes> hit_stripes{};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> stores{0};
  std::atomic<std::uint64_t> bytes_stored{0};
  std::atomic<std::uint64_t> compute_ns{0};
  std::atomic<std::int64_t> last_flush_ns{0};

  // Each thread takes the next stripe the first time it counts, so concurrent threads use
  // different lines.
  static std::size_t my_stripe() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % stripes;
    return mine;
  }

  void hit(std::int64_t saved_ns) noexcept {
    auto& stripe = hit_stripes[my_stripe()];
    stripe.hits.fetch_add(1, std::memory_order_relaxed);
    if (saved_ns > 0) {
      stripe.saved_ns.fetch_add(static_cast<std::uint64_t>(saved_ns), std::memory_order_relaxed);
    }
  }

  // Takes the counters, leaving zeros.
  function_stats take() noexcept {
    function_stats s;
    for (auto& stripe : hit_stripes) {
      s.hits += stripe.hits.exchange(0, std::memory_order_relaxed);
      s.saved_ns += stripe.saved_ns.exchange(0, std::memory_order_relaxed);
    }
    s.misses = misses.exchange(0, std::memory_order_relaxed);
    s.stores = stores.exchange(0, std::memory_order_relaxed);
    s.bytes_stored = bytes_stored.exchange(0, std::memory_order_relaxed);
    s.compute_ns = compute_ns.exchange(0, std::memory_order_relaxed);
    return s;
  }
};

} // namespace recall::detail
