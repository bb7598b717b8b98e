// Helpers shared by the libFuzzer targets: turning fuzz input into bytes, and re-sealing forged
// entries so the fuzzer reaches the decoders behind the checksums.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <recall/detail/key/xxh3.hpp>
#include <recall/detail/stores/entry_format.hpp>

namespace recall_fuzz {

// A random mutation almost never keeps an XXH3 checksum right, so a fuzzer feeding raw bytes
// would only ever exercise the checksum comparisons. Each target takes a first "control" byte:
// with bit 0 set it re-seals what follows (recomputes the checksums over the mutated bytes)
// before decoding, which models the strongest attacker, one who can write a well-formed file.
inline constexpr std::uint8_t reseal_bit = 1;

[[nodiscard]] inline std::vector<std::byte> to_bytes(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> out(size);
  if (size != 0) {
    std::memcpy(out.data(), data, size);
  }
  return out;
}

// Recomputes the body checksum (over every byte after the header, clamped to what is there) and
// then the header checksum of the entry in `entry`. Does nothing to fewer bytes than a header.
inline void reseal_entry(std::span<std::byte> entry) {
  namespace fmt = recall::detail::entry_format_detail;
  using recall::detail::entry_header_size;
  namespace off = recall::detail::entry_offset;
  if (entry.size() < entry_header_size) {
    return;
  }
  const auto manifest_size =
      std::min<std::uint64_t>(fmt::load_le(entry.data() + off::manifest_size, 4), entry.size() - entry_header_size);
  const auto body = entry.subspan(entry_header_size);
  const auto checksum = recall::detail::entry_body_checksum(body.first(static_cast<std::size_t>(manifest_size)),
                                                            body.subspan(static_cast<std::size_t>(manifest_size)));
  fmt::store_key(entry.data() + off::body_checksum, checksum);
  fmt::store_le(entry.data() + off::header_checksum, recall::detail::entry_header_checksum(entry.data()), 8);
}

// The call key the entry's header names (so the call check passes and decoding goes on), or a
// fixed key when there is no header.
[[nodiscard]] inline recall::key call_of(std::span<const std::byte> entry) {
  if (entry.size() < recall::detail::entry_header_size) {
    return recall::key{1, 2};
  }
  return recall::detail::entry_format_detail::load_key(entry.data() + recall::detail::entry_offset::call);
}

} // namespace recall_fuzz
