// Tests of pack_store against a real filesystem: round trips, growth, compaction, compute locks,
// crashes (SIGKILL during appends and compactions) and damaged or planted files.
#include "catch.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <recall/detail/stores/pack_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/stores/pack_store.hpp>

namespace {

namespace fs = std::filesystem;
using recall::entry_address;
using recall::function_id;
using recall::key;
using recall::pack_store;
using recall::stored_entry;
using recall_test::log_capture;
using recall_test::temp_dir;

const function_id& fn() {
  static const function_id id{"ns::simulate", key{0x1234, 0x5678}};
  return id;
}

// Keys spread over every shard: the high word's top bits pick the shard.
key key_of(std::uint64_t i) { return key{(i * 0x9E3779B97F4A7C15ULL) ^ (i << 58), i * 0xBF58476D1CE4E5B9ULL + 1}; }

stored_entry entry_of(std::uint64_t i, std::size_t size = 40) {
  stored_entry e;
  e.payload.resize(size);
  for (std::size_t b = 0; b < size; ++b) {
    e.payload[b] = static_cast<std::byte>((i * 31 + b) & 0xFF);
  }
  e.metadata.compute_time = std::chrono::nanoseconds{static_cast<std::int64_t>(i) + 1};
  e.manifest.function = fn().name;
  e.manifest.label = std::to_string(i);
  return e;
}

bool holds(pack_store& store, std::uint64_t i, std::size_t size = 40) {
  const auto loaded = store.load(entry_address{fn(), key_of(i)});
  return loaded && loaded->payload == entry_of(i, size).payload;
}

std::vector<fs::path> segments(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code error;
  for (const auto& f : fs::directory_iterator{root / "segments", error}) {
    out.push_back(f.path());
  }
  return out;
}

std::size_t file_count(const fs::path& root) {
  std::size_t n = 0;
  for (auto it = fs::recursive_directory_iterator{root}; it != fs::recursive_directory_iterator{}; ++it) {
    ++n;
  }
  return n;
}

void flip_byte(const fs::path& file, std::uint64_t at) {
  std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x10));
}

// The files this process has memory-mapped (from /proc/self/maps; " (deleted)" kept).
std::vector<std::string> mapped_files() {
  std::vector<std::string> out;
  std::ifstream maps{"/proc/self/maps"};
  std::string line;
  while (std::getline(maps, line)) {
    if (const auto slash = line.find('/'); slash != std::string::npos) {
      out.push_back(line.substr(slash));
    }
  }
  return out;
}

bool is_mapped(const fs::path& file) {
  const std::string name = file.string();
  for (const auto& m : mapped_files()) {
    if (m.rfind(name, 0) == 0) {
      return true;
    }
  }
  return false;
}

// The segment file and the offset of the record of `i`, from pack_store::where().
std::pair<fs::path, std::uint64_t> record_of(pack_store& store, std::uint64_t i) {
  const std::string where = store.where(key_of(i));
  const auto at = where.rfind('@');
  REQUIRE(at != std::string::npos);
  return {fs::path{where.substr(0, at)}, std::stoull(where.substr(at + 1))};
}

// Lookups since `start` that the maps could not serve (recall::detail::pack::map_fallbacks).
struct fallbacks {
  std::uint64_t slots = recall::detail::pack::map_fallbacks.slots_found_by_pread.load();
  std::uint64_t outside = recall::detail::pack::map_fallbacks.records_outside_map.load();
  std::uint64_t rechecked = recall::detail::pack::map_fallbacks.records_rechecked.load();
  [[nodiscard]] std::uint64_t slots_since() const { return fallbacks{}.slots - slots; }
  [[nodiscard]] std::uint64_t outside_since() const { return fallbacks{}.outside - outside; }
  [[nodiscard]] std::uint64_t rechecked_since() const { return fallbacks{}.rechecked - rechecked; }
};

} // namespace

