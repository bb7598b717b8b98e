// Tests for recall/adapters/eigen.hpp: Eigen matrices and arrays as keys and stored results.
#include "catch.hpp"

#include <complex>
#include <cstdint>
#include <cstring>
#include <vector>

#include <recall/adapters/eigen.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace adapters_eigen {

int g_calls = 0;

Eigen::MatrixXd scaled(const Eigen::MatrixXd& m, double factor) {
  ++g_calls;
  return m * factor;
}

Eigen::Matrix<float, 2, 3, Eigen::RowMajor> transposed(const Eigen::Matrix<float, 3, 2>& m) {
  ++g_calls;
  return m.transpose();
}

recall::options on_disk(const std::filesystem::path& dir) {
  return recall::options{.directory = dir, .mode = recall::mode::reuse, .memory = recall::memory_tier::none};
}

} // namespace adapters_eigen

using namespace adapters_eigen;

TEST_CASE("Eigen dense types are hashable and storable when their scalar is", "[adapters_eigen]") {
  STATIC_REQUIRE(recall::hashable<Eigen::MatrixXd>);
  STATIC_REQUIRE(recall::hashable<Eigen::Matrix4f>);
  STATIC_REQUIRE(recall::hashable<Eigen::VectorXi>);
  STATIC_REQUIRE(recall::hashable<Eigen::ArrayXXcd>);
  STATIC_REQUIRE(recall::hashable<Eigen::Matrix<long double, 2, Eigen::Dynamic, Eigen::RowMajor>>);
  STATIC_REQUIRE(recall::storable<Eigen::MatrixXd>);
  STATIC_REQUIRE(recall::storable<Eigen::Vector3d>);
  STATIC_REQUIRE(recall::storable<Eigen::Array<std::complex<double>, 2, 2>>);
  STATIC_REQUIRE_FALSE(recall::hashable<Eigen::Matrix<int*, 2, 2>>);
}

TEST_CASE("Eigen encoding: storage order, rows, columns, then the coefficients in storage order", "[adapters_eigen]") {
  Eigen::Matrix<double, 2, 2, Eigen::RowMajor> m;
  m << 1, 2, 3, 4;
  const std::vector<std::byte> bytes = recall::detail::encode_payload(m);
  REQUIRE(bytes.size() == 1 + 8 + 8 + 4 * 8);
  CHECK(bytes[0] == std::byte{1});
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::memcpy(&rows, bytes.data() + 1, 8);
  std::memcpy(&cols, bytes.data() + 9, 8);
  CHECK(rows == 2);
  CHECK(cols == 2);
  double second = 0;
  std::memcpy(&second, bytes.data() + 17 + 8, 8);
  CHECK(second == 2.0); // row-major: (0,1) follows (0,0)
  const Eigen::Matrix2d col_major = m;
  CHECK(recall::detail::encode_payload(col_major)[0] == std::byte{0});
}

TEST_CASE("Eigen keys tell shapes, storage orders and values apart", "[adapters_eigen]") {
  using recall::detail::hash_value;
  const Eigen::MatrixXd a = Eigen::MatrixXd::Zero(2, 3);
  const Eigen::MatrixXd b = Eigen::MatrixXd::Zero(3, 2);
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> a_rows = a;
  CHECK(hash_value(a) != hash_value(b));
  CHECK(hash_value(a) != hash_value(a_rows));
  Eigen::MatrixXd c = a;
  CHECK(hash_value(a) == hash_value(c));
  c(1, 2) = -0.0;
  CHECK(hash_value(a) != hash_value(c)); // by bit pattern, like every double
  const Eigen::VectorXd column = Eigen::VectorXd::Zero(0);
  const Eigen::RowVectorXd row = Eigen::RowVectorXd::Zero(0);
  CHECK(hash_value(column) != hash_value(row));
}

TEST_CASE("Eigen values round-trip through the payload encoding", "[adapters_eigen]") {
  Eigen::MatrixXd m(3, 4);
  m.setRandom();
  CHECK(recall::detail::decode_payload<Eigen::MatrixXd>(recall::detail::encode_payload(m)) == m);
  Eigen::Array<std::complex<double>, 2, Eigen::Dynamic> z(2, 3);
  z.setRandom();
  CHECK((recall::detail::decode_payload<decltype(z)>(recall::detail::encode_payload(z)) == z).all());
  using long_matrix = Eigen::Matrix<long double, 2, 2>;
  const long_matrix ld = long_matrix::Constant(1.5L);
  CHECK(recall::detail::decode_payload<long_matrix>(recall::detail::encode_payload(ld)) == ld);
  const Eigen::VectorXf empty;
  CHECK(recall::detail::decode_payload<Eigen::VectorXf>(recall::detail::encode_payload(empty)).size() == 0);
}

TEST_CASE("Eigen payloads with a wrong order, shape or size are rejected", "[adapters_eigen]") {
  using recall::detail::decode_payload;
  using recall::detail::encode_payload;
  const Eigen::Matrix2d fixed = Eigen::Matrix2d::Identity();
  std::vector<std::byte> bytes = encode_payload(fixed);
  bytes[0] = std::byte{1};
  CHECK_THROWS_AS(decode_payload<Eigen::Matrix2d>(bytes), recall::format_error);
  // A 2x2 payload is not a 3x3 matrix.
  CHECK_THROWS_AS(decode_payload<Eigen::Matrix3d>(encode_payload(fixed)), recall::format_error);
  // A forged shape may not allocate more coefficients than the payload holds.
  std::vector<std::byte> forged = encode_payload(Eigen::MatrixXd{Eigen::MatrixXd::Zero(1, 1)});
  const std::uint64_t huge = std::uint64_t{1} << 40;
  std::memcpy(forged.data() + 1, &huge, 8);
  std::memcpy(forged.data() + 9, &huge, 8);
  CHECK_THROWS_AS(decode_payload<Eigen::MatrixXd>(forged), recall::format_error);
  const std::vector<std::byte> truncated(bytes.begin(), bytes.end() - 1);
  CHECK_THROWS_AS(decode_payload<Eigen::Matrix2d>(truncated), recall::format_error);
}

TEST_CASE("memoized functions take and return Eigen types, hitting from disk", "[adapters_eigen]") {
  recall_test::temp_dir dir;
  recall::memoize<&scaled> memo{on_disk(dir.path())};
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  g_calls = 0;
  const Eigen::MatrixXd first = memo(m, 2.0);
  const Eigen::MatrixXd second = memo(m, 2.0);
  CHECK(g_calls == 1);
  CHECK(first == second);
  CHECK(second(1, 2) == 12.0);
  memo(m.transpose(), 2.0);
  CHECK(g_calls == 2);

  recall::memoize<&transposed> fixed{on_disk(dir.path())};
  Eigen::Matrix<float, 3, 2> f;
  f << 1, 2, 3, 4, 5, 6;
  CHECK(fixed(f) == fixed(f));
  CHECK(g_calls == 3);
  CHECK(fixed(f)(1, 2) == 6.0F);
}
