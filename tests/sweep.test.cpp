// Tests for recall::sweep (one process): order, grid, callback form, failures, jobs, SIGINT,
// dry-run plans and their predictions, and the try-lock and lock records underneath.
#include "catch.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <recall/detail/stores/lock_record.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace sweep_test {

using namespace std::chrono_literals;

std::atomic<int> g_calls{0};
std::mutex g_threads_mutex;
std::set<std::thread::id> g_threads;

double power(double x, int n) {
  ++g_calls;
  {
    const std::lock_guard lock{g_threads_mutex};
    g_threads.insert(std::this_thread::get_id());
  }
  return std::pow(x, n);
}

// Fails for odd n.
double even_only(double x, int n) {
  ++g_calls;
  if (n % 2 != 0) {
    throw std::domain_error{"odd n=" + std::to_string(n)};
  }
  return x * n;
}

// 20 ms a point, whatever the machine's load: it sleeps.
int sleepy(int x) {
  ++g_calls;
  std::this_thread::sleep_for(20ms);
  return x * 3;
}

std::atomic<int> g_interrupt_at{-1};
std::atomic<int> g_interrupted_point{-1};

// Raises SIGINT during its g_interrupt_at-th call, as Ctrl-C would while a point runs.
int interruptible(int x) {
  if (++g_calls == g_interrupt_at.load()) {
    g_interrupted_point = x;
    ::raise(SIGINT);
  }
  std::this_thread::sleep_for(2ms);
  return x + 1000;
}

recall::options on_disk(const recall_test::temp_dir& dir) {
  return recall::options{.directory = dir.path(), .memory = recall::memory_tier::none};
}

recall::sweep_options quiet(unsigned jobs) {
  return recall::sweep_options{.jobs = jobs, .verbosity = recall::sweep_verbosity::quiet};
}

} // namespace sweep_test

using namespace sweep_test;

TEST_CASE("grid: the cartesian product, first list slowest", "[sweep]") {
  const auto points = recall::grid(std::vector<double>{0.5, 1.5}, std::vector<int>{1, 2, 3});
  REQUIRE(points.size() == 6);
  CHECK(points[0] == std::tuple{0.5, 1});
  CHECK(points[2] == std::tuple{0.5, 3});
  CHECK(points[3] == std::tuple{1.5, 1});
  CHECK(points[5] == std::tuple{1.5, 3});
  CHECK(recall::grid(std::vector<double>{}, std::vector<int>{1}).empty());
}

TEST_CASE("sweep: results in input order; a second sweep loads everything, a larger one computes only its new points",
          "[sweep]") {
  recall_test::temp_dir dir;
  recall::memoize<&power> memo{on_disk(dir)};
  const auto coarse = recall::grid(std::vector<double>{1.5, 2.0, 3.0}, std::vector<int>{1, 2, 3, 4});
  g_calls = 0;
  const auto first = recall::sweep(memo, coarse, quiet(3));
  REQUIRE(first.size() == coarse.size());
  for (std::size_t i = 0; i < coarse.size(); ++i) {
    CHECK(first[i] == std::pow(std::get<0>(coarse[i]), std::get<1>(coarse[i])));
  }
  CHECK(g_calls == 12);

  g_calls = 0;
  const auto again = recall::sweep(memo, coarse, quiet(3));
  CHECK(again == first);
  CHECK(g_calls == 0);

  const auto refined = recall::grid(std::vector<double>{1.5, 2.0, 2.5, 3.0}, std::vector<int>{1, 2, 3, 4});
  g_calls = 0;
  std::size_t loaded = 0;
  std::size_t computed = 0;
  std::map<std::size_t, double> seen;
  const recall::sweep_report report = recall::sweep(
      memo, refined, [&](std::size_t index, double&& value) { seen.emplace(index, value); }, quiet(2));
  loaded = report.loaded;
  computed = report.computed;
  CHECK(g_calls == 4);
  CHECK(loaded == 12);
  CHECK(computed == 4);
  CHECK(report.elsewhere == 0);
  CHECK(report.failures.empty());
  REQUIRE(seen.size() == refined.size());
  for (const auto& [index, value] : seen) {
    CHECK(value == std::pow(std::get<0>(refined[index]), std::get<1>(refined[index])));
  }
}

TEST_CASE("sweep: jobs = 1 computes every point in the caller's thread; more use more threads", "[sweep]") {
  recall_test::temp_dir dir;
  recall::memoize<&power> memo{on_disk(dir)};
  g_threads.clear();
  static_cast<void>(
      recall::sweep(memo, recall::grid(std::vector<double>{7.0}, std::vector<int>{1, 2, 3, 4, 5}), quiet(1)));
  CHECK(g_threads == std::set<std::thread::id>{std::this_thread::get_id()});

  g_threads.clear();
  // Sleeping points keep every worker busy long enough to take one.
  auto slow = recall::memoize_as<"sweep_test::slow_power">(
      [](double x, int n) {
        {
          const std::lock_guard lock{g_threads_mutex};
          g_threads.insert(std::this_thread::get_id());
        }
        std::this_thread::sleep_for(10ms);
        return std::pow(x, n);
      },
      on_disk(dir));
  static_cast<void>(
      recall::sweep(slow, recall::grid(std::vector<double>{7.0}, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}), quiet(4)));
  CHECK(g_threads.size() == 4);
}

