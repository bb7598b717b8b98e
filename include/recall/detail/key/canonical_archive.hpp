// The canonical encoding of values: cereal archives that write fixed-width little-endian bytes
// to a sink (an XXH3 hasher for keys, a buffer for payloads) and read them back, bounds-checked.
#pragma once

// The encoding, for every value v of type T (the same bytes on every platform and compiler):
//   bool, char types, integers   sizeof(T) bytes, little-endian (two's complement)
//   float, double                the IEEE-754 bit pattern, little-endian: -0.0 and +0.0 differ,
//                                and every NaN payload is its own value (same bits, same key)
//   long double                  the significant bytes only (10 for x87 extended precision)
//   enum                         as its underlying integer type
//   sizes (containers, strings)  u64 little-endian element count, then the elements
//   contiguous arithmetic ranges one block of their element encodings (vector<double>, string, array)
//   std::optional                u8 1 if empty (cereal's "nullopt" flag), else 0 and the value
//   std::variant                 i32 index, then the alternative
//   tuple, pair, std::array      the elements in order, no count
//   Hana structs, aggregates     the members in declaration order, no names
//   unordered containers (keys)  u64 count, then the sorted XXH3-128 digests of the elements'
//                                encodings: equal containers give equal bytes in any bucket order
//   string_view, span (keys)     exactly as std::string / std::vector of the same elements
//   types with cereal functions  whatever their serialize/save writes, in this encoding
// cereal's name-value pairs write only the value. Types are not written: the function identity,
// which is part of every key, fixes them.

#include <algorithm>
#include <bit>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <valarray>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/base_class.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/forward_list.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/valarray.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>

#include <recall/detail/key/aggregate_fields.hpp>
#include <recall/detail/key/sinks.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>

namespace recall::detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "recall: mixed-endian platforms are not supported");
static_assert(CHAR_BIT == 8, "recall: the canonical encoding needs 8-bit bytes");

// What an encoding is for: keys may hash views and must ignore the order of unordered
// containers; payloads must round-trip through canonical_reader.
enum class encoding_purpose { key, payload };

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_of = false;
template <template <class...> class Template, class... Ts>
inline constexpr bool is_specialization_of<Template<Ts...>, Template> = true;

template <class T>
inline constexpr bool is_unordered_container =
    is_specialization_of<T, std::unordered_map> || is_specialization_of<T, std::unordered_multimap> ||
    is_specialization_of<T, std::unordered_set> || is_specialization_of<T, std::unordered_multiset>;

template <class T>
inline constexpr bool is_span = false;
template <class T, std::size_t N>
inline constexpr bool is_span<std::span<T, N>> = true;

template <class T>
inline constexpr bool is_string_view = is_specialization_of<T, std::basic_string_view>;

template <class T>
inline constexpr bool is_cereal_wrapper =
    is_specialization_of<T, cereal::base_class> || is_specialization_of<T, cereal::virtual_base_class>;

template <class T>
inline constexpr bool is_hana_struct = boost::hana::Struct<T>::value;

template <class T>
inline constexpr bool is_reflectable_aggregate =
    std::is_aggregate_v<T> && std::is_class_v<T> && !std::is_union_v<T> && !is_hana_struct<T>;

// Bytes of T that carry its value: x87 long double has 6 bytes of padding whose contents are
// unspecified, and hashing them would make keys nondeterministic.
template <class T>
inline constexpr std::size_t value_bytes =
    (std::is_same_v<T, long double> && std::numeric_limits<long double>::digits == 64) ? 10 : sizeof(T);

template <class T>
inline constexpr bool is_raw_block_element = std::is_arithmetic_v<T> && value_bytes<T> == sizeof(T);

