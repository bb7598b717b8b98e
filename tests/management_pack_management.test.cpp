// Tests of the management functions on a pack root: info, ls, clear, verify, prune (compaction).
#include "catch.hpp"
#include "support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <recall/management/pack_management.hpp>
#include <recall/stores/pack_store.hpp>

namespace {

namespace fs = std::filesystem;

const recall::function_id& alpha() {
  static const recall::function_id id{"ns::alpha", recall::key{1, 2}};
  return id;
}
const recall::function_id& beta() {
  static const recall::function_id id{"ns::beta", recall::key{3, 4}};
  return id;
}

recall::key key_of(std::uint64_t i) { return recall::key{i * 0x9E3779B97F4A7C15ULL + (i << 58), i + 7}; }

void fill(const fs::path& root) {
  recall::pack_store store{root, recall::durability::none, {}, recall::pack_settings{8 << 10}};
  for (std::uint64_t i = 0; i < 60; ++i) {
    const auto& f = i < 40 ? alpha() : beta();
    recall::stored_entry e;
    e.payload.assign(100, std::byte{static_cast<unsigned char>(i)});
    e.manifest.function = f.name;
    e.manifest.label = std::to_string(i);
    e.metadata.created = std::chrono::system_clock::now() - std::chrono::hours{i < 10 ? 48 : 1};
    store.save(recall::entry_address{f, key_of(i)}, e);
  }
  store.record_stats(alpha(), recall::function_stats{5, 40, 40, 4000, 0});
}

} // namespace

TEST_CASE("info and ls on a pack root", "[management_pack_management]") {
  recall_test::temp_dir dir;
  fill(dir.path());
  CHECK(recall::is_pack_root(dir.path()));
  const auto info = recall::pack_cache_info(dir.path());
  CHECK(info.entries == 60);
  CHECK(info.damaged == 0);
  REQUIRE(info.functions.size() == 2);
  CHECK(info.functions[0].name == "ns::alpha");
  CHECK(info.functions[0].entries == 40);
  CHECK(info.functions[0].stats.hits == 5);
  CHECK(recall::pack_list_entries(dir.path(), "ns::beta").size() == 20);
  CHECK(recall::pack_list_entries(dir.path(), recall::directory_store::folder_name(alpha())).size() == 40);
}

TEST_CASE("clear, verify and prune on a pack root", "[management_pack_management]") {
  recall_test::temp_dir dir;
  fill(dir.path());
  SECTION("clear one function") {
    CHECK(recall::pack_clear(dir.path(), "ns::beta", recall::dry_run::yes).entries == 20);
    CHECK(recall::pack_clear(dir.path(), "ns::beta").entries == 20);
    CHECK(recall::pack_cache_info(dir.path()).entries == 40);
    CHECK(recall::pack_clear(dir.path()).entries == 40);
    CHECK(recall::pack_cache_info(dir.path()).entries == 0);
  }
  SECTION("verify finds a flipped byte, and repairs") {
    CHECK(recall::pack_verify(dir.path()).problems.empty());
    const auto entries = recall::pack_list_entries(dir.path());
    const std::string where = entries.front().path.filename().string();
    const auto at = where.find('@');
    const fs::path segment = dir.path() / "segments" / where.substr(0, at);
    const auto offset = std::stoull(where.substr(at + 1));
    {
      std::fstream f{segment, std::ios::in | std::ios::out | std::ios::binary};
      f.seekp(static_cast<std::streamoff>(offset + entries.front().size - 5));
      f.put('\x7f');
    }
    const auto report = recall::pack_verify(dir.path());
    REQUIRE(report.problems.size() == 1);
    CHECK(report.problems.front().second.find("checksum") != std::string::npos);
    CHECK(recall::pack_verify(dir.path(), recall::repair::yes).entries == 1);
    CHECK(recall::pack_verify(dir.path()).problems.empty());
    CHECK(recall::pack_cache_info(dir.path()).entries == 59);
  }
  SECTION("prune by age and count, then compaction reclaims the space") {
    recall::prune_options options;
    options.max_age = std::chrono::hours{24};
    options.dry = recall::dry_run::yes;
    CHECK(recall::pack_prune(dir.path(), options).removed_entries == 10);
    CHECK(recall::pack_cache_info(dir.path()).entries == 60);
    options.dry = recall::dry_run::no;
    options.max_count = 30;
    std::uint64_t before = 0;
    for (const auto& f : fs::directory_iterator{dir.path() / "segments"}) {
      before += f.file_size();
    }
    const auto report = recall::pack_prune(dir.path(), options);
    CHECK(report.removed_entries == 30);
    CHECK(report.kept_entries == 30);
    std::uint64_t after = 0;
    for (const auto& f : fs::directory_iterator{dir.path() / "segments"}) {
      after += f.file_size();
    }
    CHECK(after < before);
    CHECK(recall::pack_cache_info(dir.path()).entries == 30);
  }
}

