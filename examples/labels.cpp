// Model parameters as a BOOST_HANA_DEFINE_STRUCT struct and a plain aggregate: both are hashed
// member by member with no user code, and `recall-cache ls` labels each entry with their values
// (Hana members by name, aggregate members by name in braces):
//
//   RECALL_CACHE_DIR=/tmp/labels labels && recall-cache --cache-root /tmp/labels ls
//   ...  heat::final_temperature  conductivity=0.5 capacity=4.2 source=1 {nx=64 ny=32 spacing=0.01} 200
#include <cstdio>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <recall/recall.hpp>

namespace heat {

struct material {
  BOOST_HANA_DEFINE_STRUCT(material, (double, conductivity), (double, capacity), (double, source));
};

struct grid { // a plain aggregate: no macro needed, its members named in labels too
  int nx;
  int ny;
  double spacing;
};

// Explicit finite differences for the heat equation with a uniform source; returns the mean
// temperature after `steps` steps.
double final_temperature(const material& m, const grid& g, int steps) {
  const auto nx = static_cast<std::size_t>(g.nx);
  const auto ny = static_cast<std::size_t>(g.ny);
  std::vector<double> t(nx * ny, 0.0);
  std::vector<double> next = t;
  const double alpha = m.conductivity / m.capacity;
  const double dt = 0.2 * g.spacing * g.spacing / alpha;
  for (int s = 0; s < steps; ++s) {
    for (std::size_t i = 1; i + 1 < nx; ++i) {
      for (std::size_t j = 1; j + 1 < ny; ++j) {
        const double laplacian =
            (t[(i + 1) * ny + j] + t[(i - 1) * ny + j] + t[i * ny + j + 1] + t[i * ny + j - 1] - 4 * t[i * ny + j]) /
            (g.spacing * g.spacing);
        next[i * ny + j] = t[i * ny + j] + dt * (alpha * laplacian + m.source / m.capacity);
      }
    }
    t.swap(next);
  }
  double sum = 0.0;
  for (const double v : t) {
    sum += v;
  }
  return sum / static_cast<double>(t.size());
}

} // namespace heat

int main() {
  recall::memoize<&heat::final_temperature> final_temperature;
  const heat::material water{0.5, 4.2, 1.0};
  const heat::grid coarse{64, 32, 0.01};
  const heat::grid fine{128, 64, 0.005};
  for (const heat::grid& g : {coarse, fine}) {
    const bool cached = final_temperature.contains(water, g, 200);
    std::printf("%dx%d grid: mean temperature %.6g (%s)\n", g.nx, g.ny, final_temperature(water, g, 200),
                cached ? "loaded from the cache" : "computed");
  }
  std::printf("list the entries and their labels with: recall-cache ls heat::final_temperature\n");
  return 0;
}