template <class T>
inline T byteswap_value(T value) noexcept {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  std::reverse(bytes, bytes + sizeof(T));
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// The element type behind cereal's BinaryData<pointer>.
template <class Pointer>
using binary_element_t = std::remove_cv_t<std::remove_pointer_t<std::remove_cvref_t<Pointer>>>;

template <class Sink, encoding_purpose Purpose>
class canonical_writer : public cereal::OutputArchive<canonical_writer<Sink, Purpose>, cereal::AllowEmptyClassElision> {
  using base = cereal::OutputArchive<canonical_writer, cereal::AllowEmptyClassElision>;

public:
  explicit canonical_writer(Sink& sink) : base{this}, m_sink{&sink} {}

  // Hides cereal's operator() so that every value, including those written from inside
  // cereal's own serializers, passes through write_value first.
  template <class... Ts>
  canonical_writer& operator()(Ts&&... values) {
    (write_value(values), ...);
    return *this;
  }

  template <class T>
  void write_scalar(const T& value) {
    static_assert(std::is_arithmetic_v<T>);
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
      const T swapped = byteswap_value(value);
      m_sink->write(&swapped, value_bytes<T>);
    } else if constexpr (std::is_same_v<T, bool>) {
      const unsigned char byte = value ? 1 : 0;
      m_sink->write(&byte, 1);
    } else {
      m_sink->write(&value, value_bytes<T>);
    }
  }

  void write_size(std::uint64_t size) { write_scalar(size); }

  template <class Element>
  void write_block(const Element* data, std::size_t bytes) {
    static_assert(is_raw_block_element<Element>);
    if constexpr (std::endian::native == std::endian::big && sizeof(Element) > 1) {
      for (std::size_t i = 0; i < bytes / sizeof(Element); ++i) {
        write_scalar(data[i]);
      }
    } else {
      m_sink->write(data, bytes);
    }
  }

  template <class T>
  void write_value(const T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
      write_scalar(value);
    } else if constexpr (std::is_enum_v<T>) {
      write_scalar(static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (is_specialization_of<T, cereal::NameValuePair>) {
      write_value(value.value);
    } else if constexpr (is_specialization_of<T, cereal::SizeTag>) {
      write_size(static_cast<std::uint64_t>(value.size));
    } else if constexpr (is_specialization_of<T, cereal::BinaryData>) {
      write_binary(value);
    } else if constexpr (Purpose == encoding_purpose::key && is_unordered_container<T>) {
      write_unordered(value);
    } else if constexpr (Purpose == encoding_purpose::key && is_string_view<T>) {
      write_size(value.size());
      write_block(value.data(), value.size() * sizeof(typename T::value_type));
    } else if constexpr (Purpose == encoding_purpose::key && is_span<T>) {
      write_span(value);
    } else if constexpr (is_specialization_of<T, std::valarray>) {
      write_valarray(value);
    } else if constexpr (is_cereal_wrapper<T> || cereal::traits::is_output_serializable<T, canonical_writer>::value) {
      base::operator()(value);
    } else if constexpr (is_hana_struct<T>) {
      boost::hana::for_each(boost::hana::accessors<T>(),
                            [&](auto accessor) { write_value(boost::hana::second(accessor)(value)); });
    } else if constexpr (is_reflectable_aggregate<T>) {
      std::apply([&](const auto&... fields) { (write_value(fields), ...); },
                 tie_fields<aggregate_field_count<T>()>(value));
    } else {
      static_assert(sizeof(T) == 0, "recall: this type has no canonical encoding. Give it a cereal serialize function: "
                                    "template <class Archive> void serialize(Archive& ar) { ar(member1, member2); }");
    }
  }

  template <class Pointer>
  void write_binary(const cereal::BinaryData<Pointer>& data) {
    using element = binary_element_t<Pointer>;
    if constexpr (std::is_void_v<element> || sizeof(element) == 1) {
      m_sink->write(data.data, static_cast<std::size_t>(data.size));
    } else {
      write_block(static_cast<const element*>(data.data), static_cast<std::size_t>(data.size));
    }
  }

private:
  // cereal's own valarray functions take &v[0] of an empty valarray (undefined behaviour, which
  // fuzz/payload_fuzzer.cpp found); this writes the same bytes: the size, then the elements.
  template <class T>
  void write_valarray(const std::valarray<T>& values) {
    write_size(values.size());
    if constexpr (is_raw_block_element<T>) {
      if (values.size() != 0) {
        write_block(&values[0], values.size() * sizeof(T));
      }
    } else {
      for (const auto& v : values) {
        write_value(v);
      }
    }
  }

  template <class T>
  void write_span(const T& values) {
    using element = std::remove_cv_t<typename T::element_type>;
    write_size(values.size());
    if constexpr (is_raw_block_element<element>) {
      write_block(values.data(), values.size_bytes());
    } else {
      for (const auto& v : values) {
        write_value(v);
      }
    }
  }

  template <class T>
  void write_unordered(const T& container) {
    std::vector<key> digests;
    digests.reserve(container.size());
    for (const auto& element : container) {
      hash_sink element_sink;
      canonical_writer<hash_sink, Purpose> element_writer{element_sink};
      if constexpr (requires {
                      element.first;
                      element.second;
                    }) {
        element_writer(element.first, element.second);
      } else {
        element_writer(element);
      }
      digests.push_back(element_sink.digest());
    }
    std::sort(digests.begin(), digests.end());
    write_size(digests.size());
    for (const key& digest : digests) {
      const auto bytes = digest.bytes();
      m_sink->write(bytes.data(), bytes.size());
    }
  }

  Sink* m_sink;
};

// cereal looks for these to pick its binary fast paths (vector<double> as one block); they are
// only reachable through the writer's own dispatch above. Elements whose bytes include padding
// (x87 long double) are left to cereal's element-by-element path.
template <class Sink, encoding_purpose Purpose, class Pointer>
  requires(std::is_void_v<binary_element_t<Pointer>> || is_raw_block_element<binary_element_t<Pointer>>)
void CEREAL_SAVE_FUNCTION_NAME(canonical_writer<Sink, Purpose>& writer, const cereal::BinaryData<Pointer>& data) {
  writer.write_binary(data);
}

template <class Sink, encoding_purpose Purpose, class T>
  requires std::is_arithmetic_v<T>
void CEREAL_SAVE_FUNCTION_NAME(canonical_writer<Sink, Purpose>& writer, const T& value) {
  writer.write_scalar(value);
}

template <class Sink, encoding_purpose Purpose, class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(canonical_writer<Sink, Purpose>& writer, cereal::NameValuePair<T>& pair) {
  writer(pair.value);
}

template <class Sink, encoding_purpose Purpose, class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(canonical_writer<Sink, Purpose>& writer, cereal::SizeTag<T>& tag) {
  writer.write_size(static_cast<std::uint64_t>(tag.size));
}

// Reads the payload encoding back from a byte range it does not own. Every read is checked
// against the bytes that remain, and every size is checked before anything is allocated from
// it, so a corrupt or hostile payload throws recall::format_error instead of over-reading or
// allocating a forged amount.
class canonical_reader : public cereal::InputArchive<canonical_reader, cereal::AllowEmptyClassElision> {
  using base = cereal::InputArchive<canonical_reader, cereal::AllowEmptyClassElision>;

public:
  explicit canonical_reader(std::span<const std::byte> bytes) : base{this}, m_bytes{bytes} {}

  template <class... Ts>
  canonical_reader& operator()(Ts&&... values) {
    (read_value(values), ...);
    return *this;
  }

  [[nodiscard]] std::size_t remaining() const noexcept { return m_bytes.size() - m_position; }

  // Every byte read from now on is also added, in order, to `state`: a payload can be verified
  // while it is decoded, in one pass over memory. The caller checks that all bytes were read.
  void hash_into(XXH3_state_t* state) noexcept { m_hash = state; }

  void read_bytes(void* out, std::size_t size) {
    if (size > remaining()) {
      throw format_error{"payload truncated: needs " + std::to_string(size) + " more bytes, " +
                         std::to_string(remaining()) + " left"};
    }
    if (size != 0) {
      copy_hashing(size, [&](std::size_t done, std::size_t n) {
        std::memcpy(static_cast<std::byte*>(out) + done, m_bytes.data() + m_position + done, n);
        return static_cast<const std::byte*>(out) + done;
      });
    }
    m_position += size;
  }

  template <class T>
  void read_scalar(T& value) {
    static_assert(std::is_arithmetic_v<T>);
    if constexpr (std::is_same_v<T, bool>) {
      unsigned char byte = 0;
      read_bytes(&byte, 1);
      if (byte > 1) {
        throw format_error{"payload holds a bool that is neither 0 nor 1"};
      }
      value = byte == 1;
    } else {
      value = T{};
      read_bytes(&value, value_bytes<T>);
      if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
        value = byteswap_value(value);
      }
    }
  }

  // A container size: no container can hold more elements than there are bytes left, which
  // bounds what cereal's load functions will allocate from it.
  std::uint64_t read_size() {
    std::uint64_t size = 0;
    read_scalar(size);
    if (size > remaining()) {
      throw format_error{"payload holds a size of " + std::to_string(size) + " with only " +
                         std::to_string(remaining()) + " bytes left"};
    }
    return size;
  }

  template <class Pointer>
  void read_binary(cereal::BinaryData<Pointer>& data) {
    using element = binary_element_t<Pointer>;
    const auto size = static_cast<std::size_t>(data.size);
    read_bytes(data.data, size);
    if constexpr (std::endian::native == std::endian::big && !std::is_void_v<element> && sizeof(element) > 1) {
      auto* elements = static_cast<element*>(data.data);
      for (std::size_t i = 0; i < size / sizeof(element); ++i) {
        elements[i] = byteswap_value(elements[i]);
      }
    }
  }

  template <class T>
  void read_value(T& value) {
    if constexpr (std::is_arithmetic_v<T>) {
      read_scalar(value);
    } else if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> underlying{};
      read_scalar(underlying);
      value = static_cast<T>(underlying);
    } else if constexpr (is_specialization_of<T, cereal::NameValuePair>) {
      read_value(value.value);
    } else if constexpr (is_specialization_of<T, cereal::SizeTag>) {
      value.size = static_cast<std::remove_reference_t<decltype(value.size)>>(read_size());
    } else if constexpr (is_specialization_of<T, cereal::BinaryData>) {
      read_binary(value);
    } else if constexpr (is_specialization_of<T, std::valarray>) {
      read_valarray(value);
    } else if constexpr (is_block_vector<T>) {
      read_block_vector(value);
    } else if constexpr (is_cereal_wrapper<T> || cereal::traits::is_input_serializable<T, canonical_reader>::value) {
      base::operator()(value);
    } else if constexpr (is_hana_struct<T>) {
      boost::hana::for_each(boost::hana::accessors<T>(),
                            [&](auto accessor) { read_value(boost::hana::second(accessor)(value)); });
    } else if constexpr (is_reflectable_aggregate<T>) {
      std::apply([&](auto&... fields) { (read_value(fields), ...); }, tie_fields<aggregate_field_count<T>()>(value));
    } else {
      static_assert(sizeof(T) == 0, "recall: this type cannot be decoded. Give it a cereal serialize function: "
                                    "template <class Archive> void serialize(Archive& ar) { ar(member1, member2); }");
    }
  }

