// Tests for recall::prune and its size and duration parsers: each policy keeps the right
// entries, limits and filters, dry runs change nothing; and the fast cache_info scan.
#include "catch.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <recall/management/cache_inspection.hpp>
#include <recall/management/prune.hpp>
#include <recall/stores/directory_store.hpp>

#include "support.hpp"

namespace {

using namespace std::chrono_literals;

struct fixture {
  recall_test::temp_dir dir;
  recall::directory_store store{dir.path()};
  recall::function_id f{"prune_test::f", recall::key{1, 1}};
  recall::function_id g{"prune_test::g", recall::key{2, 2}};

  // Stores an entry of `function` with key (i, i), a payload of `payload_bytes` and a compute
  // time; then sets its last use (the file's mtime) to `last_use_ago` before now.
  std::filesystem::path add(const recall::function_id& function, std::uint64_t i, std::size_t payload_bytes,
                            std::chrono::milliseconds compute, std::chrono::seconds last_use_ago) {
    return add_to(store, function, i, payload_bytes, compute, last_use_ago);
  }

  // The same in `to`: another store, such as a partition folder's under the root.
  static std::filesystem::path add_to(recall::directory_store& to, const recall::function_id& function, std::uint64_t i,
                                      std::size_t payload_bytes, std::chrono::milliseconds compute,
                                      std::chrono::seconds last_use_ago) {
    auto& store = to;
    const recall::entry_address address{function, recall::key{i, i}};
    recall::stored_entry entry;
    entry.payload.assign(payload_bytes, std::byte{0x5a});
    entry.metadata.created = std::chrono::system_clock::now() - last_use_ago;
    entry.metadata.compute_time = compute;
    entry.manifest.function = function.name;
    store.save(address, entry);
    const auto path = store.entry_path(address);
    std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - last_use_ago);
    return path;
  }

  [[nodiscard]] std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator{dir.path()}) {
      if (e.path().extension() == ".rce") {
        out.insert(e.path().string());
      }
    }
    return out;
  }
};

} // namespace

TEST_CASE("parse_size reads bytes and K, M, G, T as powers of 1024", "[management_prune]") {
  CHECK(recall::parse_size("1048576") == 1048576);
  CHECK(recall::parse_size("0") == 0);
  CHECK(recall::parse_size("500M") == 500ULL << 20);
  CHECK(recall::parse_size("5G") == 5ULL << 30);
  CHECK(recall::parse_size("1.5G") == 3ULL << 29);
  CHECK(recall::parse_size("10k") == 10240);
  CHECK(recall::parse_size("10KiB") == 10240);
  CHECK(recall::parse_size("2MB") == 2ULL << 20);
  CHECK(recall::parse_size("1T") == 1ULL << 40);
  CHECK(recall::parse_size("12B") == 12);
  for (const char* bad : {"", "abc", "5X", "-1", "1.5", "5GG", "1e3", "M", "16777216T", ".", "5 G"}) {
    INFO(bad);
    CHECK_THROWS_AS(recall::parse_size(bad), recall::config_error);
  }
  CHECK_THROWS_WITH(recall::parse_size("5X"), "recall: bad size '5X': unknown unit 'X' (use K, M, G or T)");
}

TEST_CASE("parse_duration needs a unit: s, m, h, d or w", "[management_prune]") {
  CHECK(recall::parse_duration("90s") == 90s);
  CHECK(recall::parse_duration("30m") == 30min);
  CHECK(recall::parse_duration("12h") == 12h);
  CHECK(recall::parse_duration("7d") == 7 * 24h);
  CHECK(recall::parse_duration("2w") == 14 * 24h);
  CHECK(recall::parse_duration("1.5h") == 90min);
  for (const char* bad : {"", "30", "5y", "-1d", "d", "1dd", "1e3s", "99999999999999w"}) {
    INFO(bad);
    CHECK_THROWS_AS(recall::parse_duration(bad), recall::config_error);
  }
  CHECK_THROWS_WITH(recall::parse_duration("30"), "recall: bad duration '30': give a unit: s, m, h, d or w (e.g. 7d)");
}

