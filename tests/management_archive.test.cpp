// Tests for recall::export_cache / import_cache: a round trip the program hits after, and hostile
// archives (path escapes, forged sizes, truncation, garbage, tampered or foreign entries).
#include "catch.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <recall/management/archive.hpp>
#include <recall/management/cache_inspection.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace archive_test {

int g_calls = 0;

double scaled(double x, int times) {
  ++g_calls;
  return x * times;
}

} // namespace archive_test

namespace {

namespace fs = std::filesystem;

void fill(const fs::path& dir) {
  recall::process_memory_tier().clear();
  recall::memoize<&archive_test::scaled> m{recall::options{.directory = dir, .mode = recall::mode::reuse}};
  for (int i = 0; i < 5; ++i) {
    static_cast<void>(m(1.5, i));
  }
}

// Entry files under `root`, by path relative to it, with their bytes.
std::map<std::string, std::string> entry_files(const fs::path& root) {
  std::map<std::string, std::string> out;
  if (!fs::exists(root)) {
    return out;
  }
  for (const auto& e : fs::recursive_directory_iterator{root}) {
    if (e.path().extension() == ".rce") {
      std::ifstream in{e.path(), std::ios::binary};
      out[fs::relative(e.path(), root).string()] = std::string{std::istreambuf_iterator<char>{in}, {}};
    }
  }
  return out;
}

std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  const std::string text{std::istreambuf_iterator<char>{in}, {}};
  const auto* begin = reinterpret_cast<const std::byte*>(text.data());
  return {begin, begin + text.size()};
}

// A member of a hand-made tar.
struct member {
  member(std::string n, std::string b, unsigned t = AE_IFREG, std::string l = {})
      : name{std::move(n)}, bytes{std::move(b)}, type{t}, link{std::move(l)} {}
  std::string name;
  std::string bytes;
  unsigned type;
  std::string link; // for symlinks
};

// An uncompressed pax tar of `members`, built with libarchive (what a hostile peer could send).
std::vector<std::byte> make_tar(const std::vector<member>& members) {
  std::vector<std::byte> out(std::size_t{16} << 20);
  std::size_t used = 0;
  ::archive* a = ::archive_write_new();
  ::archive_write_set_format_pax_restricted(a);
  ::archive_write_set_bytes_in_last_block(a, 1);
  REQUIRE(::archive_write_open_memory(a, out.data(), out.size(), &used) == ARCHIVE_OK);
  for (const auto& m : members) {
    ::archive_entry* e = ::archive_entry_new();
    ::archive_entry_set_pathname(e, m.name.c_str());
    ::archive_entry_set_filetype(e, m.type);
    ::archive_entry_set_perm(e, 0600);
    ::archive_entry_set_size(e, m.type == AE_IFREG ? static_cast<la_int64_t>(m.bytes.size()) : 0);
    if (!m.link.empty()) {
      ::archive_entry_set_symlink(e, m.link.c_str());
    }
    REQUIRE(::archive_write_header(a, e) == ARCHIVE_OK);
    if (m.type == AE_IFREG && !m.bytes.empty()) {
      REQUIRE(::archive_write_data(a, m.bytes.data(), m.bytes.size()) == static_cast<la_ssize_t>(m.bytes.size()));
    }
    ::archive_entry_free(e);
  }
  REQUIRE(::archive_write_close(a) == ARCHIVE_OK);
  ::archive_write_free(a);
  out.resize(used);
  return out;
}

const member marker{"RECALL-ARCHIVE", recall::detail::management::archive_marker_text()};

std::string one_entry(const fs::path& root) {
  const auto files = entry_files(root);
  REQUIRE(!files.empty());
  return files.begin()->second;
}

} // namespace

