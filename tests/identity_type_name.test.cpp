// Canonical type and function names equal fixed strings, so passing under both g++ and clang++
// proves the names (and the cache keys built from them) are byte-identical across compilers.
#include "catch.hpp"

#include <recall/detail/identity/type_name.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace geo {

struct Params {
  double scale = 1.0;
  struct Inner {
    int depth = 0;
  };
};

template <class T>
struct Box {
  T value;
};

template <class T, int N>
struct Grid {
  T origin;
};

template <class T, class Tag = void>
struct Tagged {
  T value;
};

template <class... T>
struct Bundle {};

enum class Mode { fast, exact };

inline double simulate(const Params& p, int steps) { return p.scale * steps; }
inline double simulate(Params p, double dt) { return p.scale * dt; }
inline long fast(int x) noexcept { return x; }
inline std::string describe(const std::vector<std::string>& parts, Mode) { return parts.front(); }
inline int count(std::span<const double> xs) { return static_cast<int>(xs.size()); }
inline void consume(std::string&& s) { s.clear(); }

struct Solver {
  static double step(double x) { return x; }
};

template <class T>
T twice(T x) {
  return x + x;
}

inline auto make_local() {
  struct Local {
    int x = 0;
  };
  return Local{};
}

inline auto make_lambda() {
  return [](int x) { return x; };
}

} // namespace geo

namespace {

struct Secret {
  int x = 0;
};

int helper(int x) { return x + 1; }

} // namespace

using recall::detail::canonical_function_name;
using recall::detail::canonical_type_name;
using recall::detail::function_signature;
using recall::detail::normalize_name;
using recall::detail::raw_type_name;
using recall::detail::raw_value_name;

// The raw spellings are usable at compile time.
static_assert(raw_type_name<int>() == "int");
static_assert(raw_type_name<geo::Params>() == "geo::Params");
static_assert(raw_value_name<42>() == "42");
static_assert(raw_value_name<&geo::Solver::step>().ends_with("geo::Solver::step"));

TEST_CASE("fundamental types have one spelling", "[identity_type_name]") {
  CHECK(canonical_type_name<int>() == "int");
  CHECK(canonical_type_name<unsigned int>() == "unsigned int");
  CHECK(canonical_type_name<long long>() == "long long");
  CHECK(canonical_type_name<unsigned long long>() == "unsigned long long");
  CHECK(canonical_type_name<unsigned long>() == "unsigned long");
  CHECK(canonical_type_name<long>() == "long");
  CHECK(canonical_type_name<short>() == "short");
  CHECK(canonical_type_name<unsigned short>() == "unsigned short");
  CHECK(canonical_type_name<double>() == "double");
  CHECK(canonical_type_name<long double>() == "long double");
  CHECK(canonical_type_name<float>() == "float");
  CHECK(canonical_type_name<char>() == "char");
  CHECK(canonical_type_name<signed char>() == "signed char");
  CHECK(canonical_type_name<unsigned char>() == "unsigned char");
  CHECK(canonical_type_name<bool>() == "bool");
  CHECK(canonical_type_name<void>() == "void");
  CHECK(canonical_type_name<std::nullptr_t>() == "std::nullptr_t");
  // Typedefs resolve to the platform's type; LP64 Linux here.
  CHECK(canonical_type_name<std::int64_t>() == (std::is_same_v<std::int64_t, long> ? "long" : "long long"));
  CHECK(canonical_type_name<std::size_t>() ==
        (std::is_same_v<std::size_t, unsigned long> ? "unsigned long" : "unsigned long long"));
  CHECK(canonical_type_name<std::uint8_t>() == "unsigned char");
}