TEST_CASE("lru prune keeps the most recently used entries", "[management_prune]") {
  fixture x;
  std::vector<std::filesystem::path> paths;
  for (std::uint64_t i = 0; i < 5; ++i) {
    paths.push_back(x.add(x.f, i, 100, 10ms, std::chrono::hours{5 - static_cast<int>(i)})); // entry 4 is the newest
  }
  recall::prune_options o;
  o.max_count = 2;
  o.listing = recall::prune_listing::entries;
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.considered_entries == 5);
  CHECK(report.removed_entries == 3);
  CHECK(report.kept_entries == 2);
  CHECK(x.files() == std::set<std::string>{paths[3].string(), paths[4].string()});
  REQUIRE(report.removed.size() == 3);
  CHECK(report.removed.front().path == paths[0]); // least recently used first
  CHECK(report.removed.front().reason == recall::prune_reason::limits);
  CHECK(report.removed.front().function == "prune_test::f");
}

TEST_CASE("prune by size stops as soon as the cache fits", "[management_prune]") {
  fixture x;
  std::vector<std::filesystem::path> paths;
  for (std::uint64_t i = 0; i < 4; ++i) {
    paths.push_back(x.add(x.f, i, 1000, 1ms, std::chrono::minutes{50 - static_cast<int>(i)}));
  }
  const auto one = std::filesystem::file_size(paths[0]);
  recall::prune_options o;
  o.max_size = 3 * one - 1; // three entries do not fit, two do
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.removed_entries == 2);
  CHECK(report.removed_bytes == 2 * one);
  CHECK(report.kept_bytes == 2 * one);
  CHECK(x.files() == std::set<std::string>{paths[2].string(), paths[3].string()});
}

TEST_CASE("prune --max-age removes entries unused for longer, whatever the limits", "[management_prune]") {
  fixture x;
  const auto old1 = x.add(x.f, 1, 10, 1ms, 10h);
  const auto old2 = x.add(x.g, 2, 10, 1ms, 4h);
  const auto fresh = x.add(x.f, 3, 10, 1ms, 1h);
  recall::prune_options o;
  o.max_age = 3h;
  o.listing = recall::prune_listing::entries;
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.removed_entries == 2);
  CHECK(x.files() == std::set<std::string>{fresh.string()});
  for (const auto& e : report.removed) {
    CHECK(e.reason == recall::prune_reason::age);
  }
}

TEST_CASE("cost prune keeps the entries that save the most compute time per byte", "[management_prune]") {
  fixture x;
  // Same compute time, different sizes: the small entry saves more per byte. Recently used or
  // not does not matter to this policy.
  const auto big_slow = x.add(x.f, 1, 20000, 1000ms, 1min); // 0.05 ms per byte
  const auto small_slow = x.add(x.f, 2, 100, 1000ms, 10h);  // ~5 ms per byte: most valuable
  const auto small_fast = x.add(x.f, 3, 100, 1ms, 2min);    // ~0.005 ms per byte
  const auto mid = x.add(x.f, 4, 1000, 500ms, 3h);          // ~0.45 ms per byte
  recall::prune_options o;
  o.policy = recall::prune_policy::cost;
  o.max_count = 2;
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.removed_entries == 2);
  CHECK(x.files() == std::set<std::string>{small_slow.string(), mid.string()});
  static_cast<void>(big_slow);
  static_cast<void>(small_fast);

  SECTION("lru on the same entries keeps the recently used ones instead") {
    fixture y;
    const auto a = y.add(y.f, 1, 20000, 1000ms, 1min);
    const auto b = y.add(y.f, 2, 100, 1000ms, 10h);
    const auto c = y.add(y.f, 3, 100, 1ms, 2min);
    static_cast<void>(b);
    recall::prune_options lru;
    lru.max_count = 2;
    static_cast<void>(recall::prune(y.dir.path(), lru));
    CHECK(y.files() == std::set<std::string>{a.string(), c.string()});
  }
}

