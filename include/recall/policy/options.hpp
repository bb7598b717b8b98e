// recall::options: per-memoize settings; anything left unset comes from the environment.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include <recall/policy/mode.hpp>
#include <recall/policy/mutation_policy.hpp>
#include <recall/policy/scope.hpp>
#include <recall/stores/compression.hpp>
#include <recall/stores/durability.hpp>
#include <recall/stores/sharing.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/store_layout.hpp>
#include <recall/stores/verification.hpp>

namespace recall {

enum class verbosity {
  quiet,   // warnings only
  verbose, // also one line per hit and miss: function, key, where, how long
};

enum class memory_tier {
  shared, // keep results in the process-wide in-memory tier in front of the persistent store
  none,   // every call goes to the persistent store
};

enum class miss_explanations {
  off, // the default
  on,  // log why each miss missed: which part of the key differs from the nearest entry
};

// What the first call of a memoized function says when recall-sign gave it no body signature
// (docs/SIGNATURES.md): without one, results computed by older code of the function are reused.
enum class untracked_bodies {
  warn,  // the default: one warning line per function per process, naming the fix
  quiet, // nothing: the project tracks code changes by hand with recall::version<"...">
};

struct options {
  // The cache root. Unset: $RECALL_CACHE_DIR, else $XDG_CACHE_HOME/recall, else ~/.cache/recall.
  std::optional<std::filesystem::path> directory{};
  // Unset: $RECALL_MODE, else mode::reuse.
  std::optional<recall::mode> mode{};
  // Unset: verbose when $RECALL_VERBOSE is 1, else quiet.
  std::optional<recall::verbosity> verbosity{};
  mutation_policy on_mutation = mutation_policy::warn;
  recall::durability durability = durability::none;
  // Who may use the folders and files this process creates in the cache: the user alone (0700 /
  // 0600, the default) or the cache folder's group (2770 / 0660); see recall/stores/sharing.hpp.
  // One process keeps one store per cache root: once a memoize object asks for group, the
  // root's new folders and files are group-shared for every memoize object on it.
  recall::sharing sharing = sharing::private_to_user;
  // zstd for payloads of 64 KiB and more when it saves at least 10 %; see stores/compression.hpp.
  recall::compression compression{};
  recall::memory_tier memory = memory_tier::shared;
  // Unset: on when $RECALL_EXPLAIN is 1. Costs a scan of the function's entries per miss.
  std::optional<miss_explanations> explain{};
  // Unset: quiet when $RECALL_UNTRACKED is "quiet", else warn.
  std::optional<untracked_bodies> untracked{};
  // How long a call waits for another process computing the same key before computing it
  // itself. A holder that dies releases its lock at once; this bounds waiting on a live but
  // stuck one.
  std::chrono::milliseconds lock_wait{std::chrono::minutes{10}};
  // Bounds of the cache directory, enforced after stores (least recently used evicted first).
  // Unset: unbounded.
  std::optional<std::uint64_t> max_size{};
  std::optional<std::uint64_t> max_entries{};
  // The process-wide memory tier's byte limit (default 256 MiB); the last memoize object
  // constructed with this set decides it.
  std::optional<std::size_t> memory_limit{};
  // What memoize::mapped() checks before serving a memory-mapped entry (stores/verification.hpp).
  verification mapped_verification = verification::checksum;
  // A partition of the cache for one configuration (see recall/policy/scope.hpp): entries go to
  // <directory>/<label>_<8 hex>/ and every key is folded with the configuration's digest. With
  // a custom `store` or mode::temp there is no partition folder, but keys are still apart.
  std::optional<recall::scope> scope{};
  // Which store keeps the cache root's entries: store_layout::directory (a file per entry) or
  // store_layout::pack (a few segment files; for cluster file systems and millions of entries).
  // Unset: $RECALL_STORE, else what the root already holds, else directory.
  std::optional<store_layout> layout{};
  // Replaces the directory store (for example with a layered_store that adds Redis). In
  // mode::temp the temporary directory is used regardless.
  std::shared_ptr<recall::store> store{};
};

} // namespace recall
