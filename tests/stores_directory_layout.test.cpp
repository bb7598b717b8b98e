// Tests of detail/stores/directory_layout.hpp: the spelling of a directory cache's names (and
// their parsing back), and the one walk over a cache (entries found; temp, foreign and linked
// files and folders skipped, nothing followed below the root).
#include "catch.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/key/key.hpp>
#include <recall/policy/scope.hpp>
#include <recall/stores/directory_store.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
namespace layout = recall::detail::directory_layout;
using recall::key;

const key identity{0x0123abcd99887766ULL, 0x5544332211000000ULL};
const key call{0xab00112233445566ULL, 0x778899aabbccddeeULL};

void touch(const fs::path& path, const std::string& content = "x") {
  fs::create_directories(path.parent_path());
  std::ofstream{path} << content;
}

// "<partition>/<folder>/<shard>/<name>" of every entry for_each_entry finds under `root`.
std::set<std::string> walked_entries(const fs::path& root) {
  std::set<std::string> out;
  const recall::detail::fsio::unique_fd top{layout::open_root(root.string())};
  REQUIRE(top);
  layout::for_each_function_folder_in_tree(top.get(), [&](const layout::function_folder& folder) {
    layout::for_each_entry(folder.fd, [&](const layout::shard_file& file) {
      CHECK(file.kind == layout::file_kind::entry);
      CHECK(S_ISREG(file.status->st_mode));
      CHECK(file.call.hex() + ".rce" == file.name);
      CHECK(file.call.hex().substr(0, 2) == file.shard);
      std::string where{folder.partition};
      where.append(where.empty() ? "" : "/")
          .append(folder.name)
          .append("/")
          .append(file.shard)
          .append("/")
          .append(file.name);
      out.insert(std::move(where));
    });
  });
  return out;
}

} // namespace

TEST_CASE("an entry's path is <kk>/<32 hex digits>.rce and its name parses back to the key",
          "[stores_directory_layout]") {
  std::string path = "root/f-0123abcd/";
  const std::size_t name_at = layout::append_entry_path(path, call);
  CHECK(path == "root/f-0123abcd/ab/ab00112233445566778899aabbccddee.rce");
  CHECK(path.substr(name_at) == layout::entry_file_name(call));
  CHECK(layout::parse_entry_name(layout::entry_file_name(call)) == call);
  for (const key k : {key{}, key{~0ULL, ~0ULL}, key{1, 2}, call}) {
    CHECK(layout::parse_entry_name(layout::entry_file_name(k)) == k);
    CHECK(layout::shard_name(layout::shard_of(k))[0] == k.hex()[0]);
    CHECK(layout::shard_name(layout::shard_of(k))[1] == k.hex()[1]);
  }
  CHECK(layout::parse_shard_name("00") == 0U);
  CHECK(layout::parse_shard_name("ff") == 255U);
  CHECK(layout::parse_shard_name("a7") == 0xa7U);
  CHECK_FALSE(layout::parse_shard_name("A7"));
  CHECK_FALSE(layout::parse_shard_name("g0"));
  CHECK_FALSE(layout::parse_shard_name("0"));
  CHECK_FALSE(layout::parse_shard_name("000"));
}

TEST_CASE("foreign file names parse to no key", "[stores_directory_layout]") {
  const std::string good = call.hex() + ".rce";
  CHECK(layout::parse_entry_name(good));
  CHECK_FALSE(layout::parse_entry_name(call.hex().substr(1) + ".rce"));        // 31 digits
  CHECK_FALSE(layout::parse_entry_name(call.hex() + "0.rce"));                 // 33 digits
  CHECK_FALSE(layout::parse_entry_name("g" + call.hex().substr(1) + ".rce"));  // not hex
  CHECK_FALSE(layout::parse_entry_name("AB" + call.hex().substr(2) + ".rce")); // upper case: not how keys are spelled
  CHECK_FALSE(layout::parse_entry_name(call.hex() + ".rcx"));                  // another extension
  CHECK_FALSE(layout::parse_entry_name(call.hex()));                           // none
  CHECK_FALSE(layout::parse_entry_name(good + ".tmp.AbC123"));                 // a writer's temp file
  CHECK_FALSE(layout::parse_entry_name(""));
  CHECK(layout::is_temp_entry_name(good + ".tmp.AbC123"));
  CHECK_FALSE(layout::is_temp_entry_name(good + ".tmp."));
  CHECK_FALSE(layout::is_temp_entry_name("not-an-entry.rce.tmp.123"));
  CHECK(layout::kind_of(good) == layout::file_kind::entry);
  CHECK(layout::kind_of(good + ".tmp.x") == layout::file_kind::temp);
  CHECK(layout::kind_of("bogus.rce") == layout::file_kind::misnamed);
  CHECK(layout::kind_of("0123.lock") == layout::file_kind::other);
  CHECK(layout::kind_of("stats") == layout::file_kind::other);
}

