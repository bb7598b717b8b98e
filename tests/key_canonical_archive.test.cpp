// Tests for the canonical encoding: byte layout, order independence, views, floats, round trips
// and hostile payloads.
#include "catch.hpp"

#include <bitset>
#include <cmath>
#include <cstring>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <valarray>
#include <variant>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <recall/detail/key/canonical_archive.hpp>

using recall::detail::decode_payload;
using recall::detail::encode_payload;
using recall::detail::hash_value;

namespace {

struct plain {
  double dt;
  int steps;
  std::string name;
  std::optional<int> seed;
  std::vector<double> weights;
  friend bool operator==(const plain&, const plain&) = default;
};

struct nested {
  plain inner;
  std::map<std::string, double> table;
  friend bool operator==(const nested&, const nested&) = default;
};

struct hana_params {
  BOOST_HANA_DEFINE_STRUCT(hana_params, (double, sigma), (double, rho), (int, steps));
  friend bool operator==(const hana_params& a, const hana_params& b) {
    return a.sigma == b.sigma && a.rho == b.rho && a.steps == b.steps;
  }
};

struct with_serialize {
  int a = 0;
  int ignored = 0; // not serialized: the user decides what identifies the value
  template <class Archive>
  void serialize(Archive& ar) {
    ar(a);
  }
};

enum class color : std::uint8_t { red = 1, green = 2 };

std::vector<unsigned char> bytes_of(const std::vector<std::byte>& v) {
  std::vector<unsigned char> out;
  for (auto b : v) {
    out.push_back(std::to_integer<unsigned char>(b));
  }
  return out;
}

} // namespace

TEST_CASE("scalars are fixed-width little-endian", "[key_canonical_archive]") {
  CHECK(bytes_of(encode_payload(std::int32_t{0x01020304})) == std::vector<unsigned char>{4, 3, 2, 1});
  CHECK(bytes_of(encode_payload(std::uint16_t{0xABCD})) == std::vector<unsigned char>{0xCD, 0xAB});
  CHECK(bytes_of(encode_payload(true)) == std::vector<unsigned char>{1});
  CHECK(bytes_of(encode_payload(color::green)) == std::vector<unsigned char>{2});
  CHECK(bytes_of(encode_payload(1.0)) == std::vector<unsigned char>{0, 0, 0, 0, 0, 0, 0xF0, 0x3F});
}

