// recall's Google Benchmark suite: every workload of docs/PERFORMANCE.md, each next to the
// physical floor it is judged against, measured in the same binary and the same run.
//
//   recall-bench [--work=DIR] [--population=N] [--quick] [benchmark flags...]
//   recall-bench --probe=NAME --calls=N [--work=DIR]     (for callgrind; see bench/compare.py)
//
// --work        where the caches live (default ./bench-data). The million-entry population and
//               the entries written by misses are kept there between runs: nothing is deleted,
//               because on ext4 without a journal mass unlinks slow down later file creation.
// --population  the size of the large population (default 1,000,000; generated once, ~1 min)
// --quick       1 MiB instead of 100 MiB and 2,000 entries instead of 1,000,000 (smoke runs)
//
// Benchmark names are "<row>/<variant>"; bench/compare.py reads them from the JSON output.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/key/xxh3.hpp>
#include <recall/recall.hpp>

namespace fs = std::filesystem;

// The memoized functions. Each row has its own function, so its own folder and keys.
namespace workload {

double mul_add(double a, double b) { return a * b + 1.0; }
double disk_mul_add(double a, double b) { return a * b + 2.0; }
double threads_mul_add(double a, double b) { return a * b + 4.0; }
double store_small(double a, std::int64_t salt) { return a + static_cast<double>(salt); }
double entry_value(std::int64_t i) { return static_cast<double>(i) * 0.5; }

std::vector<double> big_result(std::int64_t count) {
  std::vector<double> out(static_cast<std::size_t>(count));
  std::iota(out.begin(), out.end(), 0.25);
  return out;
}

// Takes its large argument by reference, so every miss runs the mutation check over it.
double pick(const std::vector<double>& values, std::int64_t salt) {
  return values[static_cast<std::size_t>(salt) % values.size()];
}

} // namespace workload

namespace {

struct settings {
  fs::path work = "bench-data";
  std::int64_t population = 1'000'000;
  std::size_t large_bytes = std::size_t{100} << 20;
  bool quick = false;
};

settings g_settings;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "recall-bench: %s\n", message.c_str());
  std::exit(1);
}

recall::options options_in(const std::string& folder, recall::memory_tier memory = recall::memory_tier::shared,
                           recall::mutation_policy on_mutation = recall::mutation_policy::warn) {
  return recall::options{.directory = g_settings.work / folder,
                         .mode = recall::mode::reuse,
                         .verbosity = recall::verbosity::quiet,
                         .on_mutation = on_mutation,
                         .durability = recall::durability::none,
                         .memory = memory,
                         .store = {}};
}

// A different salt every run, so that the miss rows always store new entries.
std::int64_t run_salt() {
  static const std::int64_t salt = [] {
    std::random_device device;
    return static_cast<std::int64_t>((std::uint64_t{device()} << 20) ^ std::uint64_t{device()}) & 0x7fffffffffff;
  }();
  return salt;
}

std::size_t large_count() { return g_settings.large_bytes / sizeof(double); }

// Reads a whole small file through open/read/close; returns the bytes read.
long read_small_file(const char* path, char* buffer, std::size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(std::string{"cannot open "} + path);
  }
  const long got = ::read(fd, buffer, size);
  ::close(fd);
  return got;
}

// --- memory-tier hit, (double, double) -> double ---

auto& memory_memo() {
  static recall::memoize<&workload::mul_add> m{options_in("memory")};
  return m;
}

void memory_hit_recall(benchmark::State& state) {
  auto& m = memory_memo();
  benchmark::DoNotOptimize(m(1.5, 2.5));
  for (auto _ : state) {
    double a = 1.5;
    double b = 2.5;
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(m(a, b));
  }
}

// The floor a memory hit is judged against: one-shot XXH3-128 of the two doubles seeded with a
// function id, and a std::unordered_map<recall::key, double> lookup among 1,000 entries.
struct floor_table {
  std::unordered_map<recall::key, double> values;
  static constexpr std::uint64_t seed = 0x9e3779b97f4a7c15ULL;

