// Tests of the entry file format: round trips, the exact layout, and every way decoding must fail.
#include "catch.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <recall/detail/key/xxh3.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/stores/store.hpp>

namespace {

using recall::key;
using recall::detail::decode_entry;
using recall::detail::decode_header;
using recall::detail::encode_entry;
using recall::detail::entry_header_size;
namespace offset = recall::detail::entry_offset;

const key call_key{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
const key identity_key{0xa1b2c3d4e5f60718ULL, 0x293a4b5c6d7e8f90ULL};

recall::stored_entry sample_entry(std::size_t payload_size = 100) {
  recall::stored_entry entry;
  entry.payload.resize(payload_size);
  for (std::size_t i = 0; i < payload_size; ++i) {
    entry.payload[i] = static_cast<std::byte>((i * 37 + 11) & 0xFF);
  }
  entry.metadata.created =
      std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds{1'700'000'000'123'456'789LL})};
  entry.metadata.compute_time = std::chrono::nanoseconds{42'000'017};
  return entry;
}

std::uint64_t read_le(const std::vector<std::byte>& bytes, std::size_t at, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = width; i-- > 0;) {
    value = (value << 8) | std::to_integer<std::uint64_t>(bytes[at + i]);
  }
  return value;
}

void write_le(std::vector<std::byte>& bytes, std::size_t at, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) {
    bytes[at + i] = static_cast<std::byte>((value >> (8 * i)) & 0xFF);
  }
}

// Recomputes the header checksum, as a forger (or a buggy writer) would.
void reseal(std::vector<std::byte>& bytes) {
  write_le(bytes, offset::header_checksum, recall::detail::entry_header_checksum(bytes.data()), 8);
}

