// xxHash compiled inline into recall's headers (XXH_INLINE_ALL), so users link nothing.
#pragma once

// XXH_INLINE_ALL gives every xxHash symbol internal linkage and a prefixed name, so this header
// can meet another copy of xxHash (a user's, or libxxhash) in the same program without clashes.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define RECALL_DEFINED_XXH_INLINE_ALL
#endif
#include <xxhash.h>
#ifdef RECALL_DEFINED_XXH_INLINE_ALL
#undef XXH_INLINE_ALL
#undef RECALL_DEFINED_XXH_INLINE_ALL
#endif

#include <cstddef>
#include <span>

#include <recall/key/key.hpp>

namespace recall::detail {

[[nodiscard]] inline key to_key(XXH128_hash_t h) noexcept { return key{h.high64, h.low64}; }

// One-shot XXH3-128 of a byte range (seed 0).
[[nodiscard]] inline key xxh3_128(const void* data, std::size_t size) noexcept {
  return to_key(XXH3_128bits(data, size));
}

[[nodiscard]] inline key xxh3_128(std::span<const std::byte> bytes) noexcept {
  return xxh3_128(bytes.data(), bytes.size());
}

} // namespace recall::detail