  floor_table() {
    for (int i = 0; i < 1000; ++i) {
      const double args[2] = {1.5 + i, 2.5};
      values.emplace(hash(args), i);
    }
  }
  static recall::key hash(const double (&args)[2]) noexcept {
    const XXH128_hash_t h = XXH3_128bits_withSeed(args, sizeof args, seed);
    return recall::key{h.high64, h.low64};
  }
};

void memory_hit_floor(benchmark::State& state) {
  const floor_table table;
  for (auto _ : state) {
    double args[2] = {1.5, 2.5};
    benchmark::DoNotOptimize(args);
    const auto it = table.values.find(floor_table::hash(args));
    benchmark::DoNotOptimize(it->second);
  }
}

// --- disk hit, small result, hot page cache ---

auto& disk_memo() {
  static recall::memoize<&workload::disk_mul_add> m{options_in("disk", recall::memory_tier::none)};
  return m;
}

void disk_hit_recall(benchmark::State& state) {
  auto& m = disk_memo();
  benchmark::DoNotOptimize(m(1.5, 2.5));
  for (auto _ : state) {
    double a = 1.5;
    double b = 2.5;
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(m(a, b));
  }
}

std::string disk_entry_path() {
  auto& m = disk_memo();
  benchmark::DoNotOptimize(m(1.5, 2.5));
  return m.store()->locate(recall::entry_address{m.function(), m.key(1.5, 2.5)});
}

// The same entry file through open + read + close and nothing else.
void disk_hit_open_read_close(benchmark::State& state) {
  const std::string path = disk_entry_path();
  char buffer[4096];
  for (auto _ : state) {
    benchmark::DoNotOptimize(read_small_file(path.c_str(), buffer, sizeof buffer));
  }
}

// --- miss: compute and store a small result, no fsync ---

void miss_store_recall(benchmark::State& state) {
  static recall::memoize<&workload::store_small> m{options_in("miss")};
  static std::int64_t salt = run_salt() << 16;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m(1.5, salt++));
  }
}

// The function alone, for "beyond the function's own time".
void miss_store_bypass(benchmark::State& state) {
  static recall::memoize<&workload::store_small> m{options_in("miss")};
  std::int64_t salt = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.bypass(1.5, salt++));
  }
}

// The floor: a 96-byte file written to a temp name and renamed to a new one, in 256 shard
// folders like recall's.
void miss_store_tmp_rename(benchmark::State& state) {
  const fs::path root = g_settings.work / "miss-raw";
  for (int shard = 0; shard < 256; ++shard) {
    char name[3];
    std::snprintf(name, sizeof name, "%02x", shard);
    fs::create_directories(root / name);
  }
  static std::uint64_t counter = static_cast<std::uint64_t>(run_salt()) << 16;
  const std::string prefix = root.string() + "/";
  char payload[96] = {};
  for (auto _ : state) {
    const std::uint64_t n = counter++;
    char name[64];
    std::snprintf(name, sizeof name, "%02x/%016llx.rce", static_cast<unsigned>(n * 0x9E3779B97F4A7C15ULL >> 56),
                  static_cast<unsigned long long>(n));
    const std::string final_path = prefix + name;
    const std::string temp_path = final_path + ".tmp";
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, payload, sizeof payload) != static_cast<long>(sizeof payload) || ::close(fd) != 0 ||
        ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      state.SkipWithError("tmp + rename failed");
      break;
    }
  }
}

// --- key of a 100 MiB std::vector<double> argument ---

const std::vector<double>& large_argument() {
  static const std::vector<double> values = [] {
    std::vector<double> v(large_count());
    std::iota(v.begin(), v.end(), 1.0);
    return v;
  }();
  return values;
}

auto& pick_memo(recall::mutation_policy on_mutation) {
  static recall::memoize<&workload::pick> warn{options_in("large", recall::memory_tier::none)};
  static recall::memoize<&workload::pick> ignore{
      options_in("large", recall::memory_tier::none, recall::mutation_policy::ignore)};
  return on_mutation == recall::mutation_policy::ignore ? ignore : warn;
}

