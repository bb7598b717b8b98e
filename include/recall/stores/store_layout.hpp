// recall::store_layout: which persistent store keeps a cache root's entries, and how to tell
// from the root itself.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <recall/detail/stores/pack_format.hpp>

namespace recall {

enum class store_layout {
  // recall::directory_store: one file per entry, in a folder per function. The default.
  directory,
  // recall::pack_store: entries appended to a few segment files with hash indexes; for cluster
  // and network file systems, inode quotas, and millions of entries.
  pack,
};

// "directory" or "pack" (RECALL_STORE's spelling); nullopt for anything else.
[[nodiscard]] inline std::optional<store_layout> parse_store_layout(std::string_view text) {
  if (text == "directory") {
    return store_layout::directory;
  }
  if (text == "pack") {
    return store_layout::pack;
  }
  return std::nullopt;
}

[[nodiscard]] inline std::string_view store_layout_name(store_layout layout) noexcept {
  return layout == store_layout::pack ? "pack" : "directory";
}

// What `root` holds: pack if it has a pack store's marker file, directory otherwise (an empty or
// missing root included). A root may hold both (they use different names); the marker wins.
[[nodiscard]] inline store_layout detect_store_layout(const std::filesystem::path& root) {
  struct ::stat info {};
  const std::string marker = (root / std::string{detail::pack::marker_name}).string();
  return ::lstat(marker.c_str(), &info) == 0 && S_ISREG(info.st_mode) ? store_layout::pack : store_layout::directory;
}

} // namespace recall
