// libFuzzer target: a whole entry file (.rce) through every reader of the directory store's
// format: decode_entry (a hit), decode_header + check_entry_size (contains), and the header plus
// the unverified manifest (describe_file, which listing tools use).
//
// Input: one control byte (fuzz_support.hpp: bit 0 re-seals the checksums), then the file.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  auto file = recall_fuzz::to_bytes(data + 1, size - 1);
  if ((data[0] & recall_fuzz::reseal_bit) != 0) {
    recall_fuzz::reseal_entry(file);
  }
  const std::span<const std::byte> bytes{file};
  const recall::key call = recall_fuzz::call_of(bytes);
  try {
    const recall::stored_entry entry = recall::detail::decode_entry(bytes, call);
    // The payload returned is exactly the bytes after header and manifest (decompressed, for a
    // zstd entry): a decoder returning anything else would serve a wrong answer.
    const recall::detail::entry_header header = recall::detail::decode_header(bytes);
    const auto stored = bytes.subspan(recall::detail::entry_header_size + header.manifest_size);
    const std::vector<std::byte> expected =
        recall::detail::unpack_payload(header, std::vector<std::byte>(stored.begin(), stored.end()));
    if (entry.payload.size() != expected.size() ||
        !std::equal(entry.payload.begin(), entry.payload.end(), expected.begin())) {
      __builtin_trap();
    }
  } catch (const recall::format_error&) {
  }
  try {
    const recall::detail::entry_header header = recall::detail::decode_header(bytes);
    recall::detail::check_entry_size(header, bytes.size());
  } catch (const recall::format_error&) {
  }
  try {
    // describe_file: the manifest is decoded without the body checksum, from as many bytes as
    // the header announces (capped by max_manifest_size) and the file holds.
    const recall::detail::entry_header header = recall::detail::decode_header(bytes);
    const auto available = bytes.size() - recall::detail::entry_header_size;
    if (header.manifest_size <= available) {
      static_cast<void>(
          recall::detail::decode_manifest(bytes.subspan(recall::detail::entry_header_size, header.manifest_size)));
    }
  } catch (const recall::format_error&) {
  }
  return 0;
}
