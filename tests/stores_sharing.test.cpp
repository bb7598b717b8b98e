// Tests of recall::sharing: the modes of what a directory store creates, private (the default)
// or group-shared, exactly, whatever the umask.
#include "catch.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <recall/key/key.hpp>
#include <recall/recall.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/sharing.hpp>
#include <recall/stores/store.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;

const recall::function_id simulate{"ns::simulate", recall::key{0x0123abcd99887766ULL, 0x5544332211000000ULL}};
const recall::entry_address address{simulate, recall::key{0xab12000000000000ULL, 7}};

unsigned mode_of(const fs::path& path) {
  struct ::stat info{};
  REQUIRE(::lstat(path.c_str(), &info) == 0);
  return info.st_mode & 07777U;
}

// Sets the umask for the lifetime of the object.
class umask_guard {
public:
  explicit umask_guard(::mode_t mask) : m_previous{::umask(mask)} {}
  umask_guard(const umask_guard&) = delete;
  umask_guard& operator=(const umask_guard&) = delete;
  ~umask_guard() { ::umask(m_previous); }

private:
  ::mode_t m_previous;
};

// Modes of the root, function folder, shard folder, entry, lock (while held) and stats files
// after one save, lock and stats update through `store`.
struct created_modes {
  unsigned root, function, shard, entry, lock, stats;
};

created_modes exercise(recall::directory_store& store) {
  recall::stored_entry e;
  e.payload.assign(64, std::byte{5});
  store.save(address, e);
  const fs::path entry = store.entry_path(address);
  created_modes m{};
  {
    const auto held = store.lock_for_compute(address, std::chrono::milliseconds{100});
    REQUIRE(held);
    m.lock = mode_of(store.function_folder(simulate) / "locks");
  }
  store.record_stats(simulate, recall::function_stats{1, 0, 1, 64, 0});
  m.root = mode_of(store.root());
  m.function = mode_of(store.function_folder(simulate));
  m.shard = mode_of(entry.parent_path());
  m.entry = mode_of(entry);
  m.stats = mode_of(store.function_folder(simulate) / "stats");
  return m;
}

double square(double x) { return x * x; }

} // namespace

TEST_CASE("by default a cache is private to its user, whatever the umask", "[stores_sharing]") {
  recall_test::temp_dir tmp;
  const umask_guard mask{0};
  recall::directory_store store{tmp.path() / "cache"};
  CHECK(store.sharing_mode() == recall::sharing::private_to_user);
  const created_modes m = exercise(store);
  CHECK(m.root == 0700U);
  CHECK(m.function == 0700U);
  CHECK(m.shard == 0700U);
  CHECK(m.entry == 0600U);
  CHECK(m.lock == 0600U);
  CHECK(m.stats == 0600U);
}

TEST_CASE("sharing::group makes setgid folders 2770 and files 0660, whatever the umask", "[stores_sharing]") {
  recall_test::temp_dir tmp;
  const umask_guard mask{077}; // would leave the group nothing if the modes were not set exactly
  recall::directory_store store{tmp.path() / "cache"};
  store.set_sharing(recall::sharing::group);
  const created_modes m = exercise(store);
  CHECK(m.root == 02770U);
  CHECK(m.function == 02770U);
  CHECK(m.shard == 02770U);
  CHECK(m.entry == 0660U);
  CHECK(m.lock == 0660U);
  CHECK(m.stats == 0660U);
  // The CACHEDIR.TAG is for backup tools, readable by all as before.
  CHECK(mode_of(store.root() / "CACHEDIR.TAG") == 0644U);
}

TEST_CASE("recall::options::sharing reaches the cache memoize creates", "[stores_sharing]") {
  recall_test::temp_dir tmp;
  const umask_guard mask{077};
  const fs::path root = tmp.path() / "group-cache";
  recall::memoize<&square> shared{recall::options{.directory = root, .mode = recall::mode::reuse,
                                                  .sharing = recall::sharing::group}};
  CHECK(shared(3.0) == 9.0);
  std::size_t entries = 0;
  for (const auto& f : fs::recursive_directory_iterator{root}) {
    if (f.path().extension() == ".rce") {
      CHECK(mode_of(f.path()) == 0660U);
      CHECK(mode_of(f.path().parent_path()) == 02770U);
      ++entries;
    }
  }
  CHECK(entries == 1);
  CHECK(mode_of(root) == 02770U);
}
