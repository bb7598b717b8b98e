// How recall lays entries out in Redis: key names, and the head record that describes an entry
// and carries it inline or names its chunks. Knows nothing of hiredis.
#pragma once

// Keys, for a namespace <prefix> and a call key <hex> (32 lower-case hex digits):
//
//   {<prefix>:<hex>}                      head: the head record, then the entry when inline
//   {<prefix>:<hex>}:c<i>.<generation>    chunk i (from 0) of a chunked entry
//   {<prefix>:<hex>}:lock                 the cross-process compute lock (a random token)
//
// The braces are a Redis Cluster hash tag: every key of an entry hashes to one slot, so a
// cluster keeps an entry on one shard and scripts may touch all its keys. <generation> is 16
// hex digits drawn at random for each save, so a reader never mixes the chunks of two saves;
// a save that replaces a chunked entry deletes the old generation's chunks.
//
// The entry is byte for byte an .rce file (detail/stores/entry_format.hpp: the header with call
// key, sizes and checksums, then the entry manifest, then the payload). It follows the head
// record in the head when it fits in one chunk; otherwise it is cut into chunk_size pieces (the
// last one shorter) and the head holds the record alone.
//
// Head record, version 1, little-endian like the entry header:
//
//   magic         'R' 'C' 'L' 'R'                                           offset  0
//   version       u16 = 1                                                   offset  4
//   layout        u16   0 = entry inline after the record, 1 = chunked      offset  6
//   call          key16 the call key (as in the entry header)               offset  8
//   identity      key16 the function identity                               offset 24
//   created       i64   ns since the Unix epoch, copied from the entry      offset 40
//   entry_size    u64   bytes of the entry (header, manifest, payload)      offset 56
//   chunk_size    u64   bytes per chunk but the last; 0 when inline         offset 64
//   chunk_count   u32   ceil(entry_size / chunk_size); 0 when inline        offset 72
//   name_length   u16   <= max_name_length                                  offset 76
//   reserved      u16 = 0                                                   offset 78
//   generation    u64   names the chunks of this save                       offset 80
//   name          byte{name_length} the function's readable name            offset 88
//   checksum      u64   XXH3-64, seed 0, of bytes [0, 88 + name_length)
//   entry         byte{entry_size}, inline layout only
//
// Nothing read from Redis is trusted: the head record is checked (magic, version, checksum,
// sizes consistent with each other and within the reader's limits) before anything is sized
// from it, chunk lengths are checked on the server before the entry is allocated, and the
// entry's own checksums are verified after reassembly.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/key/xxh3.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>

