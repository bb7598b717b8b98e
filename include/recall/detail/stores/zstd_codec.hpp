// zstd compression of entry payloads, with a decompressor that trusts no size it reads.
#pragma once

#include <dlfcn.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <recall/detail/immortal.hpp>
#include <recall/errors.hpp>
#include <recall/log.hpp>
#include <recall/stores/compression.hpp>

namespace recall::detail {

// libzstd, loaded on first use (dlopen of libzstd.so.1) rather than linked: a program that never
// writes nor reads a compressed entry, as most hits are, does not load it. Linking it cost every
// process about 0.4 ms of start-up (a quarter of a cold start's CPU time), for a library only
// entries of 64 KiB and more use. Only zstd.h is needed to build.
struct zstd_functions {
  decltype(&ZSTD_compressBound) compress_bound;
  decltype(&ZSTD_compress) compress;
  decltype(&ZSTD_isError) is_error;
  decltype(&ZSTD_getErrorName) error_name;
  decltype(&ZSTD_getFrameContentSize) frame_content_size;
  decltype(&ZSTD_findFrameCompressedSize) frame_compressed_size;
  decltype(&ZSTD_decompress) decompress;
};

// Loads the library `soname` and looks up the functions; nullopt (and a warning saying why) if
// either fails. The library is never closed: the functions stay valid for the whole process.
[[nodiscard]] inline std::optional<zstd_functions> load_zstd(const char* soname) {
  const auto unavailable = [](const std::string& why) {
    log(log_level::warning, "zstd compression is unavailable (" + why +
                                "): entries are stored uncompressed, and compressed ones read as misses");
    return std::nullopt;
  };
  void* library = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    return unavailable(why != nullptr ? why : soname);
  }
  const auto find = [&]<class F>(F& out, const char* name) {
    out = reinterpret_cast<F>(::dlsym(library, name));
    return out != nullptr;
  };
  zstd_functions f{};
  if (find(f.compress_bound, "ZSTD_compressBound") && find(f.compress, "ZSTD_compress") &&
      find(f.is_error, "ZSTD_isError") && find(f.error_name, "ZSTD_getErrorName") &&
      find(f.frame_content_size, "ZSTD_getFrameContentSize") &&
      find(f.frame_compressed_size, "ZSTD_findFrameCompressedSize") && find(f.decompress, "ZSTD_decompress")) {
    return f;
  }
  return unavailable(std::string{soname} + " lacks a function recall needs");
}

// The process's libzstd functions, loaded on first use; null when it cannot be loaded.
[[nodiscard]] inline const zstd_functions* zstd_library() {
  static immortal<const std::optional<zstd_functions>> functions{load_zstd("libzstd.so.1")};
  return functions.get() ? &*functions.get() : nullptr;
}

// Decompressed payloads larger than this are refused whatever a frame header claims.
inline constexpr std::uint64_t max_decompressed_size = std::uint64_t{1} << 40;

// The compressed form of `payload` if the settings ask for it and it is small enough to keep
// (see recall::compression), else nullopt: store the payload raw.
[[nodiscard]] inline std::optional<std::vector<std::byte>> compress_payload(std::span<const std::byte> payload,
                                                                            const compression& settings) {
  if (settings.codec != codec::zstd || payload.size() < settings.threshold || payload.empty()) {
    return std::nullopt;
  }
  const zstd_functions* zstd = zstd_library();
  if (zstd == nullptr) {
    return std::nullopt;
  }
  std::vector<std::byte> out(zstd->compress_bound(payload.size()));
  const std::size_t size = zstd->compress(out.data(), out.size(), payload.data(), payload.size(), settings.level);
  if (zstd->is_error(size) != 0U) {
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
// to before anything is allocated, and the output must be exactly that size. Throws format_error,
// or store_error when libzstd cannot be loaded (the entry is not damaged: it must not be removed).
[[nodiscard]] inline std::vector<std::byte> decompress_payload(std::span<const std::byte> frame) {
  const zstd_functions* zstd = zstd_library();
  if (zstd == nullptr) {
    throw store_error{"cannot read a compressed cache entry: libzstd.so.1 cannot be loaded"};
  }
  const unsigned long long declared = zstd->frame_content_size(frame.data(), frame.size());
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
  const std::size_t compressed = zstd->frame_compressed_size(frame.data(), frame.size());
  if (zstd->is_error(compressed) != 0U || compressed != frame.size()) {
    throw format_error{"compressed payload is not exactly one zstd frame"};
  }
  std::vector<std::byte> out(static_cast<std::size_t>(declared));
  const std::size_t size = zstd->decompress(out.data(), out.size(), frame.data(), frame.size());
  if (zstd->is_error(size) != 0U) {
    throw format_error{std::string{"compressed payload does not decompress: "} + zstd->error_name(size)};
  }
  if (size != out.size()) {
    throw format_error{"compressed payload decompressed to " + std::to_string(size) + " bytes, its frame says " +
                       std::to_string(out.size())};
  }
  return out;
}

} // namespace recall::detail
