// Tests for zstd payload compression: when it applies, round trips, hostile frames, and the
// directory store and memoize using it end to end.
#include "catch.hpp"

#include <zstd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/zstd_codec.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace compression_test {

std::vector<std::byte> repetitive(std::size_t n) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::byte>(i % 7);
  }
  return out;
}

std::vector<std::byte> random_bytes(std::size_t n) {
  std::mt19937_64 rng{42};
  std::vector<std::byte> out(n);
  for (auto& b : out) {
    b = static_cast<std::byte>(rng() & 0xFF);
  }
  return out;
}

std::vector<std::byte> read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::vector<char> chars{std::istreambuf_iterator<char>{in}, {}};
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

std::vector<std::filesystem::path> entry_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator{dir}) {
    if (e.path().extension() == ".rce") {
      out.push_back(e.path());
    }
  }
  return out;
}

int g_calls = 0;

std::vector<double> smooth_signal(int n) {
  ++g_calls;
  return std::vector<double>(static_cast<std::size_t>(n), 1.5);
}

} // namespace compression_test

using namespace compression_test;
using recall::detail::compress_payload;
using recall::detail::decompress_payload;

TEST_CASE("small, incompressible and codec::none payloads stay raw", "[stores_compression]") {
  const recall::compression defaults{};
  CHECK_FALSE(compress_payload(repetitive(defaults.threshold - 1), defaults));
  CHECK_FALSE(compress_payload(random_bytes(1 << 20), defaults));
  CHECK_FALSE(compress_payload(repetitive(1 << 20), recall::compression{.codec = recall::codec::none}));
  const auto packed = compress_payload(repetitive(1 << 20), defaults);
  REQUIRE(packed);
  CHECK(packed->size() < (1U << 20) / 10);
  CHECK(decompress_payload(*packed) == repetitive(1 << 20));
}

TEST_CASE("hostile zstd frames are refused without a large allocation", "[stores_compression]") {
  const auto packed = *compress_payload(repetitive(1 << 20), recall::compression{});
  // Not a frame at all.
  CHECK_THROWS_AS(decompress_payload(random_bytes(64)), recall::format_error);
  CHECK_THROWS_AS(decompress_payload({}), recall::format_error);
  // Truncated, and followed by junk.
  CHECK_THROWS_AS(decompress_payload(std::span{packed}.first(packed.size() - 3)), recall::format_error);
  auto longer = packed;
  longer.push_back(std::byte{0});
  CHECK_THROWS_AS(decompress_payload(longer), recall::format_error);
  // A frame that claims 1 TiB: refused from its size before any buffer is made.
  std::vector<std::byte> forged(64);
  const std::vector<std::byte> tiny(16, std::byte{1});
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setPledgedSrcSize(context, tiny.size());
  const std::size_t n = ZSTD_compress2(context, forged.data(), forged.size(), tiny.data(), tiny.size());
  ZSTD_freeCCtx(context);
  REQUIRE(ZSTD_isError(n) == 0U);
  forged.resize(n);
  // A hand-made frame: magic, descriptor 0xE0 (single segment, 8-byte content size), the size
  // 2^40, then one empty last raw block.
  const std::vector<std::byte> huge_claim{std::byte{0x28}, std::byte{0xB5}, std::byte{0x2F}, std::byte{0xFD},
                                          std::byte{0xE0}, // 8-byte content size, single segment
                                          std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0},
                                          std::byte{0},    std::byte{1},    std::byte{0},    std::byte{0},
                                          std::byte{1},    std::byte{0},    std::byte{0}};
  CHECK_THROWS_WITH(decompress_payload(huge_claim), Catch::Contains("declares"));
  // The legitimate small frame still decodes.
  CHECK(decompress_payload(forged) == tiny);
}

