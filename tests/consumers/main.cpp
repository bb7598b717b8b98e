// The consumer program the integration test builds against an installed recall with meson,
// pkg-config and CMake: one memoized function, a miss then a hit. Exits non-zero otherwise.
#include <cstdio>

#include <recall/recall.hpp>

namespace consumer {

int calls = 0;

double cube(double x) {
  ++calls;
  return x * x * x;
}

} // namespace consumer

int main() {
  recall::memoize<&consumer::cube> cube;
  const double first = cube(3.0);
  const double second = cube(3.0);
  if (first != 27.0 || second != 27.0 || consumer::calls != 1 || !cube.contains(3.0)) {
    std::fprintf(stderr, "consumer: expected one computation and a hit, got %d computations\n", consumer::calls);
    return 1;
  }
  std::printf("consumer: 3^3 = %g, computed once\n", second);
  return 0;
}
