// Test helper: one process of a cooperative sweep. Sweeps N points of a function that sleeps
// MS milliseconds, logging "<host> <pid> <point> <epoch ms>" to LOG for each computation, and prints what
// it did; exits non-zero unless it returns every point's correct result.
//   sweep-worker CACHE N MS JOBS LOG START_EPOCH_MS
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <recall/recall.hpp>

namespace {

int g_sleep_ms = 0;
int g_log = -1;

long slow_point(long x) {
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string line = recall::detail::host_name() + " " + std::to_string(::getpid()) + " " + std::to_string(x) +
                           " " + std::to_string(now_ms) + "\n";
  if (::write(g_log, line.data(), line.size()) != static_cast<::ssize_t>(line.size())) {
    std::perror("sweep-worker: log");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{g_sleep_ms});
  return x * x + 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: sweep-worker CACHE N MS JOBS LOG START_EPOCH_MS\n");
    return 2;
  }
  const long count = std::atol(argv[2]);
  g_sleep_ms = std::atoi(argv[3]);
  const auto jobs = static_cast<unsigned>(std::atoi(argv[4]));
  g_log = ::open(argv[5], O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (g_log < 0) {
    std::perror("sweep-worker: open log");
    return 2;
  }
  // Every worker starts at the same moment, whatever its start-up cost.
  const std::chrono::system_clock::time_point start{std::chrono::milliseconds{std::atoll(argv[6])}};
  std::this_thread::sleep_until(start);

  recall::memoize<&slow_point> memo{recall::options{.directory = argv[1], .memory = recall::memory_tier::none}};
  std::vector<long> points;
  for (long i = 0; i < count; ++i) {
    points.push_back(i);
  }
  const auto began = std::chrono::steady_clock::now();
  std::size_t loaded = 0;
  std::size_t computed = 0;
  std::size_t elsewhere = 0;
  std::vector<long> results(points.size(), -1);
  const auto report = recall::sweep(
      memo, points, [&](std::size_t i, long&& value) { results[i] = value; },
      recall::sweep_options{.jobs = jobs, .verbosity = recall::sweep_verbosity::quiet});
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  loaded = report.loaded;
  computed = report.computed;
  elsewhere = report.elsewhere;
  int wrong = 0;
  for (long i = 0; i < count; ++i) {
    wrong += results[static_cast<std::size_t>(i)] == i * i + 1 ? 0 : 1;
  }
  std::printf("host=%s pid=%d results=%ld wrong=%d loaded=%zu computed=%zu elsewhere=%zu failed=%zu wall_ms=%lld\n",
              recall::detail::host_name().c_str(), static_cast<int>(::getpid()), count - wrong, wrong, loaded, computed,
              elsewhere, report.failures.size(), static_cast<long long>(wall.count()));
  return wrong == 0 && report.failures.empty() ? 0 : 1;
}
