// Tests for recall::key: hex spelling, parsing, byte order.
#include "catch.hpp"

#include <unordered_set>

#include <recall/key/key.hpp>

TEST_CASE("key spells 32 lower-case hex digits, high word first", "[key_key]") {
  const recall::key k{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  CHECK(k.hex() == "0123456789abcdeffedcba9876543210");
  CHECK(recall::key{}.hex() == std::string(32, '0'));
}

TEST_CASE("key parses its own hex and rejects anything else", "[key_key]") {
  const recall::key k{0xdeadbeef00000001ULL, 0x8000000000000000ULL};
  CHECK(recall::key::from_hex(k.hex()) == k);
  CHECK(recall::key::from_hex("0123456789ABCDEFFEDCBA9876543210") ==
        recall::key{0x0123456789abcdefULL, 0xfedcba9876543210ULL});
  CHECK_FALSE(recall::key::from_hex("0123"));
  CHECK_FALSE(recall::key::from_hex("0123456789abcdeffedcba987654321g"));
  CHECK_FALSE(recall::key::from_hex("0123456789abcdeffedcba98765432100"));
}

TEST_CASE("key bytes follow hex order and round-trip", "[key_key]") {
  const recall::key k{0x0102030405060708ULL, 0x090a0b0c0d0e0f10ULL};
  const auto bytes = k.bytes();
  for (std::size_t i = 0; i < 16; ++i) {
    CHECK(std::to_integer<int>(bytes[i]) == static_cast<int>(i + 1));
  }
  CHECK(recall::key::from_bytes(bytes) == k);
}

TEST_CASE("keys hash and compare by value", "[key_key]") {
  std::unordered_set<recall::key> set{recall::key{1, 2}, recall::key{1, 2}, recall::key{2, 1}};
  CHECK(set.size() == 2);
  CHECK(recall::key{1, 2} < recall::key{2, 1});
}
