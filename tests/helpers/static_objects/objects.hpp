// The memoized functions of the static-objects helper, each wrapped by a memoize object with
// static storage duration in its own translation unit.
#pragma once

namespace static_lifetime_check {

double square(double x);
double cube(double x);
double halve(double x);
double negate(double x);

// Calls each translation unit's objects: `calls` calls on `distinct` distinct arguments.
void use_square(int calls, int distinct);
void use_cube_and_halve(int calls, int distinct);

} // namespace static_lifetime_check
