// The pack store at scale against the directory store: file count, disk-hit latency at 1,000 and
// at N entries of one function, miss overhead, and the management passes (info, listing the
// first entries, verify, prune) at N. Prints one line per figure; docs/PERFORMANCE.md records them.
//
//   pack-scale WORK-DIR [N]          (N defaults to 1,000,000; WORK-DIR is created and reused:
//                                     populations already there are topped up, not rewritten)
//
// Hit and miss figures are CPU time per call (see cpu_seconds). Hits go through memoize with the memory tier off, so each is a key, a store lookup, a read
// and a decode, as in recall-bench's "1,000,000 entries" row; the order is random over the
// whole population, after a pass that warms the page cache. The hit's floor at N is measured
// alongside: a dependent load at a random place of memory as large as the population's index
// and segments (a hit at N makes two: its index slot, then its record).
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <recall/recall.hpp>

namespace {

long long small_result(long long i) { return i * 3 + 1; }
long long fresh_result(long long i) { return i * 5 + 2; }

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// CPU seconds of this process (user + system). Hit and miss figures are CPU time, not wall
// time: on a shared machine the wall clock mostly measures other processes; every file this
// program reads is in the page cache, so a hit or miss waits for no device.
double cpu_seconds() {
  ::timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

recall::options on(const std::filesystem::path& root, recall::store_layout layout) {
  recall::options o;
  o.directory = root;
  o.layout = layout;
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none;
  o.verbosity = recall::verbosity::quiet;
  o.lock_wait = std::chrono::milliseconds{0};
  return o;
}

std::size_t count_files(const std::filesystem::path& root) {
  std::size_t n = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator{root, error};
       !error && it != std::filesystem::recursive_directory_iterator{}; it.increment(error)) {
    ++n;
  }
  return n;
}

// Fills `root` with entries 0..n-1 of small_result (those missing), returns the seconds taken.
// Written through the store's save() with the keys, payloads and manifests memoize would write,
// so the hits below find them; a miss through memoize is timed separately.
double populate(const std::filesystem::path& root, recall::store_layout layout, long long n) {
  const recall::memoize<&small_result> f{on(root, layout)};
  std::shared_ptr<recall::store> store;
  if (layout == recall::store_layout::pack) {
    store = std::make_shared<recall::pack_store>(root);
  } else {
    store = std::make_shared<recall::directory_store>(root);
  }
  const auto& function = recall::memoize<&small_result>::function();
  const auto started = clock_type::now();
  recall::stored_entry entry;
  entry.manifest.function = function.name;
  for (long long i = 0; i < n; ++i) {
    const recall::entry_address address{function, f.key(i)};
    if (store->contains(address)) {
      continue;
    }
    entry.payload = recall::detail::encode_payload(small_result(i));
    entry.metadata.created = std::chrono::system_clock::now();
    entry.manifest.label = std::to_string(i);
    store->save(address, entry);
  }
  return seconds_since(started);
}

// Mean ns of a disk hit over `samples` random entries of a population of n, after a warm pass.
double hit_ns(const std::filesystem::path& root, recall::store_layout layout, long long n, std::size_t samples) {
  recall::memoize<&small_result> f{on(root, layout)};
  std::mt19937_64 random{42};
  std::vector<long long> order(samples);
  for (auto& i : order) {
    i = static_cast<long long>(random() % static_cast<std::uint64_t>(n));
  }
  long long sum = 0;
  for (const auto i : order) {
    sum += f(i);
  }
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    const double started = cpu_seconds();
    for (const auto i : order) {
      sum += f(i);
    }
    best = std::min(best, (cpu_seconds() - started) * 1e9 / static_cast<double>(samples));
  }
  if (sum == 42) {
    std::printf(" ");
  }
  return best;
}

// Bytes of the files in `folder` (not recursive).
std::uint64_t folder_bytes(const std::filesystem::path& folder) {
  std::uint64_t n = 0;
  std::error_code error;
  for (const auto& f : std::filesystem::directory_iterator{folder, error}) {
    n += f.is_regular_file() ? f.file_size() : 0;
  }
  return n;
}

// CPU ns of one load at a random cache line of `bytes` of memory whose address came from the
// previous load (a chain through a random cyclic order of every line), in 4 KB pages as the page
// cache maps files: what a hit pays for each of its two random places once the population no
// longer fits the CPU's caches (a cache miss and a TLB miss).
double random_load_ns(std::size_t bytes) {
  const std::size_t lines = bytes / 64;
  if (lines < 2) {
    return 0;
  }
  void* area = ::mmap(nullptr, lines * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) {
    return 0;
  }
  ::madvise(area, lines * 64, MADV_NOHUGEPAGE);
  auto* words = static_cast<std::uint64_t*>(area);
  std::vector<std::uint32_t> order(lines);
  for (std::size_t i = 0; i < lines; ++i) {
    order[i] = static_cast<std::uint32_t>(i);
  }
  std::shuffle(order.begin(), order.end(), std::mt19937_64{7});
  for (std::size_t i = 0; i < lines; ++i) {
    words[std::size_t{order[i]} * 8] = std::uint64_t{order[(i + 1) % lines]} * 8;
  }
  const std::size_t loads = 2'000'000;
  std::uint64_t at = 0;
  const double started = cpu_seconds();
  for (std::size_t i = 0; i < loads; ++i) {
    at = words[at];
  }
  const double ns = (cpu_seconds() - started) * 1e9 / static_cast<double>(loads);
  if (at == 1) {
    std::printf(" ");
  }
  ::munmap(area, lines * 64);
  return ns;
}

