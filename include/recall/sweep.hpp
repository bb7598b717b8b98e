// recall::sweep: a memoized function over many points: cached ones loaded, missing ones computed
// in parallel, each exactly once across cooperating processes and hosts.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <recall/detail/key/label.hpp>
#include <recall/detail/policy/duration_text.hpp>
#include <recall/detail/stores/host_name.hpp>
#include <recall/detail/sweep/interrupt.hpp>
#include <recall/detail/sweep/progress.hpp>
#include <recall/detail/sweep/stored_times.hpp>
#include <recall/errors.hpp>
#include <recall/memoize.hpp>

namespace recall {

enum class sweep_verbosity {
  quiet,  // nothing on stderr
  normal, // one summary line at the end; a progress line while stderr is a terminal
};

enum class interrupt_handling {
  finish_running, // SIGINT: no new point starts, running ones finish (and are cached), then the
                  // sweep throws sweep_interrupted; a second SIGINT ends the process as usual
  ignore,         // SIGINT is left to the program's own handler
};

struct sweep_options {
  // Threads computing missing points. 0: std::thread::hardware_concurrency(). 1: every point is
  // loaded and computed in the calling thread, for functions that are not thread-safe (with
  // more, the function runs on several threads at once).
  unsigned jobs = 0;
  sweep_verbosity verbosity = sweep_verbosity::normal;
  interrupt_handling on_interrupt = interrupt_handling::finish_running;
  // How long a process waits before looking again at points that other processes are
  // computing, when nothing else is left to do.
  std::chrono::milliseconds poll_interval{10};
  // Names the sweep in the progress and summary lines. Empty: the function's name.
  std::string name{};
};

// A point whose function threw: it is not cached, and the other points went on.
struct sweep_failure {
  std::size_t index = 0; // position in the input range
  std::string label;     // its arguments, short (as recall-cache ls shows them)
  std::string what;      // the exception's message
};

// What a sweep did.
struct sweep_report {
  std::size_t points = 0;
  std::size_t loaded = 0;    // cached before the sweep: loaded
  std::size_t computed = 0;  // computed by this process (and cached)
  std::size_t elsewhere = 0; // computed by another process during the sweep, then loaded
  std::vector<sweep_failure> failures;
  bool interrupted = false;
  std::chrono::nanoseconds wall{0};
  std::chrono::nanoseconds compute_time{0}; // of the points computed here
  std::chrono::nanoseconds reused_time{0};  // stored compute time of the points loaded

  // "ode: 200 points: 80 loaded, 100 computed here (2.1 s of compute), 20 computed elsewhere,
  // 0 failed; wall 1.05 s; compute time reused 1.6 s"
  [[nodiscard]] std::string summary(const std::string& name) const {
    std::string out = name + ": " + std::to_string(points) + " points: " + std::to_string(loaded) + " loaded, " +
                      std::to_string(computed) + " computed here (" + detail::format_duration(compute_time) +
                      " of compute), " + std::to_string(elsewhere) + " computed elsewhere, " +
                      std::to_string(failures.size()) + " failed; wall " + detail::format_duration(wall) +
                      "; compute time reused " + detail::format_duration(reused_time);
    if (interrupted) {
      out += "; interrupted: " + std::to_string(points - loaded - computed - elsewhere - failures.size()) +
             " points not done (rerun to resume: what was computed is cached)";
    }
    return out;
  }
};

// Thrown by the vector form of sweep() when points failed, after every other point is done
// (and cached); the report names the failures.
class sweep_failed : public error {
public:
  explicit sweep_failed(sweep_report report)
      : error{message(report)}, m_report{std::make_shared<const sweep_report>(std::move(report))} {}
  [[nodiscard]] const sweep_report& report() const noexcept { return *m_report; }

private:
  static std::string message(const sweep_report& r) {
    std::string out =
        "recall::sweep: " + std::to_string(r.failures.size()) + " of " + std::to_string(r.points) + " points failed";
    if (!r.failures.empty()) {
      const auto& first = r.failures.front();
      out += " (first: point " + std::to_string(first.index) + " [" + first.label + "]: " + first.what + ")";
    }
    return out;
  }
  std::shared_ptr<const sweep_report> m_report;
};

// Thrown by sweep() after SIGINT, once the running points have finished (and are cached).
class sweep_interrupted : public error {
public:
  explicit sweep_interrupted(sweep_report report)
      : error{"recall::sweep: interrupted after " +
              std::to_string(report.loaded + report.computed + report.elsewhere + report.failures.size()) + " of " +
              std::to_string(report.points) + " points; rerun to resume"},
        m_report{std::make_shared<const sweep_report>(std::move(report))} {}
  [[nodiscard]] const sweep_report& report() const noexcept { return *m_report; }

private:
  std::shared_ptr<const sweep_report> m_report;
};

// What a sweep would do, found before any work (plan_sweep).
struct sweep_plan {
  std::size_t points = 0;
  std::size_t cached = 0;
  std::size_t missing = 0;             // not cached, and no process is computing them
  std::size_t computing_elsewhere = 0; // not cached, and another process holds their lock
  // The stored mean compute time of the function and how many computations it averages
  // (function stats), or of the sweep's cached points (their entries) when no stats say.
  std::optional<std::chrono::nanoseconds> mean_compute_time{};
  std::uint64_t samples = 0;
  std::string basis; // "stats (12 computations)", "entries (5 cached points)", "no stored compute times"
  // missing × mean, and that spread over min(jobs, missing) threads; unset without a mean.
  std::optional<std::chrono::nanoseconds> predicted_compute_time{};
  std::optional<std::chrono::nanoseconds> predicted_wall_time{};

