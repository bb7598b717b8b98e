// A function that reads a global: declared with recall::globals<&g_temperature>, the global's
// value is part of every key. Left undeclared, a changed global silently returns stale results:
// the first half shows that pitfall, the second half the fix. Exits non-zero if either is not so.
#include <cmath>
#include <cstdio>

#include <recall/recall.hpp>

namespace chem {

double g_temperature = 300.0; // kelvin; the whole program's experimental condition

int runs = 0;

// An Arrhenius rate constant. It reads g_temperature, which is not among its parameters.
double rate_constant(double activation_energy) {
  ++runs;
  constexpr double gas_constant = 8.314;
  return 1e13 * std::exp(-activation_energy / (gas_constant * g_temperature));
}

} // namespace chem

int main() {
  constexpr double energy = 50'000.0;

  // The pitfall: the key sees only the argument, so a changed temperature still hits.
  {
    recall::memoize<&chem::rate_constant, recall::version<"undeclared-global">> rate;
    chem::g_temperature = 300.0;
    const double at_300 = rate(energy);
    chem::g_temperature = 350.0;
    const double stale = rate(energy);
    std::printf("undeclared: k(300 K) = %.4e, k(350 K) = %.4e  <- stale, the 300 K entry\n", at_300, stale);
    if (stale != at_300) {
      std::fprintf(stderr, "captured_global: expected the undeclared global to give a stale hit\n");
      return 1;
    }
  }

  // The fix: declare the global. A new temperature is a new key; going back to one hits again.
  recall::memoize<&chem::rate_constant, recall::globals<&chem::g_temperature>> rate;
  chem::g_temperature = 300.0;
  const double at_300 = rate(energy);
  chem::g_temperature = 350.0;
  const double at_350 = rate(energy);
  const int runs_before = chem::runs;
  chem::g_temperature = 300.0;
  const double again_300 = rate(energy);
  const bool hit = chem::runs == runs_before;
  std::printf("declared:   k(300 K) = %.4e, k(350 K) = %.4e, k(300 K) again = %.4e (%s)\n", at_300, at_350, again_300,
              hit ? "loaded from the cache" : "computed");
  if (at_350 == at_300 || again_300 != at_300 || !hit) {
    std::fprintf(stderr, "captured_global: the declared global did not separate the two temperatures\n");
    return 1;
  }
  return 0;
}
