// Tests for miss explanations and for what an entry's manifest records.
#include "catch.hpp"

#include <array>
#include <string>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <recall/recall.hpp>

#include "support.hpp"

namespace explain_test {

struct params {
  BOOST_HANA_DEFINE_STRUCT(params, (double, dt), (int, steps));
};

double g_scale = 1.0;

double run(const params& p, int seed) { return p.dt * p.steps * seed * g_scale; }

recall::options explaining(const std::filesystem::path& dir) {
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none;
  o.explain = recall::miss_explanations::on;
  return o;
}

} // namespace explain_test

using namespace explain_test;
using model = recall::memoize<&run, recall::globals<&g_scale>>;

TEST_CASE("a miss says which part of the key differs from the nearest entry", "[memoize_explain]") {
  recall_test::temp_dir dir;
  recall_test::log_capture capture;
  model f{explaining(dir.path())};
  g_scale = 1.0;

  f(params{0.1, 10}, 1);
  CHECK(capture.count(recall::log_level::info, "no entry for this function yet") == 1);

  f(params{0.1, 10}, 2);
  CHECK(capture.count(recall::log_level::info, "argument 1 (int) differs") == 1);

  f(params{0.2, 10}, 1);
  CHECK(capture.count(recall::log_level::info, "argument 0 (const explain_test::params&) differs") == 1);

  g_scale = 2.0;
  f(params{0.1, 10}, 1);
  CHECK(capture.count(recall::log_level::info, "global explain_test::g_scale differs") == 1);
  g_scale = 1.0;

  const auto before = capture.lines().size();
  f(params{0.1, 10}, 1); // a hit explains only that the function's code is untracked
  CHECK(capture.lines().size() == before + 1);
  CHECK(capture.count(recall::log_level::info, "body untracked") == 1);
}

TEST_CASE("a miss after a version bump says the identity changed", "[memoize_explain]") {
  recall_test::temp_dir dir;
  {
    model f{explaining(dir.path())};
    f(params{0.1, 10}, 1);
  }
  recall_test::log_capture capture;
  recall::memoize<&run, recall::globals<&g_scale>, recall::version<"2">> bumped{explaining(dir.path())};
  bumped(params{0.1, 10}, 1);
  CHECK(capture.count(recall::log_level::info, "the function identity changed") == 1);
  CHECK(capture.count(recall::log_level::info, "version tag '' -> '2'") == 1);
}

TEST_CASE("the manifest records the call for people and tools", "[memoize_explain]") {
  recall_test::temp_dir dir;
  model f{explaining(dir.path())};
  g_scale = 1.0;
  f(params{0.01, 1000}, 7);
  auto store = std::dynamic_pointer_cast<recall::directory_store>(f.store());
  REQUIRE(store);
  const auto loaded = recall::directory_store::describe_file(
      store->entry_path(recall::entry_address{f.function(), f.key(params{0.01, 1000}, 7)}).string());
  REQUIRE(loaded);
  CHECK(loaded->identity == f.function().identity);
  const auto& m = loaded->manifest;
  CHECK(m.function == "explain_test::run");
  CHECK(m.signature == "(const explain_test::params&,int)->double");
  CHECK(m.label == "dt=0.01 steps=1000 7");
  CHECK(m.argument_types == std::vector<std::string>{"const explain_test::params&", "int"});
  REQUIRE(m.argument_digests.size() == 2);
  CHECK(m.argument_digests[1] == recall::detail::hash_value(7).hex());
  CHECK(m.global_names == std::vector<std::string>{"explain_test::g_scale"});
  CHECK(m.global_digests == std::vector<std::string>{recall::detail::hash_value(1.0).hex()});
  CHECK_FALSE(m.host.empty());
}

TEST_CASE("the manifest records the body signature of the code that computed it", "[memoize_explain]") {
  recall_test::temp_dir dir;
  const auto manifest_of = [&](auto& f, int x) {
    auto store = std::dynamic_pointer_cast<recall::directory_store>(f.store());
    REQUIRE(store);
    const auto loaded = recall::directory_store::describe_file(
        store->entry_path(recall::entry_address{f.function(), f.key(x)}).string());
    REQUIRE(loaded);
    return loaded->manifest;
  };
  auto untracked = recall::memoize_as<"explain-untracked">([](int x) { return x * 2; }, explaining(dir.path()));
  untracked(3);
  CHECK(manifest_of(untracked, 3).body.empty());
  // What recall-sign's generated source does at static initialization, before the first call.
  const std::array rows{recall::body_signature{"explain-tracked", "00112233445566778899aabbccddeeff"}};
  recall::register_body_signatures(rows);
  auto tracked = recall::memoize_as<"explain-tracked">([](int x) { return x * 3; }, explaining(dir.path()));
  tracked(3);
  CHECK(manifest_of(tracked, 3).body == "00112233445566778899aabbccddeeff");
}

TEST_CASE("labels abbreviate values readably", "[memoize_explain]") {
  using recall::detail::call_label;
  CHECK(call_label(1.5, 3, true) == "1.5 3 true");
  CHECK(call_label(std::string{"rk4"}) == "\"rk4\"");
  CHECK(call_label(std::string(100, 'x')).size() < 40);
  CHECK(call_label(std::vector<double>{1, 2}) == "[1 2]");
  CHECK(call_label(std::vector<double>(1000)) == "[1000 items]");
  CHECK(call_label(std::optional<int>{}) == "none");
  struct plain {
    int a;
    double b;
  };
  CHECK(call_label(plain{1, 2.5}) == "{a=1 b=2.5}");
  struct outer {
    plain inner;
    std::vector<int> sizes;
  };
  CHECK(call_label(outer{{1, 2.5}, {3, 4}}) == "{inner={a=1 b=2.5} sizes=[3 4]}");
  // A member the probe cannot point at (a reference) leaves the aggregate's members unnamed.
  const double rate = 0.5;
  struct with_reference {
    const double& rate;
    int n;
  };
  CHECK(call_label(with_reference{rate, 3}) == "{0.5 3}");
  CHECK(call_label(std::vector<std::string>(200, "long text")).size() <= recall::detail::max_label_length);
}

TEST_CASE("statistics count hits, misses, stores and saved compute time per function", "[memoize_explain]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  std::shared_ptr<recall::store> store;
  recall::function_id id;
  {
    auto f = recall::memoize_as<"stats-fn">([](int x) { return x + 1; }, o);
    store = f.store();
    id = f.function();
    f(1); // miss + store
    f(1); // memory hit
    f(2); // miss + store
    recall::process_memory_tier().clear();
    f(1); // disk hit
  }       // destruction flushes
  auto directory = std::dynamic_pointer_cast<recall::directory_store>(store);
  REQUIRE(directory);
  auto s = directory->stats(id);
  CHECK(s.misses == 2);
  CHECK(s.stores == 2);
  CHECK(s.hits == 2);
  CHECK(s.bytes_stored == 8);
  {
    auto f = recall::memoize_as<"stats-fn">([](int x) { return x + 1; }, o);
    f(5);
    f.flush_stats();
    s = directory->stats(id);
    CHECK(s.misses == 3);
  }
  CHECK(recall::detail::parse_stats("hits 3\nunknown 9\nsaved_ns 12\n").hits == 3);
  CHECK(recall::detail::parse_stats("hits 3\nunknown 9\nsaved_ns 12\n").saved_ns == 12);
}
