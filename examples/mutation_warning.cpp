// A memoized function that modifies an argument it takes by reference: recall re-hashes such
// arguments after the call and warns (the result is stored under the pre-call key), or, with
// mutation_policy::error, throws and stores nothing. Exits non-zero if either does not happen.
#include <cstdio>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include <recall/recall.hpp>

namespace data {

// Normalizes `samples` in place and returns their former sum: the in-place part is the bug.
double normalize(std::vector<double>& samples) {
  const double sum = std::accumulate(samples.begin(), samples.end(), 0.0);
  for (double& s : samples) {
    s /= sum;
  }
  return sum;
}

// The fix: take the data by const reference (or by value) and return what changed.
std::vector<double> normalized(const std::vector<double>& samples) {
  const double sum = std::accumulate(samples.begin(), samples.end(), 0.0);
  std::vector<double> out = samples;
  for (double& s : out) {
    s /= sum;
  }
  return out;
}

} // namespace data

int main() {
  std::vector<std::string> warnings;
  recall::set_log_sink([&warnings](recall::log_level level, std::string_view line) {
    // Mutation warnings only: without recall-sign each function's first call also warns that
    // its code is not tracked (docs/SIGNATURES.md).
    if (level == recall::log_level::warning && line.find(" changed argument ") != std::string_view::npos) {
      warnings.emplace_back(line);
    }
    const std::string_view name = recall::to_string(level);
    std::printf("[recall %.*s] %.*s\n", static_cast<int>(name.size()), name.data(), static_cast<int>(line.size()),
                line.data());
  });

  std::vector<double> samples{1.0, 2.0, 3.0, 4.0};
  recall::memoize<&data::normalize> normalize;
  normalize(samples);
  if (warnings.empty() || warnings.front().find("changed argument 0") == std::string::npos) {
    std::fprintf(stderr, "mutation_warning: no warning about the modified argument\n");
    return 1;
  }

  std::vector<double> more{5.0, 6.0};
  recall::memoize<&data::normalize, recall::version<"strict">> strict{
      recall::options{.on_mutation = recall::mutation_policy::error}};
  const std::vector<double> original = more;
  try {
    strict(more);
    std::fprintf(stderr, "mutation_warning: mutation_policy::error did not throw\n");
    return 1;
  } catch (const recall::mutation_error& e) {
    std::printf("mutation_policy::error threw: %s\n", e.what());
  }
  if (strict.contains(original)) {
    std::fprintf(stderr, "mutation_warning: a result was stored although the call threw\n");
    return 1;
  }

  const std::size_t warnings_before = warnings.size();
  recall::memoize<&data::normalized> fixed;
  const std::vector<double> result = fixed(original);
  std::printf("normalized without mutation: %zu values, first %.4f\n", result.size(), result.front());
  recall::set_log_sink({});
  if (warnings.size() != warnings_before) {
    std::fprintf(stderr, "mutation_warning: the const-reference version was warned about\n");
    return 1;
  }
  return 0;
}
