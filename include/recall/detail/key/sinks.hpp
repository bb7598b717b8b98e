// Byte sinks for the canonical writer: an XXH3-128 hasher that never buffers large data, and a
// growable byte buffer for payloads.
#pragma once

#include <cstddef>
#include <cstring>
#include <vector>

#include <recall/detail/key/xxh3.hpp>
#include <recall/key/key.hpp>

namespace recall::detail {

// Hashes everything written to it with XXH3-128 (seed 0). Small inputs, the common case for
// scalar arguments, are gathered in a local buffer and hashed one-shot at the end (~4 ns);
// the streaming state, whose setup costs ~15 ns, is only initialized once the input outgrows
// the buffer. Large writes (a std::vector<double>'s one binary block) go straight to XXH3:
// no intermediate copy, so keys of large arguments run at XXH3's speed.
class hash_sink {
public:
  static constexpr std::size_t buffer_capacity = 256;

  hash_sink() noexcept {} // NOLINT(modernize-use-equals-default): leaves m_state uninitialized

  hash_sink(const hash_sink&) = delete;
  hash_sink& operator=(const hash_sink&) = delete;

  void write(const void* data, std::size_t size) noexcept {
    if (!m_streaming) {
      if (size <= buffer_capacity - m_used) {
        if (size != 0) {
          std::memcpy(m_buffer + m_used, data, size);
        }
        m_used += size;
        return;
      }
      XXH3_128bits_reset(&m_state);
      XXH3_128bits_update(&m_state, m_buffer, m_used);
      m_streaming = true;
    }
    XXH3_128bits_update(&m_state, data, size);
  }

  // The digest of everything written so far; the sink may not be written to afterwards.
  [[nodiscard]] key digest() noexcept {
    if (!m_streaming) {
      return xxh3_128(m_buffer, m_used);
    }
    return to_key(XXH3_128bits_digest(&m_state));
  }

private:
  std::size_t m_used = 0;
  bool m_streaming = false;
  unsigned char m_buffer[buffer_capacity];
  XXH3_state_t m_state;
};

// Appends everything written to a byte vector it does not own.
class buffer_sink {
public:
  explicit buffer_sink(std::vector<std::byte>& out) noexcept : m_out{&out} {}

  void write(const void* data, std::size_t size) {
    if (size == 0) {
      return;
    }
    // resize + memcpy rather than insert(): one memcpy for large blocks, and no GCC 12
    // -Wstringop-overflow false positive from vector::insert on an empty vector.
    const std::size_t old_size = m_out->size();
    m_out->resize(old_size + size);
    std::memcpy(m_out->data() + old_size, data, size);
  }

private:
  std::vector<std::byte>* m_out;
};

// Counts bytes and keeps none: sizes a payload before it is written.
class counting_sink {
public:
  void write(const void*, std::size_t size) noexcept { m_size += size; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }

private:
  std::size_t m_size = 0;
};

} // namespace recall::detail
