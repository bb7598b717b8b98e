// expect: the result type cannot be stored
#include <recall/recall.hpp>
#include <string_view>
std::string_view name_of(int) { return "x"; }
recall::memoize<&name_of> m;
