// libFuzzer target: what redis_store::load does with the bytes a Redis server returns, without
// a server: the head record (decode_head_record), an inline entry (decode_inline_entry), and a
// chunked entry's length checks (chunk_defect) and reassembly (entry_assembler), in the order
// redis_store uses them.
//
// Input: one control byte (bit 0 re-seals the head record's and the entry's checksums; bits 1-7
// pick how the bytes after the head are cut into chunks, to vary the server's chunk lengths),
// then the head key's value, then (chunked layout) the bytes of the chunks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <recall/detail/stores/redis_layout.hpp>

#include "fuzz_support.hpp"

namespace {

namespace redis = recall::detail::redis;

// Recomputes the head record's checksum (when its name length is sane) and the checksums of the
// entry that follows it (inline) or that the chunks hold (chunked: the rest of the input).
void reseal(std::span<std::byte> bytes) {
  namespace fmt = recall::detail::entry_format_detail;
  if (bytes.size() < redis::head_fixed_size + 8) {
    return;
  }
  const auto name_length = static_cast<std::size_t>(fmt::load_le(bytes.data() + redis::head_offset::name_length, 2));
  const std::size_t record = redis::head_fixed_size + std::min(name_length, redis::max_name_length) + 8;
  if (bytes.size() < record) {
    return;
  }
  recall_fuzz::reseal_entry(bytes.subspan(record));
  fmt::store_le(bytes.data() + record - 8, XXH3_64bits(bytes.data(), record - 8), 8);
}

void load(std::span<const std::byte> bytes, std::uint8_t cut) {
  redis::head_record m;
  try {
    m = redis::decode_head_record(bytes);
  } catch (const recall::format_error&) {
    return;
  }
  const auto rest = bytes.subspan(m.size);
  const recall::key call = recall_fuzz::call_of(rest);
  if (m.layout == redis::layout::inline_entry) {
    try {
      static_cast<void>(redis::decode_inline_entry(bytes, m, call));
    } catch (const recall::format_error&) {
    }
    return;
  }
  // redis_store::acceptable(): entries over the reader's max_entry_size (default 512 MiB) are
  // skipped before any chunk is named.
  if (m.entry_size > (std::uint64_t{512} << 20)) {
    return;
  }
  // Chunked: the server's chunk i is the next chunk_length(i) bytes of `rest` (shortened when
  // `cut` says so, empty once `rest` runs out: a missing key). Every length is checked before
  // anything is reassembled, as redis_store does with STRLEN.
  std::vector<std::span<const std::byte>> chunks;
  std::size_t at = 0;
  for (std::uint32_t i = 0; i < m.chunk_count; ++i) {
    auto length = static_cast<std::size_t>(std::min<std::uint64_t>(redis::chunk_length(m, i), rest.size() - at));
    if (i == (cut >> 1) % m.chunk_count && (cut & 0x80) != 0) {
      length /= 2; // a chunk the server holds truncated
    }
    if (redis::chunk_defect(m, i, length)) {
      return;
    }
    chunks.push_back(rest.subspan(at, length));
    at += length;
  }
  try {
    redis::entry_assembler assembler{m.entry_size};
    for (const auto chunk : chunks) {
      assembler.feed(chunk);
    }
    static_cast<void>(assembler.finish(call));
  } catch (const recall::format_error&) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  auto bytes = recall_fuzz::to_bytes(data + 1, size - 1);
  if ((data[0] & recall_fuzz::reseal_bit) != 0) {
    reseal(bytes);
  }
  load(bytes, data[0]);
  return 0;
}
