// Tests of directory_store and atomic_file against a real filesystem, each in its own temp folder.
#include "catch.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <recall/detail/stores/atomic_file.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/durability.hpp>
#include <recall/stores/store.hpp>

namespace {

namespace fs = std::filesystem;
using recall::directory_store;
using recall::durability;
using recall::entry_address;
using recall::function_id;
using recall::key;
using recall::stored_entry;

// A fresh folder under the system temp folder (never $HOME), removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "recall-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error{"mkdtemp failed for " + pattern};
    }
    m_path = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    // A test may have left a folder read-only; make everything removable first.
    std::error_code error;
    fs::permissions(m_path, fs::perms::owner_all, fs::perm_options::add, error);
    for (auto it = fs::recursive_directory_iterator{m_path, error}; !error && it != fs::recursive_directory_iterator{};
         it.increment(error)) {
      if (it->is_directory(error)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, error);
      }
    }
    fs::remove_all(m_path, error);
  }
  [[nodiscard]] const fs::path& path() const noexcept { return m_path; }

private:
  fs::path m_path;
};

// Collects log lines while alive, then puts the previous sink back.
class log_capture {
public:
  log_capture()
      : m_previous{recall::set_log_sink([this](recall::log_level level, std::string_view line) {
          const std::lock_guard lock{m_mutex};
          m_lines.emplace_back(level, std::string{line});
        })} {}
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;
  ~log_capture() { recall::set_log_sink(std::move(m_previous)); }

  [[nodiscard]] std::vector<std::pair<recall::log_level, std::string>> lines() const {
    const std::lock_guard lock{m_mutex};
    return m_lines;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<std::pair<recall::log_level, std::string>> m_lines;
  recall::log_sink m_previous;
};

const function_id simulate{"ns::simulate", key{0x0123abcd99887766ULL, 0x5544332211000000ULL}};
const key call_a{0xab12cd34ef567890ULL, 0x1122334455667788ULL};
const key call_b{0x7f00000000000001ULL, 0x0000000000000002ULL};

stored_entry make_entry(std::size_t size, unsigned seed = 1) {
  stored_entry entry;
  entry.payload.resize(size);
  for (std::size_t i = 0; i < size; ++i) {
    entry.payload[i] = static_cast<std::byte>((i * 131 + seed * 7) & 0xFF);
  }
  entry.metadata.created =
      std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds{1'700'000'000'000'000'000LL + seed})};
  entry.metadata.compute_time = std::chrono::nanoseconds{1000 + seed};
  return entry;
}

bool same_entry(const stored_entry& a, const stored_entry& b) {
  return a.payload == b.payload && a.metadata.created == b.metadata.created &&
         a.metadata.compute_time == b.metadata.compute_time;
}

std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  const std::vector<char> chars{std::istreambuf_iterator<char>{in}, {}};
  std::vector<std::byte> out(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) {
    out[i] = static_cast<std::byte>(chars[i]);
  }
  return out;
}

void write_file(const fs::path& path, std::span<const std::byte> bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Every file under `root` whose name has ".tmp." in it: what a failed or dropped write leaves.
std::vector<fs::path> temp_files_under(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return out;
  }
  for (const auto& item : fs::recursive_directory_iterator{root}) {
    if (item.path().filename().string().find(".tmp.") != std::string::npos) {
      out.push_back(item.path());
    }
  }
  return out;
}

unsigned mode_of(const fs::path& path) {
  struct ::stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return static_cast<unsigned>(info.st_mode & 07777);
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// The message of the store_error `f` throws, or "" if it throws none.
template <class F>
std::string store_error_of(F&& f) {
  try {
    f();
  } catch (const recall::store_error& error) {
    return error.what();
  }
  return "";
}

} // namespace

// Catch2 v3.3+ can mark a test skipped; older versions can only say why it checked nothing.
#ifdef SKIP
#define RECALL_TEST_SKIP(message) SKIP(message)
#else
#define RECALL_TEST_SKIP(message)                                                                                      \
  do {                                                                                                                 \
    WARN("SKIPPED: " message);                                                                                         \
    return;                                                                                                            \
  } while (false)
#endif