TEST_CASE("pack_store round-trips entries, across store objects and through growth", "[stores_pack_store]") {
  temp_dir dir;
  const fs::path root = dir.path() / "cache";
  {
    pack_store store{root};
    CHECK_FALSE(pack_store::holds_pack(root));
    CHECK_FALSE(store.load(entry_address{fn(), key_of(1)}));
    CHECK_FALSE(store.contains(entry_address{fn(), key_of(1)}));
    for (std::uint64_t i = 0; i < 3000; ++i) { // many growths of every shard
      store.save(entry_address{fn(), key_of(i)}, entry_of(i));
    }
    CHECK(pack_store::holds_pack(root));
    const auto loaded = store.load(entry_address{fn(), key_of(7)});
    REQUIRE(loaded);
    CHECK(loaded->metadata.compute_time.count() == 8);
  }
  pack_store other{root}; // another process's view
  std::size_t good = 0;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    good += holds(other, i) ? 1 : 0;
  }
  CHECK(good == 3000);
  CHECK(other.contains(entry_address{fn(), key_of(5)}));
  // A large entry, and a replaced one.
  other.save(entry_address{fn(), key_of(5)}, entry_of(5, 3 << 20));
  CHECK(holds(other, 5, 3 << 20));
  CHECK(other.erase(entry_address{fn(), key_of(6)}));
  CHECK_FALSE(other.erase(entry_address{fn(), key_of(6)}));
  CHECK_FALSE(other.load(entry_address{fn(), key_of(6)}));
  const auto usage = other.measure();
  CHECK(usage.entries == 2999);
  CHECK(file_count(root) < 80); // 64 index shards, segments, folders, marker, tag
  // Another view that opened the index before it grew still finds new entries.
  pack_store early{root};
  CHECK(holds(early, 1));
  for (std::uint64_t i = 3000; i < 6000; ++i) {
    other.save(entry_address{fn(), key_of(i)}, entry_of(i));
  }
  CHECK(holds(early, 5999));
}

TEST_CASE("pack_store lists entries and finds similar ones", "[stores_pack_store]") {
  temp_dir dir;
  pack_store store{dir.path()};
  for (std::uint64_t i = 0; i < 20; ++i) {
    store.save(entry_address{fn(), key_of(i)}, entry_of(i));
  }
  std::size_t listed = 0;
  store.for_each_entry([&](const pack_store::listed_entry& e) {
    CHECK(e.description.manifest.function == "ns::simulate");
    ++listed;
    return true;
  });
  CHECK(listed == 20);
  CHECK(store.similar_entries(fn(), 5).size() == 5);
  CHECK(store.similar_entries(function_id{"other", key{1, 2}}, 5).empty());
}

TEST_CASE("pack_store compaction drops dead records, keeps live ones, and skips live writers", "[stores_pack_store]") {
  temp_dir dir;
  {
    pack_store writer{dir.path(), recall::durability::none, {}, recall::pack_settings{64 << 10}};
    for (std::uint64_t i = 0; i < 2000; ++i) {
      writer.save(entry_address{fn(), key_of(i)}, entry_of(i));
    }
    for (std::uint64_t i = 0; i < 2000; i += 2) {
      writer.erase(entry_address{fn(), key_of(i)});
    }
    pack_store compactor{dir.path()};
    // The writer still holds its current segment: that one is busy, the sealed ones are not.
    const auto report = compactor.compact(recall::compaction_scope::all);
    CHECK(report.busy == 1);
    CHECK(report.segments_removed + 1 == report.segments_before);
    CHECK(report.records_moved > 0);
    CHECK(report.bytes_after < report.bytes_before);
    for (std::uint64_t i = 1; i < 2000; i += 2) {
      REQUIRE(holds(writer, i)); // the writer's old view follows the moves
    }
  }
  pack_store after{dir.path()};
  const auto before = segments(dir.path()).size();
  const auto report = after.compact(recall::compaction_scope::all);
  CHECK(report.busy == 0);
  CHECK(segments(dir.path()).size() <= before);
  std::size_t good = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    good += holds(after, i) ? 1 : 0;
  }
  CHECK(good == 1000);
}

TEST_CASE("pack_store compute locks exclude other holders until released", "[stores_pack_store]") {
  temp_dir dir;
  pack_store a{dir.path()};
  pack_store b{dir.path()};
  const entry_address address{fn(), key_of(3)};
  auto held = a.lock_for_compute(address, std::chrono::milliseconds{100});
  REQUIRE(held);
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(b.lock_for_compute(address, std::chrono::milliseconds{60}));
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds{60});
  CHECK(b.lock_for_compute(entry_address{fn(), key_of(4)}, std::chrono::milliseconds{0}));
  held.reset();
  CHECK(b.lock_for_compute(address, std::chrono::milliseconds{0}));
}

