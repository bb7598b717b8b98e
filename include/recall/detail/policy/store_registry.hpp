// The store a memoize object uses, built from its options: one per cache root and settings in a
// process, with RECALL_REMOTE's tiers behind it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <recall/detail/immortal.hpp>
#include <recall/policy/environment.hpp>
#include <recall/policy/options.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/layered_store.hpp>
#include <recall/stores/pack_store.hpp>
#include <recall/stores/remote.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/store_layout.hpp>

namespace recall::detail {

// The store registered under `settings` in this process, made by `make` the first time. Every
// memoize object on the same cache with the same settings shares one: for a pack store, one
// writer, one segment and one set of index handles per root; for remote tiers, one connection
// pool and one background writer.
[[nodiscard]] inline std::shared_ptr<store> shared_store(const std::string& settings,
                                                         const std::function<std::shared_ptr<store>()>& make) {
  struct registry {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<store>, std::less<>> stores;
  };
  static immortal<registry> shared; // used by memoize objects built after main returns too
  auto& [mutex, stores] = shared.get();
  const std::lock_guard lock{mutex};
  auto& slot = stores[settings];
  if (!slot) {
    slot = make();
  }
  return slot;
}

// What makes two local stores of one root different: durability and compression.
[[nodiscard]] inline std::string local_store_settings(store_layout layout, const std::filesystem::path& root,
                                                      durability d, const compression& c) {
  return std::string{store_layout_name(layout)} + ' ' + std::to_string(static_cast<int>(d)) + ' ' +
         std::to_string(static_cast<int>(c.codec)) + ' ' + std::to_string(c.level) + ' ' + std::to_string(c.threshold) +
         ' ' + std::to_string(c.keep_ratio) + ' ' + root.string();
}

// The local store (directory or pack, as options.layout, RECALL_STORE or the root says) for
// `opts`, shared per root and settings, with opts' limits and sharing applied.
template <class Store>
[[nodiscard]] std::shared_ptr<store> configured_local_store(const std::filesystem::path& root, const options& opts) {
  const store_layout layout = std::is_same_v<Store, pack_store> ? store_layout::pack : store_layout::directory;
  auto made = shared_store(local_store_settings(layout, root, opts.durability, opts.compression),
                           [&] { return std::make_shared<Store>(root, opts.durability, opts.compression); });
  auto& local = static_cast<Store&>(*made);
  if (opts.max_size || opts.max_entries) {
    local.set_limits(cache_limits{opts.max_size, opts.max_entries});
  }
  if (opts.sharing != sharing::private_to_user) {
    local.set_sharing(opts.sharing);
  }
  return made;
}

// The store a memoize object with `opts` uses (mode::temp aside): opts.store if set; else the
// local store of the cache root (options.directory or the default, plus the partition folder),
// with the remote tiers RECALL_REMOTE names behind it, in a layered_store (memory -> local ->
// remote: a remote hit back-fills the local cache; saves to a remote wait at most 100 ms).
// Throws what constructing a store throws (config_error, store_error).
[[nodiscard]] inline std::shared_ptr<store> store_for(options opts) {
  if (opts.store) {
    return std::move(opts.store);
  }
  std::filesystem::path root = opts.directory.value_or(default_cache_directory());
  if (opts.scope) {
    root /= opts.scope->folder_name();
  }
  const store_layout layout = resolve_store_layout(opts.layout, root);
  std::shared_ptr<store> local = layout == store_layout::pack ? configured_local_store<pack_store>(root, opts)
                                                              : configured_local_store<directory_store>(root, opts);
  const char* remote = std::getenv(remote_variable);           // NOLINT(concurrency-mt-unsafe): read-only use
  const char* remote_mode = std::getenv(remote_mode_variable); // NOLINT(concurrency-mt-unsafe): read-only use
  if (remote == nullptr || split_remote_urls(remote).empty()) {
    return local;
  }
  const std::string settings = local_store_settings(layout, root, opts.durability, opts.compression) + '\n' + remote +
                               '\n' + (remote_mode != nullptr ? remote_mode : "");
  return shared_store(settings, [&] {
    std::vector<layered_store::tier> tiers{{local, tier_access::read_write, std::nullopt}};
    for (auto& t : remote_tiers_from_environment()) {
      tiers.push_back(std::move(t));
    }
    return std::make_shared<layered_store>(std::move(tiers));
  });
}

} // namespace recall::detail