TEST_CASE("sweep: a point that throws is reported and not cached; the others go on", "[sweep]") {
  recall_test::temp_dir dir;
  recall::memoize<&even_only> memo{on_disk(dir)};
  const auto points = recall::grid(std::vector<double>{2.0}, std::vector<int>{1, 2, 3, 4, 5, 6});
  g_calls = 0;
  std::size_t delivered = 0;
  const auto report = recall::sweep(
      memo, points, [&](std::size_t, double&&) { ++delivered; }, quiet(2));
  CHECK(delivered == 3);
  CHECK(report.computed == 3);
  REQUIRE(report.failures.size() == 3);
  CHECK(report.failures[0].index == 0);
  CHECK(report.failures[1].index == 2);
  CHECK(report.failures[2].index == 4);
  CHECK(report.failures[0].label == "2 1");
  CHECK(report.failures[0].what == "odd n=1");
  CHECK_FALSE(memo.contains(2.0, 1));
  CHECK(memo.contains(2.0, 2));

  // The vector form throws once every other point is done, naming the failures.
  g_calls = 0;
  try {
    static_cast<void>(recall::sweep(memo, points, quiet(1)));
    FAIL("sweep_failed expected");
  } catch (const recall::sweep_failed& e) {
    CHECK(e.report().failures.size() == 3);
    CHECK(e.report().loaded == 3);
    CHECK(std::string{e.what()}.find("3 of 6 points failed") != std::string::npos);
    CHECK(std::string{e.what()}.find("odd n=1") != std::string::npos);
  }
  CHECK(g_calls == 3); // the failing points were tried again: nothing of them was cached
}

TEST_CASE("sweep: SIGINT lets the running point finish, caches it, and stops; a rerun resumes", "[sweep]") {
  recall_test::temp_dir dir;
  recall::memoize<&interruptible> memo{on_disk(dir)};
  std::vector<int> points;
  for (int i = 0; i < 20; ++i) {
    points.push_back(i);
  }
  struct ::sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  g_calls = 0;
  g_interrupt_at = 3;
  std::size_t computed = 0;
  try {
    static_cast<void>(recall::sweep(memo, points, quiet(1)));
    FAIL("sweep_interrupted expected");
  } catch (const recall::sweep_interrupted& e) {
    CHECK(e.report().interrupted);
    computed = e.report().computed;
    CHECK(std::string{e.what()}.find("rerun to resume") != std::string::npos);
  }
  CHECK(computed == 3);
  CHECK(g_calls == 3);
  CHECK(memo.contains(g_interrupted_point.load())); // the running point finished and was cached
  std::size_t cached = 0;
  for (const int x : points) {
    cached += memo.contains(x) ? 1 : 0;
  }
  CHECK(cached == computed); // and nothing started after the signal
  // The program's own handler is back.
  struct ::sigaction after {};
  ::sigaction(SIGINT, nullptr, &after);
  CHECK(after.sa_handler == before.sa_handler);

  g_interrupt_at = -1;
  g_calls = 0;
  const auto results = recall::sweep(memo, points, quiet(2));
  CHECK(g_calls == static_cast<int>(points.size() - computed));
  CHECK(results[19] == 1019);
}

TEST_CASE("plan_sweep: counts cached, missing and busy points; predicts within 25 %", "[sweep]") {
  recall_test::temp_dir dir;
  recall::memoize<&sleepy> memo{on_disk(dir)};
  std::vector<int> known;
  for (int i = 0; i < 10; ++i) {
    known.push_back(i);
  }
  const auto nothing = recall::plan_sweep(memo, known, quiet(2));
  CHECK(nothing.missing == 10);
  CHECK_FALSE(nothing.predicted_wall_time.has_value());
  static_cast<void>(recall::sweep(memo, known, quiet(2))); // stores stats: 10 computations of 20 ms

  std::vector<int> wider;
  for (int i = 0; i < 40; ++i) {
    wider.push_back(i);
  }
  // Another process (here: the store directly) is computing point 30.
  const auto busy_address = recall::entry_address{memo.function(), memo.key(30)};
  auto held = memo.store()->try_lock_for_compute(busy_address, "30");
  REQUIRE(held.outcome == recall::lock_outcome::acquired);

  const auto plan = recall::plan_sweep(memo, wider, quiet(2));
  CHECK(plan.points == 40);
  CHECK(plan.cached == 10);
  CHECK(plan.computing_elsewhere == 1);
  CHECK(plan.missing == 29);
  CHECK(plan.basis == "stats (10 computations)");
  REQUIRE(plan.predicted_wall_time.has_value());
  CHECK(plan.summary("sleepy").find("29 missing, 1 being computed elsewhere") != std::string::npos);
  held.lock.reset();

  const auto started = std::chrono::steady_clock::now();
  static_cast<void>(recall::sweep(memo, wider, quiet(2)));
  const auto measured = std::chrono::steady_clock::now() - started;
  // 30 points of 20 ms on 2 threads: the plan said 29 (one was busy), so compare per point.
  const double predicted_per_point = std::chrono::duration<double>(*plan.predicted_wall_time).count() / 29.0;
  const double measured_per_point = std::chrono::duration<double>(measured).count() / 30.0;
  INFO("predicted " << predicted_per_point * 1e3 << " ms/point, measured " << measured_per_point * 1e3 << " ms/point");
  CHECK(std::abs(predicted_per_point - measured_per_point) <= 0.25 * measured_per_point);
}

