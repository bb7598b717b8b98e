// Test helper for the S3 store: one "machine" sharing results through a bucket with a
// local directory in front (memory -> directory -> S3), as docs/S3.md deploys it.
//
//   s3-helper share URL DIR
//       one memoized call; prints "computed" or "loaded", then the result's size, last value and key.
//   s3-helper fill URL NAME IDENTITY COUNT
//       saves COUNT small entries of function NAME whose identity is IDENTITY (a number), for the
//       recall-cache --s3 tests.
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s3-helper: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: s3-helper share URL DIR | s3-helper fill URL NAME IDENTITY COUNT\n");
  return 2;
}
