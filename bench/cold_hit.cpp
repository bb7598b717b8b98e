// One process, one disk hit, exit: the cold-process row of docs/PERFORMANCE.md. hyperfine -N
// times it against `noop`; run it once first so the entry exists.
//
//   cold-hit DIR            the call; exit status 0 if the result is right
//   cold-hit DIR --inside   also prints the call's own time (ns) inside this fresh process
#include <chrono>
#include <cstdio>
#include <cstring>

#include <recall/recall.hpp>

namespace cold {
double mul_add(double a, double b) { return a * b + 3.0; }
} // namespace cold

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cold-hit DIR [--inside]\n");
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  recall::memoize<&cold::mul_add> m{recall::options{.directory = argv[1],
                                                    .mode = recall::mode::reuse,
                                                    .verbosity = recall::verbosity::quiet,
                                                    .on_mutation = recall::mutation_policy::warn,
                                                    .durability = recall::durability::none,
                                                    .memory = recall::memory_tier::shared,
                                                    .store = {}}};
  const double result = m(1.5, 2.5);
  if (argc > 2 && std::strcmp(argv[2], "--inside") == 0) {
    const auto elapsed = std::chrono::steady_clock::now() - started;
    std::printf("%lld\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
  }
  return result == 1.5 * 2.5 + 3.0 ? 0 : 1;
}
