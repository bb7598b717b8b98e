// Test helper: memoize objects with static storage duration (at namespace scope in three
// translation units, and a static inside a function) are destroyed after main returns, each
// adding its counters to the cache's statistics then. `run CALLS DISTINCT` uses them; `check
// CALLS DISTINCT RUNS` reads the cache (RECALL_CACHE_DIR) and fails unless it holds exactly the
// four functions, with the misses and hits that RUNS runs must have recorded.
#include "objects.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <recall/management/cache_inspection.hpp>
#include <recall/recall.hpp>

namespace static_lifetime_check {

double negate(double x) { return -x; }

// Built on first call, during main; destroyed after main returns, before the namespace-scope
// objects of this program (built earlier) and after its own identity was first resolved.
void use_negate(int calls, int distinct) {
  static recall::memoize<&negate> negate_cached;
  for (int i = 0; i < calls; ++i) {
    static_cast<void>(negate_cached(static_cast<double>(i % distinct)));
  }
}

} // namespace static_lifetime_check

namespace {

int check(int calls, int distinct, int runs) {
  const char* root = std::getenv("RECALL_CACHE_DIR");
  if (root == nullptr) {
    std::fprintf(stderr, "check: RECALL_CACHE_DIR is not set\n");
    return 2;
  }
  const auto summary = recall::cache_info(root);
  std::map<std::string, recall::function_stats> seen;
  for (const auto& f : summary.functions) {
    std::printf("%s (folder %s): %llu entries, %llu misses, %llu hits\n", f.name.c_str(), f.folder.c_str(),
                static_cast<unsigned long long>(f.entries), static_cast<unsigned long long>(f.stats.misses),
                static_cast<unsigned long long>(f.stats.hits));
    seen[f.name] = f.stats;
  }
  // Each function misses once per distinct argument in the first run and hits on every other call.
  const auto misses = static_cast<std::uint64_t>(distinct);
  const auto hits = static_cast<std::uint64_t>(calls) * static_cast<std::uint64_t>(runs) - misses;
  int failures = 0;
  for (const char* name : {"static_lifetime_check::square", "static_lifetime_check::cube",
                           "static_lifetime_check::halve", "static_lifetime_check::negate"}) {
    const auto it = seen.find(name);
    if (it == seen.end()) {
      std::printf("FAIL: no folder for %s\n", name);
      ++failures;
    } else if (it->second.misses != misses || it->second.hits != hits) {
      std::printf("FAIL: %s recorded %llu misses and %llu hits, expected %llu and %llu\n", name,
                  static_cast<unsigned long long>(it->second.misses), static_cast<unsigned long long>(it->second.hits),
                  static_cast<unsigned long long>(misses), static_cast<unsigned long long>(hits));
      ++failures;
    }
  }
  if (summary.functions.size() != 4) {
    std::printf("FAIL: %zu function folders, expected 4 (a stray folder is a destroyed identity's name)\n",
                summary.functions.size());
    ++failures;
  }
  return failures == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: static-objects-helper run CALLS DISTINCT | check CALLS DISTINCT RUNS\n");
    return 2;
  }
  const std::string verb = argv[1];
  const int calls = std::atoi(argv[2]);
  const int distinct = std::atoi(argv[3]);
  if (verb == "check" && argc == 5) {
    return check(calls, distinct, std::atoi(argv[4]));
  }
  static_lifetime_check::use_square(calls, distinct);
  static_lifetime_check::use_cube_and_halve(calls, distinct);
  static_lifetime_check::use_negate(calls, distinct);
  return 0; // every memoize object flushes its counters after this
}
