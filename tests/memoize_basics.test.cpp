// Tests for recall::memoize's calls: miss then hit, refresh, bypass, contains, forget, key,
// identities of overloads, versions and memoize_as, and verbose log lines.
#include "catch.hpp"

#include <atomic>
#include <string>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace basics {

std::atomic<int> g_calls{0};

double slow_square(double x, int repeat) {
  ++g_calls;
  return x * x * repeat;
}

std::vector<double> series(const std::vector<double>& xs, double scale) {
  ++g_calls;
  std::vector<double> out;
  for (double x : xs) {
    out.push_back(x * scale + static_cast<double>(g_calls.load()) * 0.0);
  }
  return out;
}

int counter_value(int x) { return x + g_calls.fetch_add(1); }

double overloaded(int x) { return x * 2.0; }
double overloaded(double x) { return x * 3.0; }

recall::options options_in(const std::filesystem::path& dir) {
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  o.verbosity = recall::verbosity::quiet;
  return o;
}

} // namespace basics

using namespace basics;

TEST_CASE("a miss computes and stores, the next call hits", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::memoize<&slow_square> square{options_in(dir.path())};
  g_calls = 0;
  CHECK(square(3.0, 2) == 18.0);
  CHECK(g_calls == 1);
  CHECK(square(3.0, 2) == 18.0);
  CHECK(g_calls == 1);
  CHECK(square(4.0, 2) == 32.0);
  CHECK(g_calls == 2);

  SECTION("the disk tier serves a hit when memory forgot it") {
    recall::process_memory_tier().clear();
    CHECK(square(3.0, 2) == 18.0);
    CHECK(g_calls == 2);
  }
  SECTION("another memoize object on the same directory hits") {
    recall::memoize<&slow_square> other{options_in(dir.path())};
    CHECK(other(4.0, 2) == 32.0);
    CHECK(g_calls == 2);
  }
}

TEST_CASE("results with heap data round-trip through the disk tier", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::options o = options_in(dir.path());
  o.memory = recall::memory_tier::none;
  recall::memoize<&series> s{o};
  g_calls = 0;
  const std::vector<double> xs{1.0, 2.0, 3.0};
  const auto first = s(xs, 2.0);
  const auto second = s(xs, 2.0);
  CHECK(first == std::vector<double>{2.0, 4.0, 6.0});
  CHECK(second == first);
  CHECK(g_calls == 1);
}

TEST_CASE("refresh recomputes and overwrites; bypass neither reads nor writes", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::memoize<&counter_value> f{options_in(dir.path())};
  g_calls = 100;
  const int first = f(1);
  CHECK(first == 101);
  CHECK(f(1) == 101);

  const int refreshed = f.refresh(1);
  CHECK(refreshed == 102);
  CHECK(f(1) == 102);
  recall::process_memory_tier().clear();
  CHECK(f(1) == 102); // the disk entry was overwritten too

  CHECK(f.bypass(1) == 103);
  CHECK(f(1) == 102);
  CHECK(f.bypass(7) == 110);
  CHECK_FALSE(f.contains(7));
}

TEST_CASE("contains computes nothing; forget removes the entry", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::memoize<&slow_square> square{options_in(dir.path())};
  g_calls = 0;
  CHECK_FALSE(square.contains(5.0, 1));
  CHECK(g_calls == 0);
  square(5.0, 1);
  CHECK(square.contains(5.0, 1));
  recall::process_memory_tier().clear();
  CHECK(square.contains(5.0, 1)); // on disk
  CHECK(square.forget(5.0, 1));
  CHECK_FALSE(square.contains(5.0, 1));
  CHECK_FALSE(square.forget(5.0, 1));
  square(5.0, 1);
  CHECK(g_calls == 2);
}

