// Tests of detail::append_safe_name, the rule behind function folder and scope folder names.
#include "catch.hpp"

#include <string>

#include <recall/detail/stores/safe_name.hpp>

namespace {

std::string safe(const std::string& name, std::size_t max_length = 64) {
  std::string out = "prefix/";
  const std::size_t appended = recall::detail::append_safe_name(out, name, max_length);
  CHECK(appended == out.size() - 7);
  CHECK(out.rfind("prefix/", 0) == 0); // appends, never touches what was there
  return out.substr(7);
}

} // namespace

TEST_CASE("append_safe_name keeps [A-Za-z0-9_.-] and folds runs of anything else into one '_'", "[stores_safe_name]") {
  CHECK(safe("ns::simulate") == "ns_simulate");
  CHECK(safe("run(double, int) const") == "run_double_int_const");
  CHECK(safe("a/b\\c d\te") == "a_b_c_d_e");
  CHECK(safe("v1.2-rc_3") == "v1.2-rc_3");
  CHECK(safe("caf\xc3\xa9") == "caf_"); // bytes of a UTF-8 letter are one unsafe run
  CHECK(safe("..") == "_.");
}

TEST_CASE("append_safe_name makes no hidden folder nor one a tool takes for an option", "[stores_safe_name]") {
  CHECK(safe(".hidden") == "_hidden");
  CHECK(safe("-rf") == "_rf");
  CHECK(safe("x-rf") == "x-rf");
}

TEST_CASE("append_safe_name cuts at the length and appends nothing for nothing", "[stores_safe_name]") {
  CHECK(safe(std::string(100, 'a'), 10) == std::string(10, 'a'));
  CHECK(safe("abc::def", 4) == "abc_");
  CHECK(safe("").empty());
  CHECK(safe("::") == "_");
}
