// What recall already knows about a function's compute time: its stats (directory and pack stores).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>

#include <recall/stores/store.hpp>

namespace recall::detail::sweep {

// A mean compute time and how many computations it is the mean of.
struct time_estimate {
  std::chrono::nanoseconds mean{0};
  std::uint64_t samples = 0;
};

// The mean compute time recorded in the stats of `function` (compute_ns / misses) by `s`
// (store::recorded_stats: a directory or pack store, or the first such tier of a layered store):
// nullopt when it keeps no stats or has recorded no computation.
[[nodiscard]] inline std::optional<time_estimate> recorded_compute_time(store* s, const function_id& function) {
  if (s == nullptr) {
    return std::nullopt;
  }
  std::optional<function_stats> stats;
  try {
    stats = s->recorded_stats(function);
  } catch (const std::exception&) {
    return std::nullopt; // advisory: no estimate
  }
  if (!stats || stats->misses == 0 || stats->compute_ns == 0) {
    return std::nullopt;
  }
  return time_estimate{std::chrono::nanoseconds{static_cast<std::int64_t>(stats->compute_ns / stats->misses)},
                       stats->misses};
}

} // namespace recall::detail::sweep
