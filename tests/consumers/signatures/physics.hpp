// A callee of the consumer's memoized function, defined in physics.cpp.
#pragma once

namespace physics {
double energy(int steps);
}
