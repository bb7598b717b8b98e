// The consumer program of the one-line signature integrations (CMake recall_add_signatures,
// meson's recall-sign custom_target): one memoized function calling a callee defined in
// another file. Prints "hit" or "miss" for its one call and the result.
#include <cstdio>

#include <recall/recall.hpp>

#include "physics.hpp"

namespace {
int calls = 0;

double simulate(int steps) {
  ++calls;
  return physics::energy(steps);
}
} // namespace

int main() {
  recall::memoize<&simulate> run;
  const double e = run(20);
  std::printf("%s %.6g\n", calls == 0 ? "hit" : "miss", e);
  return 0;
}
