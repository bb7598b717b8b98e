// expect: an argument type cannot be hashed
#include <recall/recall.hpp>
#include <vector>
double first(const std::vector<int*>& v) { return v.empty() ? 0.0 : *v[0]; }
recall::memoize<&first> m;
