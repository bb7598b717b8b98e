// std::slice and std::gslice (valarray index descriptors) as memoized arguments and results.
#pragma once

// Include this header before the code that memoizes functions taking these types: recall
// decides once per type whether it can be hashed.
//
// std::valarray itself needs no adapter: it is built in (u64 size, then the elements, like
// std::vector). This header adds the descriptors that select parts of a valarray, so a
// function like `double mean_of(const std::valarray<double>& v, std::slice s)` can be memoized:
//   std::slice    u64 start, u64 size, u64 stride
//   std::gslice   u64 start, then the sizes and the strides as valarrays of u64

#include <cstddef>
#include <cstdint>
#include <string>
#include <valarray>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/errors.hpp>
#include <recall/key/hashable.hpp>

namespace recall::detail::valarray {

inline std::valarray<std::uint64_t> widen(const std::valarray<std::size_t>& values) {
  std::valarray<std::uint64_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = values[i];
  }
  return out;
}

inline std::valarray<std::size_t> narrow(const std::valarray<std::uint64_t>& values) {
  std::valarray<std::size_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = static_cast<std::size_t>(values[i]);
  }
  return out;
}

} // namespace recall::detail::valarray

// cereal finds these through the archive's base class namespace (argument-dependent lookup).
namespace cereal {

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::slice& s) {
  ar(static_cast<std::uint64_t>(s.start()), static_cast<std::uint64_t>(s.size()),
     static_cast<std::uint64_t>(s.stride()));
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::slice& s) {
  std::uint64_t start = 0;
  std::uint64_t size = 0;
  std::uint64_t stride = 0;
  ar(start, size, stride);
  s = std::slice{static_cast<std::size_t>(start), static_cast<std::size_t>(size), static_cast<std::size_t>(stride)};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::gslice& g) {
  ar(static_cast<std::uint64_t>(g.start()), recall::detail::valarray::widen(g.size()),
     recall::detail::valarray::widen(g.stride()));
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::gslice& g) {
  std::uint64_t start = 0;
  std::valarray<std::uint64_t> sizes;
  std::valarray<std::uint64_t> strides;
  ar(start, sizes, strides);
  if (sizes.size() != strides.size()) {
    // Indexing a valarray with such a gslice is undefined behaviour: refuse to build one.
    throw recall::format_error{"gslice payload has " + std::to_string(sizes.size()) + " sizes but " +
                               std::to_string(strides.size()) + " strides"};
  }
  g = std::gslice{static_cast<std::size_t>(start), recall::detail::valarray::narrow(sizes),
                  recall::detail::valarray::narrow(strides)};
}

} // namespace cereal
