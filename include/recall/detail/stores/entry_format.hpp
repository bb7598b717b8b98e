// The on-disk format of one cache entry (a *.rce file): encoder, and a decoder trusting nothing.
#pragma once

// Layout of an entry file, version 1. Every integer is little-endian; i64 is two's complement.
// A key16 is a recall::key as key::bytes() spells it: the high word then the low word, each
// big-endian (the same order as key::hex() and XXH128's canonical form).
//
//   entry            ::= header manifest payload
//   header           ::= magic version flags call identity created compute_time payload_size
//                        manifest_size reserved body_checksum header_checksum   (96 bytes)
//   magic            ::= 'R' 'C' 'L' 'E'                                      offset  0
//   version          ::= u16   = 1                                            offset  4
//   flags            ::= u16   bit 0: payload is one zstd frame; others 0      offset  6
//   call             ::= key16 the key of the call the entry answers          offset  8
//   identity         ::= key16 the function identity (function_id::identity)  offset 24
//   created          ::= i64   ns since the Unix epoch (system_clock)         offset 40
//   compute_time     ::= i64   ns the call took to compute                    offset 48
//   payload_size     ::= u64   bytes of payload                               offset 56
//   manifest_size    ::= u32   bytes of manifest                              offset 64
//   reserved         ::= u32   = 0                                            offset 68
//   body_checksum    ::= key16 XXH3-128, seed 0, of manifest then payload     offset 72
//   header_checksum  ::= u64   XXH3-64, seed 0, of header bytes [0, 88)       offset 88
//   manifest         ::= byte{manifest_size}: manifest_fields [ body ] padding offset 96
//   manifest_fields  ::= entry_manifest's members function .. host, in declaration order, in
//                        the canonical payload encoding (canonical_archive.hpp)
//   body             ::= entry_manifest::body in the same encoding (u64 length, then its
//                        bytes), present only when non-empty; entries written before it
//                        existed, and entries of untracked code, have none
//   padding          ::= 0..63 zero bytes, so that the payload starts at a multiple of 64 bytes
//   payload          ::= byte{payload_size}                      offset 96 + manifest_size
//                        the result's canonical payload encoding, or (flag bit 0) one zstd
//                        frame declaring its content size and holding exactly that encoding
//
// A reader tells `body` from padding by its first byte: a non-empty body's length is not zero.
// (Readers older than `body` reject a manifest that has one as having trailing bytes; they
// recompute such an entry, as they would any entry they cannot read.)
// The padding makes a raw payload's arrays aligned in a memory map of the file (recall::mapped);
// entries written without it (by earlier builds) read the same.
// Reading order (each step trusts only what the previous ones checked): length >= 96, magic,
// version (it fixes the header layout), header checksum, flags and reserved (a reader rejects
// anything it does not know), call key, 96 + manifest_size + payload_size == file length (the
// size fields are never used to allocate before this), body checksum, then the manifest's
// decoding. Nothing follows the payload. Tools that only list entries read the header and the
// manifest, never the payload.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/key/xxh3.hpp>
#include <recall/detail/stores/zstd_codec.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/stores/store.hpp>

namespace recall::detail {

inline constexpr std::array<std::byte, 4> entry_magic{std::byte{'R'}, std::byte{'C'}, std::byte{'L'}, std::byte{'E'}};
inline constexpr std::uint16_t entry_format_version = 1;
// The payload is a zstd frame (detail/stores/zstd_codec.hpp).
inline constexpr std::uint16_t entry_flag_zstd = 1;
// Flags this build understands; any other bit makes an entry unreadable.
inline constexpr std::uint16_t entry_known_flags = entry_flag_zstd;
// Payloads start at a multiple of this many bytes from the start of the file.
inline constexpr std::size_t entry_payload_alignment = 64;
inline constexpr std::size_t entry_header_size = 96;
// A manifest is a few hundred bytes; anything larger than this is not one.
inline constexpr std::uint32_t max_manifest_size = 1U << 20;

// Field offsets inside the header, as in the grammar above.
namespace entry_offset {
inline constexpr std::size_t magic = 0;
inline constexpr std::size_t version = 4;
inline constexpr std::size_t flags = 6;
inline constexpr std::size_t call = 8;
inline constexpr std::size_t identity = 24;
inline constexpr std::size_t created = 40;
inline constexpr std::size_t compute_time = 48;
inline constexpr std::size_t payload_size = 56;
inline constexpr std::size_t manifest_size = 64;
inline constexpr std::size_t reserved = 68;
inline constexpr std::size_t body_checksum = 72;
inline constexpr std::size_t header_checksum = 88;
} // namespace entry_offset

// A header that passed decode_header(): magic, version, checksum and flags are known good.
struct entry_header {
  std::uint16_t version = entry_format_version;
  std::uint16_t flags = 0;
  key call;
  key identity;
  entry_metadata metadata;
  std::uint64_t payload_size = 0;
  std::uint32_t manifest_size = 0;
  key body_checksum;

