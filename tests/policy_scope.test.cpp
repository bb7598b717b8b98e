// Tests for recall::scope: partition folders per configuration, keys kept apart, stable names.
#include "catch.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace scope_test {

int g_calls = 0;

// Stands in for a model whose result depends on its channel configuration only through scope.
double conductance(double voltage) {
  ++g_calls;
  return voltage * 2;
}

std::vector<std::filesystem::path> entries_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::exists(dir)) {
    return out;
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator{dir}) {
    if (e.is_regular_file() && e.path().extension() == ".rce") {
      out.push_back(e.path());
    }
  }
  return out;
}

recall::options scoped(const std::filesystem::path& dir, const std::vector<std::string>& channels) {
  recall::options o;
  o.directory = dir;
  o.scope = recall::scope{"channels", channels};
  return o;
}

} // namespace scope_test

using namespace scope_test;

TEST_CASE("a scope's folder is its label and the first 8 hex digits of its digest", "[policy_scope]") {
  const recall::scope two{"channels", std::vector<std::string>{"Na", "K"}};
  const recall::scope same{"channels", std::vector<std::string>{"Na", "K"}};
  const recall::scope three{"channels", std::vector<std::string>{"Na", "K", "Ca"}};
  CHECK(two == same);
  CHECK(two.folder_name() == same.folder_name());
  CHECK_FALSE(two == three);
  CHECK(two.folder_name() != three.folder_name());
  CHECK(two.folder_name().size() == std::string{"channels_"}.size() + 8);
  CHECK(two.folder_name().rfind("channels_", 0) == 0);
  CHECK(two.folder_name().substr(9) == two.digest().hex().substr(0, 8));
  // The digest is the configuration's canonical key encoding: the same as an argument's.
  CHECK(two.digest() == recall::detail::hash_value(std::vector<std::string>{"Na", "K"}));
}

TEST_CASE("scope labels are made filesystem-safe", "[policy_scope]") {
  CHECK(recall::scope{"../etc/passwd", 1}.label() == "_._etc_passwd");
  CHECK(recall::scope{"a b  c", 1}.label() == "a_b_c");
  CHECK(recall::scope{"", 1}.label() == "scope");
  CHECK(recall::scope{42}.label() == "scope");
  CHECK(recall::scope{std::string(200, 'x'), 1}.label().size() == recall::scope::max_label_length);
}

TEST_CASE("a scoped key differs from the unscoped key and from other scopes", "[policy_scope]") {
  recall_test::temp_dir dir;
  recall::memoize<&conductance> plain{recall::options{.directory = dir.path()}};
  recall::memoize<&conductance> two{scoped(dir.path(), {"Na", "K"})};
  recall::memoize<&conductance> three{scoped(dir.path(), {"Na", "K", "Ca"})};
  recall::memoize<&conductance> two_again{scoped(dir.path(), {"Na", "K"})};
  CHECK(plain.key(1.0) != two.key(1.0));
  CHECK(two.key(1.0) != three.key(1.0));
  CHECK(two.key(1.0) == two_again.key(1.0));
  CHECK(two.key(1.0) == recall::detail::scoped_call_key(
                            recall::scope{"channels", std::vector<std::string>{"Na", "K"}}.digest(), plain.key(1.0)));
}

TEST_CASE("2 channels, then 3, then 2 again: the return to 2 is all hits (AMMM)", "[policy_scope]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  g_calls = 0;
  const auto sweep = [&](const std::vector<std::string>& channels) {
    recall::memoize<&conductance> model{scoped(dir.path(), channels)};
    for (double v : {-70.0, -50.0, 0.0}) {
      CHECK(model(v) == v * 2);
    }
  };
  sweep({"Na", "K"});
  CHECK(g_calls == 3);
  sweep({"Na", "K", "Ca"});
  CHECK(g_calls == 6);                   // the memory tier must not serve the 2-channel results
  recall::process_memory_tier().clear(); // as a new process would be
  sweep({"Na", "K"});
  CHECK(g_calls == 6);

  const std::string two = recall::scope{"channels", std::vector<std::string>{"Na", "K"}}.folder_name();
  const std::string three = recall::scope{"channels", std::vector<std::string>{"Na", "K", "Ca"}}.folder_name();
  CHECK(entries_under(dir.path() / two).size() == 3);
  CHECK(entries_under(dir.path() / three).size() == 3);
  CHECK(entries_under(dir.path()).size() == 6);
}

TEST_CASE("each partition keeps its own statistics", "[policy_scope]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  const recall::scope two{"channels", std::vector<std::string>{"Na", "K"}};
  const recall::scope three{"channels", std::vector<std::string>{"Na", "K", "Ca"}};
  {
    recall::memoize<&conductance> a{
        recall::options{.directory = dir.path(), .memory = recall::memory_tier::none, .scope = two}};
    a(1.0);
    a(1.0);
    a(2.0);
    recall::memoize<&conductance> b{
        recall::options{.directory = dir.path(), .memory = recall::memory_tier::none, .scope = three}};
    b(1.0);
  }
  const auto& function = recall::memoize<&conductance>::function();
  const auto stats_two = recall::directory_store{dir.path() / two.folder_name()}.stats(function);
  const auto stats_three = recall::directory_store{dir.path() / three.folder_name()}.stats(function);
  CHECK(stats_two.misses == 2);
  CHECK(stats_two.hits == 1);
  CHECK(stats_three.misses == 1);
  CHECK(stats_three.hits == 0);
}

TEST_CASE("with a custom store there is no partition folder, but keys stay apart", "[policy_scope]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  g_calls = 0;
  auto shared = std::make_shared<recall::directory_store>(dir.path());
  recall::options a{.memory = recall::memory_tier::none, .scope = recall::scope{"run", 1}, .store = shared};
  recall::options b{.memory = recall::memory_tier::none, .scope = recall::scope{"run", 2}, .store = shared};
  recall::memoize<&conductance> first{a};
  recall::memoize<&conductance> second{b};
  first(3.0);
  second(3.0);
  CHECK(g_calls == 2);
  first(3.0);
  CHECK(g_calls == 2);
  CHECK(entries_under(dir.path()).size() == 2);
  CHECK_FALSE(std::filesystem::exists(dir.path() / recall::scope{"run", 1}.folder_name()));
}