// The message of the format_error decoding throws, or "" if it does not throw one.
std::string decode_error(std::span<const std::byte> bytes, const key& expected = call_key) {
  try {
    (void)decode_entry(bytes, expected);
  } catch (const recall::format_error& error) {
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("entry_format: round trip keeps payload and metadata", "[stores_entry_format]") {
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{70'000}}) {
    const auto entry = sample_entry(size);
    const auto bytes = encode_entry(call_key, identity_key, entry);
    REQUIRE(bytes.size() == entry_header_size + recall::detail::encode_manifest(entry.manifest).size() + size);
    const auto decoded = decode_entry(bytes, call_key);
    CHECK(decoded.payload == entry.payload);
    CHECK(decoded.metadata.created == entry.metadata.created);
    CHECK(decoded.metadata.compute_time == entry.metadata.compute_time);
  }
}

TEST_CASE("entry_format: header-only encoding matches the one-buffer encoding", "[stores_entry_format]") {
  const auto entry = sample_entry();
  const auto manifest = recall::detail::encode_manifest(entry.manifest);
  const auto header =
      recall::detail::encode_entry_header(call_key, identity_key, entry.metadata, manifest, entry.payload);
  const auto whole = encode_entry(call_key, identity_key, entry);
  CHECK(std::vector<std::byte>(whole.begin(), whole.begin() + entry_header_size) ==
        std::vector<std::byte>(header.begin(), header.end()));
}

TEST_CASE("entry_format: the bytes follow the documented layout", "[stores_entry_format]") {
  const auto entry = sample_entry();
  const auto bytes = encode_entry(call_key, identity_key, entry);
  CHECK(entry_header_size == 96);
  const auto manifest = recall::detail::encode_manifest(entry.manifest);
  CHECK(std::string(reinterpret_cast<const char*>(bytes.data()), 4) == "RCLE");
  CHECK(read_le(bytes, offset::version, 2) == 1);
  CHECK(read_le(bytes, offset::flags, 2) == 0);
  // Keys are stored high word first, big-endian: the bytes spell key::hex().
  CHECK(std::to_integer<int>(bytes[offset::call]) == 0x01);
  CHECK(std::to_integer<int>(bytes[offset::call + 15]) == 0x10);
  CHECK(std::to_integer<int>(bytes[offset::identity]) == 0xa1);
  CHECK(read_le(bytes, offset::created, 8) == 1'700'000'000'123'456'789ULL);
  CHECK(read_le(bytes, offset::compute_time, 8) == 42'000'017ULL);
  CHECK(read_le(bytes, offset::payload_size, 8) == entry.payload.size());
  CHECK(read_le(bytes, offset::manifest_size, 4) == manifest.size());
  CHECK(read_le(bytes, offset::reserved, 4) == 0);
  const key body_checksum = recall::detail::entry_body_checksum(manifest, entry.payload);
  CHECK(std::to_integer<std::uint64_t>(bytes[offset::body_checksum]) == (body_checksum.high() >> 56));
  CHECK(read_le(bytes, offset::header_checksum, 8) == XXH3_64bits(bytes.data(), offset::header_checksum));
  const auto payload_start = bytes.begin() + static_cast<std::ptrdiff_t>(entry_header_size + manifest.size());
  CHECK(std::vector<std::byte>(bytes.begin() + entry_header_size, payload_start) == manifest);
  CHECK(std::vector<std::byte>(payload_start, bytes.end()) == entry.payload);
}

TEST_CASE("entry_format: decode_header reads the header alone", "[stores_entry_format]") {
  const auto entry = sample_entry(5000);
  const auto bytes = encode_entry(call_key, identity_key, entry);
  const auto header = decode_header(std::span{bytes}.first(entry_header_size));
  CHECK(header.version == 1);
  CHECK(header.flags == 0);
  CHECK(header.call == call_key);
  CHECK(header.identity == identity_key);
  CHECK(header.metadata.created == entry.metadata.created);
  CHECK(header.metadata.compute_time == entry.metadata.compute_time);
  CHECK(header.payload_size == 5000);
  const auto manifest = recall::detail::encode_manifest(entry.manifest);
  CHECK(header.manifest_size == manifest.size());
  CHECK(header.body_checksum == recall::detail::entry_body_checksum(manifest, entry.payload));
  CHECK_NOTHROW(recall::detail::check_entry_size(header, entry_header_size + manifest.size() + 5000));
  CHECK_THROWS_AS(recall::detail::check_entry_size(header, entry_header_size + manifest.size() + 4999),
                  recall::format_error);
}

TEST_CASE("entry_format: negative times survive", "[stores_entry_format]") {
  auto entry = sample_entry(3);
  entry.metadata.created = std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds{-5'000'000'000LL})};
  entry.metadata.compute_time = std::chrono::nanoseconds{-1};
  const auto decoded = decode_entry(encode_entry(call_key, identity_key, entry), call_key);
  CHECK(decoded.metadata.created == entry.metadata.created);
  CHECK(decoded.metadata.compute_time == entry.metadata.compute_time);
}

TEST_CASE("entry_format: every flipped manifest or payload byte is a checksum error", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry(64));
  for (std::size_t i = entry_header_size; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= std::byte{0x01};
    INFO("byte " << i);
    CHECK(contains(decode_error(bad), "entry checksum mismatch"));
  }
}

TEST_CASE("entry_format: every flipped header byte is caught", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry(64));
  for (std::size_t i = 0; i < entry_header_size; ++i) {
    for (const auto bit : {std::byte{0x01}, std::byte{0x80}}) {
      auto bad = good;
      bad[i] ^= bit;
      INFO("byte " << i);
      const std::string message = decode_error(bad);
      if (i < offset::version) {
        CHECK(contains(message, "bad magic"));
      } else if (i < offset::flags) {
        CHECK(contains(message, "unsupported entry format version"));
      } else {
        CHECK(contains(message, "header checksum mismatch"));
      }
    }
  }
}

TEST_CASE("entry_format: too short, truncated and appended files", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry(64));
  const std::span<const std::byte> all{good};

  CHECK(contains(decode_error(all.first(0)), "too short"));
  CHECK(contains(decode_error(all.first(3)), "too short"));
  CHECK(contains(decode_error(all.first(entry_header_size - 1)), "too short"));
  CHECK(contains(decode_error(all.first(entry_header_size)), "size mismatch"));
  CHECK(contains(decode_error(all.first(good.size() - 1)), "size mismatch"));

  auto longer = good;
  longer.push_back(std::byte{0});
  CHECK(contains(decode_error(longer), "size mismatch"));

  const std::vector<std::byte> foreign(200, std::byte{'x'});
  CHECK(contains(decode_error(foreign), "bad magic"));
}

