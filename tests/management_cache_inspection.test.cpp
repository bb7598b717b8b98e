// Tests for the management API behind recall-cache: list, info, find, clear, verify.
#include "catch.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

namespace {

// populate() at the root, plus `twice` in two partitions and `half` in one of them; returns the
// two partitions' folder names (channels A first).
std::pair<std::string, std::string> populate_partitions(const std::filesystem::path& dir) {
  populate(dir);
  const recall::scope a{"channels", std::vector<std::string>{"Na", "K"}};
  const recall::scope b{"channels", std::vector<std::string>{"Ca"}};
  recall::options o;
  o.directory = dir;
  o.mode = recall::mode::reuse;
  o.scope = a;
  recall::memoize<&twice> ta{o};
  recall::memoize<&half> ha{o};
  o.scope = b;
  recall::memoize<&twice> tb{o};
  ta(10);
  ta(11);
  ha(4.0);
  ha(4.0); // a hit in partition a's statistics only
  tb(10);
  return {a.folder_name(), b.folder_name()};
}

} // namespace

TEST_CASE("partition folder names are told from function folder names", "[management_cache_inspection]") {
  namespace dm = recall::detail::management;
  const recall::scope s{"odd label/..", 42};
  CHECK(dm::is_partition_folder_name(s.folder_name()));
  CHECK(dm::is_partition_folder_name("channels_1a2b3c4d"));
  CHECK(dm::is_partition_folder_name("a.b-c_d_00000000"));
  CHECK_FALSE(dm::is_partition_folder_name("channels-1a2b3c4d")); // a function folder
  CHECK_FALSE(dm::is_function_folder_name("channels_1a2b3c4d"));
  CHECK_FALSE(dm::is_partition_folder_name("_1a2b3c4d"));                        // no label
  CHECK_FALSE(dm::is_partition_folder_name("..x_1a2b3c4d"));                     // hidden / dot-dot
  CHECK_FALSE(dm::is_partition_folder_name("-x_1a2b3c4d"));                      // leading '-'
  CHECK_FALSE(dm::is_partition_folder_name("a/b_1a2b3c4d"));                     // a path
  CHECK_FALSE(dm::is_partition_folder_name("a b_1a2b3c4d"));                     // unsafe character
  CHECK_FALSE(dm::is_partition_folder_name("channels_1A2B3C4D"));                // digests are lower-case
  CHECK_FALSE(dm::is_partition_folder_name("channels_1a2b3c4"));                 // 7 digits
  CHECK_FALSE(dm::is_partition_folder_name(std::string(49, 'a') + "_1a2b3c4d")); // label too long
  CHECK(dm::is_partition_folder_name(std::string(48, 'a') + "_1a2b3c4d"));
}

TEST_CASE("list_entries and cache_info walk partition folders; --scope restricts to one",
          "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  const auto [a, b] = populate_partitions(dir.path());
  REQUIRE(std::filesystem::is_directory(dir.path() / a));
  REQUIRE(std::filesystem::is_directory(dir.path() / b));

  const auto all = recall::list_entries(dir.path());
  CHECK(all.size() == 4 + 4);
  std::map<std::string, int> per_partition;
  for (const auto& r : all) {
    per_partition[r.partition] += 1;
    const auto expected = r.partition.empty() ? dir.path() / r.folder : dir.path() / r.partition / r.folder;
    CHECK(r.path.parent_path().parent_path() == expected);
  }
  CHECK(per_partition[""] == 4);
  CHECK(per_partition[a] == 3);
  CHECK(per_partition[b] == 1);
  CHECK(recall::list_entries(dir.path(), "inspection_test::twice").size() == 3 + 2 + 1);
  const auto only_a = recall::list_entries(dir.path(), {}, {}, a);
  CHECK(only_a.size() == 3);
  CHECK(std::all_of(only_a.begin(), only_a.end(), [&](const auto& r) { return r.partition == a; }));
  CHECK(recall::list_entries(dir.path(), "inspection_test::twice", {}, b).size() == 1);
  CHECK(recall::find_entries(dir.path(), only_a.front().call.hex().substr(0, 12)).front().partition == a);

  const auto info = recall::cache_info(dir.path());
  CHECK(info.entries == 8);
  CHECK(info.functions.size() == 2); // the root's
  REQUIRE(info.partitions.size() == 2);
  const auto& pa = info.partitions[a < b ? 0 : 1];
  const auto& pb = info.partitions[a < b ? 1 : 0];
  CHECK(pa.name == a);
  CHECK(pa.entries == 3);
  REQUIRE(pa.functions.size() == 2);
  std::uint64_t partition_bytes = 0;
  for (const auto& f : pa.functions) {
    partition_bytes += f.bytes;
    CHECK(f.partition == a);
    if (f.name == "inspection_test::half") {
      CHECK(f.entries == 1);
      CHECK(f.stats.misses == 1);
      CHECK(f.stats.hits == 1); // its own stats file, not the root's half's
    }
  }
  CHECK(partition_bytes == pa.bytes);
  CHECK(pb.entries == 1);
  REQUIRE(pb.functions.size() == 1);
  CHECK(pb.functions.front().name == "inspection_test::twice");
  std::uint64_t total = pa.bytes + pb.bytes;
  for (const auto& f : info.functions) {
    CHECK(f.partition.empty());
    total += f.bytes;
  }
  CHECK(total == info.bytes);

  const auto scoped = recall::cache_info(dir.path(), {}, b);
  CHECK(scoped.entries == 1);
  CHECK(scoped.functions.empty());
  REQUIRE(scoped.partitions.size() == 1);
  CHECK(scoped.partitions.front().name == b);
}

