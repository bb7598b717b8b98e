// Tests that a failing store never fails a call: broken stores, unwritable roots, corrupt entries.
#include "catch.hpp"

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace failures_test {

int g_calls = 0;

double half(double x) {
  ++g_calls;
  return x / 2;
}

// Fails every operation, the way a dead disk or server would.
class broken_store final : public recall::store {
public:
  [[nodiscard]] std::string description() const override { return "broken"; }
  std::optional<recall::stored_entry> load(const recall::entry_address&) override { fail(); }
  void save(const recall::entry_address&, const recall::stored_entry&) override { fail(); }
  bool contains(const recall::entry_address&) override { fail(); }
  bool erase(const recall::entry_address&) override { fail(); }
  int failures = 0;

private:
  [[noreturn]] void fail() {
    ++failures;
    throw recall::store_error{"broken: input/output error"};
  }
};

// Random doubles: a payload that does not compress, so its size on disk is its size.
std::vector<double> noise(int n) {
  ++g_calls;
  std::mt19937_64 rng{static_cast<std::uint64_t>(n)};
  std::uniform_real_distribution<double> u{0, 1};
  std::vector<double> out(static_cast<std::size_t>(n));
  for (auto& x : out) {
    x = u(rng);
  }
  return out;
}

} // namespace failures_test

using namespace failures_test;

TEST_CASE("a store that fails every operation: calls still return, one warning per operation", "[memoize_failures]") {
  recall::process_memory_tier().clear();
  recall_test::log_capture capture;
  auto broken = std::make_shared<broken_store>();
  recall::options o;
  o.mode = recall::mode::reuse;
  o.store = broken;
  o.memory = recall::memory_tier::none;
  recall::memoize<&half> f{o};
  g_calls = 0;
  for (int i = 0; i < 5; ++i) {
    CHECK(f(8.0) == 4.0);
  }
  CHECK(g_calls == 5);
  CHECK(broken->failures == 10);
  CHECK_FALSE(f.contains(8.0));
  CHECK(capture.count(recall::log_level::warning, "cache load failed") == 1);
  CHECK(capture.count(recall::log_level::warning, "cache save failed") == 1);
}

TEST_CASE("an unwritable cache root: calls return their results", "[memoize_failures]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall_test::log_capture capture;
  const auto file = dir.path() / "not-a-directory";
  std::ofstream{file} << "occupied";
  recall::options o;
  o.directory = file / "cache"; // a path below a regular file cannot be created, even by root
  o.mode = recall::mode::reuse;
  recall::memoize<&half> f{o};
  g_calls = 0;
  CHECK(f(3.0) == 1.5);
  CHECK(f(5.0) == 2.5);
  CHECK(g_calls == 2);
  CHECK(capture.count(recall::log_level::warning, "cache save failed") == 1);
  CHECK(std::filesystem::is_regular_file(file));
}

TEST_CASE("a corrupt entry is a miss: warned, removed, recomputed and replaced", "[memoize_failures]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none;
  recall::memoize<&half> f{o};
  g_calls = 0;
  CHECK(f(10.0) == 5.0);

  auto store = std::dynamic_pointer_cast<recall::directory_store>(f.store());
  REQUIRE(store);
  const recall::entry_address address{f.function(), f.key(10.0)};
  const auto path = store->entry_path(address);
  REQUIRE(std::filesystem::exists(path));
  {
    std::fstream file{path, std::ios::in | std::ios::out | std::ios::binary};
    file.seekp(-1, std::ios::end);
    file.put('\x5A');
  }

  recall_test::log_capture capture;
  CHECK(f(10.0) == 5.0);
  CHECK(g_calls == 2);
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::warning, path.string()) == 1);
  CHECK(f(10.0) == 5.0); // the replacement is valid
  CHECK(g_calls == 2);
}

TEST_CASE("a full disk (RLIMIT_FSIZE): the call returns, one warning, nothing partial, old entries kept",
          "[memoize_failures]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.memory = recall::memory_tier::none;
  recall::memoize<&noise> f{o};
  g_calls = 0;
  const auto small = f(100); // stored before the disk "fills"

  ::rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  ::rlimit limited = saved;
  limited.rlim_cur = 64 * 1024;
  std::vector<double> big_first;
  std::vector<double> big_second;
  std::size_t warnings = 0;
  {
    recall_test::log_capture capture;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    // No assertion until the limit is lifted: the reporter may write to a file.
    big_first = f(100000); // 800 KB: the write fails with EFBIG
    big_second = f(100001);
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);
    warnings = capture.count(recall::log_level::warning, "save failed");
  }
  CHECK(big_first == noise(100000));
  CHECK(big_second == noise(100001));
  CHECK(warnings == 1); // once per cause, not once per call
  g_calls = 0;
  CHECK(f(100) == small); // the old entry is intact and still served
  CHECK(g_calls == 0);
  for (const auto& e : std::filesystem::recursive_directory_iterator{dir.path()}) {
    const std::string name = e.path().filename().string();
    INFO(name);
    CHECK(name.find(".tmp") == std::string::npos);
  }
  CHECK_FALSE(f.contains(100000));
}