  [[nodiscard]] std::string summary(const std::string& name) const {
    std::string out = name + ": " + std::to_string(points) + " points: " + std::to_string(cached) + " cached, " +
                      std::to_string(missing) + " missing, " + std::to_string(computing_elsewhere) +
                      " being computed elsewhere; ";
    if (predicted_compute_time && predicted_wall_time) {
      out += "predicted " + detail::format_duration(*predicted_compute_time) + " of compute, " +
             detail::format_duration(*predicted_wall_time) + " wall (mean " +
             detail::format_duration(*mean_compute_time) + " from " + basis + ")";
    } else {
      out += "no prediction: " + basis;
    }
    return out;
  }
};

// The cartesian product of parameter lists as argument tuples, the first list varying slowest:
//   recall::grid(std::vector{0.1, 0.2}, std::vector{10, 20})
//     == {{0.1, 10}, {0.1, 20}, {0.2, 10}, {0.2, 20}}
template <std::ranges::forward_range... Lists>
[[nodiscard]] auto grid(const Lists&... lists) {
  using point = std::tuple<std::ranges::range_value_t<Lists>...>;
  std::vector<point> out;
  std::size_t total = 1;
  ((total *= static_cast<std::size_t>(std::ranges::distance(lists))), ...);
  out.reserve(total);
  if (total == 0) {
    return out;
  }
  const auto add = [&out](const auto& self, auto prefix, const auto& first, const auto&... rest) -> void {
    for (const auto& value : first) {
      auto next = std::tuple_cat(prefix, std::tuple<std::ranges::range_value_t<decltype(first)>>{value});
      if constexpr (sizeof...(rest) == 0) {
        out.push_back(std::move(next));
      } else {
        self(self, std::move(next), rest...);
      }
    }
  };
  if constexpr (sizeof...(Lists) > 0) {
    add(add, std::tuple<>{}, lists...);
  }
  return out;
}

namespace detail::sweep {

template <class T>
concept tuple_like = requires { std::tuple_size<std::remove_cvref_t<T>>::value; };

// Calls f(args...) with a point's arguments: the elements of a tuple-like point, or the point
// itself for a one-argument function.
template <class Point, class F>
decltype(auto) apply_point(const Point& point, F&& f) {
  if constexpr (tuple_like<Point>) {
    return std::apply(std::forward<F>(f), point);
  } else {
    return std::forward<F>(f)(point);
  }
}

inline unsigned resolve_jobs(unsigned jobs) {
  if (jobs != 0) {
    return jobs;
  }
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : hardware;
}

// Runs worker(thread index) on `threads` threads, the caller's being one of them; rethrows the
// first exception a worker let escape, after all have finished.
template <class Worker>
void run_workers(unsigned threads, Worker&& worker) {
  std::exception_ptr first;
  std::mutex first_mutex;
  const auto guarded = [&](unsigned index) {
    try {
      worker(index);
    } catch (...) {
      const std::lock_guard lock{first_mutex};
      if (!first) {
        first = std::current_exception();
      }
    }
  };
  std::vector<std::jthread> others;
  others.reserve(threads > 0 ? threads - 1 : 0);
  for (unsigned i = 1; i < threads; ++i) {
    others.emplace_back(guarded, i);
  }
  guarded(0);
  others.clear(); // joins
  if (first) {
    std::rethrow_exception(first);
  }
}

template <class Point>
void record_failure(const Point& point, std::size_t index, const char* what, std::vector<sweep_failure>& failures,
                    std::mutex& mutex) {
  std::string label = apply_point(point, [](const auto&... args) { return detail::call_label(args...); });
  const std::lock_guard lock{mutex};
  failures.push_back({index, std::move(label), what});
}

// The engine behind both forms of sweep(): hands each result to deliver(index, value&&), at most
// one call at a time.
template <class Memo, class Points, class Deliver>
sweep_report run(Memo& memo, const Points& points, Deliver&& deliver, const sweep_options& options) {
  using result_type = typename Memo::result_type;
  const auto started = std::chrono::steady_clock::now();
  const std::size_t total = static_cast<std::size_t>(std::ranges::size(points));
  const unsigned jobs = resolve_jobs(options.jobs);
  const std::string name = options.name.empty() ? memo.function().name : options.name;
  const bool talk = options.verbosity == sweep_verbosity::normal;
  const interrupt_guard interrupt{options.on_interrupt == interrupt_handling::finish_running};

  counters count;
  progress_line progress{name, total, jobs, talk};
  std::mutex deliver_mutex;
  std::mutex failures_mutex;
  std::vector<sweep_failure> failures;

  const auto hand_over = [&](std::size_t index, result_type&& value) {
    const std::lock_guard lock{deliver_mutex};
    deliver(index, std::move(value));
  };

  // One point at one step; true when it is settled (loaded, computed or failed).
  enum class settled { yes, no, busy };
  const auto visit = [&](std::size_t index, point_step step, bool first_look) -> settled {
    const auto& point = *(std::ranges::begin(points) + static_cast<std::ptrdiff_t>(index));
    try {
      auto outcome = apply_point(point, [&](const auto&... args) { return memo.sweep_point(step, args...); });
      switch (outcome.source) {
      case point_source::loaded:
        (first_look ? count.loaded : count.elsewhere).fetch_add(1, std::memory_order_relaxed);
        count.reused_ns.fetch_add(outcome.compute_ns, std::memory_order_relaxed);
        hand_over(index, std::move(*outcome.value));
        return settled::yes;
      case point_source::computed:
        count.computed.fetch_add(1, std::memory_order_relaxed);
        count.computed_ns.fetch_add(outcome.compute_ns, std::memory_order_relaxed);
        hand_over(index, std::move(*outcome.value));
        return settled::yes;
      case point_source::busy: return settled::busy;
      case point_source::missing: return settled::no;
      }
    } catch (const std::exception& e) {
      record_failure(point, index, e.what(), failures, failures_mutex);
    } catch (...) {
      record_failure(point, index, "an exception not derived from std::exception", failures, failures_mutex);
    }
    count.failed.fetch_add(1, std::memory_order_relaxed);
    return settled::yes;
  };

  // Visits `indices` on the workers, each taking the next index in order; returns those left
  // (missing after a load, busy after a claim, or not reached after SIGINT), in order.
  const auto pass = [&](const std::vector<std::size_t>& indices, point_step step, bool first_look) {
    std::atomic<std::size_t> next{0};
    std::vector<std::vector<std::size_t>> left(jobs);
    const unsigned threads = static_cast<unsigned>(std::min<std::size_t>(jobs, indices.size()));
    // Loads are cheap: workers take them in blocks, so a fully cached sweep pays one atomic
    // operation per block, not per point.
    const std::size_t block = step == point_step::load ? 64 : 1;
    run_workers(threads, [&](unsigned thread) {
      while (true) {
        const std::size_t from = next.fetch_add(block, std::memory_order_relaxed);
        if (from >= indices.size()) {
          return;
        }
        const std::size_t to = std::min(indices.size(), from + block);
        for (std::size_t at = from; at < to; ++at) {
          if (step == point_step::claim && interrupt_guard::requested()) {
            left[thread].push_back(indices[at]);
            continue;
          }
          if (visit(indices[at], step, first_look) != settled::yes) {
            left[thread].push_back(indices[at]);
          }
          progress.update(count);
        }
      }
    });
    std::vector<std::size_t> out;
    for (auto& part : left) {
      out.insert(out.end(), part.begin(), part.end());
    }
    std::sort(out.begin(), out.end());
    return out;
  };

  std::vector<std::size_t> all(total);
  for (std::size_t i = 0; i < total; ++i) {
    all[i] = i;
  }
  // 1. Load what is cached.
  std::vector<std::size_t> pending = pass(all, point_step::load, true);
  // 2. Compute what is missing; a point another process is computing is passed over, and
  // 3. revisited once this process has nothing else to do, until it is loaded or computed here.
  if (!pending.empty()) {
    auto prior = recorded_compute_time(memo.store().get(), memo.function());
    if (!prior && count.loaded.load() > 0) {
      prior = time_estimate{
          std::chrono::nanoseconds{count.reused_ns.load() / static_cast<std::int64_t>(count.loaded.load())},
          count.loaded.load()};
    }
    progress.set_prior(prior);
    progress.computing(count.done());
  }
  // Each process starts computing at its own place in the list (from its host, pid and the
  // time) and wraps around: processes that all walked the list from its start would meet at
  // every point, each paying a try-lock per point another holds and loading the others' results
  // between two of its own computations. Starting apart, they meet only where their stretches
  // join, and one that finishes its stretch goes on into the next, helping its owner.
  if (pending.size() > 1) {
    const std::size_t seed = std::hash<std::string>{}(detail::host_name() + " " + std::to_string(::getpid()) + " " +
                                                      std::to_string(started.time_since_epoch().count()));
    std::rotate(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(seed % pending.size()), pending.end());
  }
  while (!pending.empty() && !interrupt_guard::requested()) {
    const std::size_t before = pending.size();
    pending = pass(pending, point_step::claim, false);
    if (pending.size() == before && !pending.empty() && !interrupt_guard::requested()) {
      std::this_thread::sleep_for(options.poll_interval); // every one is being computed elsewhere
    }
  }
  memo.flush_stats(); // the compute times just spent make the next plan's prediction

  sweep_report report;
  report.points = total;
  report.loaded = count.loaded.load();
  report.computed = count.computed.load();
  report.elsewhere = count.elsewhere.load();
  std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  report.failures = std::move(failures);
  report.interrupted = !pending.empty();
  report.wall = std::chrono::steady_clock::now() - started;
  report.compute_time = std::chrono::nanoseconds{count.computed_ns.load()};
  report.reused_time = std::chrono::nanoseconds{count.reused_ns.load()};
  progress.finish();
  if (talk) {
    std::fprintf(stderr, "%s\n", report.summary(name).c_str());
    for (const auto& f : report.failures) {
      std::fprintf(stderr, "%s: point %zu [%s] failed: %s\n", name.c_str(), f.index, f.label.c_str(), f.what.c_str());
    }
  }
  if (report.interrupted) {
    throw sweep_interrupted{std::move(report)};
  }
  return report;
}

} // namespace detail::sweep

// The memoized function over every point of `points` (a random-access range of argument tuples,
// or of single arguments for a one-parameter function), results in input order. Cached points
// are loaded first; missing ones are computed on options.jobs threads and cached. Processes
// running the same sweep on a shared store (one machine, or hosts sharing a file system or
// Redis) split the work without a coordinator: a point another process is computing is passed
// over and loaded once it is done, so each point is computed once. Throws sweep_failed when
// points failed (after all others are done and cached), sweep_interrupted after SIGINT.
template <class Memo, std::ranges::random_access_range Points>
  requires std::ranges::sized_range<Points>
[[nodiscard]] std::vector<typename Memo::result_type> sweep(Memo& memo, const Points& points,
                                                            const sweep_options& options = {}) {
  std::vector<typename Memo::result_type> results(static_cast<std::size_t>(std::ranges::size(points)));
  sweep_report report = detail::sweep::run(
      memo, points,
      [&results](std::size_t index, typename Memo::result_type&& value) { results[index] = std::move(value); },
      options);
  if (!report.failures.empty()) {
    throw sweep_failed{std::move(report)};
  }
  return results;
}

// As above, for results that do not fit in memory together: each is handed to
// on_result(index, result&&) as soon as it is available (loaded ones first), one call at a
// time, from whichever thread got it. Failures are in the report rather than thrown.
template <class Memo, std::ranges::random_access_range Points, class OnResult>
  requires std::ranges::sized_range<Points> && std::invocable<OnResult&, std::size_t, typename Memo::result_type&&>
sweep_report sweep(Memo& memo, const Points& points, OnResult&& on_result, const sweep_options& options = {}) {
  return detail::sweep::run(memo, points, on_result, options);
}

// What sweep(memo, points, options) would do, found before any work: how many points are cached,
// missing, and being computed by other processes (their compute locks are tried and released at
// once), and the missing points' predicted compute time from the compute times recall stores for
// the function (its stats, else the entries of the sweep's cached points).
template <class Memo, std::ranges::random_access_range Points>
  requires std::ranges::sized_range<Points>
[[nodiscard]] sweep_plan plan_sweep(Memo& memo, const Points& points, const sweep_options& options = {}) {
  sweep_plan plan;
  plan.points = static_cast<std::size_t>(std::ranges::size(points));
  const auto& store = memo.store();
  std::vector<key> cached_keys;
  for (const auto& point : points) {
    const bool cached = detail::sweep::apply_point(point, [&](const auto&... args) { return memo.contains(args...); });
    if (cached) {
      ++plan.cached;
      if (cached_keys.size() < 32) {
        cached_keys.push_back(
            detail::sweep::apply_point(point, [&](const auto&... args) { return memo.key(args...); }));
      }
      continue;
    }
    bool busy = false;
    if (store && memo.mode() != mode::readonly) {
      const entry_address address{
          memo.function(), detail::sweep::apply_point(point, [&](const auto&... args) { return memo.key(args...); })};
      try {
        busy = store->try_lock_for_compute(address, "(plan_sweep probe)").outcome == lock_outcome::busy;
      } catch (const std::exception&) {
        busy = false; // the run will find out; the plan stays an estimate
      }
    }
    ++(busy ? plan.computing_elsewhere : plan.missing);
  }
  if (auto recorded = detail::sweep::recorded_compute_time(store.get(), memo.function())) {
    plan.mean_compute_time = recorded->mean;
    plan.samples = recorded->samples;
    plan.basis = "stats (" + std::to_string(recorded->samples) + " computations)";
  } else if (store && !cached_keys.empty()) {
    std::int64_t sum = 0;
    std::uint64_t seen = 0;
    for (const auto& k : cached_keys) {
      try {
        if (auto entry = store->load(entry_address{memo.function(), k})) {
          sum += entry->metadata.compute_time.count();
          ++seen;
        }
      } catch (const std::exception&) {
        // an estimate: skip what cannot be read
      }
    }
    if (seen > 0) {
      plan.mean_compute_time = std::chrono::nanoseconds{sum / static_cast<std::int64_t>(seen)};
      plan.samples = seen;
      plan.basis = "entries (" + std::to_string(seen) + " cached points)";
    }
  }
  if (plan.basis.empty()) {
    plan.basis = "no stored compute times for " + memo.function().name;
  }
  if (plan.mean_compute_time) {
    plan.predicted_compute_time = *plan.mean_compute_time * static_cast<std::int64_t>(plan.missing);
    const auto threads =
        std::max<std::size_t>(1, std::min<std::size_t>(detail::sweep::resolve_jobs(options.jobs), plan.missing));
    plan.predicted_wall_time = *plan.predicted_compute_time / static_cast<std::int64_t>(threads);
  }
  return plan;
}

} // namespace recall
