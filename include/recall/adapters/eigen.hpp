// Eigen dense matrices and arrays as memoized arguments and results (optional: needs Eigen 3).
#pragma once

// Include this header before the code that memoizes functions taking or returning Eigen types:
// recall decides once per type whether it can be hashed.
//
// Covers Eigen::Matrix and Eigen::Array of any shape (fixed, dynamic or mixed dimensions, any
// storage order) whose Scalar recall can hash: float, double, integers, std::complex<double>,
// long double, or any type recall::hashable accepts. Encoding, in recall's canonical form:
//   u8   storage order: 0 column-major, 1 row-major
//   u64  rows, u64 cols
//   the rows * cols coefficients in storage order (one block for arithmetic scalars)
// so equal values with different shapes or storage orders never share a key. Views (Eigen::Map,
// Eigen::Ref, block expressions) are not covered: evaluate them into a Matrix or Array first.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/errors.hpp>
#include <recall/key/hashable.hpp>

namespace recall::detail::eigen {

template <class Archive, class Dense>
void save_dense(Archive& ar, const Dense& m) {
  using scalar = typename Dense::Scalar;
  const std::uint8_t order = Dense::IsRowMajor ? 1 : 0;
  ar(order, static_cast<std::uint64_t>(m.rows()), static_cast<std::uint64_t>(m.cols()));
  if constexpr (is_raw_block_element<scalar>) {
    ar(cereal::binary_data(m.data(), static_cast<std::size_t>(m.size()) * sizeof(scalar)));
  } else {
    for (Eigen::Index i = 0; i < m.size(); ++i) {
      ar(m.data()[i]);
    }
  }
}

// Checks a decoded dimension against the type's compile-time size and bound.
inline void check_dimension(std::uint64_t value, int fixed, int max, const char* what) {
  const bool fits = fixed == Eigen::Dynamic ? (max == Eigen::Dynamic || value <= static_cast<std::uint64_t>(max))
                                            : value == static_cast<std::uint64_t>(fixed);
  if (!fits || value > static_cast<std::uint64_t>(std::numeric_limits<Eigen::Index>::max())) {
    throw format_error{std::string{"Eigen payload holds "} + std::to_string(value) + " " + what +
                       ", which the type cannot have"};
  }
}

template <class Archive, class Dense>
void load_dense(Archive& ar, Dense& m) {
  using scalar = typename Dense::Scalar;
  std::uint8_t order = 0;
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  ar(order, rows, cols);
  if (order != (Dense::IsRowMajor ? 1 : 0)) {
    throw format_error{"Eigen payload's storage order does not match the type's"};
  }
  check_dimension(rows, Dense::RowsAtCompileTime, Dense::MaxRowsAtCompileTime, "rows");
  check_dimension(cols, Dense::ColsAtCompileTime, Dense::MaxColsAtCompileTime, "columns");
  // Every coefficient takes at least one byte: a forged shape cannot allocate beyond the payload.
  if constexpr (std::is_same_v<Archive, canonical_reader>) {
    if (cols != 0 && rows > ar.remaining() / cols) {
      throw format_error{"Eigen payload claims " + std::to_string(rows) + "x" + std::to_string(cols) +
                         " coefficients with only " + std::to_string(ar.remaining()) + " bytes left"};
    }
  }
  m.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  if constexpr (is_raw_block_element<scalar>) {
    ar(cereal::binary_data(m.data(), static_cast<std::size_t>(m.size()) * sizeof(scalar)));
  } else {
    for (Eigen::Index i = 0; i < m.size(); ++i) {
      ar(m.data()[i]);
    }
  }
}

} // namespace recall::detail::eigen

// cereal finds these through the archive's base class namespace (argument-dependent lookup).
namespace cereal {

template <class Archive, class S, int R, int C, int O, int MR, int MC>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const Eigen::Matrix<S, R, C, O, MR, MC>& m) {
  recall::detail::eigen::save_dense(ar, m);
}
template <class Archive, class S, int R, int C, int O, int MR, int MC>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, Eigen::Matrix<S, R, C, O, MR, MC>& m) {
  recall::detail::eigen::load_dense(ar, m);
}
template <class Archive, class S, int R, int C, int O, int MR, int MC>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const Eigen::Array<S, R, C, O, MR, MC>& m) {
  recall::detail::eigen::save_dense(ar, m);
}
template <class Archive, class S, int R, int C, int O, int MR, int MC>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, Eigen::Array<S, R, C, O, MR, MC>& m) {
  recall::detail::eigen::load_dense(ar, m);
}

} // namespace cereal

namespace recall::detail {

// Hashable exactly when the scalar is (a matrix of raw pointers is not).
template <class S, int R, int C, int O, int MR, int MC>
struct hashable_trait<Eigen::Matrix<S, R, C, O, MR, MC>> : std::bool_constant<hashable_v<S>> {};
template <class S, int R, int C, int O, int MR, int MC>
struct hashable_trait<Eigen::Array<S, R, C, O, MR, MC>> : std::bool_constant<hashable_v<S>> {};

} // namespace recall::detail
