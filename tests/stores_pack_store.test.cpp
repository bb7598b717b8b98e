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
    std::this_thread::sleep_for(std::chrono::milliseconds{40 + round * 30});
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    std::vector<std::uint64_t> committed;
    std::uint64_t k = 0;
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