  [[nodiscard]] std::uint64_t file_size() const noexcept {
    return entry_header_size + std::uint64_t{manifest_size} + payload_size;
  }
};

using entry_header_bytes = std::array<std::byte, entry_header_size>;

namespace entry_format_detail {

inline void store_le(std::byte* out, std::uint64_t value, std::size_t width) noexcept {
  for (std::size_t i = 0; i < width; ++i) {
    out[i] = static_cast<std::byte>((value >> (8 * i)) & 0xFF);
  }
}

[[nodiscard]] inline std::uint64_t load_le(const std::byte* in, std::size_t width) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = width; i-- > 0;) {
    value = (value << 8) | std::to_integer<std::uint64_t>(in[i]);
  }
  return value;
}

inline void store_key(std::byte* out, const key& k) noexcept {
  const auto bytes = k.bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[i] = bytes[i];
  }
}

[[nodiscard]] inline key load_key(const std::byte* in) noexcept {
  std::array<std::byte, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = in[i];
  }
  return key::from_bytes(bytes);
}

[[nodiscard]] inline std::string hex(std::uint64_t value, int digits) {
  constexpr char alphabet[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4) {
    out[static_cast<std::size_t>(i)] = alphabet[value & 0xF];
  }
  return out;
}

[[nodiscard]] inline std::int64_t to_ns(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

} // namespace entry_format_detail

// XXH3-64 of the first entry_offset::header_checksum bytes of `header` (which must hold them).
[[nodiscard]] inline std::uint64_t entry_header_checksum(const std::byte* header) noexcept {
  return XXH3_64bits(header, entry_offset::header_checksum);
}

// XXH3-128 of the manifest bytes followed by the payload bytes.
[[nodiscard]] inline key entry_body_checksum(std::span<const std::byte> manifest,
                                             std::span<const std::byte> payload) noexcept {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  XXH3_128bits_update(&state, manifest.data(), manifest.size());
  XXH3_128bits_update(&state, payload.data(), payload.size());
  return to_key(XXH3_128bits_digest(&state));
}

// The manifest's canonical encoding followed by the zero bytes that align the payload.
[[nodiscard]] inline std::vector<std::byte> encode_manifest(const entry_manifest& m) {
  std::vector<std::byte> out;
  const auto write = [&](auto& sink) {
    canonical_writer<std::remove_reference_t<decltype(sink)>, encoding_purpose::payload> writer{sink};
    writer(m.function, m.signature, m.version, m.label, m.argument_types, m.argument_digests, m.global_names,
           m.global_digests, m.host);
    if (!m.body.empty()) {
      writer(m.body);
    }
  };
  counting_sink counter;
  write(counter);
  out.reserve(counter.size() + entry_payload_alignment);
  buffer_sink sink{out};
  write(sink);
  const std::size_t end = entry_header_size + out.size();
  out.resize(out.size() + (entry_payload_alignment - end % entry_payload_alignment) % entry_payload_alignment);
  return out;
}

// The header for `manifest` (already encoded) and `payload`; write it, then the manifest, then
// the payload, to make an entry file. Lets a writer send a large payload straight from the
// caller's buffer (writev) instead of copying it.
[[nodiscard]] inline entry_header_bytes encode_entry_header(const key& call, const key& identity,
                                                            const entry_metadata& metadata,
                                                            std::span<const std::byte> manifest,
                                                            std::span<const std::byte> payload,
                                                            std::uint16_t flags = 0) {
  namespace fmt = entry_format_detail;
  entry_header_bytes out{};
  std::byte* const h = out.data();
  for (std::size_t i = 0; i < entry_magic.size(); ++i) {
    h[entry_offset::magic + i] = entry_magic[i];
  }
  fmt::store_le(h + entry_offset::version, entry_format_version, 2);
  fmt::store_le(h + entry_offset::flags, flags, 2);
  fmt::store_key(h + entry_offset::call, call);
  fmt::store_key(h + entry_offset::identity, identity);
  fmt::store_le(h + entry_offset::created, static_cast<std::uint64_t>(fmt::to_ns(metadata.created)), 8);
  fmt::store_le(h + entry_offset::compute_time, static_cast<std::uint64_t>(metadata.compute_time.count()), 8);
  fmt::store_le(h + entry_offset::payload_size, payload.size(), 8);
  fmt::store_le(h + entry_offset::manifest_size, manifest.size(), 4);
  fmt::store_le(h + entry_offset::reserved, 0, 4);
  fmt::store_key(h + entry_offset::body_checksum, entry_body_checksum(manifest, payload));
  fmt::store_le(h + entry_offset::header_checksum, entry_header_checksum(h), 8);
  return out;
}