TEST_CASE("directory_store: save then load returns the same entry", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path() / "cache"};
  const entry_address address{simulate, call_a};
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{87}, std::size_t{88}, std::size_t{4096}, std::size_t{3'000'001}}) {
    const auto entry = make_entry(size, static_cast<unsigned>(size));
    store.save(address, entry);
    const auto loaded = store.load(address);
    REQUIRE(loaded.has_value());
    CHECK(same_entry(*loaded, entry));
  }
  CHECK(temp_files_under(dir.path()).empty());
}

TEST_CASE("directory_store: a miss is nullopt and creates nothing", "[stores_directory_store]") {
  const temp_dir dir;
  const fs::path root = dir.path() / "cache";
  directory_store store{root};
  const entry_address address{simulate, call_a};
  log_capture logs;
  CHECK_FALSE(store.load(address).has_value());
  CHECK_FALSE(store.contains(address));
  CHECK_FALSE(store.erase(address));
  CHECK_FALSE(fs::exists(root));
  CHECK(logs.lines().empty());

  // A miss inside an existing tree is just as quiet.
  store.save(entry_address{simulate, call_b}, make_entry(10));
  CHECK_FALSE(store.load(address).has_value());
  CHECK(logs.lines().empty());
}

TEST_CASE("directory_store: contains and erase", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address a{simulate, call_a};
  const entry_address b{simulate, call_b};
  store.save(a, make_entry(100));
  CHECK(store.contains(a));
  CHECK_FALSE(store.contains(b));
  CHECK(store.erase(a));
  CHECK_FALSE(store.contains(a));
  CHECK_FALSE(store.load(a).has_value());
  CHECK_FALSE(store.erase(a));
  CHECK_FALSE(fs::exists(store.entry_path(a)));
}

TEST_CASE("directory_store: on-disk layout", "[stores_directory_store]") {
  const temp_dir dir;
  const fs::path root = dir.path() / "cache";
  directory_store store{root};
  const entry_address address{simulate, call_a};
  store.save(address, make_entry(10));

  const fs::path folder = root / "ns_simulate-0123abcd";
  const fs::path expected = folder / "ab" / "ab12cd34ef5678901122334455667788.rce";
  CHECK(store.function_folder(simulate) == folder);
  CHECK(store.entry_path(address) == expected);
  CHECK(store.locate(address) == expected.string());
  CHECK(directory_store::folder_name(simulate) == "ns_simulate-0123abcd");
  CHECK(fs::is_regular_file(expected));
  CHECK(fs::file_size(expected) ==
        recall::detail::entry_header_size + recall::detail::encode_manifest(recall::entry_manifest{}).size() + 10);
  // Private to the user, whatever the umask allowed.
  CHECK(mode_of(root) == 0700);
  CHECK(mode_of(folder) == 0700);
  CHECK(mode_of(folder / "ab") == 0700);
  CHECK(mode_of(expected) == 0600);

  const auto header = recall::detail::decode_header(read_file(expected));
  CHECK(header.call == call_a);
  CHECK(header.identity == simulate.identity);
}

TEST_CASE("directory_store: function folder names are sanitized", "[stores_directory_store]") {
  const key identity{0xfeedface00000000ULL, 0};
  const auto name = [&](std::string text) {
    return directory_store::folder_name(function_id{std::move(text), identity});
  };
  CHECK(name("ns::simulate") == "ns_simulate-feedface");
  CHECK(name("plain_name.v2-x") == "plain_name.v2-x-feedface");
  CHECK(name("(anonymous namespace)::f") == "_anonymous_namespace_f-feedface");
  CHECK(name("std::vector<int, std::allocator<int> > f(int&)") == "std_vector_int_std_allocator_int_f_int_-feedface");
  CHECK(name("ünïcode") == "_n_code-feedface");
  CHECK(name(".hidden") == "_hidden-feedface");
  CHECK(name("-option") == "_option-feedface");
  CHECK(name("") == "unnamed-feedface");
  CHECK(name("::") == "_-feedface");
  const std::string long_name(200, 'x');
  CHECK(name(long_name) == std::string(64, 'x') + "-feedface");
  CHECK(name("a::" + long_name).size() == 64 + 9);
}

