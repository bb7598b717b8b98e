// expect: each policy must be recall::globals
#include <recall/recall.hpp>
double f(double x) { return x; }
recall::memoize<&f, int> m;
