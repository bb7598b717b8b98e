// Which store a recall-cache verb works on, resolved once from the global flags: a cache directory (or pack root), Redis or S3.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#if RECALL_CACHE_WITH_REDIS
#include <recall/stores/redis_store.hpp>
#endif
#if RECALL_CACHE_WITH_S3
#include <recall/stores/s3_store.hpp>
#endif

namespace recall_cache {

// The global flags that name the store.
struct store_flags {
  std::string cache_root;              // --cache-root; empty: recall::default_cache_directory()
  std::string redis_url;               // --redis
  std::string redis_prefix = "recall"; // --redis-prefix
  std::string s3_url;                  // --s3
};

// A cache directory: it exists, unless the verb creates one (verb_reach::creates_root).
struct directory_target {
  std::filesystem::path root;
  bool pack = false; // a pack root (recall::pack_store), told by its marker file
};

#if RECALL_CACHE_WITH_REDIS
// A Redis store, opened (not yet connected: its first operation connects).
struct redis_target {
  std::unique_ptr<recall::redis_store> store;
  std::string where; // the redacted URL and prefix, for output
};
#endif

#if RECALL_CACHE_WITH_S3
// An S3 store, opened.
struct s3_target {
  std::unique_ptr<recall::s3_store> store;
};
#endif

// One alternative per store this build of recall-cache can work on.
using cache_target = std::variant<directory_target
#if RECALL_CACHE_WITH_REDIS
                                  ,
                                  redis_target
#endif
#if RECALL_CACHE_WITH_S3
                                  ,
                                  s3_target
#endif
                                  >;

enum class store_kind { directory, redis, s3 };

// What a verb accepts besides an existing cache directory.
struct verb_reach {
  bool redis = false;        // works on --redis
  bool s3 = false;           // works on --s3
  bool creates_root = false; // the cache directory need not exist (import starts one)
  std::string scope{};       // the verb's --scope, if it has one: refused on Redis and S3
  // Refuses options of the verb that a remote store cannot honour: the message for stderr (exit
  // 2), or empty to go on. Called once the flags are checked, before the store is opened.
  std::function<std::string(store_kind)> refuse{};
};

// Resolves the store the flags name, checks that the verb can work on it (a bad combination: a
// line on stderr, exit 2), opens it and returns what `body` returns. A cache directory that does
// not exist: exit 1. An exception from `body` is reported on stderr: exit 1, or 2 for a
// recall::config_error on Redis or S3 (a malformed URL, missing credentials).
int run_on_target(const store_flags& flags, const verb_reach& reach, const std::function<int(cache_target&)>& body);

// run_on_target for a verb whose work on each kind of store is an overload `run(const
// directory_target&, const Options&)`, `run(const redis_target&, const Options&)`, ... found next
// to `Options`: the stores it has no overload for must be refused by `reach`.
template <class Options>
int run_verb(const store_flags& flags, const verb_reach& reach, const Options& options) {
  return run_on_target(flags, reach, [&](cache_target& target) {
    return std::visit(
        [&](const auto& store) -> int {
          if constexpr (requires { run(store, options); }) {
            return run(store, options);
          } else {
            return 2; // never: `reach` refused this store before it was opened
          }
        },
        target);
  });
}

} // namespace recall_cache
