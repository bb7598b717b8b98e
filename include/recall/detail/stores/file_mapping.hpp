// A read-only memory map of a file, or of a part of one, unmapped when the last owner lets go.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <recall/detail/stores/atomic_file.hpp>

namespace recall::detail {

// Maps `size` bytes of the open file `fd` read-only. Entry files are never modified in place
// (writers rename a new file over the old one, eviction unlinks), so the bytes stay what they
// were when mapped for as long as the mapping lives, even after the entry is replaced or removed.
enum class page_loading {
  on_touch, // pages are read as they are first touched: a view of a large file is ready at once
  upfront,  // every page is mapped by the mmap call itself (MAP_POPULATE): one call instead of a
            // page fault per few pages, for a caller that reads everything anyway
};

class file_mapping {
public:
  file_mapping(int fd, std::size_t size, const std::string& path, page_loading loading = page_loading::on_touch)
      : file_mapping{fd, 0, size, path, loading} {}

  // Maps the `size` bytes from `offset` (any offset: the mapping starts at the page holding it).
  // The caller makes sure the file holds them: touching a page past its end raises SIGBUS.
  file_mapping(int fd, std::uint64_t offset, std::size_t size, const std::string& path,
               page_loading loading = page_loading::on_touch)
      : m_size{size} {
    if (size == 0) {
      return;
    }
    static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t start = offset - offset % page;
    m_lead = static_cast<std::size_t>(offset - start);
    const int flags = MAP_SHARED | (loading == page_loading::upfront ? MAP_POPULATE : 0);
    void* address = ::mmap(nullptr, m_lead + size, PROT_READ, flags, fd, static_cast<::off_t>(start));
    if (address == MAP_FAILED) {
      fsio::throw_io_error("cannot map", path, errno);
    }
    m_address = static_cast<const std::byte*>(address);
  }
  file_mapping(const file_mapping&) = delete;
  file_mapping& operator=(const file_mapping&) = delete;
  ~file_mapping() {
    if (m_address != nullptr) {
      ::munmap(const_cast<std::byte*>(m_address), m_lead + m_size); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
  }

  // The bytes asked for (from `offset`, not from the page boundary).
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
    return m_address == nullptr ? std::span<const std::byte>{} : std::span<const std::byte>{m_address + m_lead, m_size};
  }

private:
  const std::byte* m_address = nullptr;
  std::size_t m_lead = 0; // bytes between the page boundary and `offset`
  std::size_t m_size = 0;
};

} // namespace recall::detail
