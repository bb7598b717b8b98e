// One simulated host's process for the many-hosts test: memoizes a slow function over 50 keys on
// a pack store, in a shuffled order, appends "<key> <host> <pid>" to a log for every key it
// computes, and checks every result. Exit 0 if all were right.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <recall/recall.hpp>

namespace {

int g_log = -1;

long long slow_value(int k) {
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  const std::string line = std::to_string(k) + " " + host.data() + " " + std::to_string(::getpid()) + "\n";
  // O_APPEND: one write per line, whole, whoever else appends.
  if (::write(g_log, line.data(), line.size()) != static_cast<::ssize_t>(line.size())) {
    std::exit(3);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{15});
  return static_cast<long long>(k) * k * 7 + 3;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: hosts-helper CACHE LOG SEED\n");
    return 2;
  }
  g_log = ::open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (g_log < 0) {
    std::perror(argv[2]);
    return 2;
  }
  recall::options o;
  o.directory = argv[1];
  o.layout = recall::store_layout::pack;
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none;
  recall::memoize<&slow_value> f{o};
  std::vector<int> keys(50);
  for (int i = 0; i < 50; ++i) {
    keys[static_cast<std::size_t>(i)] = i;
  }
  std::mt19937 random{static_cast<unsigned>(std::atoi(argv[3]))};
  std::shuffle(keys.begin(), keys.end(), random);
  int wrong = 0;
  for (const int k : keys) {
    wrong += f(k) == static_cast<long long>(k) * k * 7 + 3 ? 0 : 1;
  }
  // And once more, all hits now.
  for (const int k : keys) {
    wrong += f(k) == static_cast<long long>(k) * k * 7 + 3 ? 0 : 1;
  }
  if (wrong != 0) {
    std::fprintf(stderr, "%d wrong results\n", wrong);
    return 1;
  }
  return 0;
}
