// mode::temp's cache: a directory store in a fresh temporary folder, removed at exit.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include <recall/errors.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/durability.hpp>

namespace recall::detail {

// A fresh directory under the system's temporary directory, created on first use and removed
// with everything in it when the process exits normally.
class temp_cache {
public:
  temp_cache() {
    std::string pattern = (std::filesystem::temp_directory_path() / "recall-temp-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw store_error{"cannot create a temporary cache directory from '" + pattern + "'"};
    }
    m_root = pattern;
    m_store = std::make_shared<directory_store>(m_root, durability::none);
  }
  temp_cache(const temp_cache&) = delete;
  temp_cache& operator=(const temp_cache&) = delete;
  ~temp_cache() {
    std::error_code ignored;
    std::filesystem::remove_all(m_root, ignored);
  }

  [[nodiscard]] std::shared_ptr<recall::store> store() const noexcept { return m_store; }
  [[nodiscard]] const std::filesystem::path& root() const noexcept { return m_root; }

private:
  std::filesystem::path m_root;
  std::shared_ptr<directory_store> m_store;
};

[[nodiscard]] inline temp_cache& process_temp_cache() {
  static temp_cache cache;
  return cache;
}

} // namespace recall::detail