TEST_CASE("compound types keep their qualifiers", "[identity_type_name]") {
  CHECK(canonical_type_name<const int&>() == "const int&");
  CHECK(canonical_type_name<const geo::Params&>() == "const geo::Params&");
  CHECK(canonical_type_name<int&&>() == "int&&");
  CHECK(canonical_type_name<std::vector<double>&&>() == "std::vector<double>&&");
  CHECK(canonical_type_name<int*>() == "int*");
  CHECK(canonical_type_name<const char*>() == "const char*");
  CHECK(canonical_type_name<int* const>() == "int*const");
  CHECK(canonical_type_name<const int* const*>() == "const int*const*");
  CHECK(canonical_type_name<const volatile int*>() == "const volatile int*");
  CHECK(canonical_type_name<volatile long long&>() == "volatile long long&");
  CHECK(canonical_type_name<int[3]>() == "int[3]");
  CHECK(canonical_type_name<const int(&)[3]>() == "const int(&)[3]");
  CHECK(canonical_type_name<int(*)[3]>() == "int(*)[3]");
  CHECK(canonical_type_name<int (*)(int)>() == "int(*)(int)");
  CHECK(canonical_type_name<int (&)(int)>() == "int(&)(int)");
  CHECK(canonical_type_name<int(int, double)>() == "int(int,double)");
  CHECK(canonical_type_name<void (*)() noexcept>() == "void(*)()noexcept");
  CHECK(canonical_type_name<int (*(*)(int))(double)>() == "int(*(*)(int))(double)");
  CHECK(canonical_type_name<int geo::Params::*>() == "int geo::Params::*");
  CHECK(canonical_type_name<double (geo::Solver::*)(int)>() == "double(geo::Solver::*)(int)");
  CHECK(canonical_type_name<const int&>() != canonical_type_name<int>());
  CHECK(canonical_type_name<const geo::Params&>() != canonical_type_name<geo::Params>());
}

TEST_CASE("standard library types drop inline namespaces and defaults", "[identity_type_name]") {
  CHECK(canonical_type_name<std::string>() == "std::basic_string<char>");
  CHECK(canonical_type_name<std::wstring>() == "std::basic_string<wchar_t>");
  CHECK(canonical_type_name<std::string_view>() == "std::basic_string_view<char>");
  CHECK(canonical_type_name<std::vector<double>>() == "std::vector<double>");
  CHECK(canonical_type_name<std::map<std::string, int>>() == "std::map<std::basic_string<char>,int>");
  CHECK(canonical_type_name<std::array<double, 3>>() == "std::array<double,3>");
  CHECK(canonical_type_name<std::optional<int>>() == "std::optional<int>");
  CHECK(canonical_type_name<std::tuple<int, double>>() == "std::tuple<int,double>");
  CHECK(canonical_type_name<std::tuple<>>() == "std::tuple<>");
  CHECK(canonical_type_name<std::pair<int, int>>() == "std::pair<int,int>");
  CHECK(canonical_type_name<std::unordered_map<std::string, double>>() ==
        "std::unordered_map<std::basic_string<char>,double>");
  CHECK(canonical_type_name<std::span<const double>>() == "std::span<const double>");
  CHECK(canonical_type_name<std::span<const double, 3>>() == "std::span<const double,3>");
  CHECK(canonical_type_name<std::function<int(double)>>() == "std::function<int(double)>");
  CHECK(canonical_type_name<std::unique_ptr<int>>() == "std::unique_ptr<int>");
  CHECK(canonical_type_name<std::shared_ptr<const geo::Params>>() == "std::shared_ptr<const geo::Params>");
  CHECK(canonical_type_name<std::set<int>>() == "std::set<int>");
  CHECK(canonical_type_name<std::less<>>() == "std::less<>");
  CHECK(canonical_type_name<std::priority_queue<int>>() == "std::priority_queue<int>");
  CHECK(canonical_type_name<std::chrono::seconds>() == "std::chrono::duration<long>");
  CHECK(canonical_type_name<std::chrono::milliseconds>() == "std::chrono::duration<long,std::ratio<1,1000>>");
  CHECK(canonical_type_name<std::chrono::system_clock>() == "std::chrono::system_clock");
  CHECK(canonical_type_name<std::filesystem::path>() == "std::filesystem::path");
}

TEST_CASE("types nested in template argument packs have no defaults", "[identity_type_name]") {
  // gcc spells defaults out inside packs (std::vector<int, std::allocator<int> >), clang not.
  CHECK(canonical_type_name<std::variant<int, std::string>>() == "std::variant<int,std::basic_string<char>>");
  CHECK(canonical_type_name<std::tuple<std::string, std::vector<int>, std::map<int, int>>>() ==
        "std::tuple<std::basic_string<char>,std::vector<int>,std::map<int,int>>");
  CHECK(canonical_type_name<std::tuple<std::span<const double>, std::chrono::seconds>>() ==
        "std::tuple<std::span<const double>,std::chrono::duration<long>>");
  CHECK(canonical_type_name<geo::Bundle<geo::Tagged<int>, geo::Tagged<int, void>, geo::Tagged<int, char>>>() ==
        "geo::Bundle<geo::Tagged<int>,geo::Tagged<int>,geo::Tagged<int,char>>");
  CHECK(canonical_type_name<std::array<std::tuple<std::string>, 2>>() ==
        "std::array<std::tuple<std::basic_string<char>>,2>");
  CHECK(canonical_type_name<geo::Grid<std::tuple<std::string>, 2>>() ==
        "geo::Grid<std::tuple<std::basic_string<char>>,2>");
  CHECK(canonical_type_name<const std::tuple<std::string>&>() == "const std::tuple<std::basic_string<char>>&");
}