TEST_CASE("plan_sweep: without stats, the cached points' entries give the mean", "[sweep]") {
  recall_test::temp_dir dir;
  auto memo = recall::memoize_as<"sweep_test::entries_only">(
      [](int x) {
        std::this_thread::sleep_for(5ms);
        return x;
      },
      on_disk(dir));
  static_cast<void>(recall::sweep(memo, std::vector<int>{1, 2, 3}, quiet(1)));
  std::filesystem::remove(recall::directory_store{dir.path()}.function_folder(memo.function()) / "stats");
  const auto plan = recall::plan_sweep(memo, std::vector<int>{1, 2, 3, 4, 5}, quiet(1));
  CHECK(plan.basis == "entries (3 cached points)");
  REQUIRE(plan.mean_compute_time.has_value());
  CHECK(*plan.mean_compute_time >= 5ms);
  CHECK(*plan.predicted_compute_time == *plan.mean_compute_time * 2);
}

TEST_CASE("directory try-lock: busy while held by another open file; the record names host, pid and label", "[sweep]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  const recall::function_id function{"ns::simulate", recall::key{1, 2}};
  const recall::entry_address address{function, recall::key{0xabcdef, 0x123456789}};
  auto first = store.try_lock_for_compute(address, "{dt=0.01} 1000");
  REQUIRE(first.outcome == recall::lock_outcome::acquired);
  CHECK(store.try_lock_for_compute(address, "x").outcome == recall::lock_outcome::busy);
  CHECK(store.try_lock_for_compute(recall::entry_address{function, recall::key{5, 6}}, "y").outcome ==
        recall::lock_outcome::acquired); // released at once: another key, another byte

  const auto running = recall::directory_store::running_computations(dir.path());
  REQUIRE(running.size() == 1);
  CHECK(running[0].folder == recall::directory_store::folder_name(function));
  CHECK(running[0].call == address.call);
  CHECK(running[0].holder.host == recall::detail::host_name());
  CHECK(running[0].holder.pid == ::getpid());
  CHECK(running[0].holder.label == "{dt=0.01} 1000");
  CHECK(std::chrono::system_clock::now() - running[0].holder.since < 1min);

  first.lock.reset();
  CHECK(recall::directory_store::running_computations(dir.path()).empty());
  CHECK(store.try_lock_for_compute(address, "x").outcome == recall::lock_outcome::acquired);
}

TEST_CASE("lock records: format and parse round trip; malformed ones are rejected", "[sweep]") {
  const std::string record = recall::detail::format_lock_record("a\nb c");
  const auto parsed = recall::detail::parse_lock_record(record + "     \n");
  REQUIRE(parsed.has_value());
  CHECK(parsed->pid == ::getpid());
  CHECK(parsed->label == "a?b c");
  CHECK_FALSE(recall::detail::parse_lock_record("host"));
  CHECK_FALSE(recall::detail::parse_lock_record("host x 12 label"));
  CHECK_FALSE(recall::detail::parse_lock_record("host 12 y label"));
  const auto cut = recall::detail::parse_lock_record("node7 42 1700000000000");
  REQUIRE(cut.has_value());
  CHECK(cut->host == "node7");
  CHECK(cut->label.empty());
}

TEST_CASE("memoize records the host and pid that computed an entry, and the compute time in its stats", "[sweep]") {
  recall_test::temp_dir dir;
  recall::memoize<&power> memo{on_disk(dir)};
  static_cast<void>(recall::sweep(memo, recall::grid(std::vector<double>{3.0}, std::vector<int>{9}), quiet(1)));
  auto store = std::dynamic_pointer_cast<recall::directory_store>(memo.store());
  REQUIRE(store);
  const auto described = store->similar_entries(memo.function(), 10);
  REQUIRE(described.size() == 1);
  CHECK(described[0].manifest.host == recall::detail::host_name() + ":" + std::to_string(::getpid()));
  const auto stats = store->stats(memo.function());
  CHECK(stats.misses == 1);
  CHECK(stats.compute_ns > 0);
}