// Mean ns of a miss (key, lookup, lock, lookup, compute, encode, save) on new keys.
double miss_ns(const std::filesystem::path& root, recall::store_layout layout, std::size_t count) {
  recall::memoize<&fresh_result> f{on(root, layout)};
  const auto salt = static_cast<long long>(std::chrono::system_clock::now().time_since_epoch().count() & 0xFFFFFFFFFF);
  long long sum = 0;
  const double started = cpu_seconds();
  for (std::size_t i = 0; i < count; ++i) {
    sum += f(salt * 1000000 + static_cast<long long>(i));
  }
  if (sum == 42) {
    std::printf(" ");
  }
  return (cpu_seconds() - started) * 1e9 / static_cast<double>(count);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: pack-scale WORK-DIR [N]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0); // a line per figure as it is measured, even into a file
  const std::filesystem::path work = argv[1];
  const long long n = argc > 2 ? std::atoll(argv[2]) : 1'000'000;
  const std::size_t samples = 100'000;
  std::filesystem::create_directories(work);
  const auto pack_small = work / "pack-1k";
  const auto pack_large = work / ("pack-" + std::to_string(n));
  const auto directory_small = work / "directory-1k";

  std::printf("populate pack 1,000: %.2f s\n", populate(pack_small, recall::store_layout::pack, 1000));
  std::printf("populate directory 1,000: %.2f s\n", populate(directory_small, recall::store_layout::directory, 1000));
  std::printf("populate pack %lld: %.1f s\n", n, populate(pack_large, recall::store_layout::pack, n));
  std::printf("files and folders in the pack root of %lld entries: %zu\n", n, count_files(pack_large));

  const double pack_1k = hit_ns(pack_small, recall::store_layout::pack, 1000, samples);
  const double directory_1k = hit_ns(directory_small, recall::store_layout::directory, 1000, samples);
  const double pack_n = hit_ns(pack_large, recall::store_layout::pack, n, samples);
  std::printf("hit, pack, 1,000 entries: %.0f ns\n", pack_1k);
  std::printf("hit, directory, 1,000 entries: %.0f ns\n", directory_1k);
  std::printf("hit, pack, %lld entries: %.0f ns (%.2fx pack at 1,000; %.2fx directory at 1,000)\n", n, pack_n,
              pack_n / pack_1k, pack_n / directory_1k);
  const std::uint64_t footprint = folder_bytes(pack_large / "index") + folder_bytes(pack_large / "segments");
  const double load = random_load_ns(static_cast<std::size_t>(footprint));
  std::printf("floor: a dependent random load over %.0f MB (index and segments of %lld entries): %.0f ns; "
              "a hit at %lld makes two, so its floor is hit at 1,000 + %.0f ns = %.0f ns (%.2fx)\n",
              static_cast<double>(footprint) / 1e6, n, load, n, 2 * load, pack_1k + 2 * load,
              (pack_1k + 2 * load) / pack_1k);

  const auto miss_pack = miss_ns(work / "miss-pack", recall::store_layout::pack, 5000);
  const auto miss_directory = miss_ns(work / "miss-directory", recall::store_layout::directory, 5000);
  std::printf("miss, pack: %.1f us; directory: %.1f us\n", miss_pack / 1e3, miss_directory / 1e3);

  recall::pack_store store{pack_large};
  auto started = clock_type::now();
  const auto usage = store.measure();
  std::printf("info (entries %llu, %llu bytes live, %zu segments, %llu segment bytes): %.2f s\n",
              static_cast<unsigned long long>(usage.entries), static_cast<unsigned long long>(usage.bytes),
              usage.segments, static_cast<unsigned long long>(usage.segment_bytes), seconds_since(started));
  started = clock_type::now();
  int listed = 0;
  store.for_each_entry([&](const recall::pack_store::listed_entry&) { return ++listed < 10; });
  std::printf("ls | head (10 entries): %.3f s\n", seconds_since(started));
  started = clock_type::now();
  std::size_t verified = 0;
  std::size_t bad = 0;
  store.for_each_entry([&](const recall::pack_store::listed_entry& e) {
    const recall::function_id id{e.description.manifest.function, e.description.identity};
    const auto entry = store.load(recall::entry_address{id, e.description.call});
    ++(entry ? verified : bad);
    return true;
  });
  std::printf("verify (%zu good, %zu bad): %.2f s\n", verified, bad, seconds_since(started));
  started = clock_type::now();
  const auto report = store.compact(recall::compaction_scope::wasteful);
  std::printf("prune (compaction: %zu of %zu segments rewritten, %zu records moved): %.2f s\n", report.segments_removed,
              report.segments_before, report.records_moved, seconds_since(started));
  return 0;
}
