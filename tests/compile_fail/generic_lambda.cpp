// expect: concrete parameter types
#include <recall/recall.hpp>
auto f = recall::memoize_as<"generic">([](auto x) { return x * 2; });
