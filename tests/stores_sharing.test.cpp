// Tests of recall::sharing: the modes of what a directory store creates, private (the default)
// or group-shared, exactly, whatever the umask.
#include "catch.hpp"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

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
  struct ::stat info {};
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
  recall::memoize<&square> shared{
      recall::options{.directory = root, .mode = recall::mode::reuse, .sharing = recall::sharing::group}};
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

// The trust model (docs/RELIABILITY.md): a root or function folder someone else could write to is
// refused with one warning, and caching is off for it. Foreign owners need root (chown).
namespace {

constexpr ::uid_t stranger = 54321;

// A memoized call on `root`: returns the warnings it logged; the function computes every time.
int trusted_calls = 0;
double counted(double x) {
  ++trusted_calls;
  return x + 1;
}

struct call_outcome {
  int computations = 0;
  std::size_t warnings = 0;
  std::size_t refusals = 0;
};

call_outcome call_twice(const fs::path& root, recall::sharing who) {
  recall::process_memory_tier().clear();
  recall_test::log_capture log;
  trusted_calls = 0;
  {
    recall::memoize<&counted> f{recall::options{
        .directory = root, .mode = recall::mode::reuse, .sharing = who, .untracked = recall::untracked_bodies::quiet}};
    CHECK(f(1.0) == 2.0);
    recall::process_memory_tier().clear();
    CHECK(f(1.0) == 2.0);
  }
  return {trusted_calls, log.count(recall::log_level::warning, ""),
          log.count(recall::log_level::warning, "refusing cache folder")};
}

bool has_entry_file(const fs::path& root) {
  std::error_code e;
  for (const auto& f : fs::recursive_directory_iterator{root, e}) {
    if (f.path().extension() == ".rce") {
      return true;
    }
  }
  return false;
}

} // namespace

TEST_CASE("a root owned by another user, or writable by others, is refused with one warning", "[stores_sharing]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to give a folder to another user");
    return;
  }
  recall_test::temp_dir tmp;
  const fs::path foreign = tmp.path() / "foreign";
  fs::create_directory(foreign);
  REQUIRE(::chmod(foreign.c_str(), 0700) == 0);
  REQUIRE(::chown(foreign.c_str(), stranger, stranger) == 0);
  auto outcome = call_twice(foreign, recall::sharing::private_to_user);
  CHECK(outcome.computations == 2); // caching is off for it
  CHECK(outcome.warnings == 1);
  CHECK(outcome.refusals == 1);
  CHECK_FALSE(has_entry_file(foreign));

  for (const ::mode_t mode : {0777, 0770, 01777}) {
    const fs::path open_root = tmp.path() / ("open" + std::to_string(mode));
    fs::create_directory(open_root);
    REQUIRE(::chmod(open_root.c_str(), mode) == 0);
    INFO(mode);
    outcome = call_twice(open_root, recall::sharing::private_to_user);
    CHECK(outcome.computations == 2);
    CHECK(outcome.refusals == 1);
    CHECK_FALSE(has_entry_file(open_root));
  }
  // Once fixed (0700), the same root is used at once.
  const fs::path fixed = tmp.path() / "open511";
  REQUIRE(::chmod(fixed.c_str(), 0700) == 0);
  outcome = call_twice(fixed, recall::sharing::private_to_user);
  CHECK(outcome.computations == 1);
  CHECK(outcome.warnings == 0);
  CHECK(has_entry_file(fixed));
}

TEST_CASE("sharing::group trusts the root's group members, not others", "[stores_sharing]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to give a folder to another user");
    return;
  }
  recall_test::temp_dir tmp;
  const fs::path root = tmp.path() / "lab";
  fs::create_directory(root);
  // Another member of this process's group made the root: trusted under sharing::group only.
  REQUIRE(::chown(root.c_str(), stranger, ::getegid()) == 0);
  REQUIRE(::chmod(root.c_str(), 02770) == 0);
  auto outcome = call_twice(root, recall::sharing::group);
  CHECK(outcome.computations == 1);
  CHECK(outcome.warnings == 0);
  CHECK(has_entry_file(root));
  recall::directory_store as_private{root};
  CHECK_THROWS_AS(as_private.load(address), recall::untrusted_cache_error);
  // Writable by others: refused even to the group.
  const fs::path everyone = tmp.path() / "everyone";
  fs::create_directory(everyone);
  REQUIRE(::chmod(everyone.c_str(), 02777) == 0);
  outcome = call_twice(everyone, recall::sharing::group);
  CHECK(outcome.computations == 2);
  CHECK(outcome.refusals == 1);
  // A group the process is not in: refused.
  const fs::path strangers = tmp.path() / "strangers";
  fs::create_directory(strangers);
  REQUIRE(::chown(strangers.c_str(), stranger, stranger) == 0);
  REQUIRE(::chmod(strangers.c_str(), 02770) == 0);
  outcome = call_twice(strangers, recall::sharing::group);
  CHECK(outcome.refusals == 1);
}

TEST_CASE("a function folder or entry of another user inside a trusted root is refused", "[stores_sharing]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to give a folder to another user");
    return;
  }
  recall_test::temp_dir tmp;
  const fs::path root = tmp.path() / "cache";
  recall::directory_store store{root};
  recall::stored_entry e;
  e.payload.assign(64, std::byte{5});
  store.save(address, e);
  // A planted entry: another user's file with a valid entry in it.
  const fs::path entry = store.entry_path(address);
  REQUIRE(::chown(entry.c_str(), stranger, stranger) == 0);
  {
    recall::directory_store fresh{root};
    CHECK_THROWS_AS(fresh.load(address), recall::untrusted_cache_error);
  }
  REQUIRE(::chown(entry.c_str(), 0, 0) == 0);
  CHECK(store.load(address).has_value());
  // A function folder another user owns: nothing is written into it.
  const fs::path function = store.function_folder(simulate);
  REQUIRE(::chown(function.c_str(), stranger, stranger) == 0);
  const recall::entry_address other{simulate, recall::key{0xcd34000000000000ULL, 8}};
  recall::directory_store fresh{root};
  CHECK_THROWS_AS(fresh.save(other, e), recall::untrusted_cache_error);
  CHECK_FALSE(fs::exists(fresh.entry_path(other)));
}
