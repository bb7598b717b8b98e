// The S3 rows of bench/run.sh: an S3 hit (s3_store::load: GET, checks, decode) of a 100-byte and a
// 10 MiB result against a raw libcurl GET of the same object, on the same kind of reused connection.
//
//   s3-hit URL [N]     URL names an existing, empty bucket (bench/s3_bench.sh makes one on moto);
//                      prints one line per size: medians of N runs (default 50), and their ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <recall/stores/s3_store.hpp>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
}

int run(const char* url, int n) {
  auto store = recall::make_s3_store(url);
  const auto location = recall::detail::s3::parse_location(url);
  // The raw side: the same client class (one reused handle, SigV4 by libcurl), no recall checks.
  recall::detail::s3::client raw{recall::detail::s3::find_credentials(), location.region, std::chrono::seconds{2}, 1};
  const recall::function_id function{"s3_hit::bench", recall::key{0xbe, 0xac}};
  for (const std::size_t size : {std::size_t{100}, std::size_t{10} << 20}) {
    const recall::entry_address address{function, recall::key{7, size}};
    recall::stored_entry entry;
    entry.payload.assign(size, std::byte{0x5a});
    store->save(address, entry);
    std::vector<double> hit;
    std::vector<double> get;
    for (int i = 0; i < n; ++i) {
      // Alternated, so that both sides see the same server state and machine load.
      auto started = std::chrono::steady_clock::now();
      const auto loaded = store->load(address);
      hit.push_back(ms_since(started));
      if (!loaded || loaded->payload.size() != size) {
        std::fprintf(stderr, "s3-hit: the entry did not load\n");
        return 1;
      }
      recall::detail::s3::request r;
      r.url = location.bucket_url() + "/" + store->object_key(address);
      r.max_response = std::uint64_t{64} << 20;
      r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
      started = std::chrono::steady_clock::now();
      const auto got = raw.perform(r);
      get.push_back(ms_since(started));
      if (got.status != 200) {
        std::fprintf(stderr, "s3-hit: the raw GET answered HTTP %ld\n", got.status);
        return 1;
      }
    }
    const double h = median(hit);
    const double g = median(get);
    std::printf(
        "S3 hit, %-8s result   s3_store::load %9.3f ms   raw libcurl GET %9.3f ms   ratio %.2f   (medians of %d)\n",
        size == 100 ? "100 B" : "10 MiB", h, g, h / g, n);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: s3-hit URL [N]\n");
    return 2;
  }
  try {
    return run(argv[1], argc == 3 ? std::max(1, std::atoi(argv[2])) : 50);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s3-hit: %s\n", e.what());
    return 1;
  }
}
