// expect: success
// The control: a well-formed use compiles, so the rejections below are the snippets' doing.
#include <recall/recall.hpp>
#include <string>
#include <vector>
struct params {
  double dt;
  int steps;
};
std::vector<double> simulate(const params& p, const std::string& name) {
  return {p.dt, double(p.steps), double(name.size())};
}
recall::memoize<&simulate> sim;
auto lorenz = recall::memoize_as<"lorenz">([](double s, double r) { return s * r; });