private:
  // The vectors cereal stores as a size and one block of element bytes (its binary fast path),
  // on a little-endian machine, where those bytes are the elements' own.
  template <class T>
  static constexpr bool is_block_vector = [] {
    if constexpr (is_specialization_of<T, std::vector>) {
      using element = typename T::value_type;
      return std::is_same_v<T, std::vector<element>> && is_raw_block_element<element> &&
             !std::is_same_v<element, bool> && std::endian::native == std::endian::little;
    } else {
      return false;
    }
  }();

  // cereal's load for these resizes the vector, writing zeros over every element, then copies
  // the block over them: two passes over a large result's memory. Copying into reserved
  // capacity makes it one. Same bytes read, same checks, same value as cereal's load.
  template <class E>
  void read_block_vector(std::vector<E>& values) {
    const auto count = static_cast<std::size_t>(read_size());
    const std::byte* source = m_bytes.data() + m_position;
    if (count > remaining() / sizeof(E) || reinterpret_cast<std::uintptr_t>(source) % alignof(E) != 0) {
      // Too short (read_bytes reports it), or a block not aligned for E: cereal's way.
      values.resize(count);
      read_bytes(values.data(), count * sizeof(E));
      return;
    }
    values.clear();
    values.reserve(count);
    const E* first = reinterpret_cast<const E*>(source);
    copy_hashing(count * sizeof(E), [&](std::size_t done, std::size_t n) {
      values.insert(values.end(), first + done / sizeof(E), first + (done + n) / sizeof(E));
      return reinterpret_cast<const std::byte*>(values.data()) + done;
    });
    m_position += count * sizeof(E);
  }

  // Copies `size` bytes with `copy(done, n)`, which copies bytes [done, done + n) and returns
  // where they landed. With a hash attached, it goes in 128 KiB chunks (a multiple of every
  // element size) and each chunk is hashed just after it is copied, while it is still in cache.
  template <class Copy>
  void copy_hashing(std::size_t size, Copy&& copy) {
    if (m_hash == nullptr) {
      copy(0, size);
      return;
    }
    constexpr std::size_t chunk = std::size_t{128} << 10;
    for (std::size_t done = 0; done < size; done += chunk) {
      const std::size_t n = std::min(chunk, size - done);
      XXH3_128bits_update(m_hash, copy(done, n), n);
    }
  }

  // The counterpart of canonical_writer::write_valarray (cereal's load takes &v[0] when empty).
  template <class T>
  void read_valarray(std::valarray<T>& values) {
    values.resize(static_cast<std::size_t>(read_size()));
    if constexpr (is_raw_block_element<T>) {
      if (values.size() != 0) {
        cereal::BinaryData<T*> data{&values[0], values.size() * sizeof(T)};
        read_binary(data);
      }
    } else {
      for (auto& v : values) {
        read_value(v);
      }
    }
  }

  std::span<const std::byte> m_bytes;
  std::size_t m_position = 0;
  XXH3_state_t* m_hash = nullptr;
};

