// The Redis Cluster row of bench/run.sh: a hit of a 100-byte entry through redis_store on a
// redis+cluster:// URL against a raw hiredis GET of the same head key sent to the node that owns
// its slot, alternated, on one reused connection per node.
//
//   redis-cluster-hit CLUSTER_URL [N]     URL names a running cluster (bench/redis_cluster.sh
//                                         starts three masters on loopback); prints both medians
//                                         of N hits (default 2000) and their ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <recall/stores/redis_store.hpp>

namespace {

struct timings {
  std::vector<double> us;

  template <class Operation>
  void time(Operation&& operation) {
    const auto started = std::chrono::steady_clock::now();
    operation();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count());
  }

  double at(double q) {
    std::sort(us.begin(), us.end());
    return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))];
  }

  void report(const char* what) {
    std::printf("%-56s median %8.1f us   p10 %8.1f   p90 %8.1f   (%zu runs)\n", what, at(0.5), at(0.1), at(0.9),
                us.size());
  }
};

int run(const char* url, int n) {
  namespace rd = recall::detail::redis;
  const recall::function_id function{"redis_cluster_hit::bench", recall::key{0xbe, 0xac}};
  recall::redis_store store{recall::redis_options{.url = url, .prefix = "bench"}};
  const auto address = [&](int i) {
    return recall::entry_address{function, recall::key{9, static_cast<std::uint64_t>(i)}};
  };
  for (int i = 0; i < n; ++i) {
    recall::stored_entry entry;
    entry.payload.assign(100, std::byte{0x5a});
    entry.manifest.function = "redis_cluster_hit::bench";
    entry.manifest.label = "bench";
    store.save(address(i), entry);
  }
  // One raw connection per node; a head's owner is the node whose GET is not redirected.
  const rd::cluster_url seeds = rd::parse_cluster_url(url);
  rd::connection first{seeds.seeds.front(), rd::timeouts{}, "raw"};
  const rd::reply slots = first.command({"CLUSTER", "SLOTS"});
  std::vector<std::unique_ptr<rd::connection>> nodes;
  for (std::size_t i = 0; i < slots->elements; ++i) {
    rd::server_url u = seeds.seeds.front();
    u.host = std::string{rd::text_of(*slots->element[i]->element[2]->element[0])};
    u.port = static_cast<std::uint16_t>(slots->element[i]->element[2]->element[1]->integer);
    nodes.push_back(std::make_unique<rd::connection>(u, rd::timeouts{}, "raw"));
  }
  std::vector<rd::connection*> owner(static_cast<std::size_t>(n), nullptr);
  for (int i = 0; i < n; ++i) {
    for (auto& c : nodes) {
      if (c->command({"GET", store.head_of(address(i))})->type == REDIS_REPLY_STRING) {
        owner[static_cast<std::size_t>(i)] = c.get();
      }
    }
    if (owner[static_cast<std::size_t>(i)] == nullptr) {
      throw recall::store_error{"no node owns a saved head"};
    }
  }
  timings raw;
  timings hit;
  for (int round = 0; round < 2; ++round) { // the first round warms both up
    raw.us.clear();
    hit.us.clear();
    for (int i = 0; i < n; ++i) {
      const std::string head = store.head_of(address(i));
      raw.time([&] {
        if (owner[static_cast<std::size_t>(i)]->command({"GET", head})->type != REDIS_REPLY_STRING) {
          throw recall::store_error{"the raw GET missed"};
        }
      });
      hit.time([&] {
        if (!store.load(address(i))) {
          throw recall::store_error{"a saved entry did not load"};
        }
      });
    }
  }
  raw.report("raw hiredis GET of the head, to the owning node");
  hit.report("redis_store::load over redis+cluster://, 100 B payload");
  std::printf("Redis Cluster hit, 100 B result   ratio of medians %.2f   (%d hits each)\n", hit.at(0.5) / raw.at(0.5),
              n);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: redis-cluster-hit CLUSTER_URL [N]\n");
    return 2;
  }
  try {
    return run(argv[1], argc == 3 ? std::max(10, std::atoi(argv[2])) : 2000);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis-cluster-hit: %s\n", e.what());
    return 1;
  }
}