TEST_CASE("export then import into an empty root: the same entries, and the program hits", "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const fs::path file = source.path() / "cache.tar.zst";
  const auto exported = recall::export_cache(source.path(), file);
  CHECK(exported.entries == 5);
  CHECK(exported.skipped.empty());
  // zstd frame magic: 28 b5 2f fd
  const auto bytes = read_file(file);
  REQUIRE(bytes.size() > 4);
  CHECK(bytes[0] == std::byte{0x28});
  CHECK(bytes[3] == std::byte{0xfd});

  const auto imported = recall::import_cache(target.path() / "cache", file);
  CHECK(imported.imported == 5);
  CHECK(imported.rejected == 0);
  CHECK(imported.stopped.empty());
  CHECK(entry_files(target.path() / "cache") == entry_files(source.path()));

  archive_test::g_calls = 0;
  recall::process_memory_tier().clear();
  recall::memoize<&archive_test::scaled> m{
      recall::options{.directory = target.path() / "cache", .mode = recall::mode::reuse}};
  for (int i = 0; i < 5; ++i) {
    CHECK(m(1.5, i) == 1.5 * i);
  }
  CHECK(archive_test::g_calls == 0);

  SECTION("importing again finds every entry present") {
    const auto again = recall::import_cache(target.path() / "cache", file);
    CHECK(again.imported == 0);
    CHECK(again.already_present == 5);
  }
  SECTION("large members streamed through a temp file import the same entries") {
    recall_test::temp_dir fourth;
    recall::import_options streamed;
    streamed.stream_from = 1; // every member goes through the temp file and a memory map
    const auto report = recall::import_cache(fourth.path(), file, streamed);
    CHECK(report.imported == 5);
    CHECK(report.rejected == 0);
    CHECK(entry_files(fourth.path()) == entry_files(source.path()));
  }
  SECTION("the memory reader (the fuzz entry point) gives the same report") {
    recall_test::temp_dir third;
    const auto report = recall::import_cache_from_memory(third.path(), bytes);
    CHECK(report.imported == 5);
    CHECK(entry_files(third.path()) == entry_files(source.path()));
  }
}

TEST_CASE("export --function takes one function; damaged entries are left out", "[management_archive]") {
  recall_test::temp_dir source;
  fill(source.path());
  {
    auto other = recall::memoize_as<"other">([](int x) { return x + 1; }, recall::options{.directory = source.path()});
    static_cast<void>(other(3));
  }
  const fs::path file = source.path() / "one.tar.zst";
  CHECK(recall::export_cache(source.path(), file, "other").entries == 1);
  CHECK(recall::export_cache(source.path(), file, "nothing").entries == 0);

  const auto victim = fs::path{source.path()} / entry_files(source.path()).begin()->first;
  {
    std::fstream f{victim, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(-1, std::ios::end);
    f.put('\x42');
  }
  const auto report = recall::export_cache(source.path(), file);
  CHECK(report.entries == 5);
  REQUIRE(report.skipped.size() == 1);
  CHECK(report.skipped.front().second.find("checksum") != std::string::npos);
}

TEST_CASE("a failed export leaves no archive behind", "[management_archive]") {
  recall_test::temp_dir source;
  fill(source.path());
  CHECK_THROWS_AS(recall::export_cache(source.path(), source.path() / "missing" / "x.tar.zst"), recall::store_error);
  CHECK_THROWS_AS(recall::export_cache(source.path() / "none", source.path() / "x.tar.zst"), recall::store_error);
  CHECK(!fs::exists(source.path() / "x.tar.zst"));
}

TEST_CASE("import rejects unsafe and foreign members and writes nothing for them", "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const std::string good = one_entry(source.path());
  const fs::path root = target.path() / "inner" / "cache";
  const auto tar = make_tar({marker,
                             {"../../escaped.rce", good},
                             {"/tmp/absolute.rce", good},
                             {"entries/a/../../b.rce", good},
                             {"entries/link.rce", "", AE_IFLNK, "/etc/passwd"},
                             {"entries/readme.txt", "hello"},
                             {"entries/dir", "", AE_IFDIR},
                             {"entries/any/name/at/all.rce", good}});
  const auto report = recall::import_cache_from_memory(root, tar);
  CHECK(report.stopped.empty());
  CHECK(report.imported == 1); // placed by its header and manifest, not by its member name
  CHECK(report.rejected == 5);
  std::map<std::string, std::string> why(report.problems.begin(), report.problems.end());
  CHECK(why["../../escaped.rce"] == "path escapes with '..'");
  CHECK(why["/tmp/absolute.rce"] == "absolute path");
  CHECK(why["entries/a/../../b.rce"] == "path escapes with '..'");
  CHECK(why["entries/link.rce"] == "not a regular file");
  CHECK(why["entries/readme.txt"] == "not a cache entry (*.rce)");
  CHECK(!fs::exists(target.path() / "escaped.rce"));
  CHECK(!fs::exists(target.path() / "inner" / "b.rce"));
  CHECK(entry_files(root).size() == 1);
  CHECK(entry_files(root).begin()->second == good);
}

TEST_CASE("import verifies every entry: tampered, misnamed and incompatible ones are not written",
          "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const std::string good = one_entry(source.path());
  std::string flipped = good;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  std::string header_hit = good;
  header_hit[30] = static_cast<char>(header_hit[30] ^ 1);
  std::string newer = good;
  newer[4] = 2; // entry format version 2
  const auto tar = make_tar({marker,
                             {"entries/flipped.rce", flipped},
                             {"entries/header.rce", header_hit},
                             {"entries/newer.rce", newer},
                             {"entries/short.rce", good.substr(0, 50)},
                             {"entries/empty.rce", ""}});
  const auto report = recall::import_cache_from_memory(target.path(), tar);
  CHECK(report.imported == 0);
  CHECK(report.skipped_incompatible == 1);
  CHECK(report.rejected == 4);
  std::map<std::string, std::string> why(report.problems.begin(), report.problems.end());
  CHECK(why["entries/flipped.rce"].find("checksum mismatch") != std::string::npos);
  CHECK(why["entries/header.rce"].find("header checksum mismatch") != std::string::npos);
  CHECK(why["entries/newer.rce"].find("entry format version 2") != std::string::npos);
  CHECK(entry_files(target.path()).empty());
}

TEST_CASE("an archive of another key format is skipped whole", "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const auto tar = make_tar({{"RECALL-ARCHIVE", "recall cache archive 1\nkey-format 99\nentry-format 1\n"},
                             {"entries/x.rce", one_entry(source.path())}});
  const auto report = recall::import_cache_from_memory(target.path(), tar);
  CHECK(report.skipped_incompatible == 1);
  CHECK(report.imported == 0);
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems.front().second == "key format 99 (this build uses 1)");
}

