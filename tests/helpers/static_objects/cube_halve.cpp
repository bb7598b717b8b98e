// Two memoize objects at namespace scope in another translation unit: one exported, one in an
// anonymous namespace.
#include "objects.hpp"

#include <recall/recall.hpp>

namespace static_lifetime_check {

double cube(double x) { return x * x * x; }
double halve(double x) { return x / 2; }

recall::memoize<&cube> cube_cached;

namespace {
recall::memoize<&halve> halve_cached;
} // namespace

void use_cube_and_halve(int calls, int distinct) {
  for (int i = 0; i < calls; ++i) {
    static_cast<void>(cube_cached(static_cast<double>(i % distinct)));
    static_cast<void>(halve_cached(static_cast<double>(i % distinct)));
  }
}

} // namespace static_lifetime_check
