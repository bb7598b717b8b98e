// recall-cache running: the computations under way (key, function folder, host, pid, since, label), from a cache directory's or Redis's compute locks.
#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <recall/stores/directory_store.hpp>

#include "output.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

struct running_options {
  bool json = false;
};

// One line per computation, oldest first; or a JSON array. `Running` is a store's
// running_computation (folder, call, holder).
template <class Running>
int print_running(std::vector<Running> running, bool json) {
  std::sort(running.begin(), running.end(),
            [](const auto& a, const auto& b) { return a.holder.since < b.holder.since; });
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : running) {
      out.push_back(
          {{"key", r.call.hex()},
           {"folder", r.folder},
           {"host", r.holder.host},
           {"pid", r.holder.pid},
           {"since",
            std::chrono::duration_cast<std::chrono::milliseconds>(r.holder.since.time_since_epoch()).count() / 1000},
           {"label", r.holder.label}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (running.empty()) {
    fmt::print("no computations under way\n");
    return 0;
  }
  for (const auto& r : running) {
    fmt::print("{}  {}  {}  pid {}  since {}  {}\n", r.call.hex(), r.folder,
               r.holder.host.empty() ? "-" : r.holder.host, r.holder.pid, age(r.holder.since), r.holder.label);
  }
  return 0;
}

int run(const directory_target& d, const running_options& o) {
  return print_running(recall::directory_store::running_computations(d.root), o.json);
}

#if RECALL_CACHE_WITH_REDIS
int run(const redis_target& r, const running_options& o) {
  return print_running(r.store->running_computations(), o.json);
}
#endif

} // namespace

void add_running_verb(CLI::App& app, cli_context& context) {
  auto o = std::make_shared<running_options>();
  auto* verb = app.add_subcommand("running", "computations under way: function, key, host, pid, since, arguments");
  verb->add_flag("--json", o->json, "machine-readable output");
  // An S3 store takes no compute locks: it has no computations under way to list.
  verb->callback([o, &context] { context.exit_code = run_verb(context.flags, {.redis = true}, *o); });
}

} // namespace recall_cache