TEST_CASE("directory_store: CACHEDIR.TAG marks the root", "[stores_directory_store]") {
  const temp_dir dir;
  const std::string signature = "Signature: 8a477f597d28d172789f06886806bc55";

  SECTION("a root the store creates") {
    const fs::path root = dir.path() / "a" / "b" / "cache";
    directory_store store{root};
    store.save(entry_address{simulate, call_a}, make_entry(1));
    const auto bytes = read_file(root / "CACHEDIR.TAG");
    const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    CHECK(text.rfind(signature, 0) == 0);
  }
  SECTION("a root that already existed") {
    directory_store store{dir.path()};
    store.save(entry_address{simulate, call_a}, make_entry(1));
    CHECK(fs::is_regular_file(dir.path() / "CACHEDIR.TAG"));
  }
}

TEST_CASE("directory_store: saving again replaces the entry", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address address{simulate, call_a};
  store.save(address, make_entry(5000, 1));
  const auto second = make_entry(17, 2);
  store.save(address, second);
  const auto loaded = store.load(address);
  REQUIRE(loaded.has_value());
  CHECK(same_entry(*loaded, second));
  CHECK(temp_files_under(dir.path()).empty());
}

TEST_CASE("directory_store: a damaged file reads as a miss, is removed and logged", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address address{simulate, call_a};
  const fs::path path = store.entry_path(address);
  store.save(address, make_entry(300));
  auto bytes = read_file(path);
  std::string reason;

  SECTION("a flipped payload byte") {
    bytes[recall::detail::entry_header_size + 150] ^= std::byte{0x10};
    write_file(path, bytes);
    reason = "entry checksum mismatch";
  }
  SECTION("a flipped header byte") {
    bytes[recall::detail::entry_offset::compute_time] ^= std::byte{0x10};
    write_file(path, bytes);
    reason = "header checksum mismatch";
  }
  SECTION("a file emptied by a power loss") {
    write_file(path, {});
    reason = "too short";
  }
  SECTION("a truncated payload") {
    write_file(path, std::span{bytes}.first(bytes.size() - 1));
    reason = "size mismatch";
  }
  SECTION("a file copied under another key's name") {
    const entry_address other{simulate, call_b};
    store.save(other, make_entry(20));
    fs::copy_file(store.entry_path(other), path, fs::copy_options::overwrite_existing);
    reason = "expected " + call_a.hex();
  }

  log_capture logs;
  CHECK_FALSE(store.load(address).has_value());
  CHECK_FALSE(fs::exists(path));
  const auto lines = logs.lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].first == recall::log_level::warning);
  INFO(lines[0].second);
  CHECK(contains(lines[0].second, path.string()));
  CHECK(contains(lines[0].second, reason));

  // Saving again heals it.
  store.save(address, make_entry(300));
  CHECK(store.load(address).has_value());
}

TEST_CASE("directory_store: contains() drops an entry with a damaged header", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address address{simulate, call_a};
  const fs::path path = store.entry_path(address);
  store.save(address, make_entry(300));
  auto bytes = read_file(path);
  bytes[recall::detail::entry_offset::payload_size] ^= std::byte{0x01};
  write_file(path, bytes);

  log_capture logs;
  CHECK_FALSE(store.contains(address));
  CHECK_FALSE(fs::exists(path));
  CHECK(logs.lines().size() == 1);
}

TEST_CASE("directory_store: something other than a file under an entry's name is an error",
          "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address address{simulate, call_a};
  store.save(entry_address{simulate, call_b}, make_entry(1)); // creates the function folder
  const fs::path path = store.entry_path(address);
  fs::create_directories(path.parent_path());

  SECTION("a folder") { fs::create_directory(path); }
  SECTION("a FIFO, which must not block the open") { REQUIRE(::mkfifo(path.c_str(), 0600) == 0); }

  const std::string message = store_error_of([&] { (void)store.load(address); });
  CHECK(contains(message, "not a regular file"));
  CHECK(fs::exists(fs::symlink_status(path)));
}

