// Tests for recall::hashable and recall::storable: what can be an argument or a result.
#include "catch.hpp"

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <recall/key/hashable.hpp>

namespace {

struct aggregate_ok {
  double a;
  std::vector<int> b;
  std::optional<std::string> c;
};
struct aggregate_with_pointer {
  double a;
  const int* p;
};
struct hana_ok {
  BOOST_HANA_DEFINE_STRUCT(hana_ok, (double, x), (std::string, y));
};
struct hana_with_pointer {
  BOOST_HANA_DEFINE_STRUCT(hana_with_pointer, (double, x), (int*, p));
};
struct serializable {
  int v = 0;
  template <class A>
  void serialize(A& ar) {
    ar(v);
  }
};
class opaque {
public:
  explicit opaque(int v) : m_v{v} {}
  [[nodiscard]] int v() const { return m_v; }

private:
  int m_v;
};
union bits {
  int i;
  float f;
};
struct no_default {
  explicit no_default(int) {}
  template <class A>
  void serialize(A&) {}
};

} // namespace

TEST_CASE("hashable accepts values with a canonical encoding", "[key_hashable]") {
  CHECK(recall::hashable<int>);
  CHECK(recall::hashable<const double&>);
  CHECK(recall::hashable<std::string>);
  CHECK(recall::hashable<std::string_view>);
  CHECK(recall::hashable<std::span<const double>>);
  CHECK(recall::hashable<std::vector<std::map<std::string, std::array<double, 3>>>>);
  CHECK(recall::hashable<std::unordered_map<std::string, std::vector<int>>>);
  CHECK(recall::hashable<std::variant<int, std::string>>);
  CHECK(recall::hashable<std::tuple<int, double, std::string>>);
  CHECK(recall::hashable<std::pair<int, std::optional<double>>>);
  CHECK(recall::hashable<std::chrono::milliseconds>);
  CHECK(recall::hashable<std::shared_ptr<const std::vector<double>>>);
  CHECK(recall::hashable<aggregate_ok>);
  CHECK(recall::hashable<hana_ok>);
  CHECK(recall::hashable<serializable>);
}

TEST_CASE("hashable rejects pointers, anywhere inside", "[key_hashable]") {
  CHECK_FALSE(recall::hashable<int*>);
  CHECK_FALSE(recall::hashable<const char*>);
  CHECK_FALSE(recall::hashable<std::vector<int*>>);
  CHECK_FALSE(recall::hashable<std::map<std::string, void*>>);
  CHECK_FALSE(recall::hashable<std::optional<double*>>);
  CHECK_FALSE(recall::hashable<aggregate_with_pointer>);
  CHECK_FALSE(recall::hashable<hana_with_pointer>);
  CHECK_FALSE(recall::hashable<opaque>);
  CHECK_FALSE(recall::hashable<bits>);
  CHECK_FALSE(recall::hashable<int (*)(int)>);
}

TEST_CASE("storable results own their data and can be default constructed", "[key_hashable]") {
  CHECK(recall::storable<double>);
  CHECK(recall::storable<std::vector<double>>);
  CHECK(recall::storable<aggregate_ok>);
  CHECK(recall::storable<hana_ok>);
  CHECK_FALSE(recall::storable<void>);
  CHECK_FALSE(recall::storable<std::string_view>);
  CHECK_FALSE(recall::storable<std::span<const double>>);
  CHECK_FALSE(recall::storable<const double&>);
  CHECK_FALSE(recall::storable<double*>);
  CHECK_FALSE(recall::storable<no_default>);
}
