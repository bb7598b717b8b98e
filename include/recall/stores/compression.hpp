// recall::compression: whether and how a store compresses large payloads (zstd).
#pragma once

#include <cstddef>

namespace recall {

enum class codec {
  none, // payloads are stored as they are
  zstd, // payloads of at least `threshold` bytes are zstd-compressed when that saves space
};

// Small entries stay raw: compressing them saves little and costs a hit its decompression.
// A compressed payload is kept only if it is at most `keep_ratio` of the raw size, so data that
// does not compress (random doubles) is stored raw and loads at read() speed. Compressed
// entries cannot be memory-mapped: use codec::none for results read through recall::mapped.
struct compression {
  recall::codec codec = codec::zstd;
  int level = 3;                                 // zstd level: 1 (fastest) .. 19; negative: faster still
  std::size_t threshold = std::size_t{64} << 10; // bytes of payload below which nothing is compressed
  double keep_ratio = 0.9;
};

} // namespace recall