TEST_CASE("entry_format: an entry read under another key is rejected", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry());
  const key other{call_key.high(), call_key.low() ^ 1};
  const std::string message = decode_error(good, other);
  CHECK(contains(message, "entry holds call " + call_key.hex()));
  CHECK(contains(message, "expected " + other.hex()));
}

TEST_CASE("entry_format: versions and flags this build does not know", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry());

  auto newer = good;
  write_le(newer, offset::version, 2, 2);
  reseal(newer);
  CHECK(contains(decode_error(newer), "unsupported entry format version 2"));

  // Bit 0 is zstd: on a raw payload it fails as a frame that is not one.
  auto zstd_flagged = good;
  write_le(zstd_flagged, offset::flags, 1, 2);
  reseal(zstd_flagged);
  CHECK(contains(decode_error(zstd_flagged), "not a zstd frame"));
  for (int bit = 1; bit < 16; ++bit) {
    auto flagged = good;
    write_le(flagged, offset::flags, std::uint64_t{1} << bit, 2);
    reseal(flagged);
    INFO("flag bit " << bit);
    CHECK(contains(decode_error(flagged), "unknown flags"));
  }
}

TEST_CASE("entry_format: a forged size with a valid header checksum allocates nothing", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry(64));
  // Sizes that would throw bad_alloc or length_error (not format_error) if trusted, one that
  // wraps around when the header size is added, and near misses.
  for (const std::uint64_t forged :
       {std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::uint64_t>::max() - entry_header_size + 1,
        std::uint64_t{1} << 62, std::uint64_t{1} << 40, std::uint64_t{65}, std::uint64_t{63}, std::uint64_t{0}}) {
    auto bad = good;
    write_le(bad, offset::payload_size, forged, 8);
    reseal(bad);
    INFO("forged size " << forged);
    CHECK_NOTHROW((void)decode_header(bad));
    CHECK(contains(decode_error(bad), "size mismatch"));
  }
}

TEST_CASE("entry_format: a forged payload with a matching size still fails its checksum", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry(64));
  auto bad = good;
  bad.back() ^= std::byte{0xFF};
  reseal(bad); // the header is untouched, so this changes nothing: the payload checksum guards
  CHECK(contains(decode_error(bad), "entry checksum mismatch"));
}

TEST_CASE("entry_format: the manifest round-trips", "[stores_entry_format]") {
  auto entry = sample_entry(10);
  entry.manifest.function = "ns::simulate";
  entry.manifest.signature = "(const ns::params&,int)->double";
  entry.manifest.version = "2";
  entry.manifest.label = "{dt=0.01 steps=100} 1000";
  entry.manifest.argument_types = {"const ns::params&", "int"};
  entry.manifest.argument_digests = {std::string(32, 'a'), std::string(32, 'b')};
  entry.manifest.global_names = {"g_temperature"};
  entry.manifest.global_digests = {std::string(32, 'c')};
  entry.manifest.host = "node-7";
  const auto decoded = decode_entry(encode_entry(call_key, identity_key, entry), call_key);
  CHECK(decoded.manifest.function == entry.manifest.function);
  CHECK(decoded.manifest.signature == entry.manifest.signature);
  CHECK(decoded.manifest.version == "2");
  CHECK(decoded.manifest.label == entry.manifest.label);
  CHECK(decoded.manifest.argument_types == entry.manifest.argument_types);
  CHECK(decoded.manifest.argument_digests == entry.manifest.argument_digests);
  CHECK(decoded.manifest.global_names == entry.manifest.global_names);
  CHECK(decoded.manifest.global_digests == entry.manifest.global_digests);
  CHECK(decoded.manifest.host == "node-7");
  CHECK(decoded.payload == entry.payload);
}

