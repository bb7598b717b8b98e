// A memoize object at namespace scope, as in the README's first example.
#include "objects.hpp"

#include <recall/recall.hpp>

namespace static_lifetime_check {

double square(double x) { return x * x; }

namespace {
recall::memoize<&square> square_cached;
} // namespace

void use_square(int calls, int distinct) {
  for (int i = 0; i < calls; ++i) {
    static_cast<void>(square_cached(static_cast<double>(i % distinct)));
  }
}

} // namespace static_lifetime_check
