// Test helper for the Redis store: one "node" of a cluster, sharing results through Redis with a
// local directory in front (memory -> directory -> Redis), as docs/REDIS.md deploys it.
//
//   redis-helper share URL DIR
//       one memoized call; prints "computed" or "loaded", then the result and the key.
//   redis-helper remote DIR
//       the same call through the default store of cache root DIR, with no store in the code:
//       whatever RECALL_REMOTE (and RECALL_REMOTE_MODE) name is put behind it.
//   redis-helper lock URL DIR COUNT_FILE SLEEP_MS
//       one memoized call of a slow function on a fixed key: run in several processes at once,
//       memoize's cross-process single flight (a Redis lock here) lets one compute. Each
//       computation appends a line to COUNT_FILE; prints "computed" or "loaded", then the result.
//   redis-helper versions URL DIR V
//       the call of `share` under version tag V (1, 2 or 3; 1: no tag): another identity of
//       sweep::relax, as a new version of its code makes one. Prints "computed" or "loaded".
//   redis-helper bench URL DIR [N]
//       measures, on an empty database, what a hit costs on each path (raw store loads and
//       saves, memoize hits through memory -> directory -> Redis); prints one line per figure.
//       tests/helpers/redis_bench.sh starts a server and runs this.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <recall/recall.hpp>
#include <recall/stores/redis_store.hpp>

namespace sweep {

int g_computations = 0;

// One point of a parameter sweep.
std::vector<double> relax(double rate, int steps) {
  ++g_computations;
  std::vector<double> out;
  double x = 0;
  for (int i = 0; i < steps; ++i) {
    x += rate * (1.0 - x);
    out.push_back(x);
  }
  return out;
}

// A cheap function: what is measured is the cache, not the computation.
double point(int i) { return i * 0.5; }

// The slow function of `lock` mode: records each computation in a file, then takes its time.
std::string g_count_file;
int g_sleep_ms = 0;

int g_slow_computations = 0;

std::string slow_result(int seed) {
  ++g_slow_computations;
  const int fd = ::open(g_count_file.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  const std::string line = "computed by " + std::to_string(::getpid()) + "\n";
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<::ssize_t>(line.size())) {
    std::perror(g_count_file.c_str());
    std::exit(1);
  }
  ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds{g_sleep_ms});
  return "result-of-" + std::to_string(::getpid()) + "-" + std::to_string(seed);
}

} // namespace sweep

namespace {

std::shared_ptr<recall::layered_store> node_store(const char* url, const char* dir) {
  auto local = std::make_shared<recall::directory_store>(dir);
  auto remote = std::make_shared<recall::redis_store>(recall::redis_options{.url = url, .prefix = "helper"});
  return std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{{local}, {remote}});
}

int share(const char* url, const char* dir) {
  recall::options o;
  o.mode = recall::mode::reuse;
  o.store = node_store(url, dir);
  recall::memoize<&sweep::relax> relax{o};
  const auto result = relax(0.125, 40);
  std::printf("%s %zu %.15f %s\n", sweep::g_computations == 1 ? "computed" : "loaded", result.size(), result.back(),
              relax.key(0.125, 40).hex().c_str());
  return 0;
}

int remote(const char* dir) {
  recall::options o;
  o.mode = recall::mode::reuse;
  o.directory = dir;
  recall::memoize<&sweep::relax> relax{o};
  const auto result = relax(0.125, 40);
  std::printf("%s %zu %.15f %s\n", sweep::g_computations == 1 ? "computed" : "loaded", result.size(), result.back(),
              relax.store()->description().c_str());
  return 0;
}

template <class Relax>
int versioned(const char* url, const char* dir) {
  recall::options o;
  o.mode = recall::mode::reuse;
  o.store = node_store(url, dir);
  Relax relax{o};
  const auto result = relax(0.125, 40);
  std::printf("%s %zu\n", sweep::g_computations == 1 ? "computed" : "loaded", result.size());
  return 0;
}

int versions(const char* url, const char* dir, std::string_view version) {
  if (version == "2") {
    return versioned<recall::memoize<&sweep::relax, recall::version<"2">>>(url, dir);
  }
  if (version == "3") {
    return versioned<recall::memoize<&sweep::relax, recall::version<"3">>>(url, dir);
  }
  return versioned<recall::memoize<&sweep::relax>>(url, dir);
}

int lock(const char* url, const char* dir, const char* count_file, int sleep_ms) {
  sweep::g_count_file = count_file;
  sweep::g_sleep_ms = sleep_ms;
  recall::options o;
  o.mode = recall::mode::reuse;
  o.store = node_store(url, dir);
  recall::memoize<&sweep::slow_result> slow{o};
  const std::string result = slow(7);
  std::printf("%s %s\n", sweep::g_slow_computations == 1 ? "computed" : "loaded", result.c_str());
  return 0;
}

struct timings {
  std::vector<double> us;

  template <class Operation>
  void time(Operation&& operation) {
    const auto started = std::chrono::steady_clock::now();
    operation();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count());
  }

  void report(const char* what) {
    std::sort(us.begin(), us.end());
    const auto at = [&](double q) { return us[static_cast<std::size_t>(q * static_cast<double>(us.size() - 1))]; };
    std::printf("%-62s median %8.1f us   p10 %8.1f   p90 %8.1f   (%zu runs)\n", what, at(0.5), at(0.1), at(0.9),
                us.size());
  }
};