TEST_CASE("forged sizes, truncation and garbage stop the import with a reason", "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const std::string good = one_entry(source.path());

  SECTION("a member declaring more than the limit is rejected unread") {
    recall::import_options small;
    small.max_entry_size = 100;
    const auto report =
        recall::import_cache_from_memory(target.path(), make_tar({marker, {"entries/x.rce", good}}), small);
    CHECK(report.rejected == 1);
    CHECK(report.problems.front().second.find("over the limit of 100") != std::string::npos);
    CHECK(entry_files(target.path()).empty());
  }
  SECTION("a forged size field with little data behind it is a truncated archive") {
    auto tar = make_tar({marker, {"entries/x.rce", good}});
    // The second 512-byte header block holds the member's size at offset 124, 12 octal digits.
    // Find the member's header (pax may add its own header first) and claim 512 MiB.
    std::size_t at = 0;
    for (std::size_t off = 512; off + 512 <= tar.size(); off += 512) {
      if (std::string_view{reinterpret_cast<const char*>(tar.data() + off), 13} == "entries/x.rce") {
        at = off;
      }
    }
    REQUIRE(at != 0);
    const char forged[] = "04000000000";
    for (std::size_t i = 0; i < 11; ++i) {
      tar[at + 124 + i] = static_cast<std::byte>(forged[i]);
    }
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) {
      sum += (i >= 148 && i < 156) ? ' ' : std::to_integer<unsigned>(tar[at + i]);
    }
    char checksum[8];
    std::snprintf(checksum, sizeof checksum, "%06o", sum);
    for (std::size_t i = 0; i < 7; ++i) {
      tar[at + 148 + i] = static_cast<std::byte>(checksum[i]);
    }
    const auto report = recall::import_cache_from_memory(target.path(), tar);
    CHECK(report.imported == 0);
    CHECK(report.stopped.find("truncated") != std::string::npos);
    CHECK(entry_files(target.path()).empty());
  }
  SECTION("a truncated export imports nothing damaged and says so") {
    const fs::path file = source.path() / "cut.tar.zst";
    recall::export_cache(source.path(), file);
    auto bytes = read_file(file);
    bytes.resize(bytes.size() / 2);
    const auto report = recall::import_cache_from_memory(target.path(), bytes);
    CHECK(!report.stopped.empty());
    CHECK(report.rejected == 0);
    for (const auto& [name, content] : entry_files(target.path())) {
      CHECK(entry_files(source.path())[name] == content);
    }
  }
  SECTION("garbage is not an archive") {
    std::vector<std::byte> garbage(4096);
    for (std::size_t i = 0; i < garbage.size(); ++i) {
      garbage[i] = static_cast<std::byte>((i * 7919) >> 3);
    }
    const auto report = recall::import_cache_from_memory(target.path(), garbage);
    CHECK(report.stopped.find("not a recall cache archive") != std::string::npos);
    CHECK(recall::import_cache_from_memory(target.path(), {}).stopped.find("not a recall cache archive") !=
          std::string::npos);
  }
  SECTION("a tar without the marker first is refused before anything is written") {
    const auto report = recall::import_cache_from_memory(target.path(), make_tar({{"entries/x.rce", good}, marker}));
    CHECK(report.stopped.find("its first member is 'entries/x.rce'") != std::string::npos);
    CHECK(entry_files(target.path()).empty());
  }
  SECTION("a file that does not exist is an error") {
    CHECK_THROWS_AS(recall::import_cache(target.path(), target.path() / "none.tar.zst"), recall::store_error);
  }
}

