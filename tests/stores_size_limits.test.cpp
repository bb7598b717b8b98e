// Tests for cache limits: size and entry bounds hold after many stores, least recently used
// entries go first, and files left by crashed writers are swept.
#include "catch.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <recall/recall.hpp>

#include "support.hpp"

namespace {

const recall::function_id g_function{"limited", recall::key{4, 4}};

recall::stored_entry entry_of(std::size_t bytes) {
  recall::stored_entry e;
  e.payload.assign(bytes, std::byte{7});
  return e;
}

struct usage {
  std::uintmax_t bytes = 0;
  std::size_t entries = 0;
};

usage measure(const std::filesystem::path& root) {
  usage u;
  for (const auto& f : std::filesystem::recursive_directory_iterator{root}) {
    if (f.is_regular_file() && f.path().extension() == ".rce") {
      u.bytes += f.file_size();
      ++u.entries;
    }
  }
  return u;
}

recall::key nth(std::uint64_t i) { return recall::key{i * 0x9E3779B97F4A7C15ULL, i}; }

} // namespace

TEST_CASE("an entry limit holds after many stores", "[stores_size_limits]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  store.set_limits(recall::cache_limits{std::nullopt, 100});
  for (std::uint64_t i = 0; i < 1000; ++i) {
    store.save(recall::entry_address{g_function, nth(i)}, entry_of(100));
    REQUIRE(measure(dir.path()).entries <= 100);
  }
  CHECK(measure(dir.path()).entries >= 50);
}

TEST_CASE("a size limit holds after many stores", "[stores_size_limits]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  constexpr std::uint64_t limit = 1 << 20;
  store.set_limits(recall::cache_limits{limit, std::nullopt});
  for (std::uint64_t i = 0; i < 600; ++i) {
    store.save(recall::entry_address{g_function, nth(i)}, entry_of(10'000));
  }
  const auto u = measure(dir.path());
  CHECK(u.bytes <= limit);
  CHECK(u.bytes >= limit / 2);
}

TEST_CASE("eviction takes the least recently used entries first", "[stores_size_limits]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  // All keys in one shard (same top byte), so per-shard LRU is global LRU here.
  const auto same_shard = [](std::uint64_t i) { return recall::key{0xAB00000000000000ULL | i, i}; };
  for (std::uint64_t i = 0; i < 20; ++i) {
    store.save(recall::entry_address{g_function, same_shard(i)}, entry_of(100));
    const auto path = store.entry_path(recall::entry_address{g_function, same_shard(i)});
    std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - std::chrono::hours{100 - i});
  }
  // Using entry 0 makes it the most recent.
  REQUIRE(store.load(recall::entry_address{g_function, same_shard(0)}));
  store.set_limits(recall::cache_limits{std::nullopt, 10});
  store.enforce_limits();
  CHECK(store.contains(recall::entry_address{g_function, same_shard(0)}));
  CHECK_FALSE(store.contains(recall::entry_address{g_function, same_shard(1)}));
  CHECK(store.contains(recall::entry_address{g_function, same_shard(19)}));
  CHECK(measure(dir.path()).entries <= 9);
}

TEST_CASE("temp files of dead writers and unheld lock files older than an hour are swept", "[stores_size_limits]") {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  const recall::entry_address address{g_function, nth(1)};
  store.save(address, entry_of(10));
  const auto entry = store.entry_path(address);
  const auto folder = entry.parent_path();
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours{2};
  const auto stale_tmp = folder / (entry.filename().string() + ".tmp.AbC123");
  const auto fresh_tmp = folder / (entry.filename().string() + ".tmp.XyZ789");
  const auto stale_lock = folder / "0123.lock";
  std::ofstream{stale_tmp} << "partial";
  std::ofstream{fresh_tmp} << "being written";
  std::ofstream{stale_lock} << "host 1";
  std::filesystem::last_write_time(stale_tmp, old);
  std::filesystem::last_write_time(stale_lock, old);
  store.set_limits(recall::cache_limits{std::nullopt, 1000});
  store.enforce_limits();
  CHECK_FALSE(std::filesystem::exists(stale_tmp));
  CHECK_FALSE(std::filesystem::exists(stale_lock));
  CHECK(std::filesystem::exists(fresh_tmp));
  CHECK(std::filesystem::exists(entry));
}

TEST_CASE("memoize applies max_entries from its options", "[stores_size_limits]") {
  recall_test::temp_dir dir;
  recall::options o;
  o.directory = dir.path();
  o.mode = recall::mode::reuse;
  o.max_entries = 20;
  auto f = recall::memoize_as<"limited-fn">([](int x) { return x * 2; }, o);
  for (int i = 0; i < 200; ++i) {
    CHECK(f(i) == 2 * i);
  }
  CHECK(measure(dir.path()).entries <= 20);
}
