// Typed results from an entry_view: decompressing, finishing a deferred checksum while decoding,
// and telling a damaged entry (damaged_entry_error) from one of an incompatible build (format_error).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/key/xxh3.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/file_mapping.hpp>
#include <recall/detail/stores/zstd_codec.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/verification.hpp>

namespace recall::detail {

// The view of an entry whose bytes are all of `mapping`, and whose `header` (decoded from them)
// has had its call and size checked; the checksum is checked now when `check` says so, else
// left to the reader. Throws damaged_entry_error.
[[nodiscard]] inline entry_view mapped_entry_view(std::shared_ptr<const file_mapping> mapping,
                                                  const entry_header& header, verification check) {
  const std::span<const std::byte> bytes = mapping->bytes();
  entry_view view;
  view.manifest = bytes.subspan(entry_header_size, header.manifest_size);
  view.payload = bytes.subspan(entry_header_size + header.manifest_size);
  if (check == verification::checksum) {
    verify_entry(header, header.call, view.manifest, view.payload);
  }
  view.encoding = (header.flags & entry_flag_zstd) != 0 ? payload_encoding::zstd : payload_encoding::raw;
  view.checks = check == verification::checksum ? entry_checks::complete : entry_checks::deferred;
  view.backing = entry_backing::mapping;
  view.body_checksum = header.body_checksum;
  view.metadata = header.metadata;
  view.owner = std::move(mapping);
  return view;
}

// Throws damaged_entry_error unless `checksum` is what the view's header promised.
inline void check_body_checksum(const entry_view& view, const key& checksum) {
  if (checksum != view.body_checksum) {
    throw damaged_entry_error{"entry checksum mismatch (stored " + view.body_checksum.hex() + ", computed " +
                              checksum.hex() + "): damaged manifest or payload"};
  }
}

// Checks a view's deferred checksum now (nothing to do for a view its store checked whole).
// Throws damaged_entry_error.
inline void check_entry_view(const entry_view& view) {
  if (view.checks == entry_checks::deferred) {
    check_body_checksum(view, entry_body_checksum(view.manifest, view.payload));
  }
}

// The canonical encoding of the result in `view`, checked: decompressed when stored compressed.
// Throws damaged_entry_error or format_error.
[[nodiscard]] inline std::vector<std::byte> checked_payload(const entry_view& view) {
  check_entry_view(view);
  if (view.encoding == payload_encoding::zstd) {
    return decompress_payload(view.payload);
  }
  return {view.payload.begin(), view.payload.end()};
}

// Decodes the result stored in `view`. A deferred checksum of a raw payload is computed over the
// bytes as the decoder copies them out, so a large entry is passed over once. Throws
// damaged_entry_error when the checksum does not match (the store should discard the entry), and
// format_error when the checked bytes do not decode as a Result (an entry of an incompatible
// build: a miss, and the new result replaces it).
template <class Result>
[[nodiscard]] Result decode_stored_result(const entry_view& view) {
  if (view.encoding == payload_encoding::zstd) {
    check_entry_view(view);
    return decode_payload<Result>(decompress_payload(view.payload));
  }
  if (view.checks == entry_checks::complete) {
    return decode_payload<Result>(view.payload);
  }
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  XXH3_128bits_update(&state, view.manifest.data(), view.manifest.size());
  std::optional<Result> value;
  try {
    value.emplace(decode_payload_hashing<Result>(view.payload, &state));
  } catch (const format_error&) {
    check_entry_view(view); // damage, which made it undecodable, or an incompatible build?
    throw;
  }
  check_body_checksum(view, to_key(XXH3_128bits_digest(&state)));
  return std::move(*value);
}

} // namespace recall::detail
