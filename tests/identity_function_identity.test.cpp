// Tests for recall::function_identity: its text layout, its hash, and what memoize puts in it.
#include "catch.hpp"

#include <string>

#include <recall/recall.hpp>

namespace identity_test {

struct params {
  double dt;
  int steps;
};

double simulate(const params& p, int steps) { return p.dt * steps; }

} // namespace identity_test

TEST_CASE("identity text lists kind, name, signature, version and body line by line", "[identity_function_identity]") {
  recall::function_identity id;
  id.kind = recall::identity_kind::function;
  id.name = "ns::f";
  id.signature = "(int)->double";
  id.version = "3";
  CHECK(id.text() ==
        "recall-identity 1\nkind function\nname ns::f\nsignature (int)->double\nversion 3\nbody untracked\n");
  const auto untracked = id.hash();
  id.body = "abc";
  CHECK(id.text().find("\nbody abc\n") != std::string::npos);
  CHECK(id.hash() != untracked);
  CHECK(id.hash() == recall::detail::xxh3_128(id.text().data(), id.text().size()));
}

TEST_CASE("memoize names a function by its canonical qualified name and types", "[identity_function_identity]") {
  recall::memoize<&identity_test::simulate> sim{recall::options{.mode = recall::mode::off}};
  const auto& parts = sim.identity_parts();
  CHECK(parts.kind == recall::identity_kind::function);
  CHECK(parts.name == "identity_test::simulate");
  CHECK(parts.signature == "(const identity_test::params&,int)->double");
  CHECK(parts.version.empty());
  CHECK(parts.body.empty());
  CHECK(sim.function().identity == parts.hash());
}

TEST_CASE("a registered body signature becomes part of the identity", "[identity_function_identity]") {
  const recall::body_signature rows[] = {{"identity_test::tracked", "0123abcd"}};
  recall::register_body_signatures(rows);
  CHECK(recall::find_body_signature("identity_test::tracked") == std::string{"0123abcd"});
  CHECK_FALSE(recall::find_body_signature("identity_test::untracked"));
  auto tracked =
      recall::memoize_as<"identity_test::tracked">([](int x) { return x; }, recall::options{.mode = recall::mode::off});
  CHECK(tracked.identity_parts().body == "0123abcd");
}
