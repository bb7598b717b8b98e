// Tests for recall::globals: a declared global's value is part of every key.
#include "catch.hpp"

#include <string>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace globals_test {

double g_temperature = 300.0;
std::vector<std::string> g_channels{"tv", "radio"};
int g_calls = 0;

double energy(double mass) {
  ++g_calls;
  return mass * g_temperature * static_cast<double>(g_channels.size());
}

} // namespace globals_test

using namespace globals_test;

TEST_CASE("a changed global is a miss; restoring it hits the old entry", "[memoize_globals]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  recall::memoize<&energy, recall::globals<&g_temperature, &g_channels>> e{o};
  g_calls = 0;
  g_temperature = 300.0;
  CHECK(e(2.0) == 1200.0);
  CHECK(g_calls == 1);

  g_temperature = 310.0;
  CHECK(e(2.0) == 1240.0);
  CHECK(g_calls == 2);

  g_temperature = 300.0;
  CHECK(e(2.0) == 1200.0);
  CHECK(g_calls == 2);

  g_channels.push_back("web");
  CHECK(e(2.0) == 1800.0);
  CHECK(g_calls == 3);
  g_channels.pop_back();
  CHECK(e(2.0) == 1200.0);
  CHECK(g_calls == 3);
}

TEST_CASE("without declaring the global, its change is invisible to the key", "[memoize_globals]") {
  recall::memoize<&energy> undeclared{recall::options{.mode = recall::mode::off}};
  recall::memoize<&energy, recall::globals<&g_temperature>> declared{recall::options{.mode = recall::mode::off}};
  g_temperature = 300.0;
  const auto undeclared_before = undeclared.key(1.0);
  const auto declared_before = declared.key(1.0);
  g_temperature = 301.0;
  CHECK(undeclared.key(1.0) == undeclared_before);
  CHECK(declared.key(1.0) != declared_before);
  g_temperature = 300.0;
  CHECK(declared.key(1.0) == declared_before);
  // Declaring globals is itself part of the key layout: the two never share entries.
  CHECK(declared_before != undeclared_before);
}