TEST_CASE("directory_store: a root that is a regular file fails to save, cleanly", "[stores_directory_store]") {
  const temp_dir dir;
  const fs::path root = dir.path() / "not-a-folder";
  const std::vector<std::byte> content(5, std::byte{'z'});
  write_file(root, content);
  directory_store store{root};
  const entry_address address{simulate, call_a};

  const std::string message = store_error_of([&] { store.save(address, make_entry(10)); });
  INFO(message);
  CHECK(contains(message, root.string()));
  CHECK(read_file(root) == content);
  CHECK(temp_files_under(dir.path()).empty());
  // Reads of a misconfigured root are errors too, not silent misses.
  CHECK_THROWS_AS(store.load(address), recall::store_error);
}

TEST_CASE("directory_store: an unwritable root fails to save, cleanly", "[stores_directory_store]") {
  const temp_dir dir;
  const fs::path root = dir.path() / "cache";
  directory_store store{root};
  const entry_address existing{simulate, call_b};
  store.save(existing, make_entry(10));
  const fs::path shard = store.entry_path(existing).parent_path();

  // Read-only: the function folder (so no new shard folder) and the shard folder (no new file).
  REQUIRE(::chmod(shard.c_str(), 0500) == 0);
  REQUIRE(::chmod(store.function_folder(simulate).c_str(), 0500) == 0);
  const fs::path probe = shard / "probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
    RECALL_TEST_SKIP("running with privileges that ignore file modes (root?): a read-only "
                     "folder does not stop writes here; the regular-file root test covers "
                     "the failure path");
  }

  // Same shard as call_b (first byte 7f): a new file in a read-only folder.
  const entry_address same_shard{simulate, key{0x7f11111111111111ULL, 3}};
  const std::string in_shard = store_error_of([&] { store.save(same_shard, make_entry(10)); });
  CHECK(contains(in_shard, "Permission denied"));
  // Another shard: a new folder in a read-only folder.
  const std::string new_shard = store_error_of([&] { store.save(entry_address{simulate, call_a}, make_entry(10)); });
  CHECK(contains(new_shard, "Permission denied"));
  CHECK(temp_files_under(root).empty());
  CHECK(store.load(existing).has_value());
}

TEST_CASE("directory_store: a write that fails midway leaves the old entry and no temp file",
          "[stores_directory_store]") {
  const temp_dir dir;
  // Raw, so the 1 MiB payload really crosses the 64 KiB limit.
  directory_store store{dir.path(), durability::none, recall::compression{.codec = recall::codec::none}};
  const entry_address address{simulate, call_a};
  const auto old_entry = make_entry(100, 1);
  store.save(address, old_entry);

  // RLIMIT_FSIZE makes writes past 64 KiB fail with EFBIG, like a full disk would with ENOSPC.
  ::rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  ::rlimit limited = saved;
  limited.rlim_cur = 64 * 1024;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  // No assertion until the limit is lifted: the reporter may write to a file.
  const std::string message = store_error_of([&] { store.save(address, make_entry(1024 * 1024, 2)); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);

  INFO(message);
  CHECK(contains(message, "cannot write"));
  CHECK(temp_files_under(dir.path()).empty());
  const auto loaded = store.load(address);
  REQUIRE(loaded.has_value());
  CHECK(same_entry(*loaded, old_entry));
}

TEST_CASE("directory_store: durability::fsync saves and loads", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path() / "durable", durability::fsync};
  CHECK(store.durability_level() == durability::fsync);
  CHECK(contains(store.description(), "fsync"));
  const entry_address address{simulate, call_a};
  const auto entry = make_entry(1000);
  store.save(address, entry);
  store.save(address, entry);
  const auto loaded = store.load(address);
  REQUIRE(loaded.has_value());
  CHECK(same_entry(*loaded, entry));
  CHECK(fs::is_regular_file(dir.path() / "durable" / "CACHEDIR.TAG"));
}

TEST_CASE("directory_store: root path handling", "[stores_directory_store]") {
  CHECK_THROWS_AS(directory_store{fs::path{}}, recall::config_error);
  const directory_store relative{"some/relative/"};
  CHECK(relative.root().is_absolute());
  CHECK(relative.root() == fs::current_path() / "some" / "relative");
  CHECK(relative.description() == "directory " + relative.root().string());
  const directory_store at_root{"/"};
  CHECK(at_root.function_folder(simulate) == fs::path{"/ns_simulate-0123abcd"});
}