TEST_CASE("pack_store keeps every committed entry through SIGKILL during appends", "[stores_pack_store]") {
  temp_dir dir;
  for (int round = 0; round < 3; ++round) {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      pack_store store{dir.path(), recall::durability::none, {}, recall::pack_settings{256 << 10}};
      for (std::uint64_t i = 0;; ++i) {
        const std::uint64_t k = static_cast<std::uint64_t>(round) * 1000000 + i;
        store.save(entry_address{fn(), key_of(k)}, entry_of(k, 100 + (i % 7) * 1000));
        if (::write(pipe_fds[1], &k, sizeof k) != sizeof k) {
          ::_exit(1);
        }
      }
    }
    ::close(pipe_fds[1]);
    // Kill it some time after its 11th commit (not after a fixed time: a loaded machine or a
    // sanitizer build may take longer than that to start writing).
    std::vector<std::uint64_t> committed;
    std::uint64_t k = 0;
    while (committed.size() < 11 && ::read(pipe_fds[0], &k, sizeof k) == sizeof k) {
      committed.push_back(k);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20 + round * 30});
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    while (::read(pipe_fds[0], &k, sizeof k) == sizeof k) {
      committed.push_back(k);
    }
    ::close(pipe_fds[0]);
    REQUIRE(committed.size() > 10);
    log_capture logs;
    pack_store reader{dir.path()};
    std::size_t good = 0;
    for (const auto c : committed) {
      good += holds(reader, c, 100 + ((c % 1000000) % 7) * 1000) ? 1 : 0;
    }
    CHECK(good == committed.size());
    CHECK(logs.warnings() == 0); // nothing torn was ever pointed at
  }
  // The dead writers' segments (torn tails included) compact, and everything still reads.
  pack_store after{dir.path()};
  const auto report = after.compact(recall::compaction_scope::all);
  CHECK(report.busy == 0);
  CHECK(report.damaged == 0);
  CHECK(after.measure().entries == report.records_moved);
}

TEST_CASE("pack_store survives SIGKILL during compaction", "[stores_pack_store]") {
  temp_dir dir;
  {
    pack_store writer{dir.path(), recall::durability::none, {}, recall::pack_settings{32 << 10}};
    for (std::uint64_t i = 0; i < 3000; ++i) {
      writer.save(entry_address{fn(), key_of(i)}, entry_of(i, 200));
    }
  }
  int interrupted = 0; // compactions killed before they finished
  for (int round = 0; round < 4; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      pack_store compactor{dir.path()};
      static_cast<void>(compactor.compact(recall::compaction_scope::all));
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::microseconds{2000 + round * 3000});
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    interrupted += WIFSIGNALED(status) ? 1 : 0;
    log_capture logs;
    pack_store reader{dir.path()};
    std::size_t good = 0;
    for (std::uint64_t i = 0; i < 3000; ++i) {
      good += holds(reader, i, 200) ? 1 : 0;
    }
    CHECK(good == 3000);
    CHECK(logs.warnings() == 0);
  }
  CHECK(interrupted > 0);
  pack_store last{dir.path()};
  const auto report = last.compact(recall::compaction_scope::all);
  CHECK(report.damaged == 0);
  CHECK(last.measure().entries == 3000);
}