TEST_CASE("a bad or missing --scope is an error, not an empty cache", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate_partitions(dir.path());
  CHECK_THROWS_AS(recall::list_entries(dir.path(), {}, {}, "../etc_1a2b3c4d"), recall::config_error);
  CHECK_THROWS_AS(recall::cache_info(dir.path(), {}, "nope"), recall::config_error);
  CHECK_THROWS_AS(recall::clear(dir.path(), {}, recall::dry_run::no, {}, "channels_00000000"), recall::store_error);
  CHECK_THROWS_AS(recall::verify(dir.path(), recall::repair::no, {}, "channels_00000000"), recall::store_error);
  CHECK(recall::list_entries(dir.path()).size() == 8); // nothing lost
}

TEST_CASE("a symlinked partition folder is not followed", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  recall_test::temp_dir elsewhere;
  const auto [a, b] = populate_partitions(elsewhere.path());
  std::filesystem::create_directory_symlink(elsewhere.path() / a, dir.path() / a);
  CHECK(recall::list_entries(dir.path()).empty());
  CHECK(recall::cache_info(dir.path()).partitions.empty());
  CHECK_THROWS_AS(recall::list_entries(dir.path(), {}, {}, a), recall::store_error);
  CHECK(recall::clear(dir.path()).entries == 0);
  CHECK(recall::verify(dir.path(), recall::repair::yes).entries == 0);
  CHECK(recall::list_entries(elsewhere.path(), {}, {}, a).size() == 3);
}

TEST_CASE("clear matches a function in every partition unless scoped; verify walks partitions",
          "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  const auto [a, b] = populate_partitions(dir.path());
  CHECK(recall::clear(dir.path(), "inspection_test::twice", recall::dry_run::yes).entries == 6);
  CHECK(recall::clear(dir.path(), "inspection_test::twice", recall::dry_run::no, {}, a).entries == 2);
  CHECK(recall::list_entries(dir.path(), "inspection_test::twice").size() == 4);
  CHECK(recall::clear(dir.path(), "inspection_test::twice").entries == 4);
  CHECK(recall::list_entries(dir.path()).size() == 2);  // the two halfs, root and a
  CHECK(std::filesystem::is_directory(dir.path() / b)); // the partition folder stays

  const auto victim = recall::list_entries(dir.path(), {}, {}, a).front().path;
  {
    std::fstream file{victim, std::ios::in | std::ios::out | std::ios::binary};
    file.seekp(-1, std::ios::end);
    file.put('\x01');
  }
  CHECK(recall::verify(dir.path(), recall::repair::no, {}, b).entries == 0);
  const auto report = recall::verify(dir.path());
  REQUIRE(report.entries == 1);
  CHECK(report.problems.front().first == victim);
  CHECK(recall::verify(dir.path(), recall::repair::yes, {}, a).entries == 1);
  CHECK_FALSE(std::filesystem::exists(victim));
  CHECK(recall::list_entries(dir.path()).size() == 1);
}

