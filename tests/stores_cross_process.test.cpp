// Tests across processes (fork): single flight on one cache directory, recovery of a lock whose
// holder was killed, and crash safety of stores killed at random points.
#include "catch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace cross_process_test {

std::string g_log_path;

// Appends one line per computation to a shared log, so the parent can count them.
long slow_twice(long x) {
  const int fd = ::open(g_log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  const std::string line = std::to_string(x) + "\n";
  static_cast<void>(::write(fd, line.data(), line.size()));
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  return 2 * x;
}

std::map<long, int> count_lines(const std::string& path) {
  std::map<long, int> counts;
  std::ifstream in{path};
  long x = 0;
  while (in >> x) {
    ++counts[x];
  }
  return counts;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace cross_process_test

using namespace cross_process_test;

TEST_CASE("processes calling the same keys at once compute each key once", "[stores_cross_process]") {
  recall_test::temp_dir dir;
  g_log_path = (dir.path() / "computations.log").string();
  constexpr int processes = 6;
  constexpr long keys = 4;
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      recall::options o;
      o.directory = dir.path() / "cache";
      o.mode = recall::mode::reuse;
      o.memory = recall::memory_tier::none;
      recall::memoize<&slow_twice> f{o};
      int wrong = 0;
      for (long k = 0; k < keys; ++k) {
        const long x = (k + p) % keys; // each process walks the keys from another start
        wrong += f(x) == 2 * x ? 0 : 1;
      }
      ::_exit(wrong);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    CHECK(wait_for(pid) == 0);
  }
  const auto counts = count_lines(g_log_path);
  CHECK(counts.size() == static_cast<std::size_t>(keys));
  for (const auto& [x, n] : counts) {
    INFO("key " << x);
    CHECK(n == 1);
  }
}

TEST_CASE("a lock whose holder was killed with SIGKILL is taken over at once", "[stores_cross_process]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  const recall::function_id function{"locked", recall::key{9, 9}};
  const recall::entry_address address{function, recall::key{1, 2}};
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {
    auto lock = store.lock_for_compute(address, std::chrono::seconds{5});
    const char byte = lock ? 'y' : 'n';
    static_cast<void>(::write(ready[1], &byte, 1));
    ::pause(); // holds the lock until killed
    ::_exit(0);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  REQUIRE(byte == 'y');

  // While the holder lives, a short wait times out.
  CHECK_FALSE(store.lock_for_compute(address, std::chrono::milliseconds{100}));

  ::kill(holder, SIGKILL);
  wait_for(holder);
  const auto started = std::chrono::steady_clock::now();
  auto lock = store.lock_for_compute(address, std::chrono::seconds{5});
  CHECK(lock);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{1});
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("stores killed at random moments leave no entry that reads as valid but wrong", "[stores_cross_process]") {
  recall_test::temp_dir dir;
  const recall::function_id function{"crash", recall::key{3, 3}};
  // 1000 per run and configuration (CI runs four); RECALL_CRASH_TRIALS=N runs more.
  const int trials =
      std::getenv("RECALL_CRASH_TRIALS") != nullptr ? std::atoi(std::getenv("RECALL_CRASH_TRIALS")) : 1000;
  std::mt19937 rng{12345};
  std::uniform_int_distribution<int> delay_us{0, 3000};
  for (int t = 0; t < trials; ++t) {
    int first_saved[2];
    REQUIRE(::pipe(first_saved) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(first_saved[0]);
      recall::directory_store store{dir.path()};
      for (std::uint64_t k = 0;; ++k) {
        recall::stored_entry e;
        // Odd keys are large enough to be stored zstd-compressed: both write paths are killed.
        e.payload.assign((k % 2 == 0 ? 20000 : 70000) + (k % 7) * 1000, static_cast<std::byte>(k & 0xFF));
        store.save(recall::entry_address{function, recall::key{k % 16, 1}}, e);
        if (k == 0) {
          const char done = 1;
          static_cast<void>(::write(first_saved[1], &done, 1));
          ::close(first_saved[1]);
        }
      }
    }
    ::close(first_saved[1]);
    // Half the trials kill the writer only once it has stored an entry whole, so entries survive
    // however slow the machine (a sanitizer build under load can take longer than the longest
    // delay to start and store); the other half may kill it before or during its first save.
    if (t % 2 == 0) {
      char done = 0;
      static_cast<void>(::read(first_saved[0], &done, 1)); // 0 bytes if the writer died first
    }
    ::close(first_saved[0]);
    std::this_thread::sleep_for(std::chrono::microseconds{delay_us(rng)});
    ::kill(pid, SIGKILL);
    wait_for(pid);
  }
  // Every entry that loads holds bytes a writer wrote whole: one repeated byte, a plausible size.
  recall::directory_store store{dir.path()};
  int valid = 0;
  for (std::uint64_t k = 0; k < 16; ++k) {
    if (auto e = store.load(recall::entry_address{function, recall::key{k, 1}})) {
      ++valid;
      REQUIRE_FALSE(e->payload.empty());
      const auto first = e->payload.front();
      CHECK(std::all_of(e->payload.begin(), e->payload.end(), [&](std::byte b) { return b == first; }));
      CHECK(e->payload.size() % 1000 == 0);
      CHECK(std::to_integer<std::uint64_t>(first) % 16 == k);
    }
  }
  CHECK(valid > 0);
}