TEST_CASE("user types", "[identity_type_name]") {
  CHECK(canonical_type_name<geo::Params>() == "geo::Params");
  CHECK(canonical_type_name<geo::Params::Inner>() == "geo::Params::Inner");
  CHECK(canonical_type_name<geo::Box<double>>() == "geo::Box<double>");
  CHECK(canonical_type_name<geo::Box<std::string>>() == "geo::Box<std::basic_string<char>>");
  CHECK(canonical_type_name<geo::Grid<int, 3>>() == "geo::Grid<int,3>");
  CHECK(canonical_type_name<geo::Grid<int, -1>>() == "geo::Grid<int,-1>");
  CHECK(canonical_type_name<geo::Mode>() == "geo::Mode");
  CHECK(canonical_type_name<Secret>() == "(anonymous namespace)::Secret");
  CHECK(canonical_type_name<const Secret*>() == "const (anonymous namespace)::Secret*");
  CHECK(canonical_type_name<std::vector<Secret>>() == "std::vector<(anonymous namespace)::Secret>");
  CHECK(canonical_type_name<decltype(geo::make_local())>() == "Local");
}

TEST_CASE("lambda types carry no source path", "[identity_type_name]") {
  using lambda = decltype(geo::make_lambda());
  CHECK(canonical_type_name<lambda>() == "(lambda)");
  CHECK(canonical_type_name<std::vector<lambda>>() == "std::vector<(lambda)>");
  const std::string name = canonical_type_name<std::optional<lambda>>();
  CHECK(name.find(".cpp") == std::string::npos);
  CHECK(name.find('/') == std::string::npos);
}

TEST_CASE("function names and signatures", "[identity_type_name][function_name]") {
  constexpr double (*simulate_steps)(const geo::Params&, int) = &geo::simulate;
  constexpr double (*simulate_dt)(geo::Params, double) = &geo::simulate;

  CHECK(canonical_function_name<simulate_steps>() == "geo::simulate");
  CHECK(function_signature<simulate_steps>() == "geo::simulate(const geo::Params&,int)->double");
  CHECK(function_signature<simulate_dt>() == "geo::simulate(geo::Params,double)->double");
  CHECK(function_signature<simulate_steps>() != function_signature<simulate_dt>());

  CHECK(canonical_function_name<&geo::Solver::step>() == "geo::Solver::step");
  CHECK(function_signature<&geo::Solver::step>() == "geo::Solver::step(double)->double");

  CHECK(canonical_function_name<&helper>() == "(anonymous namespace)::helper");
  CHECK(function_signature<&helper>() == "(anonymous namespace)::helper(int)->int");

  CHECK(function_signature<&geo::fast>() == "geo::fast(int)->long");

  CHECK(function_signature<&geo::describe>() == "geo::describe(const std::vector<std::basic_string<char>>&,geo::Mode)"
                                                "->std::basic_string<char>");
  CHECK(function_signature<&geo::count>() == "geo::count(std::span<const double>)->int");
  CHECK(function_signature<&geo::consume>() == "geo::consume(std::basic_string<char>&&)->void");

  // Template arguments of function template specializations are dropped (clang 16 does not
  // print them); the parameter types still tell these two apart.
  CHECK(function_signature<&geo::twice<int>>() == "geo::twice(int)->int");
  CHECK(function_signature<&geo::twice<std::string>>() ==
        "geo::twice(std::basic_string<char>)->std::basic_string<char>");

  // Computed once, then the same string.
  CHECK(function_signature<&geo::fast>() == function_signature<&geo::fast>());
}

TEST_CASE("canonical spellings are fixed points of normalize_name", "[identity_type_name][normalize]") {
  const std::string names[] = {
      canonical_type_name<std::map<std::string, std::vector<std::string>>>(),
      canonical_type_name<const Secret* const&>(),
      canonical_type_name<int (*(*)(int))(double)>(),
      canonical_type_name<std::vector<decltype(geo::make_lambda())>>(),
      function_signature<&helper>(),
  };
  for (const std::string& name : names) CHECK(normalize_name(name) == name);
}

