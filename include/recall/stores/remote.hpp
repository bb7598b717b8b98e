// Remote tiers named by URL (RECALL_REMOTE): the registry of URL schemes, and the store that
// resolves a URL on first use.
#pragma once

// A remote store registers its schemes from its own header, so that recall itself links neither
// hiredis nor libcurl: <recall/stores/redis_store.hpp> registers redis://, unix:// and
// redis+cluster://, <recall/stores/s3_store.hpp> registers s3://. A URL whose store is not part of
// the program is a clear error naming what to add ("s3:// needs recall-s3 ..."), never a silent
// no-op.
//
// RECALL_REMOTE holds one or more URLs separated by spaces (or ';'; a cluster URL's commas belong
// to it). RECALL_REMOTE_MODE=read-only makes every remote read-only (a consumer: loads and
// back-fills, never saves or locks there); read-write is the default.
//
// Registration runs while static objects are initialized, in an order C++ leaves open between
// translation units, so the registry is looked up when a remote is first used (the first call),
// not when a memoize object is constructed: deferred_remote_store.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <recall/detail/stores/redis_url.hpp>
#include <recall/errors.hpp>
#include <recall/log.hpp>
#include <recall/stores/layered_store.hpp>
#include <recall/stores/store.hpp>

namespace recall {

inline constexpr const char* remote_variable = "RECALL_REMOTE";
inline constexpr const char* remote_mode_variable = "RECALL_REMOTE_MODE";

// Makes the store for one URL of its scheme; throws config_error for a malformed URL.
using remote_factory = std::function<std::shared_ptr<store>(const std::string& url)>;

namespace detail {

struct remote_registry {
  std::mutex mutex;
  std::map<std::string, remote_factory, std::less<>> factories;
};

// Never destroyed: memoize objects with static storage duration may resolve a remote while
// others are being destroyed.
[[nodiscard]] inline remote_registry& global_remote_registry() {
  static auto* registry = new remote_registry; // NOLINT(cppcoreguidelines-owning-memory): deliberately leaked
  return *registry;
}

// "redis" for "REDIS://host"; empty when there is no "://".
[[nodiscard]] inline std::string scheme_of(std::string_view url) {
  const std::size_t end = url.find("://");
  if (end == std::string_view::npos) {
    return {};
  }
  std::string scheme{url.substr(0, end)};
  for (char& c : scheme) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return scheme;
}

// What to add to the program for a scheme nothing registered.
[[nodiscard]] inline std::string missing_scheme_message(const std::string& scheme, std::string_view url) {
  const std::string shown = redis::url_detail::redact_raw(url);
  if (scheme == "redis" || scheme == "unix" || scheme == "redis+cluster") {
    return "'" + shown + "': " + scheme +
           ":// needs recall-redis: include <recall/stores/redis_store.hpp> in the program and link hiredis "
           "(meson: dependency('recall-redis'))";
  }
  if (scheme == "s3") {
    return "'" + shown +
           "': s3:// needs recall-s3: include <recall/stores/s3_store.hpp> in the program and link "
           "libcurl (meson: dependency('recall-s3'))";
  }
  return "'" + shown + "': unknown remote scheme '" + scheme +
         "' (expected redis://, unix://, redis+cluster:// or s3://)";
}

} // namespace detail

// Registers (or replaces) the factory for URLs of `scheme` (lower case, without "://").
inline bool register_remote_scheme(std::string scheme, remote_factory factory) {
  auto& registry = detail::global_remote_registry();
  const std::lock_guard lock{registry.mutex};
  registry.factories[std::move(scheme)] = std::move(factory);
  return true;
}

// The store for `url` now. Throws config_error for a scheme no store registered (naming what to
// add) or a malformed URL.
[[nodiscard]] inline std::shared_ptr<store> make_remote_store(const std::string& url) {
  const std::string scheme = detail::scheme_of(url);
  remote_factory factory;
  {
    auto& registry = detail::global_remote_registry();
    const std::lock_guard lock{registry.mutex};
    if (const auto found = registry.factories.find(scheme); found != registry.factories.end()) {
      factory = found->second;
    }
  }
  if (!factory) {
    throw config_error{"remote " + detail::missing_scheme_message(scheme, url)};
  }
  return factory(url);
}

// The URLs of a RECALL_REMOTE value: separated by spaces, tabs or ';'.
[[nodiscard]] inline std::vector<std::string> split_remote_urls(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find_first_of(" \t\n;", start), text.size());
    if (end > start) {
      out.emplace_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

// RECALL_REMOTE_MODE: "read-only" (or "readonly", "ro") or "read-write" (or "rw", the default
// when unset). Anything else is reported and read as read-only, the side that cannot spoil a
// shared cache.
[[nodiscard]] inline tier_access parse_remote_mode(std::string_view text) {
  if (text.empty() || text == "read-write" || text == "readwrite" || text == "rw") {
    return tier_access::read_write;
  }
  if (text != "read-only" && text != "readonly" && text != "ro") {
    log(log_level::warning, std::string{remote_mode_variable} + "='" + std::string{text} +
                                "' is not read-only or read-write: using the remote read-only");
  }
  return tier_access::read_only;
}

// A remote tier named by URL, made on first use: by then every store header of the program has
// registered its schemes. A URL that cannot be made (its store is not in the program, or it is
// malformed) is said in one warning; every operation then throws store_error, which layered
// stores skip. The URL is shown without its password.
class deferred_remote_store final : public store {
public:
  explicit deferred_remote_store(std::string url) : m_url{std::move(url)} {}

  [[nodiscard]] std::string description() const override {
    const std::lock_guard lock{m_mutex};
    return m_store ? m_store->description() : "remote " + detail::redis::url_detail::redact_raw(m_url);
  }
  [[nodiscard]] std::string locate(const entry_address& address) const override {
    if (const auto s = resolved_if_made()) {
      return s->locate(address);
    }
    return description();
  }
  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    return target().load(address);
  }
  void save(const entry_address& address, const stored_entry& entry) override { target().save(address, entry); }
  [[nodiscard]] bool contains(const entry_address& address) override { return target().contains(address); }
  bool erase(const entry_address& address) override { return target().erase(address); }
  [[nodiscard]] std::vector<entry_description> similar_entries(const function_id& function,
                                                               std::size_t limit) override {
    return target().similar_entries(function, limit);
  }
  void record_stats(const function_id& function, const function_stats& delta) override {
    target().record_stats(function, delta);
  }
  [[nodiscard]] std::unique_ptr<compute_lock> lock_for_compute(const entry_address& address,
                                                               std::chrono::milliseconds wait_limit) override {
    return target().lock_for_compute(address, wait_limit);
  }

  // The store, once made (null before the first use, or when it could not be made).
  [[nodiscard]] std::shared_ptr<store> resolved_if_made() const {
    const std::lock_guard lock{m_mutex};
    return m_store;
  }

private:
  store& target() {
    std::call_once(m_once, [&] {
      std::shared_ptr<store> made;
      try {
        made = make_remote_store(m_url);
      } catch (const std::exception& e) {
        m_error = std::string{error::reason_of(e)};
        log(log_level::warning, m_error + "; calls go on without this remote");
        return;
      }
      const std::lock_guard lock{m_mutex};
      m_store = std::move(made);
    });
    const std::lock_guard lock{m_mutex};
    if (!m_store) {
      throw store_error{m_error};
    }
    return *m_store;
  }

  std::string m_url;
  std::once_flag m_once;
  mutable std::mutex m_mutex;
  std::shared_ptr<store> m_store;
  std::string m_error;
};

// The remote tiers RECALL_REMOTE names (none when it is unset or empty), each made on first use,
// with RECALL_REMOTE_MODE's access and `write_budget` for its saves.
[[nodiscard]] inline std::vector<layered_store::tier> remote_tiers_from_environment(
    std::chrono::milliseconds write_budget = std::chrono::milliseconds{100}) {
  const char* urls = std::getenv(remote_variable);      // NOLINT(concurrency-mt-unsafe): read-only use
  const char* mode = std::getenv(remote_mode_variable); // NOLINT(concurrency-mt-unsafe): read-only use
  std::vector<layered_store::tier> tiers;
  if (urls == nullptr) {
    return tiers;
  }
  const tier_access access = parse_remote_mode(mode != nullptr ? mode : "");
  for (auto& url : split_remote_urls(urls)) {
    tiers.push_back({std::make_shared<deferred_remote_store>(std::move(url)), access, write_budget});
  }
  return tiers;
}

} // namespace recall