TEST_CASE("cost prune removes entries with a damaged header first", "[management_prune]") {
  fixture x;
  const auto damaged = x.add(x.f, 1, 100, 5000ms, 1min);
  const auto good = x.add(x.f, 2, 100, 10ms, 1h);
  {
    std::fstream file{damaged, std::ios::in | std::ios::out | std::ios::binary};
    file.seekp(50); // inside the header: its checksum no longer matches
    file.put('\x7f');
  }
  recall::prune_options o;
  o.policy = recall::prune_policy::cost;
  o.max_count = 1;
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.removed_entries == 1);
  CHECK(x.files() == std::set<std::string>{good.string()});
}

TEST_CASE("a dry run decides the same and removes nothing", "[management_prune]") {
  fixture x;
  for (std::uint64_t i = 0; i < 6; ++i) {
    x.add(i % 2 == 0 ? x.f : x.g, i, 50, 1ms, std::chrono::hours{1 + static_cast<int>(i)});
  }
  const auto before = x.files();
  for (const auto policy : {recall::prune_policy::lru, recall::prune_policy::cost}) {
    recall::prune_options o;
    o.policy = policy;
    o.max_count = 1;
    o.max_age = 3h;
    o.dry = recall::dry_run::yes;
    o.listing = recall::prune_listing::entries;
    const auto report = recall::prune(x.dir.path(), o);
    CHECK(report.removed_entries == 5);
    CHECK(report.removed.size() == 5);
    CHECK(x.files() == before);
  }
}

TEST_CASE("--function limits apply to that function's entries only", "[management_prune]") {
  fixture x;
  std::vector<std::filesystem::path> f_paths;
  for (std::uint64_t i = 0; i < 3; ++i) {
    f_paths.push_back(x.add(x.f, i, 10, 1ms, std::chrono::hours{3 - static_cast<int>(i)}));
  }
  const auto g1 = x.add(x.g, 10, 10, 1ms, 100h);
  const auto g2 = x.add(x.g, 11, 10, 1ms, 200h);
  recall::prune_options o;
  o.function = "prune_test::f";
  o.max_count = 1;
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.considered_entries == 3);
  CHECK(report.removed_entries == 2);
  CHECK(x.files() == std::set<std::string>{f_paths[2].string(), g1.string(), g2.string()});

  SECTION("the folder name works as a filter too") {
    recall::prune_options by_folder;
    by_folder.function = recall::directory_store::folder_name(x.g);
    by_folder.max_count = 0;
    CHECK(recall::prune(x.dir.path(), by_folder).removed_entries == 2);
    CHECK(x.files() == std::set<std::string>{f_paths[2].string()});
  }
}

TEST_CASE("prune limits apply over the whole root, partitions included; --scope limits to one", "[management_prune]") {
  fixture x;
  recall::directory_store a{x.dir.path() / "channels_0000000a"};
  recall::directory_store b{x.dir.path() / "channels_0000000b"};
  const auto root_old = x.add(x.f, 1, 10, 1ms, 5h);
  const auto a_older = fixture::add_to(a, x.f, 2, 10, 1ms, 6h);
  const auto a_new = fixture::add_to(a, x.g, 3, 10, 1ms, 1h);
  const auto b_oldest = fixture::add_to(b, x.f, 4, 10, 1ms, 9h);
  const auto b_new = fixture::add_to(b, x.f, 5, 10, 1ms, 2h);
  {
    // One pool: the three least recently used go, whatever folder they are in.
    recall::prune_options o;
    o.max_count = 2;
    o.dry = recall::dry_run::yes;
    o.listing = recall::prune_listing::entries;
    const auto report = recall::prune(x.dir.path(), o);
    CHECK(report.considered_entries == 5);
    REQUIRE(report.removed.size() == 3);
    CHECK(report.removed[0].path == b_oldest);
    CHECK(report.removed[0].partition == "channels_0000000b");
    CHECK(report.removed[1].path == a_older);
    CHECK(report.removed[1].partition == "channels_0000000a");
    CHECK(report.removed[2].path == root_old);
    CHECK(report.removed[2].partition.empty());
  }
  recall::prune_options o;
  o.max_count = 1;
  o.scope = "channels_0000000a";
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.considered_entries == 2);
  CHECK(report.removed_entries == 1);
  CHECK(x.files() == std::set<std::string>{root_old.string(), a_new.string(), b_oldest.string(), b_new.string()});
  o.scope = "channels_0000000c";
  CHECK_THROWS_AS(recall::prune(x.dir.path(), o), recall::store_error);
  o.scope = "../channels_0000000a";
  CHECK_THROWS_AS(recall::prune(x.dir.path(), o), recall::config_error);
  // --function matches in every partition.
  recall::prune_options f;
  f.function = "prune_test::f";
  f.max_count = 0;
  CHECK(recall::prune(x.dir.path(), f).removed_entries == 3);
  CHECK(x.files() == std::set<std::string>{a_new.string()});
}

