// Tests for recall/adapters/valarray.hpp: std::slice and std::gslice as keys and stored results.
#include "catch.hpp"

#include <cstdint>
#include <cstring>
#include <valarray>
#include <vector>

#include <recall/adapters/valarray.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace adapters_valarray {

int g_calls = 0;

double sum_of(const std::valarray<double>& values, std::slice part) {
  ++g_calls;
  return std::valarray<double>{values[part]}.sum();
}

std::valarray<double> gather(const std::valarray<double>& values, const std::gslice& part) {
  ++g_calls;
  return values[part];
}

recall::options on_disk(const std::filesystem::path& dir) {
  return recall::options{.directory = dir, .mode = recall::mode::reuse, .memory = recall::memory_tier::none};
}

bool same(const std::gslice& a, const std::gslice& b) {
  return a.start() == b.start() && a.size().size() == b.size().size() && a.stride().size() == b.stride().size() &&
         (a.size() == b.size()).min() && (a.stride() == b.stride()).min();
}

} // namespace adapters_valarray

using namespace adapters_valarray;

TEST_CASE("slices are hashable and storable; valarrays are built in", "[adapters_valarray]") {
  STATIC_REQUIRE(recall::storable<std::slice>);
  STATIC_REQUIRE(recall::storable<std::gslice>);
  STATIC_REQUIRE(recall::storable<std::valarray<double>>);
}

TEST_CASE("slice encoding: start, size, stride as u64", "[adapters_valarray]") {
  const std::vector<std::byte> bytes = recall::detail::encode_payload(std::slice{1, 4, 3});
  REQUIRE(bytes.size() == 24);
  std::uint64_t fields[3] = {};
  std::memcpy(fields, bytes.data(), 24);
  CHECK(fields[0] == 1);
  CHECK(fields[1] == 4);
  CHECK(fields[2] == 3);
  using recall::detail::hash_value;
  CHECK(hash_value(std::slice{1, 4, 3}) != hash_value(std::slice{1, 3, 4}));
}

TEST_CASE("slices round-trip; a gslice with mismatched sizes and strides is rejected", "[adapters_valarray]") {
  using recall::detail::decode_payload;
  using recall::detail::encode_payload;
  const std::slice s = decode_payload<std::slice>(encode_payload(std::slice{2, 5, 7}));
  CHECK(s.start() == 2);
  CHECK(s.size() == 5);
  CHECK(s.stride() == 7);
  const std::gslice g{1, std::valarray<std::size_t>{2, 3}, std::valarray<std::size_t>{6, 2}};
  CHECK(same(decode_payload<std::gslice>(encode_payload(g)), g));
  CHECK(recall::detail::hash_value(g) !=
        recall::detail::hash_value(std::gslice{1, std::valarray<std::size_t>{3, 2}, std::valarray<std::size_t>{6, 2}}));
  std::vector<std::byte> bytes = encode_payload(g);
  // start (8), sizes: count (8) + 2 x 8, strides: count at offset 32.
  const std::uint64_t one = 1;
  std::memcpy(bytes.data() + 32, &one, 8);
  bytes.resize(bytes.size() - 8);
  CHECK_THROWS_AS(decode_payload<std::gslice>(bytes), recall::format_error);
}

TEST_CASE("memoized functions of valarray slices hit from disk", "[adapters_valarray]") {
  recall_test::temp_dir dir;
  const std::valarray<double> values{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  recall::memoize<&sum_of> sum{on_disk(dir.path())};
  g_calls = 0;
  CHECK(sum(values, std::slice{0, 4, 3}) == 1 + 4 + 7 + 10);
  CHECK(sum(values, std::slice{0, 4, 3}) == 1 + 4 + 7 + 10);
  CHECK(g_calls == 1);
  CHECK(sum(values, std::slice{1, 4, 3}) == 2 + 5 + 8 + 11);
  CHECK(g_calls == 2);

  recall::memoize<&gather> take{on_disk(dir.path())};
  const std::gslice g{1, std::valarray<std::size_t>{2, 2}, std::valarray<std::size_t>{6, 2}};
  const std::valarray<double> first = take(values, g);
  const std::valarray<double> second = take(values, g);
  CHECK(g_calls == 3);
  REQUIRE(second.size() == 4);
  CHECK((first == second).min());
  CHECK(second[3] == 10.0);
}
