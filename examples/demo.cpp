// The README demo: a slow simulation wrapped in recall::memoize. Run it twice: the first process
// computes (a miss), the second loads the result (a hit); then it lists what the cache holds.
//
//   demo            one memoized call, timed
//   demo --list     the cache's folders and entries
//   demo --quick    a shorter simulation (for the test suite)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <recall/recall.hpp>

namespace demo {

struct params {
  BOOST_HANA_DEFINE_STRUCT(params, (double, sigma), (double, rho), (double, beta), (double, dt));
};

// Integrates the Lorenz system with explicit Euler steps and returns the mean of z: slow on
// purpose, like the simulations recall is for.
double mean_z(const params& p, long steps) {
  double x = 1.0;
  double y = 1.0;
  double z = 1.0;
  double sum = 0.0;
  for (long i = 0; i < steps; ++i) {
    const double dx = p.sigma * (y - x);
    const double dy = x * (p.rho - z) - y;
    const double dz = x * y - p.beta * z;
    x += p.dt * dx;
    y += p.dt * dy;
    z += p.dt * dz;
    sum += z;
  }
  return sum / static_cast<double>(steps);
}

void list_cache(const std::filesystem::path& root) {
  std::printf("cache %s\n", root.c_str());
  if (!std::filesystem::exists(root)) {
    std::printf("  (empty)\n");
    return;
  }
  for (const auto& folder : std::filesystem::directory_iterator{root}) {
    if (!folder.is_directory()) {
      continue;
    }
    std::printf("  %s/\n", folder.path().filename().c_str());
    for (const auto& entry : std::filesystem::recursive_directory_iterator{folder.path()}) {
      if (entry.is_regular_file() && entry.path().extension() == ".rce") {
        std::printf("    %s  %ju bytes\n", entry.path().filename().c_str(),
                    static_cast<std::uintmax_t>(entry.file_size()));
      }
    }
  }
}

} // namespace demo

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--list") == 0) {
      demo::list_cache(recall::default_cache_directory());
      return 0;
    }
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "demo: unknown option '%s' (known: --list, --quick)\n", argv[i]);
      return 2;
    }
  }

  recall::memoize<&demo::mean_z> mean_z;
  const demo::params p{10.0, 28.0, 8.0 / 3.0, 1e-4};
  const long steps = quick ? 200'000 : 300'000'000;

  const bool cached = mean_z.contains(p, steps);
  const auto started = std::chrono::steady_clock::now();
  const double z = mean_z(p, steps);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  std::printf("%s: mean z = %.6f in %.6f s (key %s)\n", cached ? "hit " : "miss", z, elapsed.count(),
              mean_z.key(p, steps).hex().c_str());
  return 0;
}