void key_large_recall(benchmark::State& state) {
  const auto& values = large_argument();
  auto& m = pick_memo(recall::mutation_policy::warn);
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.key(values, 0));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * values.size() * sizeof(double)));
}

void key_large_xxh3(benchmark::State& state) {
  const auto& values = large_argument();
  for (auto _ : state) {
    benchmark::DoNotOptimize(recall::detail::xxh3_128(values.data(), values.size() * sizeof(double)));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * values.size() * sizeof(double)));
}

// --- mutation check over a 100 MiB by-reference argument: a miss with and without it ---

void mutation_check(benchmark::State& state, recall::mutation_policy on_mutation) {
  const auto& values = large_argument();
  auto& m = pick_memo(on_mutation);
  static std::int64_t salt = run_salt() << 16;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m(values, salt++));
  }
}

// --- load a 100 MiB std::vector<double> result ---

// Stored raw: the workload is a read of 100 MiB of doubles, which zstd would shrink (an iota).
recall::options large_options(recall::verification check = recall::verification::checksum) {
  recall::options o = options_in("large", recall::memory_tier::none);
  o.compression.codec = recall::codec::none;
  o.mapped_verification = check;
  return o;
}

auto& large_result_memo() {
  static recall::memoize<&workload::big_result> m{large_options()};
  return m;
}

// A view of the same entry, memory-mapped: with only its header checked (the ≤ 1 ms target),
// and with its checksum verified (every byte read once).
void mapped_large(benchmark::State& state, recall::verification check) {
  static recall::memoize<&workload::big_result> header_checked{large_options(recall::verification::header)};
  static recall::memoize<&workload::big_result> checksummed{large_options(recall::verification::checksum)};
  auto& m = check == recall::verification::header ? header_checked : checksummed;
  const auto count = static_cast<std::int64_t>(large_count());
  benchmark::DoNotOptimize(large_result_memo()(count).data());
  if (!m.mapped(count).is_mapped()) {
    fail("the large entry was not mapped");
  }
  for (auto _ : state) {
    const auto view = m.mapped(count);
    benchmark::DoNotOptimize(view.data());
  }
}

void load_large_recall(benchmark::State& state) {
  auto& m = large_result_memo();
  const auto count = static_cast<std::int64_t>(large_count());
  benchmark::DoNotOptimize(m(count).data());
  for (auto _ : state) {
    const std::vector<double> result = m(count);
    benchmark::DoNotOptimize(result.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * large_count() * sizeof(double)));
}