namespace recall::detail::redis {

inline constexpr std::array<std::byte, 4> head_magic{std::byte{'R'}, std::byte{'C'}, std::byte{'L'}, std::byte{'R'}};
inline constexpr std::uint16_t head_version = 1;
// The fixed part of a head record, up to and including the generation: what identifies one save.
inline constexpr std::size_t head_fixed_size = 88;
inline constexpr std::size_t max_name_length = 1024;
// A head record at its largest, without the inline entry that may follow it.
inline constexpr std::size_t max_head_size = head_fixed_size + max_name_length + 8;
// A chunk holds at least the whole entry header, so chunk 0 alone tells how the entry splits.
inline constexpr std::size_t min_chunk_size = 1024;
static_assert(min_chunk_size >= entry_header_size);
// Far below Redis's 512 MB string limit; also bounds what one reply may make hiredis allocate.
inline constexpr std::size_t max_chunk_size = std::size_t{64} << 20;
// Chunks an entry may have. Removing an entry names all its chunk keys in one command, so a head
// record is refused when it announces more: a forged count must not make a reader build billions
// of key names. 2^20 chunks of the default 1 MiB hold 1 TiB.
inline constexpr std::uint32_t max_chunk_count = std::uint32_t{1} << 20;

enum class layout : std::uint16_t {
  inline_entry = 0,
  chunked = 1,
};

struct head_record {
  redis::layout layout = layout::inline_entry;
  key call;
  key identity;
  std::chrono::system_clock::time_point created{};
  std::uint64_t entry_size = 0;
  std::uint64_t chunk_size = 0;
  std::uint32_t chunk_count = 0;
  std::uint64_t generation = 0;
  std::string name;
  std::size_t size = 0; // bytes the record takes, checksum included; the inline entry follows
};

namespace head_offset {
inline constexpr std::size_t magic = 0;
inline constexpr std::size_t version = 4;
inline constexpr std::size_t layout = 6;
inline constexpr std::size_t call = 8;
inline constexpr std::size_t identity = 24;
inline constexpr std::size_t created = 40;
inline constexpr std::size_t entry_size = 56;
inline constexpr std::size_t chunk_size = 64;
inline constexpr std::size_t chunk_count = 72;
inline constexpr std::size_t name_length = 76;
inline constexpr std::size_t reserved = 78;
inline constexpr std::size_t generation = 80;
inline constexpr std::size_t name = 88;
} // namespace head_offset

// "{prefix:hex}": the head's key, and the start (and hash tag) of every key of the entry.
[[nodiscard]] inline std::string head_key(std::string_view prefix, const key& call) {
  std::string out;
  out.reserve(prefix.size() + 35);
  out.push_back('{');
  out.append(prefix);
  out.push_back(':');
  const std::size_t at = out.size();
  out.append(32, '0');
  call.write_hex(out.data() + at);
  out.push_back('}');
  return out;
}

[[nodiscard]] inline std::string chunk_key(std::string_view head, std::uint64_t generation, std::uint32_t index) {
  return std::string{head} + ":c" + std::to_string(index) + "." + entry_format_detail::hex(generation, 16);
}

[[nodiscard]] inline std::string lock_key(std::string_view head) { return std::string{head} + ":lock"; }

// SCAN patterns. A head matches exactly "{prefix:" 32 hex digits "}", so a prefix that is a
// prefix of another ("lab" and "lab:2") never sees the other's entries. The prefix holds no
// glob characters (redis_store checks it).
[[nodiscard]] inline std::string head_pattern(std::string_view prefix) {
  std::string out = "{" + std::string{prefix} + ":";
  for (int i = 0; i < 32; ++i) {
    out += "[0-9a-f]";
  }
  return out + "}";
}

[[nodiscard]] inline std::string all_keys_pattern(std::string_view prefix) { return head_pattern(prefix) + "*"; }

// Number of chunks for an entry of `entry_size` bytes cut in `chunk_size` pieces.
[[nodiscard]] constexpr std::uint64_t chunk_count_for(std::uint64_t entry_size, std::uint64_t chunk_size) noexcept {
  return entry_size / chunk_size + (entry_size % chunk_size != 0 ? 1 : 0);
}

// Bytes of chunk `index` (which must be < chunk_count) of a chunked entry.
[[nodiscard]] constexpr std::uint64_t chunk_length(const head_record& m, std::uint32_t index) noexcept {
  const std::uint64_t start = std::uint64_t{index} * m.chunk_size;
  return m.entry_size - start < m.chunk_size ? m.entry_size - start : m.chunk_size;
}

// Writes the head record of an entry into `out` (which it clears first). `name` is cut to
// max_name_length bytes: it is only for listings.
inline void encode_head_record(std::string& out, const head_record& m) {
  namespace fmt = entry_format_detail;
  const std::string_view name = std::string_view{m.name}.substr(0, max_name_length);
  std::array<std::byte, head_fixed_size> fixed{};
  std::byte* const h = fixed.data();
  for (std::size_t i = 0; i < head_magic.size(); ++i) {
    h[head_offset::magic + i] = head_magic[i];
  }
  fmt::store_le(h + head_offset::version, head_version, 2);
  fmt::store_le(h + head_offset::layout, static_cast<std::uint16_t>(m.layout), 2);
  fmt::store_key(h + head_offset::call, m.call);
  fmt::store_key(h + head_offset::identity, m.identity);
  fmt::store_le(h + head_offset::created, static_cast<std::uint64_t>(fmt::to_ns(m.created)), 8);
  fmt::store_le(h + head_offset::entry_size, m.entry_size, 8);
  fmt::store_le(h + head_offset::chunk_size, m.chunk_size, 8);
  fmt::store_le(h + head_offset::chunk_count, m.chunk_count, 4);
  fmt::store_le(h + head_offset::name_length, name.size(), 2);
  fmt::store_le(h + head_offset::reserved, 0, 2);
  fmt::store_le(h + head_offset::generation, m.generation, 8);
  out.assign(reinterpret_cast<const char*>(h), fixed.size());
  out.append(name);
  std::array<std::byte, 8> checksum{};
  fmt::store_le(checksum.data(), XXH3_64bits(out.data(), out.size()), 8);
  out.append(reinterpret_cast<const char*>(checksum.data()), checksum.size());
}

// Parses and checks the head record at the start of `bytes` (bytes past it are ignored: the
// inline entry, or nothing). Throws format_error. The checks make every later use of the sizes
// safe: entry_size holds at least an entry header, and a chunked record's chunk size lies in
// [min_chunk_size, max_chunk_size] with chunk_count = ceil(entry_size / chunk_size) in
// [2, max_chunk_count].
// The caller still compares entry_size with its own limit before reading anything more.
[[nodiscard]] inline head_record decode_head_record(std::span<const std::byte> bytes) {
  namespace fmt = entry_format_detail;
  if (bytes.size() < head_fixed_size + 8) {
    throw format_error{"redis entry head too short: " + std::to_string(bytes.size()) + " bytes"};
  }
  const std::byte* const h = bytes.data();
  for (std::size_t i = 0; i < head_magic.size(); ++i) {
    if (h[head_offset::magic + i] != head_magic[i]) {
      throw format_error{"not a recall redis entry: bad magic 0x" + fmt::hex(fmt::load_le(h, 4), 8) +
                         " (expected \"RCLR\")"};
    }
  }
  const auto version = fmt::load_le(h + head_offset::version, 2);
  if (version != head_version) {
    throw format_error{"unsupported redis head record version " + std::to_string(version) +
                       " (this build reads version " + std::to_string(head_version) + ")"};
  }
  const std::size_t name_length = static_cast<std::size_t>(fmt::load_le(h + head_offset::name_length, 2));
  if (name_length > max_name_length) {
    throw format_error{"redis head record name length " + std::to_string(name_length) + " exceeds " +
                       std::to_string(max_name_length)};
  }
  head_record m;
  m.size = head_fixed_size + name_length + 8;
  if (bytes.size() < m.size) {
    throw format_error{"redis entry head truncated inside its head record"};
  }
  const std::uint64_t stored = fmt::load_le(h + head_fixed_size + name_length, 8);
  const std::uint64_t actual = XXH3_64bits(h, head_fixed_size + name_length);
  if (stored != actual) {
    throw format_error{"redis head record checksum mismatch (stored " + fmt::hex(stored, 16) + ", computed " +
                       fmt::hex(actual, 16) + ")"};
  }
  const auto raw_layout = fmt::load_le(h + head_offset::layout, 2);
  if (raw_layout > static_cast<std::uint16_t>(layout::chunked) || fmt::load_le(h + head_offset::reserved, 2) != 0) {
    throw format_error{"redis head record uses an unknown layout or reserved bits; written by a newer recall?"};
  }
  m.layout = static_cast<layout>(raw_layout);
  m.call = fmt::load_key(h + head_offset::call);
  m.identity = fmt::load_key(h + head_offset::identity);
  m.created = std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds{static_cast<std::int64_t>(fmt::load_le(h + head_offset::created, 8))})};
  m.entry_size = fmt::load_le(h + head_offset::entry_size, 8);
  m.chunk_size = fmt::load_le(h + head_offset::chunk_size, 8);
  m.chunk_count = static_cast<std::uint32_t>(fmt::load_le(h + head_offset::chunk_count, 4));
  m.generation = fmt::load_le(h + head_offset::generation, 8);
  m.name.assign(reinterpret_cast<const char*>(h + head_offset::name), name_length);
  if (m.entry_size < entry_header_size) {
    throw format_error{"redis head record announces a " + std::to_string(m.entry_size) +
                       "-byte entry, shorter than an entry header"};
  }
  if (m.layout == layout::inline_entry) {
    if (m.chunk_size != 0 || m.chunk_count != 0) {
      throw format_error{"redis head record of an inline entry names chunks"};
    }
  } else if (m.chunk_size < min_chunk_size || m.chunk_size > max_chunk_size ||
             m.chunk_count != chunk_count_for(m.entry_size, m.chunk_size) || m.chunk_count < 2 ||
             m.chunk_count > max_chunk_count) {
    throw format_error{"redis head record has inconsistent chunking: " + std::to_string(m.chunk_count) + " chunks of " +
                       std::to_string(m.chunk_size) + " bytes for a " + std::to_string(m.entry_size) + "-byte entry"};
  }
  return m;
}

