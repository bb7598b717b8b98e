// Cache partitions per configuration (the AMMM scenario): a neuron model's channel set is chosen
// once per session, and each set gets its own partition, recall::scope{"channels", set}, with its
// own folder <root>/channels_<8 hex>/ and keys no other set can hit. A session with 2 channels
// computes, one with 3 computes its own results, and going back to 2 loads everything.
// Exits non-zero if a session computes something its partition held, or hits across sets.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <recall/recall.hpp>

namespace neuron {

// The session's channel set: configuration the model reads, not an argument of each call.
std::vector<std::string> g_channels;

int runs = 0;

// A toy steady-state firing rate for an injected current: each channel adds its conductance.
double firing_rate(double current) {
  ++runs;
  double conductance = 0.1;
  for (const std::string& channel : g_channels) {
    conductance += channel == "Na" ? 1.2 : channel == "K" ? 0.36 : 0.05;
  }
  return 100.0 * std::tanh(current / conductance);
}

struct session_result {
  int computed = 0;
  int cached_before = 0; // what the partition held when the session started
  std::vector<double> rates;
  recall::key first_key;
};

session_result run_session(const std::vector<std::string>& channels) {
  g_channels = channels;
  const recall::scope partition{"channels", channels};
  recall::memoize<&firing_rate> rate{recall::options{.scope = partition}};
  session_result out;
  const std::vector<double> currents{0.5, 1.0, 2.0, 4.0};
  for (const double current : currents) {
    out.cached_before += rate.contains(current) ? 1 : 0;
  }
  out.first_key = rate.key(currents.front());
  const int before = runs;
  for (const double current : currents) {
    out.rates.push_back(rate(current));
  }
  out.computed = runs - before;
  std::printf("%zu channels: partition %s, %d of %zu computed\n", channels.size(), partition.folder_name().c_str(),
              out.computed, out.rates.size());
  return out;
}

} // namespace neuron

int main() {
  const std::vector<std::string> two{"Na", "K"};
  const std::vector<std::string> three{"Na", "K", "Ca"};
  const neuron::session_result first = neuron::run_session(two);
  const neuron::session_result second = neuron::run_session(three);
  const neuron::session_result back = neuron::run_session(two);
  // Each session computes exactly what its partition lacked, whatever the cache held before
  // this run; the same current has a different key in each partition, and their rates differ.
  for (const neuron::session_result* s : {&first, &second}) {
    if (s->computed != static_cast<int>(s->rates.size()) - s->cached_before) {
      std::fprintf(stderr, "partitions: a session computed %d results, its partition lacked %zu\n", s->computed,
                   s->rates.size() - static_cast<std::size_t>(s->cached_before));
      return 1;
    }
  }
  if (second.first_key == first.first_key || second.rates == first.rates) {
    std::fprintf(stderr, "partitions: 2 and 3 channels share a key or their results\n");
    return 1;
  }
  if (back.computed != 0 || back.rates != first.rates) {
    std::fprintf(stderr, "partitions: back to 2 channels computed %d results (expected 0)\n", back.computed);
    return 1;
  }
  return 0;
}