// The same bytes (the payload's doubles, in the same entry file) read() into a fresh vector.
void load_large_read_fresh(benchmark::State& state) {
  auto& m = large_result_memo();
  const auto count = static_cast<std::int64_t>(large_count());
  benchmark::DoNotOptimize(m(count).data());
  const std::string path = m.store()->locate(recall::entry_address{m.function(), m.key(count)});
  const std::size_t bytes = large_count() * sizeof(double);
  // The doubles are the file's last bytes, whatever precedes them (header, manifest, size).
  struct ::stat info {};
  if (::stat(path.c_str(), &info) != 0 || static_cast<std::size_t>(info.st_size) < bytes) {
    fail("unexpected entry file " + path);
  }
  const off_t offset = info.st_size - static_cast<off_t>(bytes);
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<double> result(large_count());
    std::size_t done = 0;
    while (done < bytes) {
      const long got =
          ::pread(fd, reinterpret_cast<char*>(result.data()) + done, bytes - done, offset + static_cast<off_t>(done));
      if (got <= 0) {
        break;
      }
      done += static_cast<std::size_t>(got);
    }
    ::close(fd);
    if (done != bytes) {
      state.SkipWithError("short read");
      break;
    }
    benchmark::DoNotOptimize(result.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// --- disk hits among 1,000 and 1,000,000 entries ---

fs::path population_root(std::int64_t n) { return g_settings.work / ("population-" + std::to_string(n)); }

auto& population_memo(std::int64_t n) {
  using memo = recall::memoize<&workload::entry_value>;
  static std::mutex mutex;
  static std::map<std::int64_t, std::unique_ptr<memo>> memos;
  const std::lock_guard lock{mutex};
  auto& slot = memos[n];
  if (!slot) {
    slot = std::make_unique<memo>(recall::options{.directory = population_root(n),
                                                  .mode = recall::mode::reuse,
                                                  .verbosity = recall::verbosity::quiet,
                                                  .on_mutation = recall::mutation_policy::warn,
                                                  .durability = recall::durability::none,
                                                  .memory = recall::memory_tier::none,
                                                  .store = {}});
  }
  return *slot;
}

// Writes entries 0..n-1 straight through directory_store::save (two threads), unless a marker
// left by an earlier run names the same first key and that entry is there. Returns the seconds
// the generation took (then or now). A population whose keys no longer match (the key or entry
// format changed) is renamed aside, not deleted: delete it by hand when convenient.
double ensure_population(std::int64_t n) {
  static std::mutex mutex;
  static std::map<std::int64_t, double> done;
  const std::lock_guard lock{mutex};
  if (const auto it = done.find(n); it != done.end()) {
    return it->second;
  }
  const fs::path root = population_root(n);
  const fs::path marker = root / "complete";
  auto& m = population_memo(n);
  const std::string first_key = m.key(0).hex();
  if (std::ifstream in{marker}; in) {
    double seconds = 0;
    std::int64_t count = 0;
    std::string key;
    in >> seconds >> count >> key;
    if (count == n && key == first_key && m.contains(0) && m.contains(n - 1)) {
      return done[n] = seconds;
    }
    const fs::path aside = root.string() + ".stale-" + std::to_string(std::time(nullptr));
    std::fprintf(stderr, "recall-bench: %s no longer matches this build's keys; moved to %s\n", root.c_str(),
                 aside.c_str());
    fs::rename(root, aside);
  }
  recall::directory_store store{root};
  std::fprintf(stderr, "recall-bench: writing %lld entries under %s (once; kept for later runs)\n",
               static_cast<long long>(n), root.c_str());
  const auto started = std::chrono::steady_clock::now();
  const auto write_range = [&](std::int64_t first, std::int64_t step) {
    for (std::int64_t i = first; i < n; i += step) {
      recall::stored_entry entry;
      entry.payload = recall::detail::encode_payload(workload::entry_value(i));
      store.save(recall::entry_address{m.function(), m.key(i)}, entry);
    }
  };
  write_range(0, n); // the first save makes the folders
  std::thread other{write_range, 1, 2};
  write_range(2, 2);
  other.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::ofstream{marker} << seconds << '\n' << n << '\n' << first_key << '\n';
  std::fprintf(stderr, "recall-bench: %lld entries written in %.1f s\n", static_cast<long long>(n), seconds);
  return done[n] = seconds;
}

// The entries in a random order, and a first pass over all of them so the page cache is hot.
const std::vector<std::int64_t>& population_order(std::int64_t n) {
  static std::mutex mutex;
  static std::map<std::int64_t, std::vector<std::int64_t>> orders;
  const std::lock_guard lock{mutex};
  auto& order = orders[n];
  if (order.empty()) {
    order.resize(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    std::shuffle(order.begin(), order.end(), std::mt19937_64{42});
    auto& m = population_memo(n);
    for (const std::int64_t i : order) {
      if (m(i) != workload::entry_value(i)) {
        fail("population entry " + std::to_string(i) + " does not read back");
      }
    }
  }
  return order;
}

void population_hit_recall(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  state.counters["generation_s"] = ensure_population(n);
  const auto& order = population_order(n);
  auto& m = population_memo(n);
  std::size_t at = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m(order[at]));
    at = at + 1 == order.size() ? 0 : at + 1;
  }
}

// The same random walk through key + path + open/read/close only.
void population_hit_open_read_close(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ensure_population(n);
  const auto& order = population_order(n);
  auto& m = population_memo(n);
  const auto& store = *m.store();
  char buffer[4096];
  std::size_t at = 0;
  for (auto _ : state) {
    const std::string path = store.locate(recall::entry_address{m.function(), m.key(order[at])});
    benchmark::DoNotOptimize(read_small_file(path.c_str(), buffer, sizeof buffer));
    at = at + 1 == order.size() ? 0 : at + 1;
  }
}

// --- threads hitting the memory tier: each thread its own 64 keys ---

void memory_hit_threads(benchmark::State& state) {
  static recall::memoize<&workload::threads_mul_add> m{options_in("threads")};
  const double base = 1.0 + 1000.0 * state.thread_index();
  for (int i = 0; i < 64; ++i) {
    benchmark::DoNotOptimize(m(base + i, 2.5));
  }
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m(base + i, 2.5));
    i = (i + 1) & 63;
  }
  state.SetItemsProcessed(state.iterations());
}

