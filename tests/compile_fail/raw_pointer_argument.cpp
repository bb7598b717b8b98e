// expect: argument is a raw pointer
#include <recall/recall.hpp>
double mean(const double* values, int count) { return count > 0 ? values[0] : 0.0; }
recall::memoize<&mean> m;
