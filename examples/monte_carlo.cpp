// A Monte Carlo estimate of pi whose seed and sample count are arguments, so both are part of
// the key: the same seed loads the same estimate, a new seed or count computes a new one.
//
//   monte_carlo [SEED [SAMPLES]]     defaults: 42 and 1000000
//
// The random numbers come from std::mt19937_64, whose output the standard fixes, turned into
// doubles by hand: std::uniform_real_distribution differs between standard libraries, so a
// cache shared by g++/libstdc++ and clang++/libc++ builds would hold two different "same" results.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>

#include <recall/recall.hpp>

namespace mc {

struct estimate {
  double value = 0.0;
  double standard_error = 0.0;
};

int runs = 0; // real computations, counted to check the hits below

estimate estimate_pi(std::uint64_t seed, std::int64_t samples) {
  ++runs;
  std::mt19937_64 engine{seed};
  const auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };
  std::int64_t inside = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    const double x = uniform();
    const double y = uniform();
    inside += (x * x + y * y <= 1.0) ? 1 : 0;
  }
  const double p = static_cast<double>(inside) / static_cast<double>(samples);
  return {4.0 * p, 4.0 * std::sqrt(p * (1.0 - p) / static_cast<double>(samples))};
}

// Parses a whole decimal argument, or says which one is wrong.
template <class Integer>
bool parse(const char* text, const char* what, Integer min, Integer* out) {
  const std::string_view s{text};
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (error != std::errc{} || end != s.data() + s.size() || *out < min) {
    std::fprintf(stderr, "monte_carlo: %s must be an integer >= %lld, not '%s'\n", what, static_cast<long long>(min),
                 text);
    return false;
  }
  return true;
}

} // namespace mc

int main(int argc, char** argv) {
  std::uint64_t seed = 42;
  std::int64_t samples = 1'000'000;
  if (argc > 3 || (argc > 1 && std::strcmp(argv[1], "--help") == 0)) {
    std::fprintf(stderr, "usage: monte_carlo [SEED [SAMPLES]]\n");
    return 2;
  }
  if ((argc > 1 && !mc::parse<std::uint64_t>(argv[1], "SEED", 0, &seed)) ||
      (argc > 2 && !mc::parse<std::int64_t>(argv[2], "SAMPLES", 1, &samples))) {
    return 2;
  }

  recall::memoize<&mc::estimate_pi> estimate_pi;
  const bool was_cached = estimate_pi.contains(seed, samples);
  const mc::estimate first = estimate_pi(seed, samples);
  std::printf("seed %llu, %lld samples: pi = %.6f +- %.6f (%s)\n", static_cast<unsigned long long>(seed),
              static_cast<long long>(samples), first.value, first.standard_error,
              was_cached ? "loaded from the cache" : "computed");

  const int runs_before = mc::runs;
  const mc::estimate again = estimate_pi(seed, samples);
  const mc::estimate other = estimate_pi(seed + 1, samples);
  std::printf("seed %llu, %lld samples: pi = %.6f +- %.6f\n", static_cast<unsigned long long>(seed + 1),
              static_cast<long long>(samples), other.value, other.standard_error);

  // The repeat is a hit with the identical estimate; the next seed is its own entry.
  if (again.value != first.value || again.standard_error != first.standard_error) {
    std::fprintf(stderr, "monte_carlo: the repeated call returned a different estimate\n");
    return 1;
  }
  if (mc::runs - runs_before > 1 || estimate_pi.key(seed, samples) == estimate_pi.key(seed + 1, samples)) {
    std::fprintf(stderr, "monte_carlo: the repeated call was recomputed, or two seeds share a key\n");
    return 1;
  }
  if (std::abs(first.value - 3.141592653589793) > 6 * first.standard_error + 1e-12) {
    std::fprintf(stderr, "monte_carlo: the estimate is more than 6 standard errors from pi\n");
    return 1;
  }
  return 0;
}
