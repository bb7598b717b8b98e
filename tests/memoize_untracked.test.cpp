// Tests for what memoize says about functions without a build-time body signature: one warning
// per function per process at the default verbosity, silenced by an option or RECALL_UNTRACKED.
#include "catch.hpp"

#include <array>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace untracked_test {

int twice(int x) { return 2 * x; }
int thrice(int x) { return 3 * x; }
int quiet_one(int x) { return x + 1; }
int from_env(int x) { return x + 2; }
int signed_one(int x) { return x + 3; }
int threaded(int x) { return x + 4; }

// What recall-sign's generated source would register for signed_one.
constexpr std::array<recall::body_signature, 1> rows{
    {{"untracked_test::signed_one", "0123456789abcdef0123456789abcdef"}}};
[[maybe_unused]] const bool registered = recall::register_body_signatures(rows);

recall::options in(const std::filesystem::path& dir) {
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  return o;
}

// Sets an environment variable for one test, restoring its absence afterwards.
class environment_variable {
public:
  environment_variable(const char* name, const char* value) : m_name{name} { ::setenv(name, value, 1); }
  environment_variable(const environment_variable&) = delete;
  environment_variable& operator=(const environment_variable&) = delete;
  ~environment_variable() { ::unsetenv(m_name); }

private:
  const char* m_name;
};

} // namespace untracked_test

using namespace untracked_test;

TEST_CASE("the first call of an untracked function warns once per process, naming the fix", "[memoize_untracked]") {
  recall_test::temp_dir dir;
  recall_test::log_capture capture;
  recall::memoize<&twice> a{in(dir.path())};
  CHECK(capture.warnings() == 0); // constructing says nothing: only a call reuses results
  a(1);
  a(2);
  a(1);                                                            // a hit
  recall::memoize<&twice, recall::version<"2">> b{in(dir.path())}; // another object of the same function
  b(3);
  CHECK(capture.count(recall::log_level::warning, "untracked_test::twice: its code is not tracked") == 1);
  CHECK(capture.count(recall::log_level::warning, "recall_add_signatures(<target>)") == 1);
  CHECK(capture.count(recall::log_level::warning, "RECALL_UNTRACKED=quiet") == 1);
  CHECK(capture.warnings() == 1);

  recall::memoize<&thrice> c{in(dir.path())}; // another function: its own line
  c(1);
  CHECK(capture.count(recall::log_level::warning, "untracked_test::thrice: its code is not tracked") == 1);
  CHECK(capture.warnings() == 2);
}

TEST_CASE("concurrent first calls still warn once", "[memoize_untracked]") {
  recall_test::temp_dir dir;
  recall_test::log_capture capture;
  recall::memoize<&threaded> f{in(dir.path())};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 50; ++i) {
        f(t * 100 + i);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(capture.count(recall::log_level::warning, "untracked_test::threaded: its code is not tracked") == 1);
}

TEST_CASE("options{.untracked = quiet} and RECALL_UNTRACKED=quiet silence the warning", "[memoize_untracked]") {
  recall_test::temp_dir dir;
  recall_test::log_capture capture;
  auto quiet = in(dir.path());
  quiet.untracked = recall::untracked_bodies::quiet;
  recall::memoize<&quiet_one> f{quiet};
  f(1);
  f(2);
  {
    const environment_variable env{"RECALL_UNTRACKED", "quiet"};
    recall::memoize<&from_env> g{in(dir.path())};
    g(1);
  }
  CHECK(capture.warnings() == 0);

  // The option wins over the environment.
  const environment_variable env{"RECALL_UNTRACKED", "quiet"};
  auto loud = in(dir.path());
  loud.untracked = recall::untracked_bodies::warn;
  recall::memoize<&from_env, recall::version<"loud">> h{loud};
  h(1);
  CHECK(capture.count(recall::log_level::warning, "untracked_test::from_env: its code is not tracked") == 1);
}

TEST_CASE("a function with a body signature is not warned about", "[memoize_untracked]") {
  recall_test::temp_dir dir;
  recall_test::log_capture capture;
  recall::memoize<&signed_one> f{in(dir.path())};
  CHECK(f.identity_parts().body == "0123456789abcdef0123456789abcdef");
  f(1);
  CHECK(capture.warnings() == 0);
}

TEST_CASE("RECALL_EXPLAIN explains hits on untracked functions only", "[memoize_untracked]") {
  recall_test::temp_dir dir;
  auto explaining = in(dir.path());
  explaining.explain = recall::miss_explanations::on;
  explaining.untracked = recall::untracked_bodies::quiet;
  explaining.memory = recall::memory_tier::none;
  recall::memoize<&thrice, recall::version<"explain">> untracked{explaining};
  recall::memoize<&signed_one, recall::version<"explain">> tracked{explaining};
  untracked(5);
  tracked(5);
  recall_test::log_capture capture;
  untracked(5); // a hit from the directory store
  tracked(5);
  CHECK(capture.count(recall::log_level::info, "hit untracked_test::thrice ") == 1);
  CHECK(capture.count(recall::log_level::info, "body untracked") == 1);
  CHECK(capture.count(recall::log_level::info, "older code of untracked_test::thrice") == 1);
  CHECK(capture.lines().size() == 1); // the tracked hit explains nothing

  explaining.memory = recall::memory_tier::shared;
  recall::memoize<&thrice, recall::version<"explain">> from_memory{explaining};
  from_memory(6);
  from_memory(6); // a hit from the memory tier
  CHECK(capture.count(recall::log_level::info, "hit untracked_test::thrice ") == 2);
}
