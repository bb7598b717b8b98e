// The on-disk format of a pack store (recall::pack_store): segment files of appended entries and
// the per-shard hash indexes that point into them; encoders, and decoders trusting nothing.
#pragma once

// Layout of a pack root, version 1:
//
//   <root>/RECALL-PACK                  marker: "recall pack store 1\n" (tells tools which store)
//   <root>/CACHEDIR.TAG                 as in directory_store
//   <root>/locks                        compute locks: one OFD byte-range lock per key
//   <root>/stats/<function folder>      per-function statistics (detail/stores/stats_file.hpp)
//   <root>/index/<ss>                   index shard ss (two hex digits, 00..3f: the call key's top
//                                       six bits), rewritten whole only when it grows
//   <root>/segments/<writer>.seg        segments; <writer> ::= host '.' boot '.' pid '.' seq
//                                       (host: the host name made safe, boot: 8 hex digits of the
//                                       kernel's boot id, seq: a per-process counter); created
//                                       with O_EXCL, so no two writers on any host share a file
//
// Every integer is little-endian; a key16 is spelled as in entry_format.hpp.
//
//   segment          ::= segment_header record*
//   segment_header   ::= magic version reserved created writer header_checksum      (64 bytes)
//   magic            ::= 'R' 'C' 'L' 'S'                                          offset  0
//   version          ::= u16   = 1  (a reader ignores a segment of another version)  offset  4
//   reserved         ::= u16   = 0                                                offset  6
//   created          ::= i64   ns since the Unix epoch                            offset  8
//   writer           ::= byte{40} the writer's name (as in the file name), NUL-padded offset 16
//   header_checksum  ::= u64   XXH3-64, seed 0, of bytes [0, 56)                  offset 56
//   record           ::= zero{0..63} entry   every entry starts at a multiple of 64 bytes
//   entry            ::= an entry as detail/stores/entry_format.hpp defines it (header, manifest,
//                        payload; checksummed), so its payload is 64-byte aligned in the file
//
// Only the writer that created a segment appends to it, and it holds an OFD write lock on the
// segment's byte 0 while it may (released by the kernel when it dies, on any host); compaction
// takes that lock before it rewrites or deletes a segment. A record is written before any index
// points at it, so an index never points at unwritten bytes; a record torn by a crash is never
// pointed at, and a walk over the segment (compaction, verify) skips it by looking for the next
// 64-byte boundary where a valid entry header starts.
//
//   index            ::= index_header slot{capacity}
//   index_header     ::= magic version shard capacity live removed reserved header_checksum (64 bytes)
//   magic            ::= 'R' 'C' 'L' 'I'                                          offset  0
//   version          ::= u16   = 1                                                offset  4
//   shard            ::= u16   which shard this is (0..63)                        offset  6
//   capacity         ::= u32   slots, a power of two in [16, 2^26]                offset  8
//   live             ::= u32   slots in state live                                offset 12
//   removed          ::= u32   slots in state removed                             offset 16
//   reserved         ::= byte{36} = 0                                             offset 20
//   header_checksum  ::= u64   XXH3-64, seed 0, of bytes [0, 56)                  offset 56
//   slot             ::= call segment offset length state checksum               (48 bytes)
//   call             ::= key16 the call key                                       offset  0
//   segment          ::= u64   XXH3-64 of the segment's file name                 offset 16
//   offset           ::= u64   where the entry starts in the segment (a multiple of 64)  24
//   length           ::= u64   the entry's bytes                                  offset 32
//   state            ::= u32   0 empty (the whole slot is zero), 1 live, 2 removed offset 40
//   checksum         ::= u32   low half of XXH3-64 of slot bytes [0, 44)          offset 44
//
// A key's home slot is its call key's low word modulo capacity; collisions probe linearly.
// Writers change an index only under an OFD write lock on its byte 0 (and check, once they hold
// it, that the file is still the one at the index's path: growing replaces it by rename). A slot
// is written in one pwrite; a reader that sees a slot whose checksum fails (a write in flight, or
// damage) reads it again, then treats it as a miss. Readers never lock.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <recall/detail/key/xxh3.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>

