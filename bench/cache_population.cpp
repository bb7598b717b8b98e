// Fills a cache directory with N small entries for timing recall-cache on large caches
// (bench/cache_tool.sh): many functions, varied compute times, last uses spread over 60 days.
//
//   cache-population DIR N [FUNCTIONS]
//
// Entries are written through directory_store::save, as memoize writes them (same folders,
// headers, manifests), with a 64-byte payload. Entries already present are left alone, so a
// second run only tops the population back up (after a prune, say). Two threads.
#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <recall/stores/directory_store.hpp>

namespace {

// SplitMix64: a fixed, well-spread sequence, so every run makes the same population.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: cache-population DIR N [FUNCTIONS]\n");
    return 2;
  }
  const std::string root = argv[1];
  const std::uint64_t n = std::strtoull(argv[2], nullptr, 10);
  const std::uint64_t function_count = argc > 3 ? std::max<std::uint64_t>(1, std::strtoull(argv[3], nullptr, 10)) : 20;
  recall::directory_store store{root};
  std::vector<recall::function_id> functions;
  for (std::uint64_t f = 0; f < function_count; ++f) {
    functions.push_back({"population::function_" + std::to_string(f), recall::key{mix(f), mix(f + 1000)}});
  }
  const auto now = std::chrono::system_clock::now();
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> written{0};
  const auto work = [&] {
    recall::stored_entry entry;
    entry.payload.resize(64);
    for (std::uint64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      const std::uint64_t h = mix(i);
      const auto& function = functions[i % function_count];
      const recall::entry_address address{function, recall::key{h, mix(h)}};
      const std::string path = store.entry_path(address).string();
      struct ::stat status {};
      if (::stat(path.c_str(), &status) == 0) {
        continue;
      }
      for (std::size_t b = 0; b < entry.payload.size(); ++b) {
        entry.payload[b] = static_cast<std::byte>(h >> (b % 8));
      }
      const auto age = std::chrono::seconds{static_cast<std::int64_t>(h % (60 * 86400))};
      entry.metadata.created = now - age;
      entry.metadata.compute_time = std::chrono::microseconds{static_cast<std::int64_t>(mix(h) % 10'000'000)};
      entry.manifest.function = function.name;
      entry.manifest.label = std::to_string(i);
      store.save(address, entry);
      // Last use somewhere between creation and now.
      const auto last_use =
          std::chrono::duration_cast<std::chrono::seconds>((now - age / 2).time_since_epoch()).count();
      const ::timespec times[2] = {{last_use, 0}, {last_use, 0}};
      ::utimensat(AT_FDCWD, path.c_str(), times, 0);
      written.fetch_add(1, std::memory_order_relaxed);
    }
  };
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::jthread> threads;
  threads.emplace_back(work);
  threads.emplace_back(work);
  threads.clear();
  std::printf("%llu entries written, %llu already present, %.1f s\n", static_cast<unsigned long long>(written.load()),
              static_cast<unsigned long long>(n - written.load()),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return 0;
}