TEST_CASE("export and import carry each entry's partition; the scoped program hits", "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const recall::scope channels{"channels", std::vector<std::string>{"Na", "K"}};
  const auto scoped_options = [&](const fs::path& dir) {
    return recall::options{.directory = dir, .mode = recall::mode::reuse, .scope = channels};
  };
  recall::process_memory_tier().clear();
  {
    recall::memoize<&archive_test::scaled> m{scoped_options(source.path())};
    for (int i = 0; i < 3; ++i) {
      static_cast<void>(m(2.5, i));
    }
  }
  const fs::path file = source.path() / "cache.tar.zst";
  CHECK(recall::export_cache(source.path(), file).entries == 5 + 3);
  const auto imported = recall::import_cache(target.path(), file);
  CHECK(imported.imported == 8);
  CHECK(imported.rejected == 0);
  const auto files = entry_files(target.path());
  CHECK(files == entry_files(source.path()));
  std::size_t in_partition = 0;
  for (const auto& [path, bytes] : files) {
    in_partition += path.starts_with(channels.folder_name() + "/") ? 1 : 0;
  }
  CHECK(in_partition == 3);

  archive_test::g_calls = 0;
  recall::process_memory_tier().clear();
  recall::memoize<&archive_test::scaled> m{scoped_options(target.path())};
  for (int i = 0; i < 3; ++i) {
    CHECK(m(2.5, i) == 2.5 * i);
  }
  CHECK(archive_test::g_calls == 0);

  SECTION("export --scope takes one partition") {
    const fs::path one = source.path() / "one.tar.zst";
    CHECK(recall::export_cache(source.path(), one, {}, {}, channels.folder_name()).entries == 3);
    recall_test::temp_dir third;
    CHECK(recall::import_cache(third.path(), one).imported == 3);
    CHECK(recall::list_entries(third.path(), {}, {}, channels.folder_name()).size() == 3);
    CHECK(recall::cache_info(third.path()).functions.empty());
    CHECK_THROWS_AS(recall::export_cache(source.path(), one, {}, {}, "channels_ffffffff"), recall::store_error);
    CHECK_THROWS_AS(recall::export_cache(source.path(), one, {}, {}, "../x_ffffffff"), recall::config_error);
  }
}

TEST_CASE("import rejects a member whose partition is not a partition folder name", "[management_archive]") {
  recall_test::temp_dir source;
  recall_test::temp_dir target;
  fill(source.path());
  const auto good = one_entry(source.path());
  const std::string folder = recall::list_entries(source.path()).front().folder;
  const std::string tail = "/" + folder + "/ab/x.rce";
  const auto report =
      recall::import_cache_from_memory(target.path(), make_tar({marker,
                                                                {"entries/.hidden_1a2b3c4d" + tail, good},
                                                                {"entries/channels-1a2b3c4d" + tail, good},
                                                                {"entries/chan nels_1a2b3c4d" + tail, good},
                                                                {"entries/channels_1A2B3C4D" + tail, good},
                                                                {"entries/channels" + tail, good},
                                                                {"entries/ok_1a2b3c4d" + tail, good}}));
  CHECK(report.rejected == 5);
  CHECK(report.imported == 1);
  for (const auto& [name, why] : report.problems) {
    CHECK(why.find("bad partition folder name") != std::string::npos);
  }
  // Only the valid partition was created; nothing else appeared under or beside the root.
  std::vector<std::string> children;
  for (const auto& e : fs::directory_iterator{target.path()}) {
    if (e.is_directory()) {
      children.push_back(e.path().filename().string());
    }
  }
  CHECK(children == std::vector<std::string>{"ok_1a2b3c4d"});
  CHECK(recall::list_entries(target.path(), {}, {}, "ok_1a2b3c4d").size() == 1);
}