TEST_CASE("pack_store treats damaged or planted segments as misses", "[stores_pack_store]") {
  temp_dir dir;
  pack_store store{dir.path()};
  for (std::uint64_t i = 0; i < 50; ++i) {
    store.save(entry_address{fn(), key_of(i)}, entry_of(i, 300));
  }
  const auto files = segments(dir.path());
  REQUIRE(files.size() == 1);
  const fs::path segment = files.front();

  SECTION("a bit flipped in a record") {
    log_capture logs;
    pack_store reader{dir.path()};
    std::size_t good = 0;
    flip_byte(segment, fs::file_size(segment) - 10); // the last record's payload
    for (std::uint64_t i = 0; i < 50; ++i) {
      good += holds(reader, i, 300) ? 1 : 0;
    }
    CHECK(good == 49);
    CHECK(logs.count(recall::log_level::warning, "checksum mismatch") == 1);
    // Dropped from the index: recomputed and saved, it reads again, with no second warning.
    for (std::uint64_t i = 0; i < 50; ++i) {
      if (!holds(reader, i, 300)) {
        reader.save(entry_address{fn(), key_of(i)}, entry_of(i, 300));
      }
    }
    for (std::uint64_t i = 0; i < 50; ++i) {
      CHECK(holds(reader, i, 300));
    }
    CHECK(logs.warnings() == 1);
  }
  SECTION("truncated") {
    log_capture logs;
    fs::resize_file(segment, fs::file_size(segment) / 2);
    pack_store reader{dir.path()};
    std::size_t good = 0;
    for (std::uint64_t i = 0; i < 50; ++i) {
      good += holds(reader, i, 300) ? 1 : 0;
    }
    CHECK(good > 10);
    CHECK(good < 50);
    CHECK(logs.count(recall::log_level::warning, "truncated") > 0);
  }
  SECTION("replaced by a symlink, a FIFO, a directory, or a newer version") {
    const fs::path elsewhere = dir.path() / "elsewhere.seg";
    fs::rename(segment, elsewhere);
    const int kind = GENERATE(0, 1, 2, 3);
    if (kind == 0) {
      fs::create_symlink(elsewhere, segment);
    } else if (kind == 1) {
      REQUIRE(::mkfifo(segment.c_str(), 0600) == 0);
    } else if (kind == 2) {
      fs::create_directory(segment);
    } else {
      fs::copy_file(elsewhere, segment);
      // Version 2, with a header checksum that matches, as a newer recall would write it.
      std::fstream f{segment, std::ios::in | std::ios::out | std::ios::binary};
      std::array<std::byte, 64> header{};
      f.read(reinterpret_cast<char*>(header.data()), 64);
      header[4] = std::byte{2};
      const std::uint64_t sum = XXH3_64bits(header.data(), 56);
      for (int b = 0; b < 8; ++b) {
        header[56 + static_cast<std::size_t>(b)] = static_cast<std::byte>((sum >> (8 * b)) & 0xFF);
      }
      f.seekp(0);
      f.write(reinterpret_cast<const char*>(header.data()), 64);
    }
    log_capture logs;
    pack_store reader{dir.path()};
    for (std::uint64_t i = 0; i < 50; ++i) {
      CHECK_FALSE(reader.load(entry_address{fn(), key_of(i)}));
    }
    CHECK(logs.warnings() <= 1);
    if (kind == 3) {
      CHECK(logs.count(recall::log_level::warning, "format version 2") == 1);
    }
    // Saving again works and is served.
    reader.save(entry_address{fn(), key_of(1)}, entry_of(1, 300));
    CHECK(holds(reader, 1, 300));
    // Compaction leaves what it cannot read alone.
    static_cast<void>(reader.compact(recall::compaction_scope::all));
    CHECK(fs::exists(fs::symlink_status(segment)));
  }
}

TEST_CASE("pack_store treats damaged or planted indexes as misses and repairs them on save", "[stores_pack_store]") {
  temp_dir dir;
  {
    pack_store store{dir.path()};
    for (std::uint64_t i = 0; i < 200; ++i) {
      store.save(entry_address{fn(), key_of(i)}, entry_of(i));
    }
  }
  const fs::path index = dir.path() / "index" / "00";
  REQUIRE(fs::exists(index));
  // Keys of shard 0 among the first 200.
  std::vector<std::uint64_t> in_shard;
  for (std::uint64_t i = 0; i < 200; ++i) {
    if (recall::detail::pack::shard_of(key_of(i)) == 0) {
      in_shard.push_back(i);
    }
  }
  REQUIRE_FALSE(in_shard.empty());
  const int kind = GENERATE(0, 1, 2, 3, 4, 5);
  if (kind == 0) {
    fs::resize_file(index, fs::file_size(index) - 20);
  } else if (kind == 1) {
    flip_byte(index, 9); // capacity, under the header checksum
  } else if (kind == 2) {
    // Every slot's bytes flipped: each slot fails its checksum.
    for (std::uint64_t at = 64 + 3; at < fs::file_size(index); at += 48) {
      flip_byte(index, at);
    }
  } else {
    fs::rename(index, dir.path() / "old-index");
    if (kind == 3) {
      fs::create_symlink(dir.path() / "old-index", index);
    } else if (kind == 4) {
      REQUIRE(::mkfifo(index.c_str(), 0600) == 0);
    } else {
      fs::create_directory(index);
    }
  }
  log_capture logs;
  pack_store reader{dir.path()};
  for (const auto i : in_shard) {
    CHECK_FALSE(reader.load(entry_address{fn(), key_of(i)}));
  }
  CHECK(holds(reader, 1) == (recall::detail::pack::shard_of(key_of(1)) != 0)); // other shards unaffected
  CHECK(logs.warnings() <= 1);
  // A save repairs a damaged index (a planted file or folder is refused, never followed).
  const entry_address again{fn(), key_of(in_shard.front())};
  if (kind <= 2) {
    reader.save(again, entry_of(in_shard.front()));
    CHECK(holds(reader, in_shard.front()));
  } else {
    CHECK_THROWS_AS(reader.save(again, entry_of(in_shard.front())), recall::store_error);
  }
}

