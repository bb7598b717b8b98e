// libarchive handles for recall's cache archives (tar, pax format, zstd-compressed): RAII owners
// and a member reader that never allocates more than the bytes actually present.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <recall/detail/stores/fsio.hpp>

namespace recall::detail::management {

struct archive_read_deleter {
  void operator()(::archive* a) const noexcept { ::archive_read_free(a); }
};
struct archive_write_deleter {
  void operator()(::archive* a) const noexcept { ::archive_write_free(a); }
};
struct archive_entry_deleter {
  void operator()(::archive_entry* e) const noexcept { ::archive_entry_free(e); }
};
using archive_reader = std::unique_ptr<::archive, archive_read_deleter>;
using archive_writer = std::unique_ptr<::archive, archive_write_deleter>;
using archive_entry_handle = std::unique_ptr<::archive_entry, archive_entry_deleter>;

// libarchive's last message for `a`, or `fallback` when it has none.
[[nodiscard]] inline std::string archive_message(::archive* a, std::string_view fallback = "unknown error") {
  const char* text = ::archive_error_string(a);
  return text != nullptr ? std::string{text} : std::string{fallback};
}

// A reader that accepts exactly what export writes: tar (pax or ustar) through zstd, or plain
// tar. Nothing else (no other compression, no zip, no cpio) is parsed, which keeps a hostile
// file's reach to two well-exercised parsers.
[[nodiscard]] inline archive_reader new_cache_archive_reader() {
  archive_reader a{::archive_read_new()};
  if (a) {
    ::archive_read_support_filter_zstd(a.get());
    ::archive_read_support_format_tar(a.get());
  }
  return a;
}

// Result of reading one member's data.
enum class member_read {
  complete,  // exactly the declared size
  truncated, // the archive ended or failed before the declared size
};

// Reads the current member's data into `out`, growing it as bytes arrive (at most 1 MiB ahead
// of what was read), so a forged size field costs nothing until the data is really there.
// The caller has checked `declared` against its limit. The first `kept` bytes of `out` are
// taken as the member's first bytes, already read; the rest is read after them.
[[nodiscard]] inline member_read read_member(::archive* a, std::uint64_t declared, std::vector<std::byte>& out,
                                             std::size_t kept = 0) {
  constexpr std::size_t step = std::size_t{1} << 20;
  out.resize(kept);
  std::size_t have = kept;
  while (have < declared) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(declared - have, step));
    out.resize(have + want);
    const ::la_ssize_t got = ::archive_read_data(a, out.data() + have, want);
    if (got <= 0) {
      out.resize(have);
      return member_read::truncated;
    }
    have += static_cast<std::size_t>(got);
  }
  out.resize(have);
  return member_read::complete;
}

// Copies the rest of the current member's data (`remaining` bytes) to the file open as `fd`, 1 MiB
// at a time. Returns truncated when the archive ends first; throws store_error naming `what` when
// the file cannot be written.
[[nodiscard]] inline member_read stream_member(::archive* a, std::uint64_t remaining, int fd, const std::string& what) {
  std::vector<std::byte> buffer(std::size_t{1} << 20);
  while (remaining > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffer.size()));
    const ::la_ssize_t got = ::archive_read_data(a, buffer.data(), want);
    if (got <= 0) {
      return member_read::truncated;
    }
    const std::span<const std::byte> part{buffer.data(), static_cast<std::size_t>(got)};
    if (const int error = fsio::write_all(fd, std::span<const std::span<const std::byte>>{&part, 1}); error != 0) {
      fsio::throw_io_error("cannot write", what, error);
    }
    remaining -= static_cast<std::uint64_t>(got);
  }
  return member_read::complete;
}

} // namespace recall::detail::management
