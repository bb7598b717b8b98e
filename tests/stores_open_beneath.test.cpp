// Tests of the symlink policy: open_beneath follows the root's links and none below it, and
// directory_store, its size limiter and its stats refuse what a planted link points to.
#include "catch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <recall/detail/stores/open_beneath.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/store.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using recall::detail::fsio::open_beneath;
using recall::detail::fsio::unique_fd;

const recall::function_id simulate{"ns::simulate", recall::key{0x0123abcd99887766ULL, 0x5544332211000000ULL}};

recall::entry_address address_of(std::uint64_t n) { return {simulate, recall::key{0xab00000000000000ULL | n, n}}; }

recall::stored_entry entry_of(std::byte fill) {
  recall::stored_entry e;
  e.payload.assign(100, fill);
  return e;
}

std::string read_text(const fs::path& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream{path} << text; }

// Runs `check` with open_beneath's openat2 path, then with the O_NOFOLLOW walk it falls back to.
template <class Check>
void with_both_implementations(Check&& check) {
  auto& no_openat2 = recall::detail::fsio::beneath_detail::no_openat2;
  const bool before = no_openat2.load();
  SECTION("openat2") {
    no_openat2.store(false);
    check();
  }
  SECTION("component walk") {
    no_openat2.store(true);
    check();
  }
  no_openat2.store(before);
}

} // namespace

TEST_CASE("open_beneath follows links in the root, none below it", "[stores_open_beneath]") {
  with_both_implementations([] {
    recall_test::temp_dir tmp;
    const fs::path real = tmp.path() / "real";
    fs::create_directories(real / "f" / "ab");
    write_text(real / "f" / "ab" / "entry", "inside");
    const fs::path outside = tmp.path() / "outside";
    fs::create_directories(outside / "ab");
    write_text(outside / "ab" / "entry", "outside");
    write_text(outside / "secret", "outside");
    fs::create_directory_symlink(real, tmp.path() / "root-link");

    // The root may be a link, and a file below a real folder opens.
    unique_fd fd{open_beneath((tmp.path() / "root-link").string(), "f/ab/entry", O_RDONLY)};
    CHECK(fd);
    // A linked folder, a linked file, a dangling link: refused, whatever they point to.
    fs::create_directory_symlink(outside, real / "g");
    fd.reset(open_beneath(real.string(), "g/ab/entry", O_RDONLY));
    CHECK_FALSE(fd);
    CHECK(recall::detail::fsio::refused_link(errno));
    fs::create_symlink(outside / "secret", real / "f" / "ab" / "link");
    fd.reset(open_beneath(real.string(), "f/ab/link", O_RDONLY));
    CHECK_FALSE(fd);
    CHECK(recall::detail::fsio::refused_link(errno));
    // O_CREAT through a link creates nothing at its target.
    fs::create_symlink(outside / "created", real / "f" / "ab" / "dangling");
    fd.reset(open_beneath(real.string(), "f/ab/dangling", O_RDWR | O_CREAT, 0600));
    CHECK_FALSE(fd);
    CHECK_FALSE(fs::exists(outside / "created"));
    // ".." cannot climb out either; a missing file is ENOENT as with open(2).
    fd.reset(open_beneath(real.string(), "../outside/secret", O_RDONLY));
    CHECK_FALSE(fd);
    fd.reset(open_beneath(real.string(), "f/ab/missing", O_RDONLY));
    CHECK_FALSE(fd);
    CHECK(errno == ENOENT);
  });
}

TEST_CASE("a directory store refuses linked folders and files below its root", "[stores_open_beneath]") {
  recall_test::temp_dir tmp;
  recall_test::log_capture capture;
  const fs::path outside = tmp.path() / "outside";
  const fs::path root = tmp.path() / "cache";

  SECTION("the root itself may be a link") {
    fs::create_directories(outside);
    fs::create_directory_symlink(outside, root);
    recall::directory_store store{root};
    store.save(address_of(1), entry_of(std::byte{1}));
    const auto loaded = store.load(address_of(1));
    REQUIRE(loaded);
    CHECK(loaded->payload == entry_of(std::byte{1}).payload);
    CHECK(fs::exists(outside / recall::directory_store::folder_name(simulate)));
  }

  SECTION("a linked function folder: nothing read, written or created through it") {
    recall::directory_store store{root};
    store.save(address_of(1), entry_of(std::byte{1}));
    const fs::path folder = store.function_folder(simulate);
    // Another user's folder, holding a file with an entry's name, planted in the cache.
    fs::create_directories(outside);
    fs::rename(folder, outside / "moved");
    fs::create_directory_symlink(outside / "moved", folder);
    const std::string entry_file = fs::relative(store.entry_path(address_of(1)), folder).string();
    CHECK(fs::exists(outside / "moved" / entry_file));

    CHECK_THROWS_WITH(static_cast<void>(store.load(address_of(1))), Catch::Contains("symbolic link"));
    CHECK_THROWS_AS(static_cast<void>(store.contains(address_of(1))), recall::store_error);
    CHECK_THROWS_WITH(store.save(address_of(2), entry_of(std::byte{2})), Catch::Contains("symbolic link"));
    CHECK_THROWS_AS(static_cast<void>(store.lock_for_compute(address_of(2), std::chrono::milliseconds{10})),
                    recall::store_error);
    store.record_stats(simulate, recall::function_stats{1, 1, 1, 100, 5});
    CHECK(store.stats(simulate).hits == 0);
    CHECK_THROWS_AS(store.erase(address_of(1)), recall::store_error);
    // Nothing new appeared at the link's target, and what was there is intact.
    std::size_t files = 0;
    for (const auto& f : fs::recursive_directory_iterator{outside}) {
      files += f.is_regular_file() ? 1 : 0;
    }
    CHECK(files == 1);
    CHECK_FALSE(fs::exists(outside / "moved" / "stats"));
    // Eviction never lists (and so never deletes) what the link points to.
    store.set_limits(recall::cache_limits{std::uint64_t{1}, std::nullopt});
    static_cast<void>(store.enforce_limits());
    CHECK(fs::exists(outside / "moved" / entry_file));
  }

  SECTION("a linked entry, lock or stats file is not followed") {
    recall::directory_store store{root};
    store.save(address_of(1), entry_of(std::byte{1}));
    fs::create_directories(outside);
    write_text(outside / "victim", "precious");
    const fs::path entry = store.entry_path(address_of(1));
    fs::remove(entry);
    fs::create_symlink(outside / "victim", entry);
    CHECK_THROWS_WITH(static_cast<void>(store.load(address_of(1))), Catch::Contains("symbolic link"));
    // A save replaces the link itself (rename), never writes through it.
    store.save(address_of(1), entry_of(std::byte{3}));
    CHECK_FALSE(fs::is_symlink(entry));
    REQUIRE(store.load(address_of(1)));
    fs::create_symlink(outside / "victim", store.function_folder(simulate) / "locks");
    CHECK_THROWS_WITH(static_cast<void>(store.lock_for_compute(address_of(1), std::chrono::milliseconds{10})),
                      Catch::Contains("symbolic link"));
    fs::create_symlink(outside / "victim", store.function_folder(simulate) / "stats");
    store.record_stats(simulate, recall::function_stats{1, 1, 1, 100, 5});
    CHECK(store.stats(simulate).hits == 0);
    CHECK(read_text(outside / "victim") == "precious");
  }
}