TEST_CASE("directory_store: concurrent saves and loads see whole entries", "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address address{simulate, call_a};
  std::vector<stored_entry> versions;
  for (unsigned i = 0; i < 4; ++i) {
    versions.push_back(make_entry(20'000 + i * 1000, i));
  }
  log_capture logs;
  std::atomic<int> torn{0};
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (t % 2 == 0) {
          store.save(address, versions[(t / 2 + static_cast<unsigned>(i)) % versions.size()]);
        } else if (const auto loaded = store.load(address)) {
          ++hits;
          bool known = false;
          for (const auto& version : versions) {
            known = known || same_entry(*loaded, version);
          }
          torn += known ? 0 : 1;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(torn == 0);
  CHECK(hits > 0);
  CHECK(logs.lines().empty());
  CHECK(temp_files_under(dir.path()).empty());
}

TEST_CASE("atomic_file: commit replaces the destination", "[stores_directory_store][atomic_file]") {
  const temp_dir dir;
  const std::string destination = (dir.path() / "file.bin").string();
  const std::vector<std::byte> first(10, std::byte{1});
  const std::vector<std::byte> second(20, std::byte{2});
  for (const auto* content : {&first, &second}) {
    recall::detail::atomic_file file{destination};
    REQUIRE(file.is_open());
    CHECK(fs::exists(file.temp_path()));
    CHECK(file.temp_path().rfind(destination + ".tmp.", 0) == 0);
    file.write(std::span{*content}.first(5));
    file.write(std::span{*content}.subspan(5));
    file.commit();
    CHECK_FALSE(fs::exists(file.temp_path()));
    CHECK(read_file(destination) == *content);
  }
  CHECK(mode_of(destination) == 0600);
}

TEST_CASE("atomic_file: gathered writes keep their order", "[stores_directory_store][atomic_file]") {
  const temp_dir dir;
  const std::string destination = (dir.path() / "gathered.bin").string();
  std::vector<std::vector<std::byte>> buffers;
  std::vector<std::byte> expected;
  for (int i = 0; i < 40; ++i) { // more buffers than one writev batch, some empty
    buffers.emplace_back(static_cast<std::size_t>(i % 3 == 0 ? 0 : i * 97), static_cast<std::byte>(i));
    expected.insert(expected.end(), buffers.back().begin(), buffers.back().end());
  }
  std::vector<std::span<const std::byte>> parts(buffers.begin(), buffers.end());
  recall::detail::atomic_file file{destination, durability::fsync};
  file.write(parts);
  file.commit();
  CHECK(read_file(destination) == expected);
}

TEST_CASE("atomic_file: an uncommitted file is removed", "[stores_directory_store][atomic_file]") {
  const temp_dir dir;
  const std::string destination = (dir.path() / "never.bin").string();
  std::string temp;
  {
    recall::detail::atomic_file file{destination};
    temp = file.temp_path();
    file.write(std::vector<std::byte>(100, std::byte{7}));
    CHECK(fs::exists(temp));
  }
  CHECK_FALSE(fs::exists(temp));
  CHECK_FALSE(fs::exists(destination));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("atomic_file: mode and creation errors", "[stores_directory_store][atomic_file]") {
  const temp_dir dir;
  const std::string destination = (dir.path() / "shared.txt").string();
  {
    recall::detail::atomic_file file{destination, durability::none, 0644};
    file.commit();
  }
  CHECK(mode_of(destination) == 0644);

  const std::string missing = (dir.path() / "no" / "such" / "file").string();
  std::error_code error;
  recall::detail::atomic_file inert{missing, durability::none, 0600, error};
  CHECK(error == std::errc::no_such_file_or_directory);
  CHECK_FALSE(inert.is_open());
  CHECK(inert.temp_path().empty());

  const std::string message = store_error_of([&] { recall::detail::atomic_file file{missing}; });
  CHECK(contains(message, missing + ".tmp."));
  CHECK(contains(message, "No such file or directory"));
}

TEST_CASE("atomic_file: relative to an open folder", "[stores_directory_store][atomic_file]") {
  const temp_dir dir;
  const fs::path folder = dir.path() / "shard";
  fs::create_directory(folder);
  const recall::detail::fsio::unique_fd folder_fd{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  REQUIRE(folder_fd);
  const std::string shown = (folder / "entry.rce").string();
  std::error_code error;
  {
    recall::detail::atomic_file file{folder_fd.get(), "entry.rce", shown, durability::fsync, 0640, error};
    REQUIRE_FALSE(error);
    CHECK(file.temp_path().rfind(shown + ".tmp.", 0) == 0);
    CHECK(fs::exists(file.temp_path()));
    file.write(std::vector<std::byte>(10, std::byte{4}));
    file.commit();
  }
  CHECK(read_file(shown) == std::vector<std::byte>(10, std::byte{4}));
  CHECK(mode_of(shown) == 0640);

  // The descriptor, not the path, decides where the file goes: the folder moved meanwhile.
  fs::rename(folder, dir.path() / "moved");
  {
    recall::detail::atomic_file file{folder_fd.get(), "second.rce", shown, durability::none, 0600, error};
    REQUIRE_FALSE(error);
    file.write(std::vector<std::byte>(3, std::byte{5}));
    file.commit();
  }
  CHECK(fs::exists(dir.path() / "moved" / "second.rce"));
  CHECK_FALSE(fs::exists(folder));

  // An uncommitted one is removed relative to the folder too; nothing else is left.
  {
    recall::detail::atomic_file file{folder_fd.get(), "third.rce", shown, durability::none, 0600, error};
    REQUIRE_FALSE(error);
  }
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator{dir.path() / "moved"}) {
    CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
    ++files;
  }
  CHECK(files == 2);
}

TEST_CASE("atomic_file: temp names are drawn afresh when taken", "[stores_directory_store][atomic_file]") {
  const temp_dir dir;
  const std::string destination = (dir.path() / "busy.bin").string();
  // Many live temp files for one destination: each got its own name (O_EXCL never clobbers).
  std::vector<std::unique_ptr<recall::detail::atomic_file>> open_files;
  for (int i = 0; i < 200; ++i) {
    open_files.push_back(std::make_unique<recall::detail::atomic_file>(destination));
  }
  std::set<std::string> names;
  for (const auto& file : open_files) {
    names.insert(file->temp_path());
  }
  CHECK(names.size() == open_files.size());
}

TEST_CASE("directory_store: compute locks are per key, in one file, and say who holds them",
          "[stores_directory_store][locks]") {
  const temp_dir dir;
  directory_store store{dir.path() / "cache"};
  const entry_address first{simulate, call_a};
  const entry_address second{simulate, call_b};
  {
    const auto held = store.lock_for_compute(first, std::chrono::seconds{1});
    REQUIRE(held);
    // Another lock on the same key waits (each lock is its own open file description, so this
    // holds within one process as across processes), and times out; another key does not wait.
    CHECK_FALSE(store.lock_for_compute(first, std::chrono::milliseconds{30}));
    CHECK(store.lock_for_compute(second, std::chrono::milliseconds{30}));

    // The holder's record, in the key's slot of the function's locks file.
    const fs::path locks = store.function_folder(simulate) / "locks";
    const auto bytes = read_file(locks.string());
    const std::size_t slot = static_cast<std::size_t>(call_a.low() % directory_store::lock_record_slots);
    REQUIRE(bytes.size() >= (slot + 1) * directory_store::lock_record_size);
    const std::string record(reinterpret_cast<const char*>(bytes.data()) + slot * directory_store::lock_record_size,
                             directory_store::lock_record_size);
    CHECK(record.rfind(call_a.hex() + " ", 0) == 0);
    CHECK(contains(record, " " + std::to_string(::getpid()) + " "));
    CHECK(record.back() == '\n');
  }
  // Released with its holder.
  CHECK(store.lock_for_compute(first, std::chrono::milliseconds{30}));
  // No file per key: the shard folders hold entries only, and the function folder only its locks.
  store.save(first, make_entry(10));
  for (const auto& file : fs::recursive_directory_iterator{store.function_folder(simulate)}) {
    if (file.is_regular_file()) {
      const std::string name = file.path().filename().string();
      CHECK((name == "locks" || name.ends_with(".rce")));
    }
  }
}

TEST_CASE("directory_store: a root removed or replaced while the store lives is followed", "[stores_directory_store]") {
  const temp_dir dir;
  const fs::path root = dir.path() / "cache";
  directory_store store{root};
  const entry_address address{simulate, call_a};
  store.save(address, make_entry(10, 1));
  REQUIRE(store.load(address));

  SECTION("removed: a miss, then saves recreate it and hit there") {
    fs::remove_all(root);
    CHECK_FALSE(store.load(address));
    store.save(address, make_entry(10, 2));
    CHECK(fs::exists(store.entry_path(address)));
    const auto loaded = store.load(address);
    REQUIRE(loaded);
    CHECK(loaded->payload == make_entry(10, 2).payload);
  }
  SECTION("moved aside and made anew: the first miss notices, and nothing goes to the old one") {
    fs::rename(root, dir.path() / "old");
    fs::create_directory(root);
    const entry_address other{simulate, call_b};
    CHECK_FALSE(store.load(other));
    store.save(other, make_entry(10, 3));
    CHECK(fs::exists(store.entry_path(other)));
    CHECK_FALSE(fs::exists(dir.path() / "old" / fs::relative(store.entry_path(other), root)));
    // The entry moved aside with the old root is no longer found.
    CHECK_FALSE(store.load(address));
  }
}

TEST_CASE("directory_store: on a full disk the compute lock still works and stats are not lost",
          "[stores_directory_store]") {
  const temp_dir dir;
  const auto root = dir.path() / "fresh";
  recall::directory_store store{root};
  const recall::function_id f{"full_disk::f", recall::key{7, 7}};
  const recall::function_id g{"full_disk::g", recall::key{8, 8}};
  store.record_stats(g, recall::function_stats{3, 1, 1, 10, 0}); // g's folder and stats exist
  const recall::entry_address address{f, recall::key{1, 2}};

  // RLIMIT_FSIZE 0 makes every write fail (EFBIG), as a full disk makes them fail with ENOSPC:
  // CACHEDIR.TAG, lock records and stats cannot be written.
  ::rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  ::rlimit limited = saved;
  limited.rlim_cur = 0;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  // No assertion until the limit is lifted: the reporter may write to a file.
  std::string lock_error;
  bool locked = false;
  try {
    locked = store.lock_for_compute(address, std::chrono::milliseconds{0}) != nullptr;
  } catch (const std::exception& e) {
    lock_error = e.what();
  }
  store.record_stats(f, recall::function_stats{1, 1, 0, 0, 0});
  store.record_stats(g, recall::function_stats{5, 5, 0, 0, 0});
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);

  INFO(lock_error);
  CHECK(locked);
  CHECK_FALSE(std::filesystem::exists(store.function_folder(f) / "stats")); // no empty stats file left
  const auto kept = store.stats(g);
  CHECK(kept.hits == 3); // the failed update left the old counters
  CHECK(kept.misses == 1);
  // Once writes work again the tag is written with the next function folder.
  store.save(recall::entry_address{recall::function_id{"full_disk::h", recall::key{9, 9}}, recall::key{3, 4}},
             recall::stored_entry{});
  CHECK(std::filesystem::exists(root / "CACHEDIR.TAG"));
}

TEST_CASE("directory_store: a file grown by a hole is refused from its header, before it is mapped",
          "[stores_directory_store]") {
  const temp_dir dir;
  directory_store store{dir.path()};
  const entry_address address{simulate, recall::key{0x77, 0x88}};
  store.save(address, make_entry(2 * 1024 * 1024)); // large: map() and large loads map it
  const auto path = store.entry_path(address);
  // 256 MiB, all but the first 2 MiB a hole: the header's sizes no longer match the file.
  REQUIRE(::truncate(path.c_str(), ::off_t{256} << 20) == 0);
  ::rusage before{};
  REQUIRE(::getrusage(RUSAGE_SELF, &before) == 0);
  const auto mapped = store.read(address, recall::read_hint::mapped_checked);
  ::rusage after{};
  REQUIRE(::getrusage(RUSAGE_SELF, &after) == 0);
  CHECK_FALSE(mapped.has_value());
  CHECK_FALSE(fs::exists(path));                         // discarded as damaged
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024); // KiB: nothing near the file's size was touched
}
