// What recall already knows about a function's compute time: its stats (directory and pack stores).
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <recall/stores/directory_store.hpp>
#include <recall/stores/layered_store.hpp>
#include <recall/stores/pack_store.hpp>
#include <recall/stores/store.hpp>

namespace recall::detail::sweep {

// A mean compute time and how many computations it is the mean of.
struct time_estimate {
  std::chrono::nanoseconds mean{0};
  std::uint64_t samples = 0;
};

// The mean compute time recorded in the stats of `function` (compute_ns / misses) by the first
// directory or pack store in `s` (itself, or a tier of a layered store): nullopt when none keeps
// stats or none has recorded a computation.
[[nodiscard]] inline std::optional<time_estimate> recorded_compute_time(store* s, const function_id& function) {
  if (s == nullptr) {
    return std::nullopt;
  }
  auto* directory = dynamic_cast<directory_store*>(s);
  auto* pack = dynamic_cast<pack_store*>(s);
  if (directory != nullptr || pack != nullptr) {
    function_stats stats;
    try {
      stats = directory != nullptr ? directory->stats(function) : pack->stats(function);
    } catch (const std::exception&) {
      return std::nullopt; // advisory: no estimate
    }
    if (stats.misses == 0 || stats.compute_ns == 0) {
      return std::nullopt;
    }
    return time_estimate{std::chrono::nanoseconds{static_cast<std::int64_t>(stats.compute_ns / stats.misses)}, stats.misses};
  }
  if (auto* layered = dynamic_cast<layered_store*>(s)) {
    for (const auto& tier : layered->tiers()) {
      if (auto found = recorded_compute_time(tier.store.get(), function)) {
        return found;
      }
    }
  }
  return std::nullopt;
}

} // namespace recall::detail::sweep