// The same loop over a read-only table (hash + unordered_map find): what two threads can gain on
// this machine right now, measured in the same run.
void floor_threads(benchmark::State& state) {
  static const floor_table table;
  const double base = 1.5 + 64.0 * state.thread_index();
  int i = 0;
  for (auto _ : state) {
    double args[2] = {base + i, 2.5};
    benchmark::DoNotOptimize(args);
    const auto it = table.values.find(floor_table::hash(args));
    benchmark::DoNotOptimize(it);
    i = (i + 1) & 63;
  }
  state.SetItemsProcessed(state.iterations());
}

// --- probes for callgrind: N calls inside one named function, so instructions per call can be
// taken as (Ir(2N) - Ir(N)) / N with --toggle-collect=recall_bench_probe ---

void probe_setup(const std::string& name) {
  if (name == "memory_hit") {
    benchmark::DoNotOptimize(memory_memo()(1.5, 2.5));
  } else if (name == "disk_hit") {
    benchmark::DoNotOptimize(disk_memo()(1.5, 2.5));
  } else if (name.starts_with("key_large") || name.starts_with("miss_large")) {
    benchmark::DoNotOptimize(large_argument().data()); // built outside the counted function
    benchmark::DoNotOptimize(pick_memo(recall::mutation_policy::warn).function());
    benchmark::DoNotOptimize(pick_memo(recall::mutation_policy::ignore).function());
  }
}

} // namespace

extern "C" [[gnu::noinline]] void recall_bench_probe(const char* name, long calls) {
  const std::string_view which{name};
  if (which == "memory_hit") {
    auto& m = memory_memo();
    for (long i = 0; i < calls; ++i) {
      benchmark::DoNotOptimize(m(1.5, 2.5));
    }
  } else if (which == "memory_floor") {
    static const floor_table table;
    for (long i = 0; i < calls; ++i) {
      double args[2] = {1.5, 2.5};
      benchmark::DoNotOptimize(args);
      benchmark::DoNotOptimize(table.values.find(floor_table::hash(args))->second);
    }
  } else if (which == "disk_hit") {
    auto& m = disk_memo();
    for (long i = 0; i < calls; ++i) {
      benchmark::DoNotOptimize(m(1.5, 2.5));
    }
  } else if (which == "miss_small") {
    static recall::memoize<&workload::store_small> m{options_in("miss")};
    static std::int64_t salt = run_salt() << 16;
    for (long i = 0; i < calls; ++i) {
      benchmark::DoNotOptimize(m(1.5, salt++));
    }
  } else if (which == "key_large") {
    const auto& values = large_argument();
    auto& m = pick_memo(recall::mutation_policy::warn);
    for (long i = 0; i < calls; ++i) {
      benchmark::DoNotOptimize(m.key(values, i));
    }
  } else if (which == "miss_large_checked" || which == "miss_large_unchecked") {
    const auto& values = large_argument();
    auto& m =
        pick_memo(which == "miss_large_checked" ? recall::mutation_policy::warn : recall::mutation_policy::ignore);
    static std::int64_t salt = run_salt() << 16;
    for (long i = 0; i < calls; ++i) {
      benchmark::DoNotOptimize(m(values, salt++));
    }
  }
}

