// Builds the key of one call from the function identity and the digests of its arguments and
// declared globals; the exact byte layout below is the key format, version 1.
#pragma once

// key = XXH3-128 (seed 0) of the concatenation, all integers little-endian:
//   "recall-key"            10 ASCII bytes
//   u32 key_format_version  1
//   identity                16 bytes: function_identity::hash(), key::bytes() order
//   u32 argument count      N
//   N x 16 bytes            digest of each argument, in parameter order
//   u32 global count        G
//   G x 16 bytes            digest of each declared global, in declaration order
// A digest is XXH3-128 of the value's canonical key encoding (canonical_archive.hpp).
// A call made under a recall::scope gets that key re-hashed with the scope's digest:
//   scoped key = XXH3-128 of "recall-scope" (12 ASCII bytes), u32 key_format_version,
//                the scope's digest (16 bytes), the key above (16 bytes)
// so unscoped keys are unchanged and no two partitions share a key.
// Hashing each part on its own costs a few ns per small argument and gives the per-part hashes
// that the mutation check and miss explanations compare. Any change to this layout, to the
// canonical encoding or to the identity text must bump key_format_version: the golden key
// vectors in tests/key_golden.test.cpp fail otherwise.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <recall/detail/key/xxh3.hpp>
#include <recall/key/key.hpp>

namespace recall::detail {

inline constexpr std::uint32_t key_format_version = 1;

template <std::size_t Arguments, std::size_t Globals>
[[nodiscard]] key combine_call_key(const key& identity, const std::array<key, Arguments>& arguments,
                                   const std::array<key, Globals>& globals) noexcept {
  constexpr std::size_t size = 10 + 4 + 16 + 4 + 16 * Arguments + 4 + 16 * Globals;
  std::array<unsigned char, size> bytes{};
  std::size_t at = 0;
  const auto put_bytes = [&](const void* data, std::size_t n) {
    std::memcpy(bytes.data() + at, data, n);
    at += n;
  };
  const auto put_u32 = [&](std::uint32_t v) {
    const unsigned char le[4] = {static_cast<unsigned char>(v), static_cast<unsigned char>(v >> 8),
                                 static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 24)};
    put_bytes(le, 4);
  };
  // key::bytes() order: each word big-endian. Written as two stores, not sixteen byte shifts:
  // this runs on every call, memory hits included.
  const auto put_key = [&](const key& k) {
    if constexpr (std::endian::native == std::endian::little) {
      const std::uint64_t words[2] = {__builtin_bswap64(k.high()), __builtin_bswap64(k.low())};
      put_bytes(words, sizeof words);
    } else {
      const std::uint64_t words[2] = {k.high(), k.low()};
      put_bytes(words, sizeof words);
    }
  };
  put_bytes("recall-key", 10);
  put_u32(key_format_version);
  put_key(identity);
  put_u32(static_cast<std::uint32_t>(Arguments));
  for (const key& k : arguments) {
    put_key(k);
  }
  put_u32(static_cast<std::uint32_t>(Globals));
  for (const key& k : globals) {
    put_key(k);
  }
  return xxh3_128(bytes.data(), bytes.size());
}

[[nodiscard]] inline key scoped_call_key(const key& scope_digest, const key& call) noexcept {
  std::array<unsigned char, 12 + 4 + 16 + 16> bytes{};
  std::memcpy(bytes.data(), "recall-scope", 12);
  for (std::size_t i = 0; i < 4; ++i) {
    bytes[12 + i] = static_cast<unsigned char>(key_format_version >> (8 * i));
  }
  const auto s = scope_digest.bytes();
  const auto c = call.bytes();
  std::memcpy(bytes.data() + 16, s.data(), s.size());
  std::memcpy(bytes.data() + 32, c.data(), c.size());
  return xxh3_128(bytes.data(), bytes.size());
}

} // namespace recall::detail