TEST_CASE("a large member that is not an entry is rejected from its header, without being read into memory",
          "[management_archive]") {
  // A zstd tar whose one entry member is 256 MiB of zeros (a few KiB compressed): import used to
  // read it whole before finding the bad magic.
  constexpr std::size_t zeros = std::size_t{256} << 20;
  std::vector<std::byte> archive(std::size_t{4} << 20);
  std::size_t used = 0;
  ::archive* a = ::archive_write_new();
  ::archive_write_set_format_pax_restricted(a);
  ::archive_write_add_filter_zstd(a);
  REQUIRE(::archive_write_open_memory(a, archive.data(), archive.size(), &used) == ARCHIVE_OK);
  const auto add = [&](const std::string& name, std::size_t size, const std::string& text) {
    ::archive_entry* e = ::archive_entry_new();
    ::archive_entry_set_pathname(e, name.c_str());
    ::archive_entry_set_filetype(e, AE_IFREG);
    ::archive_entry_set_perm(e, 0600);
    ::archive_entry_set_size(e, static_cast<la_int64_t>(size));
    REQUIRE(::archive_write_header(a, e) == ARCHIVE_OK);
    if (!text.empty()) {
      REQUIRE(::archive_write_data(a, text.data(), text.size()) == static_cast<la_ssize_t>(text.size()));
    } else {
      const std::vector<char> block(std::size_t{1} << 20, 0);
      for (std::size_t done = 0; done < size; done += block.size()) {
        REQUIRE(::archive_write_data(a, block.data(), block.size()) == static_cast<la_ssize_t>(block.size()));
      }
    }
    ::archive_entry_free(e);
  };
  add(marker.name, marker.bytes.size(), marker.bytes);
  add("entries/zeros.rce", zeros, {});
  REQUIRE(::archive_write_close(a) == ARCHIVE_OK);
  ::archive_write_free(a);
  archive.resize(used);

  recall_test::temp_dir target;
  ::rusage before{};
  REQUIRE(::getrusage(RUSAGE_SELF, &before) == 0);
  const auto report = recall::import_cache_from_memory(target.path(), archive);
  ::rusage after{};
  REQUIRE(::getrusage(RUSAGE_SELF, &after) == 0);
  CHECK(report.rejected == 1);
  CHECK(report.stopped.empty());
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems.front().second.find("magic") != std::string::npos);
  // ru_maxrss is in KiB: the peak grew by far less than the member's size.
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);
}

TEST_CASE("export and import convert between the pack and the directory store", "[management_archive]") {
  recall_test::temp_dir dir;
  const auto pack_root = dir.path() / "pack";
  const recall::function_id f{"ns::converted", recall::key{5, 6}};
  {
    recall::pack_store store{pack_root};
    for (std::uint64_t i = 0; i < 30; ++i) {
      recall::stored_entry e;
      e.payload.assign(64, std::byte{static_cast<unsigned char>(i)});
      e.manifest.function = f.name;
      store.save(recall::entry_address{f, recall::key{i << 58, i + 1}}, e);
    }
  }
  const auto archive = dir.path() / "pack.tar.zst";
  CHECK(recall::export_cache(pack_root, archive).entries == 30);
  // Into a new root: a directory store, unless asked for a pack.
  const auto report = recall::import_cache(dir.path() / "directory", archive);
  CHECK(report.imported == 30);
  CHECK_FALSE(recall::is_pack_root(dir.path() / "directory"));
  recall::directory_store directory{dir.path() / "directory"};
  const auto loaded = directory.load(recall::entry_address{f, recall::key{std::uint64_t{3} << 58, 4}});
  REQUIRE(loaded);
  CHECK(loaded->payload == std::vector<std::byte>(64, std::byte{3}));
  // And back: the directory root's archive into a new pack root.
  const auto again = dir.path() / "directory.tar.zst";
  CHECK(recall::export_cache(dir.path() / "directory", again).entries == 30);
  recall::import_options into_pack;
  into_pack.layout = recall::store_layout::pack;
  CHECK(recall::import_cache(dir.path() / "pack2", again, into_pack).imported == 30);
  CHECK(recall::is_pack_root(dir.path() / "pack2"));
  recall::pack_store pack2{dir.path() / "pack2"};
  CHECK(pack2.measure().entries == 30);
  CHECK(pack2.load(recall::entry_address{f, recall::key{std::uint64_t{7} << 58, 8}}));
  // Importing again finds everything present.
  CHECK(recall::import_cache(dir.path() / "pack2", again).already_present == 30);
}