TEST_CASE("a FIFO planted as a stats, lock or entry file blocks nothing", "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate(dir.path());
  const auto entries = recall::list_entries(dir.path(), "inspection_test::half");
  REQUIRE(entries.size() == 1);
  const auto folder = dir.path() / entries.front().folder;
  std::filesystem::remove(folder / "stats");
  REQUIRE(::mkfifo((folder / "stats").c_str(), 0600) == 0);
  std::filesystem::remove(folder / "locks");
  REQUIRE(::mkfifo((folder / "locks").c_str(), 0600) == 0);
  const auto entry = entries.front().path;
  std::filesystem::remove(entry);
  REQUIRE(::mkfifo(entry.c_str(), 0600) == 0);
  // Each step on its own thread, returning what it found (assertions stay on this thread): a
  // blocked open is unblocked (by opening the FIFOs for writing) after a few seconds so that the
  // test fails instead of hanging.
  const auto finishes = [&](auto&& step) {
    auto done = std::async(std::launch::async, step);
    if (done.wait_for(std::chrono::seconds{5}) == std::future_status::ready) {
      return done.get();
    }
    for (const auto& fifo : {folder / "stats", folder / "locks", entry}) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) {
        ::close(fd);
      }
    }
    done.wait();
    return false;
  };
  CHECK(finishes([&] {
    const auto info = recall::cache_info(dir.path());
    return std::all_of(info.functions.begin(), info.functions.end(),
                       [&](const auto& f) { return f.folder != entries.front().folder || f.stats.hits == 0; });
  }));
  CHECK(finishes([&] { return recall::verify(dir.path()).entries == 0; }));
  CHECK(finishes([&] { return recall::list_entries(dir.path()).size() == 3; }));
  // The library: stats read and written, a call (its lock file and entry are FIFOs) computes.
  CHECK(finishes([&] {
    recall::process_memory_tier().clear();
    recall::directory_store store{dir.path()};
    const recall::function_id id = recall::memoize<&half>::function();
    const bool no_stats = store.stats(id).hits == 0;
    store.record_stats(id, recall::function_stats{1, 0, 0, 0, 0});
    recall::options o;
    o.directory = dir.path();
    o.mode = recall::mode::reuse;
    recall_test::log_capture log;
    recall::memoize<&half> h{o};
    return no_stats && h(1.0) == 0.5;
  }));
  CHECK(std::filesystem::is_fifo(folder / "stats"));
}

TEST_CASE("temp files of dead writers are counted by info and removed by clear and verify --repair once stale",
          "[management_cache_inspection]") {
  using namespace std::chrono_literals;
  recall_test::temp_dir dir;
  populate(dir.path());
  const auto entry = recall::list_entries(dir.path(), "inspection_test::half").front().path;
  const auto dead = entry.parent_path() / (entry.filename().string() + ".tmp.AbCdEf");
  const auto live = entry.parent_path() / (entry.filename().string() + ".tmp.GhIjKl");
  const auto plant_dead = [&] {
    std::ofstream{dead} << std::string(300, 'x');
    std::filesystem::last_write_time(dead, std::filesystem::file_time_type::clock::now() - 2h);
  };
  plant_dead();
  std::ofstream{live} << std::string(200, 'y');

  const auto info = recall::cache_info(dir.path());
  CHECK(info.entries == 4);
  CHECK(info.temp_files == 2);
  CHECK(info.temp_bytes == 500);
  CHECK(info.stale_temp_files == 1);

  CHECK(recall::verify(dir.path()).entries == 0);
  CHECK(std::filesystem::exists(dead)); // verify without repair changes nothing
  const auto repaired = recall::verify(dir.path(), recall::repair::yes);
  CHECK(repaired.failures.empty());
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(live));

  plant_dead();
  const auto preview = recall::clear(dir.path(), {}, recall::dry_run::yes);
  CHECK(preview.entries == 5);
  CHECK(std::filesystem::exists(dead));
  const auto cleared = recall::clear(dir.path());
  CHECK(cleared.entries == 5);
  CHECK(cleared.bytes == preview.bytes);
  CHECK(cleared.failures.empty());
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(live));
}

TEST_CASE("verify judges an entry grown by a hole from its header, without reading it into memory",
          "[management_cache_inspection]") {
  recall_test::temp_dir dir;
  populate(dir.path());
  const auto entry = recall::list_entries(dir.path(), "inspection_test::half").front().path;
  REQUIRE(::truncate(entry.c_str(), off_t{256} << 20) == 0); // 256 MiB, nearly all a hole
  ::rusage before{};
  REQUIRE(::getrusage(RUSAGE_SELF, &before) == 0);
  const auto report = recall::verify(dir.path());
  ::rusage after{};
  REQUIRE(::getrusage(RUSAGE_SELF, &after) == 0);
  CHECK(report.entries == 1);
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems.front().second.find("size mismatch") != std::string::npos);
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024); // KiB
}
