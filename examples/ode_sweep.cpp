// A parameter sweep of an ODE system integrated with Boost.Odeint, run with recall::sweep: a
// dry run says what is cached and predicts the rest, a second sweep loads every point, a refined
// sweep computes only the points it adds, on every core.
//
// The program checks what it claims: it counts the integrations that really run and exits
// non-zero when a sweep computes a point that was cached, or loads one that was not. Run it
// twice with a persistent cache (RECALL_CACHE_DIR=/tmp/sweep) and the second run computes
// nothing; run several copies at once on that cache and each point is integrated once in all.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <tuple>
#include <vector>

#include <boost/hana/define_struct.hpp>
#include <boost/numeric/odeint.hpp>

#include <recall/recall.hpp>

namespace sweep {

// A damped, periodically driven oscillator: x'' + damping x' + stiffness x = drive cos(t).
struct oscillator {
  BOOST_HANA_DEFINE_STRUCT(oscillator, (double, damping), (double, stiffness), (double, drive));
};

// Counts real integrations. The result never depends on it, so it stays out of the key.
std::atomic<int> integrations{0};

// The steady-state amplitude: the largest |x| over the second half of [0, t_end].
double steady_amplitude(const oscillator& o, double t_end) {
  ++integrations;
  using state = std::array<double, 2>;
  const auto rhs = [&o](const state& s, state& ds, double t) {
    ds[0] = s[1];
    ds[1] = -o.damping * s[1] - o.stiffness * s[0] + o.drive * std::cos(t);
  };
  state s{1.0, 0.0};
  double amplitude = 0.0;
  boost::numeric::odeint::integrate_const(boost::numeric::odeint::runge_kutta4<state>{}, rhs, s, 0.0, t_end, 0.01,
                                          [&](const state& x, double t) {
                                            if (t >= t_end / 2) {
                                              amplitude = std::max(amplitude, std::abs(x[0]));
                                            }
                                          });
  return amplitude;
}

// Disk only: every hit below is read back from the cache directory, as a new process would.
recall::memoize<&steady_amplitude> amplitude{recall::options{.memory = recall::memory_tier::none}};

// Sweeps the stiffness over `count` points from `first` in steps of `step`. Grid points are
// computed as first + i * step, so the coarse grid's points reappear bit for bit in the fine
// one (keys compare doubles by bit pattern: 0.1 * 3 and 0.3 are different keys).
bool run_sweep(const char* name, double first, double step, int count, std::vector<double>* out) {
  constexpr double t_end = 60.0;
  std::vector<std::tuple<oscillator, double>> points;
  for (int i = 0; i < count; ++i) {
    points.emplace_back(oscillator{0.2, first + i * step, 1.0}, t_end);
  }
  // The dry run: cached, missing, and the missing points' time predicted from stored ones.
  const recall::sweep_plan plan = recall::plan_sweep(amplitude, points);
  std::printf("plan     %s\n", plan.summary(name).c_str());
  const int before = integrations.load();
  // Cached points load; missing ones are integrated on every core (steady_amplitude is
  // thread-safe); stderr gets progress on a terminal and one summary line.
  *out = recall::sweep(amplitude, points, recall::sweep_options{.name = name});
  const int computed = integrations.load() - before;
  std::printf("%-8s %2d points: %2d computed, %2d loaded from the cache\n", name, count, computed, count - computed);
  // Alone on the cache, the sweep computes exactly what the plan found missing.
  if (computed != static_cast<int>(plan.missing) || plan.cached + plan.missing != points.size()) {
    std::fprintf(stderr, "ode_sweep: %s computed %d points, expected the %zu the plan found missing\n", name, computed,
                 plan.missing);
    return false;
  }
  return true;
}

} // namespace sweep

int main() {
  std::vector<double> first_pass;
  std::vector<double> second_pass;
  std::vector<double> refined;
  if (!sweep::run_sweep("sweep", 0.5, 0.5, 8, &first_pass) || !sweep::run_sweep("again", 0.5, 0.5, 8, &second_pass) ||
      !sweep::run_sweep("refined", 0.5, 0.25, 15, &refined)) {
    return 1;
  }
  // The second sweep ran nothing, whatever the cache held before: it must load what the first stored.
  if (first_pass != second_pass) {
    std::fprintf(stderr, "ode_sweep: the repeated sweep loaded different amplitudes\n");
    return 1;
  }
  for (std::size_t i = 0; i < first_pass.size(); ++i) {
    if (refined[2 * i] != first_pass[i]) {
      std::fprintf(stderr, "ode_sweep: refined point %zu differs from the coarse point it repeats\n", 2 * i);
      return 1;
    }
  }
  std::printf("stiffness  amplitude\n");
  for (std::size_t i = 0; i < refined.size(); ++i) {
    std::printf("%9.2f  %9.4f\n", 0.5 + static_cast<double>(i) * 0.25, refined[i]);
  }
  return 0;
}