TEST_CASE("pack_store enforces entry and size limits, oldest written first", "[stores_pack_store]") {
  temp_dir dir;
  pack_store store{dir.path(), recall::durability::none, {}, recall::pack_settings{16 << 10}};
  store.set_limits(recall::cache_limits{std::nullopt, 100});
  for (std::uint64_t i = 0; i < 400; ++i) {
    store.save(entry_address{fn(), key_of(i)}, entry_of(i));
  }
  const auto usage = store.measure();
  CHECK(usage.entries <= 100);
  CHECK(usage.entries >= 80);
  CHECK(holds(store, 399));
  CHECK_FALSE(holds(store, 0));
  CHECK(segments(dir.path()).size() < 20); // dead segments were compacted away
}

TEST_CASE("pack_store is safe to use from several threads", "[stores_pack_store]") {
  temp_dir dir;
  pack_store store{dir.path(), recall::durability::none, {}, recall::pack_settings{64 << 10}};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; i < 500; ++i) {
        const std::uint64_t k = i * 4 + static_cast<std::uint64_t>(t);
        store.save(entry_address{fn(), key_of(k)}, entry_of(k));
        bad += holds(store, k) ? 0 : 1;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(bad == 0);
  CHECK(store.measure().entries == 2000);
}

TEST_CASE("pack_store records statistics per function", "[stores_pack_store]") {
  temp_dir dir;
  pack_store store{dir.path()};
  store.record_stats(fn(), recall::function_stats{3, 2, 1, 40, 5});
  store.record_stats(fn(), recall::function_stats{1, 0, 0, 0, 0});
  const auto s = store.stats(fn());
  CHECK(s.hits == 4);
  CHECK(s.misses == 2);
  CHECK(s.stores == 1);
}