TEST_CASE("prune_superseded on a pack root keeps, of three identities of a function, the one saved last",
          "[management_pack_management]") {
  recall_test::temp_dir dir;
  const recall::function_id v1{"ns::gamma", recall::key{0x1111111111111111ULL, 1}};
  const recall::function_id v2{"ns::gamma", recall::key{0x2222222222222222ULL, 2}};
  const recall::function_id v3{"ns::gamma", recall::key{0x3333333333333333ULL, 3}};
  {
    recall::pack_store store{dir.path()};
    const auto save = [&](const recall::function_id& f, std::uint64_t i, std::chrono::hours ago) {
      recall::stored_entry e;
      e.payload.assign(100, std::byte{static_cast<unsigned char>(i)});
      e.manifest.function = f.name;
      e.metadata.created = std::chrono::system_clock::now() - ago;
      store.save(recall::entry_address{f, key_of(i)}, e);
    };
    save(v1, 1, std::chrono::hours{5});
    save(v1, 2, std::chrono::hours{4});
    save(v3, 3, std::chrono::hours{3});      // saved after v1's, before v2's
    save(v2, 4, std::chrono::hours{1});      // current: saved last
    save(alpha(), 5, std::chrono::hours{9}); // alone under its name: current however old
  }
  const auto info = recall::pack_cache_info(dir.path());
  int superseded = 0;
  for (const auto& f : info.functions) {
    superseded += f.superseded ? 1 : 0;
    CHECK(f.superseded == (f.name == "ns::gamma" && f.folder != recall::directory_store::folder_name(v2)));
  }
  CHECK(superseded == 2);
  const auto listed = recall::pack_list_entries(dir.path(), "ns::gamma");
  REQUIRE(listed.size() == 4);
  CHECK(std::count_if(listed.begin(), listed.end(), [](const auto& r) { return r.superseded; }) == 3);
  // A folder-name filter selects one identity; its entries are still compared with the others.
  CHECK(recall::pack_list_entries(dir.path(), recall::directory_store::folder_name(v1)).front().superseded);

  const auto dry = recall::prune_superseded(dir.path(), recall::dry_run::yes);
  CHECK(dry.entries == 3);
  CHECK(recall::pack_cache_info(dir.path()).entries == 5);
  CHECK_THROWS_AS(recall::prune_superseded(dir.path(), recall::dry_run::no, {}, "channels_00000000"),
                  recall::store_error);
  CHECK_THROWS_AS(recall::prune_superseded(dir.path(), recall::dry_run::no, {}, "../etc"), recall::config_error);
  CHECK(recall::pack_cache_info(dir.path()).entries == 5);
  const auto done = recall::prune_superseded(dir.path());
  CHECK(done.entries == 3);
  CHECK(done.bytes == dry.bytes);
  const auto left = recall::pack_list_entries(dir.path());
  REQUIRE(left.size() == 2);
  for (const auto& r : left) {
    CHECK_FALSE(r.superseded);
    CHECK((r.identity == v2.identity || r.identity == alpha().identity));
  }
  CHECK(recall::prune_superseded(dir.path()).entries == 0);
}
