// recall::scope: a cache partition named by a configuration value (the AMMM channel list).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/stores/directory_layout.hpp>
#include <recall/errors.hpp>
#include <recall/key/hashable.hpp>
#include <recall/key/key.hpp>

namespace recall {

// A partition of the cache for one configuration of a model: results computed under one
// configuration are never served under another, and each partition has its own folder (and so
// its own statistics and `recall-cache` listing) under the cache root:
//
//   recall::scope channels{"channels", std::vector<std::string>{"Na", "K"}};
//   recall::memoize<&simulate> sim{recall::options{.scope = channels}};
//   // entries go to <root>/channels_1a2b3c4d/<function folder>/...
//
// The folder is `<label>_<first 8 hex digits of the configuration's digest>`; the same
// configuration maps to the same folder in every run and on every machine, because the digest
// is the configuration's canonical key encoding (the one arguments use). The full 128-bit digest
// is also folded into every call key, so partitions stay apart in the memory tier and in stores
// that have no folders (Redis), and an 8-digit folder collision cannot mix results.
class scope {
public:
  static constexpr std::size_t max_label_length = detail::directory_layout::max_partition_label_length;

  // `label` is for people (made filesystem-safe like function folder names); `configuration` is
  // any hashable value.
  template <class Configuration>
  scope(std::string_view label, const Configuration& configuration)
      : m_label{safe_label(label)}, m_digest{detail::hash_value(configuration)} {
    static_assert(hashable<Configuration>,
                  "recall::scope: the configuration's type cannot be hashed. Give it a cereal serialize "
                  "function, define it with BOOST_HANA_DEFINE_STRUCT, or make it a plain aggregate of "
                  "hashable members.");
  }

  // A partition labelled "scope".
  template <class Configuration>
    requires(!std::is_convertible_v<const Configuration&, std::string_view>)
  explicit scope(const Configuration& configuration) : scope{"scope", configuration} {}

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }
  [[nodiscard]] const key& digest() const noexcept { return m_digest; }

  // "<label>_<8 hex digits>": the partition's folder under the cache root (spelled by
  // detail/stores/directory_layout.hpp, like every name in a directory cache).
  [[nodiscard]] std::string folder_name() const {
    return detail::directory_layout::partition_folder_name(m_label, m_digest);
  }

  friend bool operator==(const scope& a, const scope& b) noexcept {
    return a.m_digest == b.m_digest && a.m_label == b.m_label;
  }

private:
  static std::string safe_label(std::string_view label) { return detail::directory_layout::partition_label(label); }

  std::string m_label;
  key m_digest;
};

} // namespace recall
