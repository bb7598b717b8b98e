// expect: the global's type cannot be hashed
#include <recall/recall.hpp>
struct handle {
  void* p;
};
handle g_handle{nullptr};
double f(double x) { return x; }
recall::memoize<&f, recall::globals<&g_handle>> m;
int main() { return static_cast<int>(m(1.0)); }
