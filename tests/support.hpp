// Shared test fixtures: a temporary directory removed afterwards, and a log sink that records lines.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <recall/log.hpp>

namespace recall_test {

// A fresh directory under the system's temporary directory, removed with its contents.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "recall-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error{"mkdtemp failed"};
    }
    m_path = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::permissions(m_path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add,
                                 ignored);
    std::filesystem::remove_all(m_path, ignored);
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

private:
  std::filesystem::path m_path;
};

// Captures log lines for the lifetime of the object, restoring the previous sink afterwards.
class log_capture {
public:
  log_capture() {
    m_previous = recall::set_log_sink([this](recall::log_level level, std::string_view text) {
      const std::lock_guard lock{m_mutex};
      m_lines.push_back({level, std::string{text}});
    });
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;
  ~log_capture() { recall::set_log_sink(m_previous); }

  struct line {
    recall::log_level level;
    std::string text;
  };

  [[nodiscard]] std::vector<line> lines() {
    const std::lock_guard lock{m_mutex};
    return m_lines;
  }

  // Lines at `level` containing `fragment`.
  [[nodiscard]] std::size_t count(recall::log_level level, std::string_view fragment) {
    const std::lock_guard lock{m_mutex};
    std::size_t n = 0;
    for (const auto& l : m_lines) {
      if (l.level == level && l.text.find(fragment) != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

  [[nodiscard]] std::size_t warnings() {
    const std::lock_guard lock{m_mutex};
    std::size_t n = 0;
    for (const auto& l : m_lines) {
      n += l.level == recall::log_level::warning ? 1 : 0;
    }
    return n;
  }

private:
  std::mutex m_mutex;
  std::vector<line> m_lines;
  recall::log_sink m_previous;
};

} // namespace recall_test
