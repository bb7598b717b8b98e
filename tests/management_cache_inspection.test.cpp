// Tests for the management API behind recall-cache: list, info, find, clear, verify.
#include "catch.hpp"

#include <fstream>

#include <recall/management/cache_inspection.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace inspection_test {

int twice(int x) { return 2 * x; }
double half(double x) { return x / 2; }

} // namespace inspection_test

using namespace inspection_test;

namespace {

void populate(const std::filesystem::path& dir) {
  recall::process_memory_tier().clear();
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  recall::memoize<&twice> t{o};
  recall::memoize<&half> h{o};
  for (int i = 0; i < 3; ++i) {
    t(i);
  }
  h(1.0);
  h(1.0); // a hit, counted in the stats once flushed
}

} // namespace

TEST_CASE("list_entries and cache_info describe what the cache holds", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate(dir.path());
  const auto all = recall::list_entries(dir.path());
  CHECK(all.size() == 4);
  const auto twice_entries = recall::list_entries(dir.path(), "inspection_test::twice");
  REQUIRE(twice_entries.size() == 3);
  CHECK(twice_entries.front().manifest.label == "0");
  CHECK(twice_entries.front().size > 96);
  CHECK(recall::list_entries(dir.path(), twice_entries.front().folder).size() == 3);
  CHECK(recall::list_entries(dir.path(), "nothing").empty());

  const auto info = recall::cache_info(dir.path());
  CHECK(info.entries == 4);
  REQUIRE(info.functions.size() == 2);
  std::uint64_t total = 0;
  for (const auto& f : info.functions) {
    total += f.bytes;
    if (f.name == "inspection_test::half") {
      CHECK(f.entries == 1);
      CHECK(f.stats.misses == 1);
      CHECK(f.stats.hits == 1);
    }
  }
  CHECK(total == info.bytes);
  CHECK(info.free_bytes);
}

TEST_CASE("find_entries takes a key prefix", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate(dir.path());
  const auto one = recall::list_entries(dir.path()).front();
  const auto found = recall::find_entries(dir.path(), one.call.hex().substr(0, 12));
  REQUIRE(found.size() == 1);
  CHECK(found.front().call == one.call);
  CHECK(recall::find_entries(dir.path(), "ab").empty()); // too short to mean anything
}

TEST_CASE("clear removes one function's entries or all; a dry run removes nothing", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate(dir.path());
  const auto dry = recall::clear(dir.path(), "inspection_test::twice", recall::dry_run::yes);
  CHECK(dry.entries == 3);
  CHECK(recall::list_entries(dir.path()).size() == 4);
  const auto done = recall::clear(dir.path(), "inspection_test::twice");
  CHECK(done.entries == 3);
  CHECK(done.bytes == dry.bytes);
  CHECK(recall::list_entries(dir.path()).size() == 1);
  CHECK(recall::clear(dir.path()).entries == 1);
  CHECK(recall::list_entries(dir.path()).empty());
}

TEST_CASE("verify finds damaged entries and repair removes only those", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate(dir.path());
  CHECK(recall::verify(dir.path()).entries == 0);
  const auto victim = recall::list_entries(dir.path()).front().path;
  {
    std::fstream file{victim, std::ios::in | std::ios::out | std::ios::binary};
    file.seekp(-1, std::ios::end);
    file.put('\x01');
  }
  const auto report = recall::verify(dir.path());
  REQUIRE(report.entries == 1);
  CHECK(report.problems.front().first == victim);
  CHECK(report.problems.front().second.find("checksum mismatch") != std::string::npos);
  CHECK(std::filesystem::exists(victim));
  CHECK(recall::verify(dir.path(), recall::repair::yes).entries == 1);
  CHECK_FALSE(std::filesystem::exists(victim));
  CHECK(recall::verify(dir.path()).entries == 0);
  CHECK(recall::list_entries(dir.path()).size() == 3);
}