TEST_CASE("sizes are u64 little-endian before the elements", "[key_canonical_archive]") {
  CHECK(bytes_of(encode_payload(std::string{"ab"})) == std::vector<unsigned char>{2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'});
  CHECK(bytes_of(encode_payload(std::vector<std::uint8_t>{7})) ==
        std::vector<unsigned char>{1, 0, 0, 0, 0, 0, 0, 0, 7});
  // cereal writes a "nullopt" flag: 1 for an empty optional, 0 before a value.
  CHECK(bytes_of(encode_payload(std::optional<std::uint8_t>{})) == std::vector<unsigned char>{1});
  CHECK(bytes_of(encode_payload(std::optional<std::uint8_t>{9})) == std::vector<unsigned char>{0, 9});
}

TEST_CASE("aggregates and Hana structs encode their members in order, without names", "[key_canonical_archive]") {
  const plain p{0.5, 3, "x", std::nullopt, {}};
  CHECK(encode_payload(p) ==
        encode_payload(std::make_tuple(0.5, 3, std::string{"x"}, std::optional<int>{}, std::vector<double>{})));
  const hana_params h{1.0, 2.0, 3};
  CHECK(encode_payload(h) == encode_payload(std::make_tuple(1.0, 2.0, 3)));
}

TEST_CASE("types with cereal functions encode what they serialize", "[key_canonical_archive]") {
  CHECK(hash_value(with_serialize{1, 2}) == hash_value(with_serialize{1, 99}));
  CHECK(hash_value(with_serialize{1, 2}) != hash_value(with_serialize{2, 2}));
}

TEST_CASE("unordered containers key the same in any bucket order", "[key_canonical_archive]") {
  std::unordered_map<std::string, int> a;
  std::unordered_map<std::string, int> b;
  b.rehash(1024);
  for (int i = 0; i < 100; ++i) {
    a.emplace("k" + std::to_string(i), i);
  }
  for (int i = 99; i >= 0; --i) {
    b.emplace("k" + std::to_string(i), i);
  }
  REQUIRE(a == b);
  bool order_differs = false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    order_differs = order_differs || ia->first != ib->first;
  }
  CHECK(order_differs); // otherwise the test proves nothing
  CHECK(hash_value(a) == hash_value(b));

  b["k5"] = -5;
  CHECK(hash_value(a) != hash_value(b));

  std::unordered_set<int> s1{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::unordered_set<int> s2{9, 8, 7, 6, 5, 4, 3, 2, 1};
  s2.rehash(512);
  CHECK(hash_value(s1) == hash_value(s2));
  CHECK(hash_value(s1) != hash_value(std::unordered_set<int>{1, 2, 3}));
}

TEST_CASE("unordered containers nested in others are canonical too", "[key_canonical_archive]") {
  std::vector<std::unordered_set<int>> a{{1, 2, 3, 4, 5, 6, 7, 8}};
  std::vector<std::unordered_set<int>> b{{8, 7, 6, 5, 4, 3, 2, 1}};
  b[0].rehash(300);
  CHECK(hash_value(a) == hash_value(b));
}

TEST_CASE("views key like the owning containers with the same content", "[key_canonical_archive]") {
  const std::vector<double> v{1.0, 2.0, 3.0};
  CHECK(hash_value(std::span<const double>{v}) == hash_value(v));
  CHECK(hash_value(std::string_view{"hello"}) == hash_value(std::string{"hello"}));
  const std::vector<std::string> words{"a", "bc"};
  CHECK(hash_value(std::span<const std::string>{words}) == hash_value(words));
}

TEST_CASE("floating point keys by bit pattern", "[key_canonical_archive]") {
  // -0.0 == +0.0 but 1/x tells them apart, so a function may too: they are different keys.
  CHECK(hash_value(0.0) != hash_value(-0.0));
  const double nan_a = std::numeric_limits<double>::quiet_NaN();
  double nan_b = nan_a;
  std::uint64_t bits = 0;
  std::memcpy(&bits, &nan_b, sizeof bits);
  bits ^= 1; // another payload, still a NaN
  std::memcpy(&nan_b, &bits, sizeof bits);
  REQUIRE(std::isnan(nan_b));
  CHECK(hash_value(nan_a) == hash_value(nan_a)); // NaN != NaN, but the same bits are the same key
  CHECK(hash_value(nan_a) != hash_value(nan_b));
  CHECK(hash_value(1.0f) != hash_value(1.0));
}

TEST_CASE("long double keys ignore its padding bytes", "[key_canonical_archive]") {
  long double a = 0;
  long double b = 0;
  std::memset(&a, 0x00, sizeof a);
  std::memset(&b, 0xFF, sizeof b);
  a = 1.25L;
  b = 1.25L;
  CHECK(hash_value(a) == hash_value(b));
  CHECK(hash_value(std::vector<long double>{a}) == hash_value(std::vector<long double>{b}));
}

TEST_CASE("large contiguous arguments hash exactly like XXH3 over the whole encoding", "[key_canonical_archive]") {
  std::vector<double> big(100000);
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<double>(i) * 0.5;
  }
  const auto encoded = encode_payload(big);
  CHECK(hash_value(big) == recall::detail::xxh3_128(encoded));
  // ...and small ones, which take the one-shot path
  const std::vector<double> small{1.0, 2.0};
  CHECK(hash_value(small) == recall::detail::xxh3_128(encode_payload(small)));
}

TEST_CASE("payloads round-trip", "[key_canonical_archive]") {
  const plain p{0.25, 7, "rk4", 42, {1.0, -2.0, 3.5}};
  CHECK(decode_payload<plain>(encode_payload(p)) == p);
  const nested n{p, {{"a", 1.0}, {"b", 2.0}}};
  CHECK(decode_payload<nested>(encode_payload(n)) == n);
  const hana_params h{10.0, 28.0, 1000};
  CHECK(decode_payload<hana_params>(encode_payload(h)) == h);
  const std::variant<int, std::string> var{std::string{"v"}};
  CHECK(decode_payload<std::variant<int, std::string>>(encode_payload(var)) == var);
  const std::unordered_map<int, std::list<double>> um{{1, {1.0}}, {2, {2.0, 3.0}}};
  CHECK(decode_payload<std::unordered_map<int, std::list<double>>>(encode_payload(um)) == um);
  const std::set<std::pair<int, int>> st{{1, 2}, {3, 4}};
  CHECK(decode_payload<std::set<std::pair<int, int>>>(encode_payload(st)) == st);
  CHECK(decode_payload<color>(encode_payload(color::red)) == color::red);
}

TEST_CASE("hostile payloads throw format_error without over-reading or over-allocating", "[key_canonical_archive]") {
  auto bytes = encode_payload(std::vector<double>{1.0, 2.0, 3.0});

  SECTION("truncated") {
    bytes.pop_back();
    CHECK_THROWS_AS(decode_payload<std::vector<double>>(bytes), recall::format_error);
  }
  SECTION("trailing bytes") {
    bytes.push_back(std::byte{0});
    CHECK_THROWS_AS(decode_payload<std::vector<double>>(bytes), recall::format_error);
  }
  SECTION("forged huge size") {
    for (std::size_t i = 0; i < 8; ++i) {
      bytes[i] = std::byte{0xFF};
    }
    CHECK_THROWS_AS(decode_payload<std::vector<double>>(bytes), recall::format_error);
    CHECK_THROWS_AS(decode_payload<std::vector<std::string>>(bytes), recall::format_error);
  }
  SECTION("bool that is neither 0 nor 1") {
    const std::vector<std::byte> two{std::byte{2}};
    CHECK_THROWS_AS(decode_payload<bool>(two), recall::format_error);
  }
  SECTION("empty input") { CHECK_THROWS_AS(decode_payload<int>(std::span<const std::byte>{}), recall::format_error); }
}

namespace {
struct byte_then_block {
  char tag = 0;
  std::vector<double> values;
  std::vector<float> floats;
  bool operator==(const byte_then_block&) const = default;
};
} // namespace

// Vectors of scalars decode by copying into reserved capacity (canonical_reader's own path):
// aligned and unaligned blocks, an empty one, one replacing a default with content, and the
// hash fed while decoding, which must be the hash of exactly the bytes read.
TEST_CASE("vectors of scalars decode as cereal would, with or without a hash fed", "[key_canonical_archive]") {
  std::vector<double> large(300000);
  for (std::size_t i = 0; i < large.size(); ++i) {
    large[i] = static_cast<double>(i) * 0.5 - 7.0;
  }
  const auto bytes = encode_payload(large);
  CHECK(decode_payload<std::vector<double>>(bytes) == large);
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  CHECK(recall::detail::decode_payload_hashing<std::vector<double>>(bytes, &state) == large);
  const auto fed = XXH3_128bits_digest(&state);
  const auto whole = XXH3_128bits(bytes.data(), bytes.size());
  CHECK(fed.low64 == whole.low64);
  CHECK(fed.high64 == whole.high64);

  // After one char, the block starts unaligned for double: the fallback copies the same bytes.
  const byte_then_block odd{'x', {1.5, -2.25, 1e300}, {0.5F, 3.0F}};
  CHECK(decode_payload<byte_then_block>(encode_payload(odd)) == odd);
  CHECK(decode_payload<byte_then_block>(encode_payload(byte_then_block{})) == byte_then_block{});

  struct with_default {
    std::vector<int> values{9, 9, 9};
    bool operator==(const with_default&) const = default;
  };
  CHECK(decode_payload<with_default>(encode_payload(with_default{{1, 2}})).values == std::vector<int>{1, 2});
  CHECK(decode_payload<with_default>(encode_payload(with_default{{}})).values.empty());
}

// Found by fuzz/payload_fuzzer.cpp: cereal's valarray functions bind &v[0] of an empty valarray
// (undefined behaviour, reported by UBSan in the asan configuration). recall encodes valarrays
// itself, in the same bytes: the size, then the elements.
TEST_CASE("valarrays, the empty one included, encode like vectors and round-trip", "[key_canonical_archive]") {
  const std::valarray<double> values{1.5, -2.5};
  CHECK(encode_payload(values) == encode_payload(std::vector<double>{1.5, -2.5}));
  const auto decoded = decode_payload<std::valarray<double>>(encode_payload(values));
  REQUIRE(decoded.size() == 2);
  CHECK(decoded[0] == 1.5);
  CHECK(decoded[1] == -2.5);
  const std::valarray<double> empty;
  CHECK(encode_payload(empty) == std::vector<std::byte>(8, std::byte{0}));
  CHECK(decode_payload<std::valarray<double>>(encode_payload(empty)).size() == 0);
  CHECK(hash_value(empty) == hash_value(std::vector<double>{}));
  const std::valarray<std::string> words{"a", "bc"};
  const auto words_back = decode_payload<std::valarray<std::string>>(encode_payload(words));
  REQUIRE(words_back.size() == 2);
  CHECK(words_back[1] == "bc");
  CHECK(decode_payload<std::valarray<std::string>>(encode_payload(std::valarray<std::string>{})).size() == 0);
  // A forged count larger than the bytes left is refused before the valarray is sized.
  auto forged = encode_payload(values);
  forged[7] = std::byte{0x7F};
  CHECK_THROWS_AS(decode_payload<std::valarray<double>>(forged), recall::format_error);
}

// Found by fuzz/payload_fuzzer.cpp: cereal loads a bitset written as a string through
// std::bitset's string constructor, which throws std::invalid_argument for any other character
// than '0' and '1'. decode_payload's contract is format_error for every malformed payload.
TEST_CASE("a value a load function rejects is a format_error", "[key_canonical_archive]") {
  // cereal's bitset encoding: u8 representation (2: string), then the string.
  std::vector<std::byte> bytes{std::byte{2}};
  const auto text = encode_payload(std::string{"01z"});
  bytes.insert(bytes.end(), text.begin(), text.end());
  CHECK_THROWS_AS(decode_payload<std::bitset<70>>(bytes), recall::format_error);
  bytes.back() = std::byte{'1'};
  CHECK(decode_payload<std::bitset<70>>(bytes) == std::bitset<70>{0b011});
}
