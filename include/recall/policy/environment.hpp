// Reads recall's environment variables: RECALL_CACHE_DIR, RECALL_MODE, RECALL_VERBOSE,
// RECALL_EXPLAIN, RECALL_STORE, RECALL_UNTRACKED.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <recall/log.hpp>
#include <recall/policy/mode.hpp>
#include <recall/stores/store_layout.hpp>

namespace recall {

namespace detail {

[[nodiscard]] inline std::optional<std::string_view> environment_value(const char* name) {
  const char* value = std::getenv(name); // NOLINT(concurrency-mt-unsafe): read-only use
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string_view{value};
}

} // namespace detail

// $RECALL_CACHE_DIR, else $XDG_CACHE_HOME/recall, else $HOME/.cache/recall, else (no HOME) a
// folder of this user's in the system's temporary directory, recall-cache-<uid>: a temporary
// directory is shared by every user, so each gets a folder of their own (created 0700; one that
// another user made first is refused, see docs/RELIABILITY.md). Relative XDG_CACHE_HOME and HOME
// values are ignored, as the XDG Base Directory specification says: they would name a different
// folder in every working directory.
[[nodiscard]] inline std::filesystem::path default_cache_directory() {
  if (auto dir = detail::environment_value("RECALL_CACHE_DIR")) {
    return std::filesystem::path{*dir};
  }
  if (auto xdg = detail::environment_value("XDG_CACHE_HOME"); xdg && xdg->front() == '/') {
    return std::filesystem::path{*xdg} / "recall";
  }
  if (auto home = detail::environment_value("HOME"); home && home->front() == '/') {
    return std::filesystem::path{*home} / ".cache" / "recall";
  }
  return std::filesystem::temp_directory_path() / ("recall-cache-" + std::to_string(::geteuid()));
}

// $RECALL_MODE, else reuse. An unknown value is reported and replaced by reuse rather than
// thrown: this runs while memoize objects, often globals, are constructed.
[[nodiscard]] inline mode mode_from_environment() {
  const auto text = detail::environment_value("RECALL_MODE");
  if (!text) {
    return mode::reuse;
  }
  if (auto parsed = parse_mode(*text)) {
    return *parsed;
  }
  log(log_level::warning,
      "RECALL_MODE='" + std::string{*text} + "' is not one of off, reuse, temp, readonly, refresh: using reuse");
  return mode::reuse;
}

// True when $RECALL_VERBOSE is set to anything but "" or "0".
[[nodiscard]] inline bool verbose_from_environment() {
  const auto text = detail::environment_value("RECALL_VERBOSE");
  return text && *text != "0";
}

// True when $RECALL_EXPLAIN is set to anything but "" or "0".
[[nodiscard]] inline bool explain_from_environment() {
  const auto text = detail::environment_value("RECALL_EXPLAIN");
  return text && *text != "0";
}

// False when $RECALL_UNTRACKED is "quiet": functions without a build-time body signature are not
// warned about. Unset or "warn": they are. Another value is reported once and read as "warn".
[[nodiscard]] inline bool untracked_warnings_from_environment() {
  const auto text = detail::environment_value("RECALL_UNTRACKED");
  if (!text || *text == "warn") {
    return true;
  }
  if (*text == "quiet") {
    return false;
  }
  static const bool reported = [&] {
    log(log_level::warning, "RECALL_UNTRACKED='" + std::string{*text} + "' is not one of quiet, warn: using warn");
    return true;
  }();
  return reported;
}

// $RECALL_STORE ("directory" or "pack"), else nullopt. An unknown value is reported once per
// process and ignored.
[[nodiscard]] inline std::optional<store_layout> store_layout_from_environment() {
  const auto text = detail::environment_value("RECALL_STORE");
  if (!text) {
    return std::nullopt;
  }
  if (auto parsed = parse_store_layout(*text)) {
    return parsed;
  }
  static const bool warned = [&] {
    log(log_level::warning, "RECALL_STORE='" + std::string{*text} + "' is not one of directory, pack: ignored");
    return true;
  }();
  static_cast<void>(warned);
  return std::nullopt;
}

// The store for a cache root: `chosen` (options.layout) if set, else $RECALL_STORE, else what the
// root already holds (detect_store_layout), so a pack cache is used as one without being told.
[[nodiscard]] inline store_layout resolve_store_layout(const std::optional<store_layout>& chosen,
                                                       const std::filesystem::path& root) {
  if (chosen) {
    return *chosen;
  }
  if (auto from_environment = store_layout_from_environment()) {
    return *from_environment;
  }
  return detect_store_layout(root);
}

} // namespace recall
