// Tests of store selection (store_layout, RECALL_STORE, detection from the root) and of memoize
// working on a pack store: memory tier, limits, stats, explanations, partitions, mapped views.
#include "catch.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace layout_test {

int g_calls = 0;

double cube(double x) {
  ++g_calls;
  return x * x * x;
}

std::vector<double> ramp(int n) {
  ++g_calls;
  std::vector<double> out(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    out[static_cast<std::size_t>(i)] = i * 0.5;
  }
  return out;
}

recall::options on(const std::filesystem::path& dir) {
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none;
  return o;
}

// Sets an environment variable for the scope of the object.
class environment_variable {
public:
  environment_variable(const char* name, const char* value) : m_name{name} { ::setenv(name, value, 1); }
  environment_variable(const environment_variable&) = delete;
  environment_variable& operator=(const environment_variable&) = delete;
  ~environment_variable() { ::unsetenv(m_name); }

private:
  const char* m_name;
};

} // namespace layout_test

using namespace layout_test;

TEST_CASE("store layouts parse, and a root tells which store holds it", "[stores_store_layout]") {
  CHECK(recall::parse_store_layout("pack") == recall::store_layout::pack);
  CHECK(recall::parse_store_layout("directory") == recall::store_layout::directory);
  CHECK_FALSE(recall::parse_store_layout("Pack"));
  recall_test::temp_dir dir;
  CHECK(recall::detect_store_layout(dir.path() / "missing") == recall::store_layout::directory);
  {
    recall::pack_store store{dir.path()};
    store.save(recall::entry_address{recall::function_id{"f", recall::key{1, 2}}, recall::key{3, 4}}, {});
  }
  CHECK(recall::detect_store_layout(dir.path()) == recall::store_layout::pack);
  CHECK(recall::resolve_store_layout(recall::store_layout::directory, dir.path()) == recall::store_layout::directory);
  CHECK(recall::resolve_store_layout(std::nullopt, dir.path()) == recall::store_layout::pack);
}

TEST_CASE("RECALL_STORE=pack and options.layout select the pack store; an unknown value is warned once",
          "[stores_store_layout]") {
  recall_test::temp_dir dir;
  {
    const environment_variable store{"RECALL_STORE", "pack"};
    recall::memoize<&cube> f{on(dir.path() / "env")};
    g_calls = 0;
    CHECK(f(2.0) == 8.0);
    CHECK(f(2.0) == 8.0);
    CHECK(g_calls == 1);
  }
  CHECK(std::filesystem::exists(dir.path() / "env" / "RECALL-PACK"));
  CHECK(std::filesystem::exists(dir.path() / "env" / "segments"));
  {
    // Detected without being told: another process (here, object) hits.
    recall::memoize<&cube> f{on(dir.path() / "env")};
    CHECK(f(2.0) == 8.0);
    CHECK(g_calls == 1);
  }
  {
    auto o = on(dir.path() / "option");
    o.layout = recall::store_layout::pack;
    recall::memoize<&cube> f{o};
    CHECK(f(3.0) == 27.0);
    CHECK(std::filesystem::exists(dir.path() / "option" / "RECALL-PACK"));
  }
  {
    const environment_variable store{"RECALL_STORE", "tarball"};
    recall_test::log_capture capture;
    recall::memoize<&cube> f{on(dir.path() / "plain")};
    recall::memoize<&cube> g{on(dir.path() / "plain")};
    CHECK(f(4.0) == 64.0);
    CHECK(capture.count(recall::log_level::warning, "RECALL_STORE='tarball'") <= 1);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "plain" / "RECALL-PACK"));
  }
}

TEST_CASE("memoize on a pack store: memory tier, stats, limits, partitions, explanations, mapped views",
          "[stores_store_layout]") {
  recall_test::temp_dir dir;
  auto o = on(dir.path());
  o.layout = recall::store_layout::pack;

  SECTION("the memory tier sits above it") {
    recall::process_memory_tier().clear();
    o.memory = recall::memory_tier::shared;
    recall::memoize<&cube> f{o};
    g_calls = 0;
    CHECK(f(5.0) == 125.0);
    CHECK(f(5.0) == 125.0);
    recall::process_memory_tier().clear();
    CHECK(f(5.0) == 125.0); // from the pack store
    CHECK(g_calls == 1);
  }
  SECTION("stats are kept per function") {
    {
      recall::memoize<&cube> f{o};
      static_cast<void>(f(1.0));
      static_cast<void>(f(1.0));
    }
    recall::pack_store store{dir.path()};
    const auto s = store.stats(
        recall::function_id{recall::memoize<&cube>::function().name, recall::memoize<&cube>::function().identity});
    CHECK(s.misses >= 1);
    CHECK(s.stores >= 1);
    CHECK(s.hits >= 1);
  }
  SECTION("entry limits hold") {
    o.max_entries = 50;
    recall::memoize<&cube> f{o};
    for (int i = 0; i < 200; ++i) {
      static_cast<void>(f(i));
    }
    recall::pack_store store{dir.path()};
    CHECK(store.measure().entries <= 50);
  }
  SECTION("partitions get roots of their own") {
    o.scope = recall::scope{"config", 7};
    recall::memoize<&cube> f{o};
    static_cast<void>(f(6.0));
    CHECK(std::filesystem::exists(dir.path() / o.scope->folder_name() / "RECALL-PACK"));
  }
  SECTION("a miss is explained against the pack store's entries") {
    o.explain = recall::miss_explanations::on;
    recall_test::log_capture capture;
    recall::memoize<&cube> f{o};
    static_cast<void>(f(1.0));
    static_cast<void>(f(2.0));
    CHECK(capture.count(recall::log_level::info, "argument 0 (double) differs") == 1);
  }
  SECTION("mapped views are served") {
    recall::memoize<&ramp> f{o};
    g_calls = 0;
    const auto first = f.mapped(1000);
    const auto again = f.mapped(1000);
    REQUIRE(again.size() == 1000);
    CHECK(again[999] == 499.5);
    CHECK(g_calls == 1);
  }
}
