// Tests for recall::mode: off, reuse, temp, readonly, refresh, and RECALL_MODE parsing.
#include "catch.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <recall/recall.hpp>

#include "support.hpp"

namespace modes_test {

int g_calls = 0;

int tick(int x) {
  ++g_calls;
  return x * 10 + g_calls;
}

recall::options in_mode(const std::filesystem::path& dir, recall::mode m) {
  recall::options o;
  o.directory = dir;
  o.mode = m;
  return o;
}

bool has_files(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir)) {
    return false;
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator{dir}) {
    if (e.is_regular_file() && e.path().extension() == ".rce") {
      return true;
    }
  }
  return false;
}

} // namespace modes_test

using namespace modes_test;

TEST_CASE("off: plain calls, nothing read or written", "[memoize_modes]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::memoize<&tick> f{in_mode(dir.path(), recall::mode::off)};
  g_calls = 0;
  CHECK(f(1) == 11);
  CHECK(f(1) == 12);
  CHECK_FALSE(has_files(dir.path()));
  CHECK_FALSE(f.contains(1));
}

TEST_CASE("readonly: loads what is cached, writes nothing", "[memoize_modes]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  g_calls = 0;
  {
    recall::memoize<&tick> writer{in_mode(dir.path(), recall::mode::reuse)};
    CHECK(writer(1) == 11);
  }
  recall::process_memory_tier().clear();
  recall::memoize<&tick> reader{in_mode(dir.path(), recall::mode::readonly)};
  CHECK(reader(1) == 11); // loaded
  CHECK(g_calls == 1);
  const auto files_before = std::distance(std::filesystem::recursive_directory_iterator{dir.path()},
                                          std::filesystem::recursive_directory_iterator{});
  CHECK(reader(2) == 22); // computed, not stored
  CHECK_FALSE(reader.forget(1));
  const auto files_after = std::distance(std::filesystem::recursive_directory_iterator{dir.path()},
                                         std::filesystem::recursive_directory_iterator{});
  CHECK(files_before == files_after);
  recall::process_memory_tier().clear();
  recall::memoize<&tick> writer{in_mode(dir.path(), recall::mode::reuse)};
  CHECK_FALSE(writer.contains(2));
  CHECK(writer.contains(1));
}

TEST_CASE("refresh: ignores what earlier processes stored and overwrites it", "[memoize_modes]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  g_calls = 0;
  {
    recall::memoize<&tick> writer{in_mode(dir.path(), recall::mode::reuse)};
    CHECK(writer(3) == 31);
  }
  recall::process_memory_tier().clear();
  recall::memoize<&tick> refresher{in_mode(dir.path(), recall::mode::refresh)};
  CHECK(refresher(3) == 32);
  CHECK(refresher(3) == 32); // computed once per process, then served from memory
  recall::process_memory_tier().clear();
  recall::memoize<&tick> reader{in_mode(dir.path(), recall::mode::reuse)};
  CHECK(reader(3) == 32);
}

TEST_CASE("temp: caches in a private temporary directory, never in the configured one", "[memoize_modes]") {
  recall_test::temp_dir dir;
  recall::process_memory_tier().clear();
  recall::memoize<&tick> f{in_mode(dir.path(), recall::mode::temp)};
  g_calls = 0;
  CHECK(f(4) == 41);
  recall::process_memory_tier().clear();
  CHECK(f(4) == 41);
  CHECK(g_calls == 1);
  CHECK_FALSE(has_files(dir.path()));
  const auto description = f.store()->description();
  CHECK(description.find("recall-temp-") != std::string::npos);
}

TEST_CASE("mode names parse and print", "[memoize_modes]") {
  for (auto m :
       {recall::mode::off, recall::mode::reuse, recall::mode::temp, recall::mode::readonly, recall::mode::refresh}) {
    CHECK(recall::parse_mode(recall::to_string(m)) == m);
  }
  CHECK_FALSE(recall::parse_mode("Reuse"));
  CHECK_FALSE(recall::parse_mode(""));
}

TEST_CASE("RECALL_MODE and RECALL_CACHE_DIR configure memoize objects built without options", "[memoize_modes]") {
  recall_test::temp_dir dir;
  ::setenv("RECALL_CACHE_DIR", dir.path().c_str(), 1);
  ::setenv("RECALL_MODE", "off", 1);
  {
    recall::memoize<&tick> f;
    CHECK(f.mode() == recall::mode::off);
  }
  ::setenv("RECALL_MODE", "readonly", 1);
  {
    recall::memoize<&tick> f;
    CHECK(f.mode() == recall::mode::readonly);
    CHECK(f.store()->description().find(dir.path().string()) != std::string::npos);
  }
  {
    recall_test::log_capture capture;
    ::setenv("RECALL_MODE", "sometimes", 1);
    recall::memoize<&tick> f;
    CHECK(f.mode() == recall::mode::reuse);
    CHECK(capture.count(recall::log_level::warning, "RECALL_MODE='sometimes'") == 1);
  }
  ::unsetenv("RECALL_MODE");
  ::unsetenv("RECALL_CACHE_DIR");
}

TEST_CASE("the default directory follows RECALL_CACHE_DIR, then XDG_CACHE_HOME, then HOME", "[memoize_modes]") {
  const char* old_home = std::getenv("HOME");
  const std::string saved_home = old_home != nullptr ? old_home : "";
  ::setenv("RECALL_CACHE_DIR", "/tmp/a", 1);
  ::setenv("XDG_CACHE_HOME", "/tmp/b", 1);
  CHECK(recall::default_cache_directory() == "/tmp/a");
  ::unsetenv("RECALL_CACHE_DIR");
  CHECK(recall::default_cache_directory() == "/tmp/b/recall");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/tmp/c", 1);
  CHECK(recall::default_cache_directory() == "/tmp/c/.cache/recall");
  // Relative values are ignored (XDG Base Directory specification).
  ::setenv("XDG_CACHE_HOME", "relative/cache", 1);
  CHECK(recall::default_cache_directory() == "/tmp/c/.cache/recall");
  ::unsetenv("XDG_CACHE_HOME");
  // Without a usable HOME: a folder of this user's in the temporary directory, never one shared
  // by every user.
  const std::filesystem::path per_user =
      std::filesystem::temp_directory_path() / ("recall-cache-" + std::to_string(::geteuid()));
  ::setenv("HOME", "relative/home", 1);
  CHECK(recall::default_cache_directory() == per_user);
  ::unsetenv("HOME");
  CHECK(recall::default_cache_directory() == per_user);
  if (old_home != nullptr) {
    ::setenv("HOME", saved_home.c_str(), 1);
  }
}