// The entry an inline head carries: `head_bytes` is the whole value of the head key, `m` its
// record as decode_head_record() read it. Throws format_error when the bytes after the record are
// not exactly the entry_size it announced, or the entry is damaged or answers another call.
[[nodiscard]] inline stored_entry decode_inline_entry(std::span<const std::byte> head_bytes, const head_record& m,
                                                      const key& call) {
  const auto entry = head_bytes.subspan(std::min(m.size, head_bytes.size()));
  if (m.layout != layout::inline_entry || entry.size() != m.entry_size) {
    throw format_error{"redis inline entry has " + std::to_string(entry.size()) + " bytes, its head says " +
                       std::to_string(m.entry_size)};
  }
  return decode_entry(entry, call);
}

// What is wrong with chunk `index` (< m.chunk_count) of a chunked entry when the server holds
// `length` bytes of it (0: the key is missing), or nullopt when it has the length `m` implies.
// Checked for every chunk before entry_assembler sizes anything from the entry header.
[[nodiscard]] inline std::optional<std::string> chunk_defect(const head_record& m, std::uint32_t index,
                                                             std::uint64_t length) {
  const std::uint64_t expected = chunk_length(m, index);
  if (length == expected) {
    return std::nullopt;
  }
  return length == 0 ? "redis chunk " + std::to_string(index) + " of " + std::to_string(m.chunk_count) + " is missing"
                     : "redis chunk " + std::to_string(index) + " has " + std::to_string(length) + " bytes, expected " +
                           std::to_string(expected);
}

