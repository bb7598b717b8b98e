// Tests for the mutation check: warn, error and ignore policies.
#include "catch.hpp"

#include <string>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace mutation_test {

int g_calls = 0;

double normalize_in_place(std::vector<double>& xs) {
  ++g_calls;
  double total = 0;
  for (double x : xs) {
    total += x;
  }
  for (double& x : xs) {
    x /= total;
  }
  return total;
}

double sum_by_value(std::vector<double> xs) {
  ++g_calls;
  double total = 0;
  for (double& x : xs) {
    total += x;
    x = 0; // the callee owns its copy: not a mutation of the caller's value
  }
  return total;
}

double read_only(const std::vector<double>& xs) {
  ++g_calls;
  return xs.empty() ? 0.0 : xs.front();
}

recall::options with_policy(const std::filesystem::path& dir, recall::mutation_policy policy) {
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  o.on_mutation = policy;
  o.untracked = recall::untracked_bodies::quiet; // these tests count mutation warnings only
  return o;
}

} // namespace mutation_test

using namespace mutation_test;

TEST_CASE("warn: a changed reference argument is logged, the result stored under the pre-call key",
          "[memoize_mutation]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall_test::log_capture capture;
  recall::memoize<&normalize_in_place> normalize{with_policy(dir.path(), recall::mutation_policy::warn)};
  std::vector<double> xs{1.0, 3.0};
  const auto before = normalize.key(xs);
  CHECK(normalize(xs) == 4.0);
  CHECK(xs == std::vector<double>{0.25, 0.75});
  CHECK(capture.count(recall::log_level::warning, "mutation_test::normalize_in_place changed argument 0 "
                                                  "(std::vector<double>&) during the call") == 1);
  CHECK(capture.count(recall::log_level::warning, before.hex()) == 1);
  CHECK(normalize.contains(std::vector<double>{1.0, 3.0}));
  CHECK_FALSE(normalize.contains(xs));
}

TEST_CASE("error: a changed argument throws mutation_error and stores nothing", "[memoize_mutation]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::memoize<&normalize_in_place> normalize{with_policy(dir.path(), recall::mutation_policy::error)};
  std::vector<double> xs{2.0, 2.0};
  CHECK_THROWS_AS(normalize(xs), recall::mutation_error);
  CHECK_FALSE(normalize.contains(std::vector<double>{2.0, 2.0}));
  CHECK_FALSE(normalize.contains(xs));
}

TEST_CASE("ignore: no check, no warning", "[memoize_mutation]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall_test::log_capture capture;
  recall::memoize<&normalize_in_place> normalize{with_policy(dir.path(), recall::mutation_policy::ignore)};
  std::vector<double> xs{1.0, 1.0};
  CHECK(normalize(xs) == 2.0);
  CHECK(capture.warnings() == 0);
  CHECK(normalize.contains(std::vector<double>{1.0, 1.0}));
}

TEST_CASE("arguments taken by value or left unchanged raise no warning", "[memoize_mutation]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall_test::log_capture capture;
  recall::memoize<&sum_by_value> by_value{with_policy(dir.path(), recall::mutation_policy::error)};
  recall::memoize<&read_only> by_ref{with_policy(dir.path(), recall::mutation_policy::error)};
  std::vector<double> xs{1.0, 2.0};
  CHECK(by_value(xs) == 3.0);
  CHECK(by_ref(xs) == 1.0);
  CHECK(capture.warnings() == 0);
}