// The whole entry file in one buffer (header then payload).
[[nodiscard]] inline std::vector<std::byte> encode_entry(const key& call, const key& identity,
                                                         const stored_entry& entry) {
  const auto manifest = encode_manifest(entry.manifest);
  const auto header = encode_entry_header(call, identity, entry.metadata, manifest, entry.payload);
  // Sized once and filled with memcpy: vector::insert into an empty vector draws a GCC 12
  // -Wstringop-overflow false positive.
  std::vector<std::byte> out(header.size() + manifest.size() + entry.payload.size());
  std::memcpy(out.data(), header.data(), header.size());
  std::memcpy(out.data() + header.size(), manifest.data(), manifest.size());
  if (!entry.payload.empty()) {
    std::memcpy(out.data() + header.size() + manifest.size(), entry.payload.data(), entry.payload.size());
  }
  return out;
}

// Validates and parses the header at the start of `bytes` (bytes past the header are ignored,
// so a reader may pass just the first entry_header_size bytes of a file). Checks length, magic,
// version, header checksum and flags; not the call key, size or payload (see verify_entry).
// Throws format_error.
[[nodiscard]] inline entry_header decode_header(std::span<const std::byte> bytes) {
  namespace fmt = entry_format_detail;
  const std::byte* const h = bytes.data();
  if (bytes.size() >= entry_magic.size()) {
    for (std::size_t i = 0; i < entry_magic.size(); ++i) {
      if (h[entry_offset::magic + i] != entry_magic[i]) {
        throw format_error{"not a recall entry: bad magic 0x" + fmt::hex(fmt::load_le(h, 4), 8) +
                           " (expected \"RCLE\")"};
      }
    }
  }
  if (bytes.size() < entry_header_size) {
    throw format_error{"entry too short: " + std::to_string(bytes.size()) + " bytes, a header takes " +
                       std::to_string(entry_header_size)};
  }
  entry_header out;
  out.version = static_cast<std::uint16_t>(fmt::load_le(h + entry_offset::version, 2));
  if (out.version != entry_format_version) {
    throw format_error{"unsupported entry format version " + std::to_string(out.version) +
                       " (this build reads version " + std::to_string(entry_format_version) + ")"};
  }
  const std::uint64_t stored_checksum = fmt::load_le(h + entry_offset::header_checksum, 8);
  const std::uint64_t actual_checksum = entry_header_checksum(h);
  if (stored_checksum != actual_checksum) {
    throw damaged_entry_error{"entry header checksum mismatch (stored " + fmt::hex(stored_checksum, 16) +
                              ", computed " + fmt::hex(actual_checksum, 16) + "): torn or damaged header"};
  }
  out.flags = static_cast<std::uint16_t>(fmt::load_le(h + entry_offset::flags, 2));
  if ((out.flags & ~entry_known_flags) != 0) {
    throw format_error{"entry uses unknown flags 0x" + fmt::hex(out.flags, 4) + " (this build knows 0x" +
                       fmt::hex(entry_known_flags, 4) + "); written by a newer recall?"};
  }
  out.call = fmt::load_key(h + entry_offset::call);
  out.identity = fmt::load_key(h + entry_offset::identity);
  out.metadata.created =
      std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds{static_cast<std::int64_t>(fmt::load_le(h + entry_offset::created, 8))})};
  out.metadata.compute_time =
      std::chrono::nanoseconds{static_cast<std::int64_t>(fmt::load_le(h + entry_offset::compute_time, 8))};
  if (fmt::load_le(h + entry_offset::reserved, 4) != 0) {
    throw format_error{"entry uses a reserved header field; written by a newer recall?"};
  }
  out.payload_size = fmt::load_le(h + entry_offset::payload_size, 8);
  out.manifest_size = static_cast<std::uint32_t>(fmt::load_le(h + entry_offset::manifest_size, 4));
  if (out.manifest_size > max_manifest_size) {
    throw format_error{"entry manifest size " + std::to_string(out.manifest_size) + " exceeds the limit of " +
                       std::to_string(max_manifest_size) + " bytes"};
  }
  out.body_checksum = fmt::load_key(h + entry_offset::body_checksum);
  return out;
}

