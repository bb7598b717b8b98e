// expect: the function returns void
#include <recall/recall.hpp>
#include <vector>
void fill(std::vector<double>& out, int n) { out.assign(static_cast<unsigned>(n), 1.0); }
recall::memoize<&fill> m;
