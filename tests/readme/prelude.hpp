// Declarations the README's `// fragment` code blocks use; check_readme.py compiles each fragment inside a function after this.
#pragma once

#include <string>
#include <vector>

#include <recall/recall.hpp>

struct params {
  double sigma, rho, beta, dt;
};

double simulate(const params& p, long steps);
std::vector<double> simulate_series(const params& p, long steps);

inline double g_temperature = 300.0;

inline const params p{10, 28, 8.0 / 3, 1e-4};