namespace recall::detail::pack {

inline constexpr std::string_view marker_name = "RECALL-PACK";
inline constexpr std::string_view marker_content = "recall pack store 1\n";
inline constexpr std::string_view index_folder = "index";
inline constexpr std::string_view segment_folder = "segments";
inline constexpr std::string_view stats_folder = "stats";
inline constexpr std::string_view lock_file_name = "locks";
inline constexpr std::string_view segment_extension = ".seg";

inline constexpr std::array<std::byte, 4> segment_magic{std::byte{'R'}, std::byte{'C'}, std::byte{'L'}, std::byte{'S'}};
inline constexpr std::array<std::byte, 4> index_magic{std::byte{'R'}, std::byte{'C'}, std::byte{'L'}, std::byte{'I'}};
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::size_t segment_header_size = 64;
inline constexpr std::size_t writer_name_size = 40;
inline constexpr std::size_t record_alignment = 64;
inline constexpr std::size_t index_header_size = 64;
inline constexpr std::size_t slot_size = 48;
inline constexpr std::size_t shard_count = 64;
inline constexpr std::uint32_t min_capacity = 16;
inline constexpr std::uint32_t max_capacity = 1U << 26;

enum class slot_state : std::uint32_t { empty = 0, live = 1, removed = 2 };

// The shard of a call key: its top six bits.
[[nodiscard]] inline std::size_t shard_of(const key& call) noexcept {
  return static_cast<std::size_t>(call.high() >> 58);
}

// "00".."3f"
[[nodiscard]] inline std::string shard_name(std::size_t shard) {
  constexpr char digits[] = "0123456789abcdef";
  return {digits[(shard >> 4) & 0xF], digits[shard & 0xF]};
}

// The id an index slot names a segment by.
[[nodiscard]] inline std::uint64_t segment_id(std::string_view file_name) noexcept {
  return XXH3_64bits(file_name.data(), file_name.size());
}

[[nodiscard]] inline std::uint64_t align_up(std::uint64_t offset) noexcept {
  return (offset + record_alignment - 1) / record_alignment * record_alignment;
}

namespace format_detail {
using entry_format_detail::load_key;
using entry_format_detail::load_le;
using entry_format_detail::store_key;
using entry_format_detail::store_le;
} // namespace format_detail

// ---- segments -------------------------------------------------------------------------------

struct segment_header {
  std::uint16_t version = format_version;
  std::int64_t created_ns = 0;
  std::string writer;
};

[[nodiscard]] inline std::array<std::byte, segment_header_size> encode_segment_header(const segment_header& h) {
  namespace fmt = format_detail;
  std::array<std::byte, segment_header_size> out{};
  std::memcpy(out.data(), segment_magic.data(), segment_magic.size());
  fmt::store_le(out.data() + 4, h.version, 2);
  fmt::store_le(out.data() + 8, static_cast<std::uint64_t>(h.created_ns), 8);
  std::memcpy(out.data() + 16, h.writer.data(), std::min(h.writer.size(), writer_name_size));
  fmt::store_le(out.data() + 56, XXH3_64bits(out.data(), 56), 8);
  return out;
}

// What decode_segment_header found.
enum class segment_verdict { good, newer_version, damaged };

// Checks a segment's first bytes; `out` is filled when good.
[[nodiscard]] inline segment_verdict decode_segment_header(std::span<const std::byte> bytes, segment_header& out) {
  namespace fmt = format_detail;
  if (bytes.size() < segment_header_size || std::memcmp(bytes.data(), segment_magic.data(), 4) != 0 ||
      fmt::load_le(bytes.data() + 56, 8) != XXH3_64bits(bytes.data(), 56)) {
    return segment_verdict::damaged;
  }
  out.version = static_cast<std::uint16_t>(fmt::load_le(bytes.data() + 4, 2));
  if (out.version != format_version) {
    return segment_verdict::newer_version;
  }
  if (fmt::load_le(bytes.data() + 6, 2) != 0) {
    return segment_verdict::damaged;
  }
  out.created_ns = static_cast<std::int64_t>(fmt::load_le(bytes.data() + 8, 8));
  const auto* name = reinterpret_cast<const char*>(bytes.data() + 16);
  out.writer.assign(name, strnlen(name, writer_name_size));
  return segment_verdict::good;
}

// ---- index ----------------------------------------------------------------------------------

struct index_header {
  std::uint16_t shard = 0;
  std::uint32_t capacity = min_capacity;
  std::uint32_t live = 0;
  std::uint32_t removed = 0;