TEST_CASE("manifests are padded so payloads start at a multiple of 64 bytes", "[stores_compression]") {
  recall::entry_manifest m;
  for (int length = 0; length < 80; ++length) {
    m.label = std::string(static_cast<std::size_t>(length), 'x');
    const auto region = recall::detail::encode_manifest(m);
    CHECK((recall::detail::entry_header_size + region.size()) % recall::detail::entry_payload_alignment == 0);
    CHECK(recall::detail::decode_manifest(region).label == m.label);
  }
  auto region = recall::detail::encode_manifest(m);
  const auto unpadded = recall::detail::encode_payload(m);
  if (region.size() > unpadded.size()) {
    region.back() = std::byte{1};
    CHECK_THROWS_AS(recall::detail::decode_manifest(region), recall::format_error);
  }
  // Entries of earlier builds had no padding: they still read.
  CHECK(recall::detail::decode_manifest(unpadded).label == m.label);
  auto too_long = unpadded;
  too_long.resize(unpadded.size() + recall::detail::entry_payload_alignment);
  CHECK_THROWS_AS(recall::detail::decode_manifest(too_long), recall::format_error);
}

TEST_CASE("the directory store compresses what compresses and reads both kinds back", "[stores_compression]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  const recall::function_id f{"f", recall::key{1, 2}};
  const recall::stored_entry compressible{repetitive(1 << 20), {}, {}};
  const recall::stored_entry noise{random_bytes(1 << 20), {}, {}};
  store.save({f, recall::key{3, 1}}, compressible);
  store.save({f, recall::key{3, 2}}, noise);
  const auto small_file = store.entry_path({f, recall::key{3, 1}});
  const auto raw_file = store.entry_path({f, recall::key{3, 2}});
  CHECK(std::filesystem::file_size(small_file) < (1U << 20) / 10);
  CHECK(std::filesystem::file_size(raw_file) > (1U << 20));
  const auto small_bytes = read_file(small_file);
  CHECK(recall::detail::decode_header(small_bytes).flags == recall::detail::entry_flag_zstd);
  CHECK(recall::detail::decode_header(read_file(raw_file)).flags == 0);
  CHECK(store.load({f, recall::key{3, 1}})->payload == compressible.payload);
  CHECK(store.load({f, recall::key{3, 2}})->payload == noise.payload);
  // decode_entry (recall-cache verify, Redis) unpacks too.
  CHECK(recall::detail::decode_entry(small_bytes, recall::key{3, 1}).payload == compressible.payload);

  recall::directory_store raw_store{dir.path() / "raw", recall::durability::none,
                                    recall::compression{.codec = recall::codec::none}};
  raw_store.save({f, recall::key{3, 1}}, compressible);
  CHECK(std::filesystem::file_size(raw_store.entry_path({f, recall::key{3, 1}})) > (1U << 20));
}

TEST_CASE("a memoized large result is stored compressed and loads intact", "[stores_compression]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  g_calls = 0;
  recall::memoize<&smooth_signal> f{recall::options{.directory = dir.path(), .memory = recall::memory_tier::none}};
  const auto first = f(1 << 18);
  const auto second = f(1 << 18);
  CHECK(g_calls == 1);
  CHECK(first == second);
  const auto files = entry_files(dir.path());
  REQUIRE(files.size() == 1);
  CHECK(std::filesystem::file_size(files[0]) < (std::size_t{1} << 18) * sizeof(double) / 10);
}

TEST_CASE("libzstd is loaded on first use, and its absence is a warning, not a failure", "[stores_compression]") {
  // The process's own copy: present here (the test links libzstd for the forged frames above).
  REQUIRE(recall::detail::zstd_library() != nullptr);
  CHECK(recall::detail::zstd_library() == recall::detail::zstd_library()); // loaded once

  recall_test::log_capture logs;
  CHECK_FALSE(recall::detail::load_zstd("libzstd-that-is-not-there.so.1").has_value());
  REQUIRE(logs.lines().size() == 1);
  CHECK(logs.count(recall::log_level::warning, "zstd compression is unavailable") == 1);
  CHECK(logs.count(recall::log_level::warning, "libzstd-that-is-not-there.so.1") == 1);
  // A library without zstd's functions is refused the same way.
  CHECK_FALSE(recall::detail::load_zstd("libm.so.6").has_value());
  CHECK(logs.lines().size() == 2);
}
