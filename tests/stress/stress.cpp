// Stress test: N processes x M threads on one cache directory with a small size limit, so that
// eviction races with loads, saves, refreshes and removals, for a bounded time. Every value a
// call returns is checked against its inputs, and afterwards recall::verify must find no
// damaged entry. Prints one summary line; exits 1 on any wrong value, failed check or crash.
//
// usage: recall-stress [PROCESSES THREADS SECONDS]   (default 4 4 10)

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <recall/management/cache_inspection.hpp>
#include <recall/recall.hpp>

namespace {

// splitmix64: every element of a result is a function of (seed, index) that the checker can
// recompute independently of the cache.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::vector<std::uint64_t> expected_values(std::uint32_t length, std::uint64_t seed) {
  std::vector<std::uint64_t> out(length);
  for (std::uint32_t i = 0; i < length; ++i) {
    out[i] = mix(seed ^ (std::uint64_t{i} << 32));
  }
  return out;
}

// The memoized function: 8 to 16 000 bytes per result, so a few dozen entries fill the cache.
std::vector<std::uint64_t> stress_values(std::uint32_t length, std::uint64_t seed) {
  return expected_values(length, seed);
}

constexpr std::uint64_t max_size = 256 * 1024;
constexpr std::uint64_t distinct_keys = 300; // several times what fits: constant eviction

struct counts {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> checked_bytes{0};
  std::atomic<std::uint64_t> refreshes{0};
  std::atomic<std::uint64_t> forgets{0};
  std::atomic<std::uint64_t> wrong{0};
  std::atomic<std::uint64_t> errors{0};
};

// One process: `threads` threads calling for `seconds`. Exit status 0 when every value was
// right; writes "calls wrong errors" to `report`.
int worker(const std::filesystem::path& root, unsigned id, unsigned threads, double seconds,
           const std::string& report) {
  recall::memoize<&stress_values> values{recall::options{
      .directory = root,
      .mode = recall::mode::reuse,
      // No memory tier: every call goes to the directory, where eviction happens.
      .memory = recall::memory_tier::none,
      .lock_wait = std::chrono::seconds{30},
      .max_size = max_size,
  }};
  counts c;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::uint64_t state = mix((std::uint64_t{id} << 32) | t);
      while (std::chrono::steady_clock::now() < deadline) {
        state = mix(state);
        const std::uint64_t k = state % distinct_keys;
        const auto length = static_cast<std::uint32_t>(1 + mix(k) % 2000);
        const std::uint64_t seed = mix(k + 1);
        try {
          std::vector<std::uint64_t> got;
          switch ((state >> 40) % 64) {
          case 0:
            got = values.refresh(length, seed); // overwrite an entry others are reading
            c.refreshes.fetch_add(1, std::memory_order_relaxed);
            break;
          case 1:
            static_cast<void>(values.forget(length, seed)); // remove one others may be reading
            c.forgets.fetch_add(1, std::memory_order_relaxed);
            got = values(length, seed);
            break;
          default: got = values(length, seed);
          }
          if (got != expected_values(length, seed)) {
            c.wrong.fetch_add(1, std::memory_order_relaxed);
          }
          c.calls.fetch_add(1, std::memory_order_relaxed);
          c.checked_bytes.fetch_add(got.size() * sizeof(std::uint64_t), std::memory_order_relaxed);
        } catch (const std::exception& e) {
          // memoize never lets a cache failure escape; anything here is a bug.
          std::fprintf(stderr, "process %u thread %u: %s\n", id, t, e.what());
          c.errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& thread : pool) {
    thread.join();
  }
  if (FILE* out = std::fopen(report.c_str(), "w")) {
    std::fprintf(out, "%llu %llu %llu %llu %llu %llu\n", static_cast<unsigned long long>(c.calls.load()),
                 static_cast<unsigned long long>(c.wrong.load()), static_cast<unsigned long long>(c.errors.load()),
                 static_cast<unsigned long long>(c.refreshes.load()), static_cast<unsigned long long>(c.forgets.load()),
                 static_cast<unsigned long long>(c.checked_bytes.load()));
    std::fclose(out);
  }
  return c.wrong.load() == 0 && c.errors.load() == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  const unsigned processes = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 4;
  const unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 4;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 10.0;
  if (processes == 0 || threads == 0 || seconds <= 0) {
    std::fprintf(stderr, "usage: recall-stress [PROCESSES THREADS SECONDS]\n");
    return 2;
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "recall-stress-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path root = std::filesystem::path{pattern} / "cache";

  // Fork before any thread exists: each child is a separate process with its own recall state.
  std::vector<pid_t> children;
  for (unsigned p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      const int status = worker(root, p, threads, seconds, pattern + "/report-" + std::to_string(p));
      std::fflush(nullptr);
      std::_Exit(status);
    }
    children.push_back(pid);
  }
  bool ok = true;
  for (const pid_t pid : children) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "worker %d failed (status 0x%x)\n", static_cast<int>(pid), static_cast<unsigned>(status));
      ok = false;
    }
  }
  unsigned long long calls = 0, wrong = 0, errors = 0, refreshes = 0, forgets = 0, bytes = 0;
  for (unsigned p = 0; p < processes; ++p) {
    unsigned long long c[6] = {};
    if (FILE* in = std::fopen((pattern + "/report-" + std::to_string(p)).c_str(), "r")) {
      if (std::fscanf(in, "%llu %llu %llu %llu %llu %llu", &c[0], &c[1], &c[2], &c[3], &c[4], &c[5]) != 6) {
        ok = false;
      }
      std::fclose(in);
    } else {
      ok = false;
    }
    calls += c[0], wrong += c[1], errors += c[2], refreshes += c[3], forgets += c[4], bytes += c[5];
  }
  const recall::removal_report verified = recall::verify(root);
  for (const auto& [path, reason] : verified.problems) {
    std::fprintf(stderr, "verify: %s: %s\n", path.c_str(), reason.c_str());
  }
  const recall::cache_summary summary = recall::cache_info(root);
  std::printf("stress: %u processes x %u threads x %.0f s: %llu calls (%llu refreshes, %llu forgets), %llu MB "
              "checked, %llu wrong values, %llu errors; afterwards %llu entries, %llu bytes (limit %llu), "
              "verify: %zu problems\n",
              processes, threads, seconds, calls, refreshes, forgets, bytes >> 20, wrong, errors,
              static_cast<unsigned long long>(summary.entries), static_cast<unsigned long long>(summary.bytes),
              static_cast<unsigned long long>(max_size), verified.problems.size());
  std::error_code ignored;
  std::filesystem::remove_all(pattern, ignored);
  // Each process counts its own stores between rescans of a shard, so N writers may overshoot
  // the limit together by up to about N times; more than that means eviction is not working.
  const bool bounded = summary.bytes <= (processes + 1) * max_size;
  if (!bounded) {
    std::fprintf(stderr, "the cache holds %llu bytes, far over its limit\n",
                 static_cast<unsigned long long>(summary.bytes));
  }
  ok = ok && wrong == 0 && errors == 0 && calls > 0 && verified.problems.empty() && bounded;
  std::puts(ok ? "stress: ok" : "stress: FAILED");
  return ok ? 0 : 1;
}