TEST_CASE("normalize_name unifies both compilers' raw spellings", "[identity_type_name][normalize]") {
  struct spelling {
    std::string_view gcc;
    std::string_view clang;
    std::string_view canonical;
  };
  const spelling cases[] = {
      // fundamental types
      {"long unsigned int", "unsigned long", "unsigned long"},
      {"long long int", "long long", "long long"},
      {"short unsigned int", "unsigned short", "unsigned short"},
      {"long long unsigned int", "unsigned long long", "unsigned long long"},
      {"__int128 unsigned", "unsigned __int128", "unsigned __int128"},
      {"const long int&", "const long &", "const long&"},
      {"std::tuple<long unsigned int, const long long int&, short int>",
       "std::tuple<unsigned long, const long long &, short>", "std::tuple<unsigned long,const long long&,short>"},
      // whitespace
      {"const char* const&", "const char *const &", "const char*const&"},
      {"int (* (*)(int))(double)", "int (*(*)(int))(double)", "int(*(*)(int))(double)"},
      {"std::function<int(double)>", "std::function<int (double)>", "std::function<int(double)>"},
      {"std::vector<std::vector<int> >", "std::vector<std::vector<int>>", "std::vector<std::vector<int>>"},
      {"int [3]", "int[3]", "int[3]"},
      // inline namespaces
      {"std::__cxx11::basic_string<char>", "std::basic_string<char>", "std::basic_string<char>"},
      {"std::__cxx11::list<int>", "std::__1::list<int>", "std::list<int>"},
      {"std::chrono::_V2::system_clock", "std::chrono::system_clock", "std::chrono::system_clock"},
      {"std::filesystem::__cxx11::path", "std::filesystem::path", "std::filesystem::path"},
      {"std::_V2::error_category", "std::error_category", "std::error_category"},
      // anonymous namespaces
      {"{anonymous}::Anon", "(anonymous namespace)::Anon", "(anonymous namespace)::Anon"},
      {"ns::{anonymous}::deep::D", "ns::(anonymous namespace)::deep::D", "ns::(anonymous namespace)::deep::D"},
      // function-pointer values
      {"ns::simulate", "&ns::simulate", "ns::simulate"},
      {"{anonymous}::af", "&(anonymous namespace)::af", "(anonymous namespace)::af"},
      {"W<ns::rs>", "W<&ns::rs>", "W<ns::rs>"},
      {"W<(& ns::obj)>", "W<&ns::obj>", "W<ns::obj>"},
      // lambdas and unnamed classes: no source path survives
      {"<lambda(int)>", "(lambda at /home/alice/src/sim.cpp:12:3)", "(lambda)"},
      {"ns::<lambda(const std::vector<int>&)>", "ns::(lambda at ../a b (v2)/x:y.cpp:3:14)", "ns::(lambda)"},
      {"ns::<lambda(auto:11)>", "ns::(lambda at C:\\work\\x.cpp:22:12)", "ns::(lambda)"},
      {"std::vector<ns::<lambda(int)> >", "std::vector<ns::(lambda at t.cpp:28:13)>", "std::vector<ns::(lambda)>"},
      {"main()::<lambda(double)>", "(lambda at probe.cpp:34:13)", "(lambda)"},
      {"flocal2(int, double)::<lambda(int)>", "(lambda at probe.cpp:40:38)", "(lambda)"},
      {"ns::<unnamed struct>", "ns::(unnamed struct at probe.cpp:35:2)", "ns::(unnamed struct)"},
      {"ns::<unnamed union>", "ns::(anonymous union at probe.cpp:20:2)", "ns::(unnamed union)"},
      {"ns::<unnamed enum>", "ns::(unnamed enum at probe.cpp:36:2)", "ns::(unnamed enum)"},
      // function-local classes lose their enclosing function
      {"flocal()::Local", "Local", "Local"},
      {"ns::S::mf() const::LC::In", "LC::In", "LC::In"},
      {"ns::tf<int>(int)::TL", "TL", "TL"},
      {"ns::lf()::<lambda()>::InL", "InL", "InL"},
      {"std::vector<ns::f()::Local>", "std::vector<Local>", "std::vector<Local>"},
      {"ns::S::operator()(int) const::Local", "Local", "Local"},
      // literals in template arguments
      {"W<3>", "W<3UL>", "W<3>"},
      {"W<-1>", "W<-1LL>", "W<-1>"},
      {"Ch<'\\012'>", "Ch<'\\n'>", "Ch<'\\x0a'>"},
      {"Ch<'\\000'>", "Ch<'\\x00'>", "Ch<'\\x00'>"},
      {"Ch<'a'>", "Ch<'a'>", "Ch<'a'>"},
      {"Ch<' '>", "Ch<' '>", "Ch<'\\x20'>"},
      {"Au<3>", "Au<(unsigned char)'\\x03'>", "Au<3>"},
      {"Au<-3>", "Au<(signed char)'\\xfd'>", "Au<-3>"},
      {"Au<3>", "Au<(short)3>", "Au<3>"},
      {"Au<97>", "Au<L'a'>", "Au<97>"},
      {"Au<5>", "Au<u8'\\x05'>", "Au<5>"},
      {"Au<(Color)7>", "Au<(Color)7>", "Au<(Color)7>"},
      {"Au<Color::green>", "Au<Color::green>", "Au<Color::green>"},
      // default template arguments spelled out (gcc inside packs)
      {"std::tuple<std::__cxx11::basic_string<char, std::char_traits<char>, "
       "std::allocator<char> > >",
       "std::tuple<std::basic_string<char>>", "std::tuple<std::basic_string<char>>"},
      {"std::variant<std::vector<int, std::allocator<int> >, std::span<const double, "
       "18446744073709551615>, std::chrono::duration<long int, std::ratio<1, 1> >, "
       "std::unique_ptr<int, std::default_delete<int> > >",
       "std::variant<std::vector<int>, std::span<const double>, std::chrono::duration<long>, "
       "std::unique_ptr<int>>",
       "std::variant<std::vector<int>,std::span<const double>,std::chrono::duration<long>,"
       "std::unique_ptr<int>>"},
      {"P<std::set<int, std::less<int>, std::allocator<int> >, std::unordered_map<int, int, "
       "std::hash<int>, std::equal_to<int>, std::allocator<std::pair<const int, int> > >, "
       "std::basic_string_view<char, std::char_traits<char> >, std::less<void> >",
       "P<std::set<int>, std::unordered_map<int, int>, std::basic_string_view<char>, "
       "std::less<>>",
       "P<std::set<int>,std::unordered_map<int,int>,std::basic_string_view<char>,std::less<>>"},
      {"std::priority_queue<int>", "std::priority_queue<int, std::vector<int>, std::less<int>>",
       "std::priority_queue<int>"},
      {"P<std::map<int*, int, std::less<int*>, std::allocator<std::pair<int* const, int> > >, "
       "std::map<int (*)(int), int, std::less<int (*)(int)>, "
       "std::allocator<std::pair<int (* const)(int), int> > > >",
       "P<std::map<int *, int>, std::map<int (*)(int), int>>", "P<std::map<int*,int>,std::map<int(*)(int),int>>"},
      {"std::__1::vector<int, std::__1::allocator<int> >", "std::vector<int>", "std::vector<int>"},
      {"std::chrono::time_point<std::chrono::_V2::system_clock, std::chrono::duration<long int, "
       "std::ratio<1, 1000000000> > >",
       "std::chrono::time_point<std::chrono::system_clock, std::chrono::duration<long, "
       "std::ratio<1, 1000000000>>>",
       "std::chrono::time_point<std::chrono::system_clock,std::chrono::duration<long,"
       "std::ratio<1,1000000000>>>"},
  };
  for (const spelling& c : cases) {
    INFO("gcc: " << c.gcc << "\nclang: " << c.clang);
    CHECK(normalize_name(c.gcc) == c.canonical);
    CHECK(normalize_name(c.clang) == c.canonical);
    CHECK(normalize_name(c.canonical) == c.canonical);
  }
}

TEST_CASE("normalize_name keeps what distinguishes types", "[identity_type_name][normalize]") {
  CHECK(normalize_name("unsigned int") != normalize_name("int"));
  CHECK(normalize_name("signed char") != normalize_name("char"));
  CHECK(normalize_name("signed int") == "int");
  CHECK(normalize_name("long double") == "long double");
  CHECK(normalize_name("std::vector<int, my_alloc<int> >") == "std::vector<int,my_alloc<int>>");
  CHECK(normalize_name("std::map<int, int, std::greater<int> >") == "std::map<int,int,std::greater<int>>");
  CHECK(normalize_name("user::vector<int, std::allocator<int> >") == "user::vector<int,std::allocator<int>>");
  CHECK(normalize_name("int64_t") == "int64_t");
  CHECK(normalize_name("ns::v2::Q") == "ns::v2::Q");
  CHECK(normalize_name("std::less<int>") == "std::less<int>");
}