template <class Pointer>
  requires(std::is_void_v<binary_element_t<Pointer>> || is_raw_block_element<binary_element_t<Pointer>>)
void CEREAL_LOAD_FUNCTION_NAME(canonical_reader& reader, cereal::BinaryData<Pointer>& data) {
  reader.read_binary(data);
}

template <class T>
  requires std::is_arithmetic_v<T>
void CEREAL_LOAD_FUNCTION_NAME(canonical_reader& reader, T& value) {
  reader.read_scalar(value);
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(canonical_reader& reader, cereal::NameValuePair<T>& pair) {
  reader(pair.value);
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(canonical_reader& reader, cereal::SizeTag<T>& tag) {
  tag.size = static_cast<std::remove_reference_t<decltype(tag.size)>>(reader.read_size());
}

// The XXH3-128 digest of one value's key encoding.
template <class T>
[[nodiscard]] key hash_value(const T& value) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && value_bytes<T> == sizeof(T) &&
                std::endian::native == std::endian::little) {
    // A scalar's key encoding is its own little-endian bytes: hash them in place, no archive.
    return xxh3_128(&value, sizeof(T));
  }
  hash_sink sink;
  canonical_writer<hash_sink, encoding_purpose::key> writer{sink};
  writer(value);
  return sink.digest();
}