TEST_CASE("function and partition folders are spelled as the store and scope spell them", "[stores_directory_layout]") {
  CHECK(layout::function_folder_name("ns::simulate", identity) == "ns_simulate-0123abcd");
  CHECK(layout::function_folder_name("", identity) == "unnamed-0123abcd");
  CHECK(recall::directory_store::folder_name(recall::function_id{"ns::simulate", identity}) ==
        layout::function_folder_name("ns::simulate", identity));
  CHECK(layout::function_folder_name(std::string(100, 'a'), identity).size() == 64 + 9);
  CHECK(layout::is_function_folder_name("ns_simulate-0123abcd"));
  CHECK_FALSE(layout::is_function_folder_name("ns_simulate_0123abcd"));
  CHECK_FALSE(layout::is_function_folder_name("ns_simulate-0123ABCD"));
  CHECK_FALSE(layout::is_function_folder_name("-0123abcd"));
  CHECK_FALSE(layout::is_function_folder_name("ab"));

  const recall::scope channels{"channels", 2};
  CHECK(channels.folder_name() == layout::partition_folder_name("channels", channels.digest()));
  CHECK(layout::is_partition_folder_name(channels.folder_name()));
  CHECK_FALSE(layout::is_function_folder_name(channels.folder_name()));
  CHECK(layout::partition_label("") == "scope");
  CHECK(layout::partition_label("a b") == "a_b");
  CHECK(layout::partition_label(std::string(60, 'x')).size() == layout::max_partition_label_length);
  CHECK_FALSE(layout::is_partition_folder_name("..x_1a2b3c4d"));
  CHECK_FALSE(layout::is_partition_folder_name("a/b_1a2b3c4d"));
}

TEST_CASE("the walk finds the entries of function folders at the root and in partitions, and nothing else",
          "[stores_directory_layout]") {
  recall_test::temp_dir dir;
  const fs::path root = dir.path();
  const std::string folder = layout::function_folder_name("ns::simulate", identity);
  const std::string partition = layout::partition_folder_name("channels", identity);
  const std::string entry = layout::entry_file_name(call);
  const std::string other = layout::entry_file_name(key{0x0100000000000000ULL, 7});
  touch(root / folder / "ab" / entry);
  touch(root / folder / "01" / other);
  touch(root / partition / folder / "ab" / entry);
  // Not entries: a temp file, foreign names, files beside the shards, a file where a shard goes.
  touch(root / folder / "ab" / (entry + ".tmp.AbC123"));
  touch(root / folder / "ab" / "bogus.rce");
  touch(root / folder / "ab" / ("AB" + entry.substr(2)));
  touch(root / folder / "stats");
  touch(root / folder / "locks");
  touch(root / folder / "zz" / entry); // not a shard name
  touch(root / folder / "cd");         // a file, not a shard folder
  touch(root / "not-a-function" / "ab" / entry);
  touch(root / "CACHEDIR.TAG");
  fs::create_directories(root / folder / "ef" / (other + "-folder.rce"));
  ::mkfifo((root / folder / "ab" / layout::entry_file_name(key{0xab00000000000000ULL, 1})).c_str(), 0600);

  CHECK(walked_entries(root) == std::set<std::string>{folder + "/ab/" + entry, folder + "/01/" + other,
                                                      partition + "/" + folder + "/ab/" + entry});

  // The temp file is there for those who ask for it.
  std::vector<std::string> temps;
  const recall::detail::fsio::unique_fd top{layout::open_root(root.string())};
  layout::for_each_function_folder(top.get(), {}, [&](const layout::function_folder& f) {
    layout::for_each_shard_file(f.fd, [&](const layout::shard_file& file) { temps.emplace_back(file.name); },
                                {layout::file_kind::temp});
  });
  CHECK(temps == std::vector<std::string>{entry + ".tmp.AbC123"});

  // One shard only, and a visitor that stops the walk.
  std::size_t seen = 0;
  layout::for_each_function_folder(top.get(), {}, [&](const layout::function_folder& f) {
    CHECK(layout::for_each_shard_file(
        f.fd, [&](const layout::shard_file&) { ++seen; }, {layout::file_kind::entry}, 0x01));
    CHECK_FALSE(layout::for_each_entry(f.fd, [&](const layout::shard_file&) { return false; }));
  });
  CHECK(seen == 1);
}

TEST_CASE("the walk follows no link below the root: linked function folders, shards and entries are skipped",
          "[stores_directory_layout]") {
  recall_test::temp_dir dir;
  const fs::path root = dir.path() / "cache";
  const fs::path outside = dir.path() / "outside";
  const std::string folder = layout::function_folder_name("ns::simulate", identity);
  const std::string linked_folder = layout::function_folder_name("ns::linked", identity);
  const std::string partition = layout::partition_folder_name("channels", identity);
  const std::string entry = layout::entry_file_name(call);
  touch(root / folder / "ab" / entry);
  touch(outside / folder / "ab" / entry);
  touch(outside / "ab" / entry);
  touch(outside / "file.rce");
  fs::create_directory_symlink(outside / folder, root / linked_folder); // a function folder
  fs::create_directory_symlink(outside / "ab", root / folder / "cd");   // a shard
  fs::create_symlink(outside / "file.rce",
                     root / folder / "ab" / layout::entry_file_name(key{0xab00000000000000ULL, 2}));
  fs::create_directory_symlink(outside, root / partition); // a partition

  CHECK(walked_entries(root) == std::set<std::string>{folder + "/ab/" + entry});

  // The root itself may be a link.
  fs::create_directory_symlink(root, dir.path() / "link-to-cache");
  CHECK(walked_entries(dir.path() / "link-to-cache") == std::set<std::string>{folder + "/ab/" + entry});
}