TEST_CASE("prune without limits removes nothing; an unreadable root is an error", "[management_prune]") {
  fixture x;
  x.add(x.f, 1, 10, 1ms, 1000h);
  const auto report = recall::prune(x.dir.path(), recall::prune_options{});
  CHECK(report.removed_entries == 0);
  CHECK(report.kept_entries == 1);
  recall::prune_options o;
  o.max_count = 0;
  CHECK_THROWS_AS(recall::prune(x.dir.path() / "missing", o), recall::store_error);
}

TEST_CASE("prune and cache_info report progress through the callback", "[management_prune]") {
  fixture x;
  for (std::uint64_t i = 0; i < 3; ++i) {
    x.add(x.f, i, 10, 1ms, 1h);
  }
  std::vector<std::string> finished;
  recall::prune_options o;
  o.policy = recall::prune_policy::cost;
  o.max_count = 1;
  o.progress = [&](std::string_view phase, std::uint64_t done, std::uint64_t total) {
    if (done == total) {
      finished.emplace_back(phase);
    }
  };
  static_cast<void>(recall::prune(x.dir.path(), o));
  CHECK(finished == std::vector<std::string>{"scanning", "reading headers", "removing"});
}

TEST_CASE("cache_info counts entries by stat and header, names functions from one manifest", "[management_prune]") {
  fixture x;
  x.add(x.f, 1, 10, 1ms, 1h);
  const auto damaged = x.add(x.f, 2, 10, 1ms, 1h);
  x.add(x.g, 3, 10, 1ms, 1h);
  {
    std::fstream file{damaged, std::ios::in | std::ios::out | std::ios::binary};
    file.seekp(10);
    file.put('\x01');
  }
  // Files that are not entries are not counted.
  std::ofstream{x.dir.path() / recall::directory_store::folder_name(x.f) / "00" / "not-an-entry.rce.tmp.123"} << "x";
  const auto info = recall::cache_info(x.dir.path());
  CHECK(info.entries == 3);
  CHECK(info.damaged == 1);
  REQUIRE(info.functions.size() == 2);
  CHECK(info.functions[0].name == "prune_test::f");
  CHECK(info.functions[0].entries == 2);
  CHECK(info.functions[0].damaged == 1);
  CHECK(info.functions[1].name == "prune_test::g");
  CHECK(info.functions[0].oldest.time_since_epoch().count() != 0);
}

TEST_CASE("prune and cache_info on thousands of entries (the threaded paths) keep the right ones",
          "[management_prune]") {
  fixture x;
  constexpr std::uint64_t n = 5000; // above the threshold where header reads and unlinks use threads
  std::set<std::string> most_valuable;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto path = x.add(x.f, i, 16, std::chrono::milliseconds{static_cast<std::int64_t>(i) + 1}, 1h);
    if (i >= n - 1000) {
      most_valuable.insert(path.string());
    }
  }
  CHECK(recall::cache_info(x.dir.path()).entries == n);
  recall::prune_options o;
  o.policy = recall::prune_policy::cost;
  o.max_count = 1000;
  const auto report = recall::prune(x.dir.path(), o);
  CHECK(report.removed_entries == n - 1000);
  CHECK(report.failures.empty());
  CHECK(x.files() == most_valuable);
  const auto info = recall::cache_info(x.dir.path());
  CHECK(info.entries == 1000);
  CHECK(info.damaged == 0);
  CHECK(recall::clear(x.dir.path()).entries == 1000);
  CHECK(x.files().empty());
}

