// The callee the consumer test edits: a comment edit keeps the cached result, a literal does not.
#include "physics.hpp"

namespace physics {
double energy(int steps) {
  // Sum of the per-step energies.
  double total = 0;
  for (int i = 0; i < steps; ++i) total += 0.5 * i;
  return total;
}
} // namespace physics
