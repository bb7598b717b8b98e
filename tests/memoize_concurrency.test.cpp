// Tests for concurrent calls: one memoize object shared by many threads computes each key once.
#include "catch.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace concurrency_test {

std::atomic<int> g_calls{0};

long slow_cube(long x) {
  ++g_calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return x * x * x;
}

long fast_cube(long x) {
  ++g_calls;
  return x * x * x;
}

int g_failures_left = 0;
std::atomic<int> g_attempts{0};

long flaky(long x) {
  ++g_attempts;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (g_attempts.load() == 1) {
    throw std::runtime_error{"first attempt fails"};
  }
  return x + 1;
}

} // namespace concurrency_test

using namespace concurrency_test;

TEST_CASE("threads calling one key at once compute it once", "[memoize_concurrency]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  recall::memoize<&slow_cube> cube{o};
  g_calls = 0;
  std::vector<std::thread> threads;
  std::vector<long> results(8);
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = cube(7); });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(g_calls == 1);
  for (long r : results) {
    CHECK(r == 343);
  }
}

TEST_CASE("many threads over many keys all get correct values", "[memoize_concurrency]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  recall::memoize<&fast_cube> cube{o};
  g_calls = 0;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (long round = 0; round < 3; ++round) {
        for (long x = 0; x < 200; ++x) {
          if (cube(x) != x * x * x) {
            ++wrong;
          }
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(wrong == 0);
  CHECK(g_calls == 200);
}

TEST_CASE("when the computing thread throws, a waiting thread computes instead", "[memoize_concurrency]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  recall::memoize<&flaky> f{o};
  g_attempts = 0;
  std::atomic<int> thrown{0};
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        ok += f(41) == 42 ? 1 : 0;
      } catch (const std::runtime_error&) {
        ++thrown;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(thrown == 1);
  CHECK(ok == 3);
  CHECK(g_attempts == 2);
}