recall::stored_entry bench_entry(std::size_t size) {
  recall::stored_entry entry;
  entry.payload.assign(size, std::byte{0x5a});
  entry.manifest.function = "redis_helper::bench";
  entry.manifest.label = "bench";
  return entry;
}

int bench(const char* url, const char* dir, int n) {
  const recall::function_id function{"redis_helper::bench", recall::key{0xbe, 0xac}};
  auto remote = std::make_shared<recall::redis_store>(recall::redis_options{.url = url, .prefix = "bench"});
  const auto address = [&](int i) {
    return recall::entry_address{function, recall::key{7, static_cast<std::uint64_t>(i)}};
  };

  // The raw store: one small entry (100-byte payload), saved and loaded n times.
  timings save_small;
  timings load_small;
  for (int i = 0; i < n; ++i) {
    save_small.time([&] { remote->save(address(i), bench_entry(100)); });
  }
  for (int i = 0; i < n; ++i) {
    load_small.time([&] {
      if (!remote->load(address(i))) {
        throw recall::store_error{"bench: a saved entry did not load"};
      }
    });
  }
  save_small.report("redis_store::save, 100 B payload (inline)");
  load_small.report("redis_store::load, 100 B payload (inline)");

  timings miss;
  for (int i = 0; i < n; ++i) {
    miss.time([&] { static_cast<void>(remote->load(address(n + i))); });
  }
  miss.report("redis_store::load, miss");

  // A large entry: 10 MiB in 1 MiB chunks.
  auto chunked = std::make_shared<recall::redis_store>(recall::redis_options{.url = url, .prefix = "bench-large"});
  const auto large = bench_entry(std::size_t{10} << 20);
  timings save_large;
  timings load_large;
  for (int i = 0; i < std::max(3, n / 50); ++i) {
    save_large.time([&] { chunked->save(address(0), large); });
    load_large.time([&] { static_cast<void>(chunked->load(address(0))); });
  }
  save_large.report("redis_store::save, 10 MiB payload (11 chunks of 1 MiB)");
  load_large.report("redis_store::load, 10 MiB payload (11 chunks of 1 MiB)");

  // memoize through memory -> directory -> Redis. Another node computed the results: they are in
  // Redis only. The first call of each misses memory and the directory, hits Redis, and
  // back-fills both; the next ones hit the directory (memory cleared), then memory.
  recall::options producer;
  producer.mode = recall::mode::reuse;
  producer.memory = recall::memory_tier::none;
  producer.store = remote;
  recall::memoize<&sweep::point> produce{producer};
  for (int i = 0; i < n; ++i) {
    static_cast<void>(produce(i));
  }
  auto local = std::make_shared<recall::directory_store>(dir);
  recall::options consumer;
  consumer.mode = recall::mode::reuse;
  consumer.store = std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{{local}, {remote}});
  recall::memoize<&sweep::point> consume{consumer};
  recall::process_memory_tier().clear();
  timings from_redis;
  for (int i = 0; i < n; ++i) {
    from_redis.time([&] { static_cast<void>(consume(i)); });
  }
  recall::process_memory_tier().clear();
  timings from_directory;
  for (int i = 0; i < n; ++i) {
    from_directory.time([&] { static_cast<void>(consume(i)); });
  }
  timings from_memory;
  for (int i = 0; i < n; ++i) {
    from_memory.time([&] { static_cast<void>(consume(i)); });
  }
  // The same path through the stores alone: directory miss, Redis hit, back-fill.
  recall::layered_store stores_only{
      {{std::make_shared<recall::directory_store>(std::string{dir} + "/layered")}, {remote}}};
  timings layered;
  for (int i = 0; i < n; ++i) {
    layered.time([&] { static_cast<void>(stores_only.load(address(i))); });
  }
  // What the back-fill costs by itself: one small save into a local directory.
  recall::directory_store back_fill_only{std::string{dir} + "/back-fill"};
  timings back_fill;
  for (int i = 0; i < n; ++i) {
    back_fill.time([&] { back_fill_only.save(address(i), bench_entry(8)); });
  }
  from_redis.report("memoize hit, memory and directory miss, Redis hit + back-fill");
  layered.report("layered_store::load, directory miss, Redis hit + back-fill");
  back_fill.report("directory_store::save, 8 B payload (a back-fill alone)");
  from_directory.report("memoize hit, directory (after the back-fill)");
  from_memory.report("memoize hit, memory");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "share" && argc == 4) {
      return share(argv[2], argv[3]);
    }
    if (mode == "remote" && argc == 3) {
      return remote(argv[2]);
    }
    if (mode == "lock" && argc == 6) {
      return lock(argv[2], argv[3], argv[4], std::atoi(argv[5]));
    }
    if (mode == "versions" && argc == 5) {
      return versions(argv[2], argv[3], argv[4]);
    }
    if (mode == "bench" && (argc == 4 || argc == 5)) {
      return bench(argv[2], argv[3], argc == 5 ? std::max(10, std::atoi(argv[4])) : 2000);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis-helper: %s\n", e.what());
    return 1;
  }
  std::fprintf(
      stderr,
      "usage: redis-helper share URL DIR | versions URL DIR V | lock URL DIR COUNT_FILE SLEEP_MS | bench URL DIR "
      "[N]\n");
  return 2;
}