namespace {
// The manifest as builds before the body signature wrote it: the same members, no `body`.
struct manifest_before_body {
  std::string function, signature, version, label;
  std::vector<std::string> argument_types, argument_digests, global_names, global_digests;
  std::string host;
};
} // namespace

TEST_CASE("entry_format: the manifest records the body signature, and reads manifests without one",
          "[stores_entry_format]") {
  recall::entry_manifest m;
  m.function = "ns::simulate";
  m.signature = "(int)->double";
  m.argument_types = {"int"};
  m.argument_digests = {std::string(32, 'a')};
  m.host = "node-7:42";
  const manifest_before_body old{m.function,         m.signature,    m.version,        m.label, m.argument_types,
                                 m.argument_digests, m.global_names, m.global_digests, m.host};
  auto old_bytes = recall::detail::encode_payload(old);
  old_bytes.resize(old_bytes.size() + (64 - (entry_header_size + old_bytes.size()) % 64) % 64);

  SECTION("untracked code writes exactly what older builds wrote, so they keep reading it") {
    CHECK(recall::detail::encode_manifest(m) == old_bytes);
    CHECK(recall::detail::decode_manifest(old_bytes).body.empty());
    CHECK(recall::detail::decode_manifest(old_bytes).host == "node-7:42");
  }
  SECTION("a body signature round-trips, whatever padding it leaves") {
    for (std::size_t length = 1; length <= 80; ++length) {
      m.body = std::string(length, 'f');
      const auto bytes = recall::detail::encode_manifest(m);
      CHECK((entry_header_size + bytes.size()) % 64 == 0);
      const auto decoded = recall::detail::decode_manifest(bytes);
      CHECK(decoded.body == m.body);
      CHECK(decoded.host == m.host);
    }
    m.body = "0123456789abcdef0123456789abcdef";
    auto entry = sample_entry(10);
    entry.manifest = m;
    CHECK(decode_entry(encode_entry(call_key, identity_key, entry), call_key).manifest.body == m.body);
  }
  SECTION("bytes after the body that are not padding are rejected") {
    const std::size_t unpadded = recall::detail::encode_payload(old).size();
    m.body = "abc";
    while ((entry_header_size + unpadded + 8 + m.body.size()) % 64 == 0) {
      m.body += 'd'; // leave some padding to damage
    }
    auto bytes = recall::detail::encode_manifest(m);
    REQUIRE(bytes.size() > unpadded + 8 + m.body.size());
    bytes.back() = std::byte{1};
    CHECK_THROWS_AS(recall::detail::decode_manifest(bytes), recall::format_error);
  }
  CHECK(recall::body_short_form("0123456789abcdef0123456789abcdef") == "0123456789ab");
  CHECK(recall::body_short_form("") == "untracked");
}

TEST_CASE("entry_format: a forged manifest size is rejected before anything is allocated", "[stores_entry_format]") {
  const auto good = encode_entry(call_key, identity_key, sample_entry(64));
  for (const std::uint64_t forged : {std::uint64_t{0xFFFFFFFF}, std::uint64_t{(1U << 20) + 1}}) {
    auto bad = good;
    write_le(bad, offset::manifest_size, forged, 4);
    reseal(bad);
    CHECK(contains(decode_error(bad), "manifest size"));
  }
  auto shifted = good;
  write_le(shifted, offset::manifest_size, read_le(good, offset::manifest_size, 4) + 8, 4);
  write_le(shifted, offset::payload_size, 56, 8);
  reseal(shifted);
  // The same bytes split elsewhere: the manifest no longer decodes.
  CHECK(contains(decode_error(shifted), "manifest padding is not zero"));
}