// Checks that a file of `file_size` bytes is exactly the header plus the payload it announces,
// which is what makes payload_size safe to use. Throws format_error.
inline void check_entry_size(const entry_header& header, std::uint64_t file_size) {
  // Compared this way round so a forged payload_size near 2^64 cannot overflow.
  const std::uint64_t fixed = entry_header_size + std::uint64_t{header.manifest_size};
  if (file_size < fixed || header.payload_size != file_size - fixed) {
    throw format_error{"entry size mismatch: header says " + std::to_string(header.manifest_size) + " manifest and " +
                       std::to_string(header.payload_size) + " payload bytes, file holds " + std::to_string(file_size) +
                       " bytes in all (truncated, appended to, or forged)"};
  }
}

// Checks that the entry answers `expected_call`: a file renamed, copied or moved under another
// key's name fails here. Throws format_error.
inline void check_entry_call(const entry_header& header, const key& expected_call) {
  if (header.call != expected_call) {
    throw format_error{"entry holds call " + header.call.hex() + ", expected " + expected_call.hex() +
                       " (file renamed, copied or moved?)"};
  }
}

// The checks outside the header: the entry answers `expected_call` (a file renamed or copied
// under another key fails here), manifest and payload have the announced sizes and checksum.
// Throws format_error; damaged_entry_error when the checksum does not match.
inline void verify_entry(const entry_header& header, const key& expected_call, std::span<const std::byte> manifest,
                         std::span<const std::byte> payload) {
  check_entry_call(header, expected_call);
  if (manifest.size() != header.manifest_size) {
    throw format_error{"entry manifest is " + std::to_string(manifest.size()) + " bytes, header says " +
                       std::to_string(header.manifest_size)};
  }
  check_entry_size(header, entry_header_size + static_cast<std::uint64_t>(manifest.size()) + payload.size());
  const key actual = entry_body_checksum(manifest, payload);
  if (actual != header.body_checksum) {
    throw damaged_entry_error{"entry checksum mismatch (stored " + header.body_checksum.hex() + ", computed " +
                              actual.hex() + "): damaged manifest or payload"};
  }
}

// Decodes a manifest whose bytes passed verify_entry (or were read for listing: a damaged one
// throws format_error like any hostile payload).
[[nodiscard]] inline entry_manifest decode_manifest(std::span<const std::byte> bytes) {
  entry_manifest m;
  canonical_reader reader{bytes};
  try {
    reader(m.function, m.signature, m.version, m.label, m.argument_types, m.argument_digests, m.global_names,
           m.global_digests, m.host);
    const auto rest = bytes.last(reader.remaining());
    if (std::any_of(rest.begin(), rest.end(), [](std::byte b) { return b != std::byte{0}; })) {
      reader(m.body);
    }
  } catch (const cereal::Exception& e) {
    throw format_error{std::string{"manifest does not decode: "} + e.what()};
  }
  const std::size_t padding = reader.remaining();
  if (padding >= entry_payload_alignment) {
    throw format_error{"manifest has " + std::to_string(padding) + " unexpected trailing bytes"};
  }
  for (const std::byte b : bytes.last(padding)) {
    if (b != std::byte{0}) {
      throw format_error{"manifest padding is not zero"};
    }
  }
  return m;
}

// The result's canonical encoding from a verified payload: the payload itself, or its
// decompression when the header says it is compressed. Throws format_error.
[[nodiscard]] inline std::vector<std::byte> unpack_payload(const entry_header& header, std::vector<std::byte> payload) {
  if ((header.flags & entry_flag_zstd) != 0) {
    return decompress_payload(payload);
  }
  return payload;
}

// Decodes a whole entry file held in memory. Throws format_error on any defect listed in the
// layout comment; allocates only after every check passed, and only file_bytes.size() bytes.
[[nodiscard]] inline stored_entry decode_entry(std::span<const std::byte> file_bytes, const key& expected_call) {
  const entry_header header = decode_header(file_bytes);
  check_entry_size(header, file_bytes.size());
  const auto manifest = file_bytes.subspan(entry_header_size, header.manifest_size);
  const auto payload = file_bytes.subspan(entry_header_size + header.manifest_size);
  verify_entry(header, expected_call, manifest, payload);
  return stored_entry{unpack_payload(header, std::vector<std::byte>(payload.begin(), payload.end())), header.metadata,
                      decode_manifest(manifest)};
}

} // namespace recall::detail
