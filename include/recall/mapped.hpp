// recall::mapped<std::vector<T>>: a read-only, zero-copy view of a cached array result.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <recall/detail/key/canonical_archive.hpp>

namespace recall {

// Results a mapped view can show without decoding: vectors of arithmetic types whose canonical
// encoding is their in-memory bytes (not bool, whose bytes must be checked, nor long double).
template <class T>
struct is_mappable_result : std::false_type {};
template <class T>
struct is_mappable_result<std::vector<T>>
    : std::bool_constant<std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && detail::is_raw_block_element<T>> {};
template <class T>
concept mappable_result = is_mappable_result<T>::value;

template <class T>
class mapped {
  static_assert(mappable_result<T>,
                "recall::mapped<T>: T must be a std::vector of an arithmetic type (double, float, "
                "std::int64_t, ...): only those are stored as raw arrays that can be mapped. Call the "
                "memoized function normally for other results.");
};

// What `memoize::mapped(args...)` returns: a contiguous read-only array of the result's
// elements. When the entry is stored raw in a directory cache, the elements are read straight
// from a memory map of the entry file: no copy, and pages are loaded as they are touched. Otherwise
// (a compressed entry, a store without files, mode::off, a big-endian machine) the view owns a
// decoded vector; is_mapped() tells which. Either way the view stays valid for as long as it
// lives, whatever recall does to the cache meanwhile: entries are replaced by rename and removed
// by unlink, never truncated or written in place, so a mapped file keeps its bytes. Truncating
// an entry file in place by other means is outside this contract (touching the lost pages raises
// SIGBUS, as with any memory map; docs/RELIABILITY.md says why recall does not catch it). Copies
// share the same storage.
template <class T>
class mapped<std::vector<T>> {
public:
  using value_type = T;
  using const_iterator = const T*;
  using iterator = const T*;

  mapped() = default;

  [[nodiscard]] const T* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  [[nodiscard]] bool empty() const noexcept { return m_size == 0; }
  [[nodiscard]] const T* begin() const noexcept { return m_data; }
  [[nodiscard]] const T* end() const noexcept { return m_data + m_size; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return m_data[i]; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {m_data, m_size}; }
  operator std::span<const T>() const noexcept { return span(); } // NOLINT(google-explicit-constructor)

  // True if the elements are read from a memory map of the cache file (zero-copy).
  [[nodiscard]] bool is_mapped() const noexcept { return m_is_mapped; }

  [[nodiscard]] std::vector<T> to_vector() const { return {begin(), end()}; }

  // A view owning `values`.
  static mapped owning(std::vector<T> values) {
    auto owner = std::make_shared<const std::vector<T>>(std::move(values));
    mapped out;
    out.m_data = owner->data();
    out.m_size = owner->size();
    out.m_owner = std::move(owner);
    return out;
  }

  // A view of the canonical payload `payload` (a u64 little-endian count, then the elements)
  // kept alive by `owner`, if those bytes can be used in place: the count matches the size, the
  // elements are aligned for T, and the machine is little-endian. Nullopt otherwise: decode.
  static std::optional<mapped> in_place(std::shared_ptr<const void> owner, std::span<const std::byte> payload) {
    if constexpr (std::endian::native != std::endian::little) {
      return std::nullopt;
    } else {
      if (payload.size() < sizeof(std::uint64_t)) {
        return std::nullopt;
      }
      std::uint64_t count = 0;
      std::memcpy(&count, payload.data(), sizeof count);
      const std::span<const std::byte> elements = payload.subspan(sizeof count);
      if (count > elements.size() / sizeof(T) || count * sizeof(T) != elements.size() ||
          reinterpret_cast<std::uintptr_t>(elements.data()) % alignof(T) != 0) {
        return std::nullopt;
      }
      mapped out;
      out.m_data = reinterpret_cast<const T*>(elements.data()); // NOLINT: aligned, and T has no invalid bit patterns
      out.m_size = static_cast<std::size_t>(count);
      out.m_owner = std::move(owner);
      out.m_is_mapped = true;
      return out;
    }
  }

private:
  std::shared_ptr<const void> m_owner;
  const T* m_data = nullptr;
  std::size_t m_size = 0;
  bool m_is_mapped = false;
};

} // namespace recall
