// A cache shared through Redis: two "nodes", each with its own local cache directory in front
// of the same Redis server. Node A computes a sweep; node B, whose local directory is empty,
// loads every point from Redis and computes nothing. Exits non-zero if node B computes.
//
//   RECALL_REDIS_URL=redis://127.0.0.1:6379/0 redis_shared
//
// Without RECALL_REDIS_URL it prints why it skips and exits 0. Each node here is one memoize
// object; on a cluster each node is a process running the same code on its own machine.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <recall/recall.hpp>
#include <recall/stores/redis_store.hpp> // not in recall.hpp: it needs hiredis

namespace cluster {

int runs = 0;

double relax(double coupling, int sites) {
  ++runs;
  double energy = 0.0;
  for (int i = 0; i < sites; ++i) {
    energy += coupling / (1.0 + i);
  }
  return energy;
}

// A node's store: its own directory first, then the shared Redis.
std::shared_ptr<recall::store> node_store(const std::filesystem::path& local,
                                          const std::shared_ptr<recall::redis_store>& redis) {
  return std::make_shared<recall::layered_store>(
      std::vector<recall::layered_store::tier>{{std::make_shared<recall::directory_store>(local)}, {redis}});
}

} // namespace cluster

int main() {
  const auto redis = recall::redis_store::from_environment(); // $RECALL_REDIS_URL, or null
  if (!redis) {
    std::printf("redis_shared: RECALL_REDIS_URL is not set, skipping "
                "(e.g. RECALL_REDIS_URL=redis://127.0.0.1:6379/0)\n");
    return 0;
  }
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("recall-redis-example-" + std::to_string(std::random_device{}()));
  const std::vector<double> couplings{0.5, 1.0, 1.5, 2.0};
  const auto options_for = [&](const char* node) {
    return recall::options{.memory = recall::memory_tier::none, .store = cluster::node_store(root / node, redis)};
  };
  int status = 0;
  {
    recall::memoize<&cluster::relax> node_a{options_for("node-a")};
    const int before = cluster::runs;
    for (const double c : couplings) {
      node_a(c, 100'000);
    }
    std::printf("node A (%s): %d computed\n", redis->description().c_str(), cluster::runs - before);

    recall::memoize<&cluster::relax> node_b{options_for("node-b")};
    const int before_b = cluster::runs;
    for (const double c : couplings) {
      node_b(c, 100'000);
    }
    const int computed_b = cluster::runs - before_b;
    std::printf("node B: %d computed, %zu loaded from Redis\n", computed_b, couplings.size() - computed_b);
    if (computed_b != 0) {
      std::fprintf(stderr, "redis_shared: node B computed %d points node A had stored\n", computed_b);
      status = 1;
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  return status;
}
