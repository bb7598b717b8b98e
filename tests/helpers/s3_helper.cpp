// Test and bench helper for the S3 store: one "machine" sharing results through a bucket with a
// local directory in front (memory -> directory -> S3), as docs/S3.md deploys it.
//
//   s3-helper share URL DIR
//       one memoized call; prints "computed" or "loaded", then the result's size, last value and key.
//   s3-helper fill URL NAME IDENTITY COUNT
//       saves COUNT small entries of function NAME whose identity is IDENTITY (a number), for the
//       recall-cache --s3 tests.
//   s3-helper bench URL [N]
//       on an empty bucket: an S3 hit of a 100-byte and a 10 MiB result (s3_store::load) against a
//       raw libcurl GET of the same object; prints one line per figure (median of N runs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <recall/recall.hpp>
#include <recall/stores/s3_store.hpp>

namespace sweep {

int g_computations = 0;

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

} // namespace sweep

namespace {

int share(const char* url, const char* dir) {
  recall::options o;
  o.mode = recall::mode::reuse;
  o.store = std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{
      {std::make_shared<recall::directory_store>(dir)}, {recall::make_s3_store(url)}});
  recall::memoize<&sweep::relax> relax{o};
  const auto result = relax(0.125, 40);
  std::printf("%s %zu %.15f %s\n", sweep::g_computations == 1 ? "computed" : "loaded", result.size(), result.back(),
              relax.key(0.125, 40).hex().c_str());
  return 0;
}

int fill(const char* url, const char* name, const char* identity, int count) {
  auto store = recall::make_s3_store(url);
  // The identity's number goes in the first hex digit, which the function's folder name shows.
  const recall::function_id function{name, recall::key{std::strtoull(identity, nullptr, 10) << 60, 0}};
  for (int i = 0; i < count; ++i) {
    recall::stored_entry entry;
    entry.payload.assign(100 + static_cast<std::size_t>(i), std::byte{0x11});
    store->save(recall::entry_address{function, recall::key{42, static_cast<std::uint64_t>(i)}}, entry);
  }
  return 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int bench(const char* url, int n) {
  auto store = recall::make_s3_store(url);
  const auto location = recall::detail::s3::parse_location(url);
  recall::detail::s3::client raw{recall::detail::s3::find_credentials(), location.region, std::chrono::seconds{2}, 2};
  const recall::function_id function{"s3_helper::bench", recall::key{0xbe, 0xac}};
  for (const std::size_t size : {std::size_t{100}, std::size_t{10} << 20}) {
    const recall::entry_address address{function, recall::key{7, size}};
    recall::stored_entry entry;
    entry.payload.assign(size, std::byte{0x5a});
    store->save(address, entry);
    std::vector<double> hit;
    std::vector<double> get;
    for (int i = 0; i < n; ++i) {
      auto started = std::chrono::steady_clock::now();
      const auto loaded = store->load(address);
      hit.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
      if (!loaded || loaded->payload.size() != size) {
        std::fprintf(stderr, "s3-helper: the entry did not load\n");
        return 1;
      }
      recall::detail::s3::request r;
      r.url = location.bucket_url() + "/" + store->object_key(address);
      r.max_response = std::uint64_t{64} << 20;
      r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
      started = std::chrono::steady_clock::now();
      const auto got = raw.perform(r);
      get.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
      if (got.status != 200) {
        std::fprintf(stderr, "s3-helper: raw GET answered %ld\n", got.status);
        return 1;
      }
    }
    const double h = median(hit);
    const double g = median(get);
    std::printf("S3 hit, %-9s result: s3_store::load %8.2f ms   raw libcurl GET %8.2f ms   ratio %.2f (median of %d)\n",
                size == 100 ? "100-byte" : "10 MiB", h, g, h / g, n);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "share" && argc == 4) {
      return share(argv[2], argv[3]);
    }
    if (mode == "fill" && argc == 6) {
      return fill(argv[2], argv[3], argv[4], std::atoi(argv[5]));
    }
    if (mode == "bench" && (argc == 3 || argc == 4)) {
      return bench(argv[2], argc == 4 ? std::atoi(argv[3]) : 20);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s3-helper: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: s3-helper share URL DIR | s3-helper fill URL NAME IDENTITY COUNT | s3-helper bench URL [N]\n");
  return 2;
}