// Bytes [offset, offset + length) of the concatenation of `parts`: a view into one part when the
// range lies inside it (the common case: a chunk of a large payload), else a copy assembled in
// `scratch`. The range must lie inside the concatenation.
[[nodiscard]] inline std::string_view slice(std::span<const std::string_view> parts, std::uint64_t offset,
                                            std::size_t length, std::string& scratch) {
  scratch.clear();
  for (const std::string_view part : parts) {
    if (offset >= part.size()) {
      offset -= part.size();
      continue;
    }
    const std::string_view here = part.substr(static_cast<std::size_t>(offset), length - scratch.size());
    if (scratch.empty() && here.size() == length) {
      return here;
    }
    scratch.append(here);
    offset = 0;
    if (scratch.size() == length) {
      break;
    }
  }
  return scratch;
}

// Rebuilds an entry from its bytes fed in order (the chunks of a chunked entry): the first
// entry_header_size bytes are the header, decoded and checked against the entry size the head
// record announced (and the server's chunk lengths confirmed) before the manifest and payload
// buffers are sized from it, so each is allocated once and filled without copying twice.
class entry_assembler {
public:
  explicit entry_assembler(std::uint64_t entry_size) : m_entry_size{entry_size} {}

  // Throws format_error when the header is damaged or disagrees with the entry size.
  void feed(std::span<const std::byte> bytes) {
    if (!m_header) {
      const std::size_t take = std::min(bytes.size(), m_header_bytes.size() - m_header_filled);
      std::memcpy(m_header_bytes.data() + m_header_filled, bytes.data(), take);
      m_header_filled += take;
      bytes = bytes.subspan(take);
      if (m_header_filled < m_header_bytes.size()) {
        return;
      }
      m_header = decode_header(m_header_bytes);
      check_entry_size(*m_header, m_entry_size);
      m_manifest.reserve(m_header->manifest_size);
      m_payload.reserve(static_cast<std::size_t>(m_header->payload_size));
    }
    const std::size_t to_manifest = std::min(bytes.size(), m_header->manifest_size - m_manifest.size());
    m_manifest.insert(m_manifest.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(to_manifest));
    m_payload.insert(m_payload.end(), bytes.begin() + static_cast<std::ptrdiff_t>(to_manifest), bytes.end());
  }

  // The entry, once every byte was fed and every check passed; throws format_error otherwise.
  [[nodiscard]] stored_entry finish(const key& call) {
    if (!m_header) {
      throw format_error{"redis entry ends inside its header"};
    }
    verify_entry(*m_header, call, m_manifest, m_payload);
    return stored_entry{unpack_payload(*m_header, std::move(m_payload)), m_header->metadata,
                        decode_manifest(m_manifest)};
  }

private:
  std::uint64_t m_entry_size;
  entry_header_bytes m_header_bytes{};
  std::size_t m_header_filled = 0;
  std::optional<entry_header> m_header;
  std::vector<std::byte> m_manifest;
  std::vector<std::byte> m_payload;
};

} // namespace recall::detail::redis
