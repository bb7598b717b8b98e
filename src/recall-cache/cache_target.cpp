// Which store a recall-cache verb works on (cache_target.hpp): the one place that reads --redis, --s3 and --cache-root.
#include "cache_target.hpp"

#include <chrono>
#include <exception>
#include <string_view>

#include <fmt/core.h>

#include <recall/errors.hpp>
#include <recall/policy/environment.hpp>
#include <recall/stores/store_layout.hpp>

namespace recall_cache {
namespace {

// Checks of a remote target that every verb shares; the message for stderr, or empty.
std::string refusal(store_kind kind, const verb_reach& reach) {
  if (kind == store_kind::s3 && !reach.s3) {
    return "--s3 works with info, ls, clear and prune only (an S3 store takes no compute locks, so it has no running "
           "computations to list)";
  }
  if (kind == store_kind::redis && !reach.redis) {
    return "--redis works with info, ls, running, clear and prune only";
  }
  if (!reach.scope.empty()) {
    return kind == store_kind::s3 ? "--scope works with cache directories only"
                                  : "--scope works with cache directories only (Redis keys have no partition folders)";
  }
#if !RECALL_CACHE_WITH_S3
  if (kind == store_kind::s3) {
    return "--s3: this recall-cache was built without libcurl";
  }
#endif
#if !RECALL_CACHE_WITH_REDIS
  if (kind == store_kind::redis) {
    return "--redis: this recall-cache was built without hiredis";
  }
#endif
  return reach.refuse ? reach.refuse(kind) : std::string{};
}

// The remote store the flags name, opened with the timeouts of an interactive tool, which can
// wait longer for a remote server than a hit path should. Throws config_error (a malformed URL).
cache_target open_remote([[maybe_unused]] store_kind kind, [[maybe_unused]] const store_flags& flags) {
#if RECALL_CACHE_WITH_S3
  if (kind == store_kind::s3) {
    recall::s3_options o;
    o.url = flags.s3_url;
    o.connect_timeout = std::chrono::milliseconds{5000};
    o.timeout = std::chrono::milliseconds{30'000};
    return s3_target{std::make_unique<recall::s3_store>(o)};
  }
#endif
#if RECALL_CACHE_WITH_REDIS
  if (kind == store_kind::redis) {
    recall::redis_options o;
    o.url = flags.redis_url;
    o.prefix = flags.redis_prefix;
    o.connect_timeout = std::chrono::milliseconds{2000};
    o.operation_timeout = std::chrono::milliseconds{10'000};
    redis_target t{std::make_unique<recall::redis_store>(o), {}};
    t.where = t.store->redacted_url() + " prefix " + flags.redis_prefix;
    return t;
  }
#endif
  throw recall::config_error{"no store of this kind in this build"}; // refusal() ruled it out
}

int run_on_remote(store_kind kind, const store_flags& flags, const verb_reach& reach,
                  const std::function<int(cache_target&)>& body) {
  if (const std::string refused = refusal(kind, reach); !refused.empty()) {
    fmt::print(stderr, "recall-cache: {}\n", refused);
    return 2;
  }
  try {
    cache_target target = open_remote(kind, flags);
    return body(target);
  } catch (const recall::config_error& e) {
    fmt::print(stderr, "recall-cache: {}\n", e.reason());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "recall-cache: {}\n", e.what());
    return 1;
  }
}

} // namespace

int run_on_target(const store_flags& flags, const verb_reach& reach, const std::function<int(cache_target&)>& body) {
  if (!flags.s3_url.empty()) {
    if (!flags.redis_url.empty()) {
      fmt::print(stderr, "recall-cache: --s3 and --redis name two different stores: pick one\n");
      return 2;
    }
    return run_on_remote(store_kind::s3, flags, reach, body);
  }
  if (!flags.redis_url.empty()) {
    return run_on_remote(store_kind::redis, flags, reach, body);
  }
  const std::filesystem::path root =
      flags.cache_root.empty() ? recall::default_cache_directory() : std::filesystem::path{flags.cache_root};
  if (!reach.creates_root && !std::filesystem::is_directory(root)) {
    fmt::print(stderr, "recall-cache: no cache directory at {}\n", root.string());
    return 1;
  }
  try {
    cache_target target = directory_target{root, recall::detect_store_layout(root) == recall::store_layout::pack};
    return body(target);
  } catch (const std::exception& e) {
    fmt::print(stderr, "recall-cache: {}\n", e.what());
    return 1;
  }
}

} // namespace recall_cache