namespace {

void register_benchmarks() {
  using benchmark::RegisterBenchmark;
  const int large_iterations = g_settings.quick ? 3 : 5;
  RegisterBenchmark("memory_hit/recall", memory_hit_recall);
  RegisterBenchmark("memory_hit/floor_xxh3_unordered_map", memory_hit_floor);
  RegisterBenchmark("disk_hit/recall", disk_hit_recall);
  RegisterBenchmark("disk_hit/open_read_close", disk_hit_open_read_close);
  // A fixed count: every iteration leaves a file behind.
  const int miss_iterations = g_settings.quick ? 50 : 1000;
  RegisterBenchmark("miss_small/recall", miss_store_recall)->Iterations(miss_iterations);
  RegisterBenchmark("miss_small/function_alone", miss_store_bypass);
  RegisterBenchmark("miss_small/tmp_write_rename", miss_store_tmp_rename)->Iterations(miss_iterations);
  RegisterBenchmark("key_large/recall", key_large_recall)->Iterations(large_iterations);
  RegisterBenchmark("key_large/xxh3_128", key_large_xxh3)->Iterations(large_iterations);
  RegisterBenchmark("mutation_large/miss_checked", mutation_check, recall::mutation_policy::warn)
      ->Iterations(large_iterations);
  RegisterBenchmark("mutation_large/miss_unchecked", mutation_check, recall::mutation_policy::ignore)
      ->Iterations(large_iterations);
  RegisterBenchmark("load_large/recall", load_large_recall)->Iterations(large_iterations);
  RegisterBenchmark("load_large/read_fresh_vector", load_large_read_fresh)->Iterations(large_iterations);
  RegisterBenchmark("mapped_large/recall", mapped_large, recall::verification::header)->Iterations(large_iterations);
  RegisterBenchmark("mapped_large/recall_checksummed", mapped_large, recall::verification::checksum)
      ->Iterations(large_iterations);
  const std::int64_t small_population = 1000;
  RegisterBenchmark("population/recall", population_hit_recall)->Arg(small_population)->Arg(g_settings.population);
  RegisterBenchmark("population/open_read_close", population_hit_open_read_close)
      ->Arg(small_population)
      ->Arg(g_settings.population);
  RegisterBenchmark("threads/recall", memory_hit_threads)->Threads(1)->Threads(2)->UseRealTime();
  RegisterBenchmark("threads/floor_xxh3_unordered_map", floor_threads)->Threads(1)->Threads(2)->UseRealTime();
}

bool take_flag(std::string_view arg, std::string_view name, std::string_view& value) {
  if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=') {
    return false;
  }
  value = arg.substr(name.size() + 1);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<char*> passed{argv[0]};
  std::string probe;
  long calls = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    std::string_view value;
    if (take_flag(arg, "--work", value)) {
      g_settings.work = fs::absolute(fs::path{value});
    } else if (take_flag(arg, "--population", value)) {
      g_settings.population = std::stoll(std::string{value});
    } else if (arg == "--quick") {
      g_settings.quick = true;
      g_settings.large_bytes = std::size_t{1} << 20;
      g_settings.population = 2000;
    } else if (take_flag(arg, "--probe", value)) {
      probe = value;
    } else if (take_flag(arg, "--calls", value)) {
      calls = std::stol(std::string{value});
    } else {
      passed.push_back(argv[i]);
    }
  }
  g_settings.work = fs::absolute(g_settings.work);
  fs::create_directories(g_settings.work);

  if (!probe.empty()) {
    probe_setup(probe);
    recall_bench_probe(probe.c_str(), calls);
    return 0;
  }

  register_benchmarks();
  int benchmark_argc = static_cast<int>(passed.size());
  benchmark::Initialize(&benchmark_argc, passed.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, passed.data())) {
    return 2;
  }
  benchmark::AddCustomContext("recall.work", g_settings.work.string());
  benchmark::AddCustomContext("recall.large_bytes", std::to_string(g_settings.large_bytes));
  benchmark::AddCustomContext("recall.population", std::to_string(g_settings.population));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