TEST_CASE("pack_store hits read the index and the record from maps that follow other writers", "[stores_pack_store]") {
  temp_dir dir;
  pack_store writer{dir.path()};
  for (std::uint64_t i = 0; i < 20; ++i) {
    writer.save(entry_address{fn(), key_of(i)}, entry_of(i));
  }
  pack_store reader{dir.path()};
  REQUIRE(holds(reader, 0));
  const fs::path index =
      dir.path() / "index" / recall::detail::pack::shard_name(recall::detail::pack::shard_of(key_of(0)));
  const fs::path segment = record_of(reader, 0).first;
  // The hit went through maps of both files (this is Linux: /proc/self/maps lists them).
  CHECK(is_mapped(index));
  CHECK(is_mapped(segment));
  const fallbacks before;

  SECTION("another writer grows every index shard: the reader maps the new files") {
    const auto shard_size = fs::file_size(index);
    for (std::uint64_t i = 20; i < 4000; ++i) {
      writer.save(entry_address{fn(), key_of(i)}, entry_of(i));
    }
    REQUIRE(fs::file_size(index) > shard_size); // grown (a new file renamed over the old one)
    std::size_t good = 0;
    for (std::uint64_t i = 0; i < 4000; ++i) {
      good += holds(reader, i) ? 1 : 0;
    }
    CHECK(good == 4000);
    // Changed in place (no growth): a shared map sees the writer's slot at once.
    writer.save(entry_address{fn(), key_of(3)}, entry_of(1003));
    const auto loaded = reader.load(entry_address{fn(), key_of(3)});
    REQUIRE(loaded);
    CHECK(loaded->payload == entry_of(1003).payload);
    CHECK(writer.erase(entry_address{fn(), key_of(4)}));
    CHECK_FALSE(reader.load(entry_address{fn(), key_of(4)}));
    // Every hit came from the maps: none needed pread to find its slot or read its record.
    CHECK(before.slots_since() == 0);
    CHECK(before.outside_since() == 0);
    CHECK(before.rechecked_since() == 0);
  }
  SECTION("records appended after the reader mapped the segment are found (the map follows the file)") {
    for (std::uint64_t i = 20; i < 2000; ++i) { // 300 KB more in the same segment
      writer.save(entry_address{fn(), key_of(i)}, entry_of(i, 100));
      if (i % 97 == 0) {
        REQUIRE(holds(reader, i, 100)); // one appended just now, past the size the reader saw
      }
    }
    REQUIRE(segments(dir.path()).size() == 1);
    std::size_t good = 0;
    for (std::uint64_t i = 20; i < 2000; ++i) {
      good += holds(reader, i, 100) ? 1 : 0;
    }
    CHECK(good == 1980);
    // A reader whose maps reserve less than the writer's segments hold maps them again, larger.
    pack_store small_maps{dir.path(), recall::durability::none, {}, recall::pack_settings{4096}};
    REQUIRE(holds(small_maps, 0));
    for (std::uint64_t i = 2000; i < 2400; ++i) {
      writer.save(entry_address{fn(), key_of(i)}, entry_of(i, 100));
      REQUIRE(holds(small_maps, i, 100));
    }
    CHECK(holds(small_maps, 1, 40));
    CHECK(before.slots_since() == 0);
    CHECK(before.outside_since() == 0);
    CHECK(before.rechecked_since() == 0);
  }
  SECTION("a record damaged after the reader mapped it is dropped, not served") {
    REQUIRE(record_of(reader, 19).first == segment);
    log_capture logs;
    flip_byte(segment, fs::file_size(segment) - 5); // its payload: record 19 was written last
    CHECK_FALSE(reader.load(entry_address{fn(), key_of(19)}));
    CHECK(logs.count(recall::log_level::warning, "checksum mismatch") == 1);
    CHECK_FALSE(reader.contains(entry_address{fn(), key_of(19)})); // dropped from the index
    CHECK_FALSE(writer.load(entry_address{fn(), key_of(19)}));
    // Its header's call key: the header checksum fails.
    flip_byte(segment, record_of(reader, 5).second + 20);
    CHECK_FALSE(reader.contains(entry_address{fn(), key_of(5)}));
    CHECK_FALSE(reader.load(entry_address{fn(), key_of(5)}));
    // The others still read, and the dropped ones read again once saved again.
    for (std::uint64_t i = 0; i < 19; ++i) {
      CHECK(holds(reader, i) == (i != 5));
    }
    reader.save(entry_address{fn(), key_of(19)}, entry_of(19));
    CHECK(holds(reader, 19));
    CHECK(holds(writer, 19));
    // Each damaged record failed in the map, then again by pread, before it was dropped.
    CHECK(before.rechecked_since() == 2);
    CHECK(before.outside_since() == 0);
  }
  SECTION("a segment truncated under the reader's map: records past the end read as misses") {
    // In place truncation under a live map is outside the contract for bytes the reader has
    // already looked at; records past the size its map has seen are read with pread and fail.
    for (std::uint64_t i = 20; i < 60; ++i) {
      writer.save(entry_address{fn(), key_of(i)}, entry_of(i, 300));
    }
    const auto [seg, offset_of_59] = record_of(reader, 59);
    fs::resize_file(seg, offset_of_59 + 10);
    log_capture logs;
    CHECK_FALSE(reader.load(entry_address{fn(), key_of(59)}));
    CHECK(logs.count(recall::log_level::warning, "truncated") == 1);
    CHECK(before.outside_since() == 1);
  }
}

TEST_CASE("pack_store lookups from mapped indexes are safe while another store object grows them",
          "[stores_pack_store]") {
  temp_dir dir;
  pack_store writer{dir.path(), recall::durability::none, {}, recall::pack_settings{32 << 10}};
  pack_store reader{dir.path(), recall::durability::none, {}, recall::pack_settings{16 << 10}};
  constexpr std::uint64_t total = 3000;
  const fallbacks before;
  std::atomic<std::uint64_t> saved{0};
  std::atomic<int> wrong{0};
  std::atomic<int> missing{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t seed = static_cast<std::uint64_t>(t) + 1;
      while (saved.load() < total) {
        const std::uint64_t done = saved.load();
        if (done == 0) {
          continue;
        }
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::uint64_t i = (seed >> 33) % done; // saved before we looked: must be there
        const auto loaded = reader.load(entry_address{fn(), key_of(i)});
        if (!loaded) {
          ++missing;
        } else if (loaded->payload != entry_of(i).payload) {
          ++wrong;
        }
      }
    });
  }
  for (std::uint64_t i = 0; i < total; ++i) {
    writer.save(entry_address{fn(), key_of(i)}, entry_of(i));
    saved.store(i + 1);
  }
  for (auto& t : readers) {
    t.join();
  }
  CHECK(wrong == 0);
  CHECK(missing == 0);
  CHECK(before.slots_since() == 0);
  CHECK(before.outside_since() == 0);
  CHECK(before.rechecked_since() == 0);
  std::size_t good = 0;
  for (std::uint64_t i = 0; i < total; ++i) {
    good += holds(reader, i) ? 1 : 0;
  }
  CHECK(good == total);
}
