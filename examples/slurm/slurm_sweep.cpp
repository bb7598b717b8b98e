// One task of a Slurm job array sweeping a 1-D heat equation over a grid of diffusivities and
// resolutions. Every task runs this same program on the same grid with a cache on the shared
// file system: the tasks split the points among themselves (a point another task is computing
// is skipped and loaded once it is done), each point is computed once in the whole array, and
// every task ends with every result. No coordinator, no task numbering in the code: add tasks,
// remove tasks, rerun after a failure, and only what is missing is computed.
//
//   sbatch examples/slurm/sweep.sbatch        (see there for the cache location and build)
//   slurm_sweep [POINTS_PER_AXIS]             (default 12: 144 points)
//
// Prints one line: "task T: P points, L loaded, C computed here, E computed elsewhere, checksum X";
// every task prints the same checksum. Exits non-zero when a point failed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <string>
#include <vector>

#include <recall/recall.hpp>

namespace heat {

// The temperature at the middle of a rod after `t_end`, explicit finite differences with
// `cells` cells, initial profile sin(pi x), ends held at 0.
double midpoint_temperature(double diffusivity, int cells) {
  const double dx = 1.0 / cells;
  const double dt = 0.4 * dx * dx / diffusivity; // stable: dt <= dx^2 / (2 diffusivity)
  const double t_end = 0.1;
  std::vector<double> u(static_cast<std::size_t>(cells) + 1);
  for (int i = 0; i <= cells; ++i) {
    u[static_cast<std::size_t>(i)] = std::sin(std::numbers::pi * i * dx);
  }
  std::vector<double> next = u;
  for (double t = 0; t < t_end; t += dt) {
    for (int i = 1; i < cells; ++i) {
      const auto k = static_cast<std::size_t>(i);
      next[k] = u[k] + diffusivity * dt / (dx * dx) * (u[k - 1] - 2 * u[k] + u[k + 1]);
    }
    u.swap(next);
  }
  return u[static_cast<std::size_t>(cells / 2)];
}

} // namespace heat

int main(int argc, char** argv) {
  const int per_axis = argc > 1 ? std::atoi(argv[1]) : 12;
  std::vector<double> diffusivities;
  std::vector<int> resolutions;
  for (int i = 0; i < per_axis; ++i) {
    diffusivities.push_back(0.1 + 0.05 * i); // first + i * step: the same keys in every task
    resolutions.push_back(50 + 10 * i);
  }
  const auto points = recall::grid(diffusivities, resolutions);

  // The cache: $RECALL_CACHE_DIR, set by the sbatch script to a folder on the shared file system.
  recall::memoize<&heat::midpoint_temperature> temperature;
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
  recall::sweep_options options;
  options.jobs = cpus != nullptr ? static_cast<unsigned>(std::atoi(cpus)) : 0; // the task's cores
  options.name = std::string{"task "} + (task != nullptr ? task : "-");

  double checksum = 0;
  std::size_t failed = 0;
  const auto report = recall::sweep(
      temperature, points,
      [&](std::size_t index, double&& value) { checksum += value * static_cast<double>(index + 1); }, options);
  failed = report.failures.size();
  std::printf("%s: %zu points, %zu loaded, %zu computed here, %zu computed elsewhere, checksum %.12g\n",
              options.name.c_str(), report.points, report.loaded, report.computed, report.elsewhere, checksum);
  return failed == 0 ? 0 : 1;
}
