// Member names of plain aggregates, read at compile time for argument labels (detail/key/field_names.hpp).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <recall/detail/key/field_names.hpp>

#include "catch.hpp"

namespace field_names_test {

struct params {
  double dt;
  int steps;
  std::string integrator;
};

template <class T>
struct box {
  T width;
  std::optional<int> depth_2;
};

struct with_const {
  const int fixed;
  int free;
};

} // namespace field_names_test

namespace {
struct unnamed_namespace_type {
  double alpha;
};
} // namespace

namespace {

template <class T>
std::vector<std::string_view> names_of() {
  constexpr auto names = recall::detail::field_names<T>();
  return {names.begin(), names.end()};
}

} // namespace

TEST_CASE("field names: members of plain aggregates in declaration order", "[key_field_names]") {
  using namespace field_names_test;
  CHECK(names_of<params>() == std::vector<std::string_view>{"dt", "steps", "integrator"});
  // The class's own qualification (a template's arguments, an unnamed namespace) is not a name.
  CHECK(names_of<box<params>>() == std::vector<std::string_view>{"width", "depth_2"});
  CHECK(names_of<box<box<int>>>() == std::vector<std::string_view>{"width", "depth_2"});
  CHECK(names_of<unnamed_namespace_type>() == std::vector<std::string_view>{"alpha"});
  struct local {
    int x;
    int y;
  };
  CHECK(names_of<local>() == std::vector<std::string_view>{"x", "y"});
}

TEST_CASE("field names: types the probe cannot name are left to positional labels", "[key_field_names]") {
  struct with_reference {
    const double& r;
  };
  STATIC_REQUIRE_FALSE(recall::detail::has_field_names<with_reference>);
  STATIC_REQUIRE_FALSE(recall::detail::has_field_names<field_names_test::with_const>);
  STATIC_REQUIRE_FALSE(recall::detail::has_field_names<int>);
  STATIC_REQUIRE_FALSE(recall::detail::has_field_names<std::string>);
  struct empty {};
  STATIC_REQUIRE_FALSE(recall::detail::has_field_names<empty>);
}

TEST_CASE("field names: the spelling parser", "[key_field_names]") {
  using recall::detail::field_names_detail::member_name;
  STATIC_REQUIRE(member_name("[with auto A = pointer_argument<const int*>{(& probe_object<ns::box<int> >."
                             "probe_holder<ns::box<int> >::recall_field_probe.ns::box<int>::width)}; x = y]") ==
                 "width");
  STATIC_REQUIRE(member_name("[A = pointer_argument<const int *>{&probe_object.recall_field_probe.steps}]") == "steps");
  STATIC_REQUIRE(member_name("something else entirely").empty());
  STATIC_REQUIRE(member_name("recall_field_probe.ns::p::7)}").empty());
}