  [[nodiscard]] std::uint64_t file_size() const noexcept {
    return index_header_size + std::uint64_t{capacity} * slot_size;
  }
};

[[nodiscard]] inline std::array<std::byte, index_header_size> encode_index_header(const index_header& h) {
  namespace fmt = format_detail;
  std::array<std::byte, index_header_size> out{};
  std::memcpy(out.data(), index_magic.data(), index_magic.size());
  fmt::store_le(out.data() + 4, format_version, 2);
  fmt::store_le(out.data() + 6, h.shard, 2);
  fmt::store_le(out.data() + 8, h.capacity, 4);
  fmt::store_le(out.data() + 12, h.live, 4);
  fmt::store_le(out.data() + 16, h.removed, 4);
  fmt::store_le(out.data() + 56, XXH3_64bits(out.data(), 56), 8);
  return out;
}

// Validates an index header read from a file of `file_size` bytes that should be shard `shard`.
// Throws format_error naming the defect; a header of another version says so.
[[nodiscard]] inline index_header decode_index_header(std::span<const std::byte> bytes, std::uint64_t file_size,
                                                      std::size_t shard) {
  namespace fmt = format_detail;
  if (bytes.size() < index_header_size) {
    throw format_error{"index too short: " + std::to_string(bytes.size()) + " bytes"};
  }
  if (std::memcmp(bytes.data(), index_magic.data(), 4) != 0) {
    throw format_error{"not a recall index: bad magic"};
  }
  if (fmt::load_le(bytes.data() + 56, 8) != XXH3_64bits(bytes.data(), 56)) {
    throw format_error{"index header checksum mismatch: damaged header"};
  }
  const auto version = static_cast<std::uint16_t>(fmt::load_le(bytes.data() + 4, 2));
  if (version != format_version) {
    throw format_error{"index format version " + std::to_string(version) + " (this build reads version " +
                       std::to_string(format_version) + "); written by a newer recall?"};
  }
  index_header h;
  h.shard = static_cast<std::uint16_t>(fmt::load_le(bytes.data() + 6, 2));
  h.capacity = static_cast<std::uint32_t>(fmt::load_le(bytes.data() + 8, 4));
  h.live = static_cast<std::uint32_t>(fmt::load_le(bytes.data() + 12, 4));
  h.removed = static_cast<std::uint32_t>(fmt::load_le(bytes.data() + 16, 4));
  for (std::size_t i = 20; i < 56; ++i) {
    if (bytes[i] != std::byte{0}) {
      throw format_error{"index uses reserved header bytes; written by a newer recall?"};
    }
  }
  if (h.shard != shard) {
    throw format_error{"index holds shard " + std::to_string(h.shard) + ", expected " + std::to_string(shard)};
  }
  if (h.capacity < min_capacity || h.capacity > max_capacity || (h.capacity & (h.capacity - 1)) != 0 ||
      std::uint64_t{h.live} + h.removed > h.capacity) {
    throw format_error{"index header has an impossible capacity or count"};
  }
  if (file_size != h.file_size()) {
    throw format_error{"index size mismatch: header says " + std::to_string(h.file_size()) + " bytes, file holds " +
                       std::to_string(file_size) + " (truncated or appended to)"};
  }
  return h;
}

struct slot {
  key call;
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  slot_state state = slot_state::empty;

  [[nodiscard]] bool points_at(std::uint64_t seg, std::uint64_t off) const noexcept {
    return state == slot_state::live && segment == seg && offset == off;
  }
};

using slot_bytes = std::array<std::byte, slot_size>;

[[nodiscard]] inline slot_bytes encode_slot(const slot& s) {
  namespace fmt = format_detail;
  slot_bytes out{};
  if (s.state == slot_state::empty) {
    return out;
  }
  fmt::store_key(out.data(), s.call);
  fmt::store_le(out.data() + 16, s.segment, 8);
  fmt::store_le(out.data() + 24, s.offset, 8);
  fmt::store_le(out.data() + 32, s.length, 8);
  fmt::store_le(out.data() + 40, static_cast<std::uint32_t>(s.state), 4);
  fmt::store_le(out.data() + 44, XXH3_64bits(out.data(), 44) & 0xFFFFFFFFU, 4);
  return out;
}

// The slot in `bytes` (slot_size of them), or nullopt if its checksum or state is wrong.
[[nodiscard]] inline std::optional<slot> decode_slot(const std::byte* bytes) {
  namespace fmt = format_detail;
  const std::uint64_t state = fmt::load_le(bytes + 40, 4);
  if (state == 0) {
    for (std::size_t i = 0; i < slot_size; ++i) {
      if (bytes[i] != std::byte{0}) {
        return std::nullopt;
      }
    }
    return slot{};
  }
  if (state > 2 || fmt::load_le(bytes + 44, 4) != (XXH3_64bits(bytes, 44) & 0xFFFFFFFFU)) {
    return std::nullopt;
  }
  slot s;
  s.call = fmt::load_key(bytes);
  s.segment = fmt::load_le(bytes + 16, 8);
  s.offset = fmt::load_le(bytes + 24, 8);
  s.length = fmt::load_le(bytes + 32, 8);
  s.state = static_cast<slot_state>(state);
  if (s.offset % record_alignment != 0 || s.offset < segment_header_size || s.length < entry_header_size) {
    return std::nullopt;
  }
  return s;
}

} // namespace recall::detail::pack