// The payload encoding of a value. Sized by a counting pass first, so the buffer is allocated
// once at its final size.
template <class T>
[[nodiscard]] std::vector<std::byte> encode_payload(const T& value) {
  counting_sink counter;
  canonical_writer<counting_sink, encoding_purpose::payload>{counter}(value);
  std::vector<std::byte> out;
  out.reserve(counter.size());
  buffer_sink sink{out};
  canonical_writer<buffer_sink, encoding_purpose::payload> writer{sink};
  writer(value);
  return out;
}

// Decodes like decode_payload, adding the payload's bytes to `state` as they are copied out.
template <class T>
[[nodiscard]] T decode_payload_hashing(std::span<const std::byte> bytes, XXH3_state_t* state) {
  T value{};
  canonical_reader reader{bytes};
  reader.hash_into(state);
  try {
    reader(value);
  } catch (const cereal::Exception& e) {
    throw format_error{std::string{"payload does not decode: "} + e.what()};
  } catch (const std::logic_error& e) {
    throw format_error{std::string{"payload does not decode: "} + e.what()}; // as in decode_payload
  }
  if (reader.remaining() != 0) {
    throw format_error{"payload has " + std::to_string(reader.remaining()) + " unexpected trailing bytes"};
  }
  return value;
}

// Decodes a payload into a default-constructed T; all bytes must be consumed.
template <class T>
[[nodiscard]] T decode_payload(std::span<const std::byte> bytes) {
  T value{};
  canonical_reader reader{bytes};
  try {
    reader(value);
  } catch (const cereal::Exception& e) {
    throw format_error{std::string{"payload does not decode: "} + e.what()};
  } catch (const std::logic_error& e) {
    // A load function rejecting a value it was handed: std::bitset from a string of other
    // characters than '0' and '1' throws invalid_argument (found by fuzz/payload_fuzzer.cpp).
    throw format_error{std::string{"payload does not decode: "} + e.what()};
  }
  if (reader.remaining() != 0) {
    throw format_error{"payload has " + std::to_string(reader.remaining()) + " unexpected trailing bytes"};
  }
  return value;
}

} // namespace recall::detail
