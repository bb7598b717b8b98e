// recall::sweep's bookkeeping per point beyond a memory hit: a fully cached 100,000-point sweep
// against the plain loop of memory hits it replaces. Prints one row per variant (the best of
// several rounds, ns per point). Run: bench/sweep_overhead.sh, or sweep-overhead [POINTS] [ROUNDS].
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <recall/recall.hpp>

namespace {

double cheap(double x, int n) { return x * n; }

template <class F>
double best_ns_per_point(int rounds, std::size_t points, F&& run) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    const auto started = std::chrono::steady_clock::now();
    run();
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count();
    best = std::min(best, ns / static_cast<double>(points));
  }
  return best;
}

} // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  const auto dir = std::filesystem::temp_directory_path() / ("recall-sweep-bench-" + std::to_string(::getpid()));
  int status = 0;
  {
    recall::memoize<&cheap> memo{recall::options{.directory = dir}};
    std::vector<double> xs;
    for (std::size_t i = 0; i < count / 10; ++i) {
      xs.push_back(0.5 + static_cast<double>(i));
    }
    const auto points = recall::grid(xs, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    // Fill the store and the memory tier.
    static_cast<void>(recall::sweep(memo, points, recall::sweep_options{.verbosity = recall::sweep_verbosity::quiet}));

    volatile double sink = 0;
    const double loop = best_ns_per_point(rounds, points.size(), [&] {
      double sum = 0;
      for (const auto& [x, n] : points) {
        sum += memo(x, n);
      }
      sink = sum;
    });
    std::vector<double> out;
    const auto sweep_with = [&](unsigned jobs) {
      return best_ns_per_point(rounds, points.size(), [&] {
        out = recall::sweep(memo, points,
                            recall::sweep_options{.jobs = jobs, .verbosity = recall::sweep_verbosity::quiet});
      });
    };
    const double one = sweep_with(1);
    const double all = sweep_with(0);
    std::printf("points %zu, best of %d rounds\n", points.size(), rounds);
    std::printf("%-40s %8.0f ns/point\n", "loop of memory hits (memo(x, n))", loop);
    std::printf("%-40s %8.0f ns/point  (+%.0f ns bookkeeping)\n", "recall::sweep, jobs = 1", one, one - loop);
    std::printf("%-40s %8.0f ns/point  (%u threads)\n", "recall::sweep, jobs = hardware", all,
                std::max(1U, std::thread::hardware_concurrency()));
    status = out.size() == points.size() && out.back() == cheap(std::get<0>(points.back()), std::get<1>(points.back()))
                 ? 0
                 : 1;
    // The per-point budget of the issue: 5 µs beyond a memory hit.
    if (one - loop > 5000) {
      std::printf("over budget: %.0f ns > 5000 ns per point\n", one - loop);
      status = 1;
    }
  }
  std::filesystem::remove_all(dir);
  return status;
}