TEST_CASE("key is 128 bits of the function and its arguments", "[memoize_basics]") {
  recall::memoize<&slow_square> square{recall::options{.mode = recall::mode::off}};
  const recall::key k = square.key(1.0, 2);
  CHECK(k.hex().size() == 32);
  CHECK(k.hex().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(square.key(1.0, 2) == k);
  CHECK(square.key(1.0, 3) != k);
  CHECK(square.key(-1.0, 2) != k);
}

TEST_CASE("overloads, versions and memoize_as names are distinct identities", "[memoize_basics]") {
  constexpr auto by_int = static_cast<double (*)(int)>(&overloaded);
  constexpr auto by_double = static_cast<double (*)(double)>(&overloaded);
  recall::memoize<by_int> a{recall::options{.mode = recall::mode::off}};
  recall::memoize<by_double> b{recall::options{.mode = recall::mode::off}};
  CHECK(a.function().name == b.function().name);
  CHECK(a.function().identity != b.function().identity);
  CHECK(a.identity_parts().signature == "(int)->double");
  CHECK(b.identity_parts().signature == "(double)->double");

  recall::memoize<&slow_square> v0{recall::options{.mode = recall::mode::off}};
  recall::memoize<&slow_square, recall::version<"2">> v2{recall::options{.mode = recall::mode::off}};
  recall::memoize<&slow_square, recall::version<"2">> v2_again{recall::options{.mode = recall::mode::off}};
  CHECK(v0.key(1.0, 1) != v2.key(1.0, 1));
  CHECK(v2.key(1.0, 1) == v2_again.key(1.0, 1));
  CHECK(v2.identity_parts().version == "2");

  auto lorenz = recall::memoize_as<"lorenz">([](double sigma, double rho) { return sigma * rho; },
                                             recall::options{.mode = recall::mode::off});
  CHECK(lorenz(2.0, 3.0) == 6.0);
  CHECK(lorenz.function().name == "lorenz");
  CHECK(lorenz.identity_parts().kind == recall::identity_kind::named);
  auto other = recall::memoize_as<"lorenz2">([](double sigma, double rho) { return sigma * rho; },
                                             recall::options{.mode = recall::mode::off});
  CHECK(other.key(2.0, 3.0) != lorenz.key(2.0, 3.0));
}

TEST_CASE("memoize_as caches lambdas on disk", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  int calls = 0;
  auto f = recall::memoize_as<"basics-lambda">(
      [&calls](double a, double b) {
        ++calls;
        return a + b;
      },
      options_in(dir.path()));
  CHECK(f(1.0, 2.0) == 3.0);
  CHECK(f(1.0, 2.0) == 3.0);
  CHECK(calls == 1);
}

TEST_CASE("entries live in a readable folder per function", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::memoize<&slow_square> square{options_in(dir.path())};
  square(9.0, 9);
  const auto folder_prefix = std::string{"basics_slow_square-"};
  bool found = false;
  for (const auto& entry : std::filesystem::directory_iterator{dir.path()}) {
    const auto name = entry.path().filename().string();
    if (name.rfind(folder_prefix, 0) == 0) {
      found = true;
      CHECK(name.size() == folder_prefix.size() + 8);
      CHECK(name.substr(folder_prefix.size()) == square.function().identity.hex().substr(0, 8));
    }
  }
  CHECK(found);
}

TEST_CASE("verbose mode logs every miss and hit with function, key, place and time", "[memoize_basics]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall_test::log_capture capture;
  recall::options o = options_in(dir.path());
  o.verbosity = recall::verbosity::verbose;
  recall::memoize<&slow_square> square{o};
  square(2.5, 1);
  square(2.5, 1);
  recall::process_memory_tier().clear();
  square(2.5, 1);
  const auto hex = square.key(2.5, 1).hex();
  CHECK(capture.count(recall::log_level::info, "miss basics::slow_square " + hex) == 1);
  CHECK(capture.count(recall::log_level::info, "hit basics::slow_square " + hex + " memory") == 1);
  CHECK(capture.count(recall::log_level::info, "hit basics::slow_square " + hex + " " + dir.path().string()) == 1);
}
