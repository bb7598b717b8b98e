// zstd compression of entry payloads, with a decompressor that trusts no size it reads.
#pragma once

#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <recall/errors.hpp>
#include <recall/stores/compression.hpp>

namespace recall::detail {

// Decompressed payloads larger than this are refused whatever a frame header claims.
inline constexpr std::uint64_t max_decompressed_size = std::uint64_t{1} << 40;

// The compressed form of `payload` if the settings ask for it and it is small enough to keep
// (see recall::compression), else nullopt: store the payload raw.
[[nodiscard]] inline std::optional<std::vector<std::byte>> compress_payload(std::span<const std::byte> payload,
                                                                            const compression& settings) {
  if (settings.codec != codec::zstd || payload.size() < settings.threshold || payload.empty()) {
    return std::nullopt;
  }
  std::vector<std::byte> out(ZSTD_compressBound(payload.size()));
  const std::size_t size = ZSTD_compress(out.data(), out.size(), payload.data(), payload.size(), settings.level);
  if (ZSTD_isError(size) != 0U) {
    return std::nullopt; // compression is an optimization: store raw
  }
  if (static_cast<double>(size) > settings.keep_ratio * static_cast<double>(payload.size())) {
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

// Decompresses one zstd frame holding exactly the whole payload. The frame's declared content
// size is checked against max_decompressed_size and against what the frame's size can expand
// to before anything is allocated, and the output must be exactly that size. Throws format_error.
[[nodiscard]] inline std::vector<std::byte> decompress_payload(std::span<const std::byte> frame) {
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    throw format_error{"compressed payload is not a zstd frame"};
  }
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    throw format_error{"compressed payload does not declare its size"};
  }
  if (declared > max_decompressed_size) {
    throw format_error{"compressed payload declares " + std::to_string(declared) + " bytes, over the limit of " +
                       std::to_string(max_decompressed_size)};
  }
  // The densest zstd block (RLE: a 3-byte header and 1 byte) expands 4 bytes into 128 KiB, so a
  // larger claim is a forged one: refuse it before allocating.
  if (declared > std::uint64_t{frame.size()} * 32768 + (std::uint64_t{1} << 17)) {
    throw format_error{"compressed payload declares " + std::to_string(declared) + " bytes, more than " +
                       std::to_string(frame.size()) + " compressed bytes can hold"};
  }
  const std::size_t compressed = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(compressed) != 0U || compressed != frame.size()) {
    throw format_error{"compressed payload is not exactly one zstd frame"};
  }
  std::vector<std::byte> out(static_cast<std::size_t>(declared));
  const std::size_t size = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(size) != 0U) {
    throw format_error{std::string{"compressed payload does not decompress: "} + ZSTD_getErrorName(size)};
  }
  if (size != out.size()) {
    throw format_error{"compressed payload decompressed to " + std::to_string(size) + " bytes, its frame says " +
                       std::to_string(out.size())};
  }
  return out;
}

} // namespace recall::detail