TEST_CASE("prune removes the temp files of dead writers once they are stale, not a live writer's",
          "[management_prune]") {
  fixture fx;
  const auto entry = fx.add(fx.f, 1, 100, 1ms, 0s);
  const auto shard = entry.parent_path();
  const auto dead = shard / (entry.filename().string() + ".tmp.AbCdEf");
  const auto live = shard / (entry.filename().string() + ".tmp.GhIjKl");
  std::ofstream{dead} << std::string(300, 'x');
  std::ofstream{live} << std::string(200, 'y');
  std::filesystem::last_write_time(dead, std::filesystem::file_time_type::clock::now() - 2h);
  recall::prune_options options;
  options.max_count = 10;
  options.dry = recall::dry_run::yes;
  auto report = recall::prune(fx.dir.path(), options);
  CHECK(report.removed_temp_files == 1);
  CHECK(report.removed_temp_bytes == 300);
  CHECK(std::filesystem::exists(dead));
  options.dry = recall::dry_run::no;
  report = recall::prune(fx.dir.path(), options);
  CHECK(report.removed_temp_files == 1);
  CHECK(report.removed_entries == 0);
  CHECK(report.failures.empty());
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(entry));
}

TEST_CASE("prune_superseded keeps, of three identities of a function, the one used most recently",
          "[management_prune]") {
  fixture x;
  // Three versions of one function (three identities, so three folders: the folder name ends in
  // the identity's first 8 hex digits), and another function.
  const recall::function_id v1{"prune_test::f", recall::key{0x1111111111111111ULL, 1}};
  const recall::function_id v2{"prune_test::f", recall::key{0x2222222222222222ULL, 2}};
  const recall::function_id v3{"prune_test::f", recall::key{0x3333333333333333ULL, 3}};
  x.add(v1, 1, 100, 10ms, 3h);
  x.add(v1, 2, 100, 10ms, 3h);
  const auto current = x.add(v2, 1, 100, 10ms, 1h); // written before v3's, but read (touched) since
  x.add(v3, 1, 100, 10ms, 2h);
  const auto other = x.add(x.g, 1, 100, 10ms, 5h); // alone under its name: current however old

  const auto info = recall::cache_info(x.dir.path());
  std::size_t superseded = 0;
  for (const auto& f : info.functions) {
    superseded += f.superseded ? 1 : 0;
    CHECK(f.superseded == (f.name == "prune_test::f" && f.folder != recall::directory_store::folder_name(v2)));
  }
  CHECK(superseded == 2);
  const auto listed = recall::list_entries(x.dir.path(), "prune_test::f");
  CHECK(std::count_if(listed.begin(), listed.end(), [](const auto& r) { return !r.superseded; }) == 1);

  const auto dry = recall::prune_superseded(x.dir.path(), recall::dry_run::yes);
  CHECK(dry.entries == 3);
  CHECK(x.files().size() == 5);
  const auto done = recall::prune_superseded(x.dir.path());
  CHECK(done.entries == 3);
  CHECK(done.bytes == dry.bytes);
  CHECK(x.files() == std::set<std::string>{current.string(), other.string()});
  CHECK(recall::prune_superseded(x.dir.path()).entries == 0);
}

TEST_CASE("prune_superseded on a partition compares versions within it only", "[management_prune]") {
  fixture x;
  const recall::function_id v1{"prune_test::f", recall::key{0x1111111111111111ULL, 1}};
  const recall::function_id v2{"prune_test::f", recall::key{0x2222222222222222ULL, 2}};
  const std::string partition = "channels_0123abcd";
  recall::directory_store scoped{x.dir.path() / partition};
  fixture::add_to(scoped, v1, 1, 100, 10ms, 2h);
  const auto kept = fixture::add_to(scoped, v2, 1, 100, 10ms, 1h);
  const auto root_v1 = x.add(v1, 1, 100, 10ms, 3h); // the root's only version: current there

  CHECK(recall::prune_superseded(x.dir.path(), recall::dry_run::no, {}, partition).entries == 1);
  CHECK(x.files() == std::set<std::string>{kept.string(), root_v1.string()});
  CHECK_THROWS_AS(recall::prune_superseded(x.dir.path(), recall::dry_run::no, {}, "missing_00000000"),
                  recall::store_error);
  CHECK_THROWS_AS(recall::prune_superseded(x.dir.path(), recall::dry_run::no, {}, "../etc"), recall::config_error);
}
