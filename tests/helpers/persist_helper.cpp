// Test helper: one memoized call per run, printing whether it computed. Run twice on one cache
// directory, the first run must print "computed" and the second "loaded". With an argument, the
// call goes to the cache partition recall::scope{"channels", argument} (for recall-cache's tests).
// With PERSIST_HELPER_VERSION=2 or 3 in the environment, the function is memoized under that
// version tag (recall::version): another identity, as a new version of its code makes one.
// With PERSIST_HELPER_BODY set, the function gets that build-time body signature, registered the
// way recall-sign's generated source registers one.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <recall/recall.hpp>

namespace physics {

struct params {
  double dt;
  int steps;
  std::string integrator;
};

int g_computations = 0;

std::vector<double> trajectory(const params& p, double x0) {
  ++g_computations;
  std::vector<double> out;
  double x = x0;
  for (int i = 0; i < p.steps; ++i) {
    x += p.dt * (1.0 - x);
    out.push_back(x);
  }
  return out;
}

} // namespace physics

namespace {

template <class Trajectory>
int call(const recall::options& options) {
  Trajectory trajectory{options};
  const auto result = trajectory(physics::params{0.01, 100, "euler"}, 0.5);
  std::printf("%s %zu %.12f %s\n", physics::g_computations == 1 ? "computed" : "loaded", result.size(), result.back(),
              trajectory.key(physics::params{0.01, 100, "euler"}, 0.5).hex().c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (const char* body = std::getenv("PERSIST_HELPER_BODY"); body != nullptr) {
    const std::array rows{recall::body_signature{"physics::trajectory", body}};
    recall::register_body_signatures(rows);
  }
  recall::options options;
  if (argc > 1) {
    options.scope = recall::scope{"channels", std::string{argv[1]}};
  }
  const char* tag = std::getenv("PERSIST_HELPER_VERSION"); // NOLINT(concurrency-mt-unsafe): read once
  const std::string_view version = tag == nullptr ? "" : tag;
  if (version == "2") {
    return call<recall::memoize<&physics::trajectory, recall::version<"2">>>(options);
  }
  if (version == "3") {
    return call<recall::memoize<&physics::trajectory, recall::version<"3">>>(options);
  }
  return call<recall::memoize<&physics::trajectory>>(options);
}
