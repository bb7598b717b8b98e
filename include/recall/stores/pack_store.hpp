// recall::pack_store: entries appended to per-writer segment files and found through per-shard
// hash indexes; a few files for millions of entries, safe when many hosts share one cache.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <recall/detail/stores/atomic_file.hpp>
#include <recall/detail/stores/entry_decode.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/file_mapping.hpp>
#include <recall/detail/stores/open_beneath.hpp>
#include <recall/detail/stores/pack_format.hpp>
#include <recall/detail/stores/pack_index.hpp>
#include <recall/detail/stores/pack_segments.hpp>
#include <recall/detail/stores/size_limiter.hpp>
#include <recall/detail/stores/stats_file.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/stores/compression.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/durability.hpp>
#include <recall/stores/sharing.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/verification.hpp>

namespace recall {

// Tuning of a pack store; the defaults suit a cluster file system.
struct pack_settings {
  // A writer starts a new segment once its current one would pass this size. Larger segments
  // mean fewer files; smaller ones, finer compaction.
  std::uint64_t max_segment_size = std::uint64_t{64} << 20;
};

// What compact() did.
struct compaction_report {
  std::size_t segments_before = 0;
  std::size_t segments_removed = 0;
  std::size_t records_moved = 0;
  std::uint64_t bytes_before = 0; // of all segment files
  std::uint64_t bytes_after = 0;
  std::size_t damaged = 0; // live records that failed their checks (dropped from the index)
  std::size_t busy = 0;    // segments skipped: a live writer (or another compaction) holds them
};

// How much compact() rewrites.
enum class compaction_scope {
  wasteful, // segments at most half live, and small segments (merged), and dead ones
  all,      // every segment no live writer holds
};

// A store for caches on shared and cluster file systems (NFS, Lustre, GPFS), where one file per
// entry exhausts inode quotas and crawls through the metadata server: its files and their format
// are in detail/stores/pack_format.hpp. Each process appends entries to a segment file of its
// own (named after its host, boot and pid; created O_EXCL), so no two writers on any host ever
// write one file; 64 index shards map call keys to (segment, offset, length). A hit reads the
// key's index slots and then its record in place from read-only maps of the index shard and the
// segment, with no system call (pread where a file cannot be mapped, and for records of
// large_entry_size or more); a save is one pwritev and a slot written under the shard's OFD
// lock. Compute locks are OFD byte-range locks, which the kernel (or the NFSv4 / Lustre lock
// manager) drops when the holder dies, on any host: nothing depends on pids or host names being
// unique. Every record is checked (header checksum, call key, length, body checksum) before it
// is served; a damaged one is dropped from the index, logged, and recomputed.
// Space is reclaimed by compact() (recall-cache prune), which copies live records out of dead
// writers' segments and deletes them, never blocking readers. Thread-safe.
class pack_store final : public store {
public:
  static constexpr std::string_view kind_name = "pack";

  explicit pack_store(std::filesystem::path root, durability level = durability::none, compression packing = {},
                      pack_settings settings = {})
      : m_root{normalized_root(root)}, m_durability{level}, m_compression{packing}, m_settings{settings},
        m_root_folder{m_root}, m_writer{m_root_folder, m_root, settings.max_segment_size, level},
        m_readers{m_root_folder, m_root, settings.max_segment_size} {
    const std::string tag = detail::pack::writer_tag();
    for (std::size_t s = 0; s < detail::pack::shard_count; ++s) {
      m_shards[s] = std::make_unique<detail::pack::index_shard>(m_root_folder, s, m_root, tag);
      m_shards[s]->make_folders = [this] { make_folders(); };
    }
  }

  // True if `root` holds a pack store (its marker file is there).
  [[nodiscard]] static bool holds_pack(const std::filesystem::path& root) {
    struct ::stat info {};
    return ::lstat((root / std::string{detail::pack::marker_name}).c_str(), &info) == 0 && S_ISREG(info.st_mode);
  }

  [[nodiscard]] std::string description() const override {
    return "pack " + m_root + (m_durability == durability::fsync ? " (fsync)" : "");
  }
  [[nodiscard]] std::string locate(const entry_address& address) const override {
    return m_root + "/" + std::string{detail::pack::index_folder} + "/" +
           detail::pack::shard_name(detail::pack::shard_of(address.call)) + " [" + address.call.hex() + "]";
  }
  [[nodiscard]] std::filesystem::path root() const { return m_root; }
  [[nodiscard]] durability durability_level() const noexcept { return m_durability; }
  [[nodiscard]] const compression& compression_settings() const noexcept { return m_compression; }

  void set_sharing(sharing who) noexcept {
    m_sharing.store(who, std::memory_order_relaxed);
    for (auto& shard : m_shards) {
      shard->file_mode.store(file_mode(), std::memory_order_relaxed);
    }
  }
  [[nodiscard]] sharing sharing_mode() const noexcept { return m_sharing.load(std::memory_order_relaxed); }

  // Bounds the store: after saves, the oldest written entries are dropped until it is under
  // 90 % of the limits (space is reclaimed when their segments are compacted, at once for
  // segments no live writer holds). Eviction is by age of writing, not of last use: a hit does
  // not write to a shared cache.
  void set_limits(const cache_limits& limits) {
    const std::lock_guard lock{m_limit_mutex};
    m_limits = limits;
  }
  [[nodiscard]] cache_limits limits() const {
    const std::lock_guard lock{m_limit_mutex};
    return m_limits;
  }

  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto found = shard(address.call).find(address.call);
      if (!found) {
        return std::nullopt;
      }
      const auto segment = m_readers.get(found->value.segment);
      if (!segment) {
        // Compacted away after we read the slot (it points elsewhere now), or unusable.
        m_readers.forget(found->value.segment);
        continue;
      }
      try {
        return read_record(*segment, found->value, address.call, manifest_reading::skip);
      } catch (const format_error& error) {
        drop_damaged(*segment, found->value, error);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  // load() as views: a record of large_entry_size bytes or more read for decoding (read_hint::
  // large), and any record read for a view (mapped, mapped_checked), is memory-mapped from its
  // segment instead of read; its header, call and size are checked, and its checksum left to the
  // reader unless mapped_checked asks for it. Segments are append-only and compaction writes new
  // ones, so a mapped record's bytes never change under the view.
  [[nodiscard]] std::optional<entry_view> read(const entry_address& address, read_hint hint) override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto found = shard(address.call).find(address.call);
      if (!found) {
        return std::nullopt;
      }
      const auto segment = m_readers.get(found->value.segment);
      if (!segment) {
        m_readers.forget(found->value.segment); // compacted away meanwhile, or unusable
        continue;
      }
      const bool map = hint == read_hint::mapped || hint == read_hint::mapped_checked ||
                       (hint == read_hint::large && found->value.length >= large_entry_size);
      try {
        if (!map) {
          return entry_view::of(read_record(*segment, found->value, address.call, manifest_reading::skip));
        }
        return map_record(*segment, found->value, address.call,
                          hint == read_hint::mapped_checked ? verification::checksum : verification::header,
                          hint == read_hint::mapped ? detail::page_loading::on_touch : detail::page_loading::upfront);
      } catch (const format_error& error) {
        drop_damaged(*segment, found->value, error);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  void save(const entry_address& address, const stored_entry& entry) override {
    const auto manifest = detail::encode_manifest(entry.manifest);
    const auto packed = detail::compress_payload(entry.payload, m_compression);
    const std::span<const std::byte> payload = packed ? std::span<const std::byte>{*packed} : entry.payload;
    const auto header = detail::encode_entry_header(address.call, address.function.identity, entry.metadata, manifest,
                                                    payload, packed ? detail::entry_flag_zstd : 0);
    const std::span<const std::byte> parts[] = {header, manifest, payload};
    const auto where = m_writer.append(
        parts, [this] { make_folders(); }, file_mode());
    detail::pack::slot value;
    value.call = address.call;
    value.segment = where.segment;
    value.offset = where.offset;
    value.length = where.length;
    value.state = detail::pack::slot_state::live;
    shard(address.call).put(value);
    after_save(where.length);
  }

  // The slot is there and its record's header checks out (call key, length); the body checksum
  // is not read.
  [[nodiscard]] bool contains(const entry_address& address) override {
    const auto found = shard(address.call).find(address.call);
    if (!found) {
      return false;
    }
    const auto segment = m_readers.get(found->value.segment);
    if (!segment) {
      return false;
    }
    const auto check_header = [&](std::span<const std::byte> head) {
      const auto header = detail::decode_header(head);
      detail::check_entry_call(header, address.call);
      detail::check_entry_size(header, found->value.length);
    };
    if (const auto head = segment->mapped(found->value.offset, detail::entry_header_size); !head.empty()) {
      try {
        check_header(head);
        return true;
      } catch (const format_error&) {
        // Read it again below, with pread, before judging it (see read_record).
        detail::pack::map_fallbacks.records_rechecked.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (segment->map_reserve != 0) {
      detail::pack::map_fallbacks.records_outside_map.fetch_add(1, std::memory_order_relaxed);
    }
    detail::entry_header_bytes bytes{};
    const ::ssize_t got = detail::pack::pread_full(segment->fd.get(), bytes.data(), bytes.size(), found->value.offset);
    try {
      check_header(std::span<const std::byte>{bytes}.first(got < 0 ? 0 : static_cast<std::size_t>(got)));
      return true;
    } catch (const format_error& error) {
      drop_damaged(*segment, found->value, error);
      return false;
    }
  }

  bool erase(const entry_address& address) override { return shard(address.call).remove(address.call); }

  [[nodiscard]] std::vector<entry_description> similar_entries(const function_id& function,
                                                               std::size_t limit) override {
    std::vector<entry_description> out;
    for_each_entry([&](const listed_entry& e) {
      if (e.description.manifest.function == function.name) {
        out.push_back(e.description);
      }
      return out.size() < limit;
    });
    return out;
  }

  // One entry as listing tools see it.
  struct listed_entry {
    entry_description description;
    std::uint64_t size = 0; // bytes of the record
    std::string segment;    // the segment's file name
    std::uint64_t offset = 0;
    std::int64_t created_ns = 0;
    std::int64_t compute_ns = 0;
  };

  // Calls `visit` for every live entry (headers and manifests read, payloads not) until it
  // returns false. Damaged records are skipped (load() drops them when asked for).
  void for_each_entry(const std::function<bool(const listed_entry&)>& visit) {
    for (auto& s : m_shards) {
      for (const auto& slot : s->live_slots()) {
        const auto segment = m_readers.get(slot.segment);
        if (!segment) {
          continue;
        }
        try {
          std::optional<entry_header_and_manifest> read = read_head(*segment, slot);
          if (!read) {
            continue;
          }
          listed_entry e;
          e.description = entry_description{read->header.call, read->header.identity, std::move(read->manifest)};
          e.size = slot.length;
          e.segment = segment->name;
          e.offset = slot.offset;
          e.created_ns = read->header.metadata.created.time_since_epoch().count();
          e.compute_ns = read->header.metadata.compute_time.count();
          if (!visit(e)) {
            return;
          }
        } catch (const std::exception&) {
          continue;
        }
      }
    }
  }

  // The call keys of every live slot, from the index alone (damaged records included).
  [[nodiscard]] std::vector<key> live_keys() {
    std::vector<key> out;
    for (auto& s : m_shards) {
      for (const auto& slot : s->live_slots()) {
        out.push_back(slot.call);
      }
    }
    return out;
  }

  // Reads the entry of `call` whole and checks it (header, key, length, checksum, manifest),
  // changing nothing: the defect, or nullopt if it is sound. For verify.
  [[nodiscard]] std::optional<std::string> check(const key& call) {
    const auto found = shard(call).find(call);
    if (!found) {
      return "not in the index";
    }
    const auto segment = m_readers.get(found->value.segment);
    if (!segment) {
      return "its segment is missing or unreadable";
    }
    try {
      static_cast<void>(read_record(*segment, found->value, call, manifest_reading::decode));
      return std::nullopt;
    } catch (const std::exception& e) {
      return std::string{e.what()};
    }
  }

  // The entry of `call` as the bytes of an entry file (detail/stores/entry_format.hpp), checked
  // whole; nullopt, with `why` set, if it is missing or damaged. For export.
  [[nodiscard]] std::optional<std::vector<std::byte>> entry_file(const key& call, std::string& why) {
    const auto found = shard(call).find(call);
    const auto segment = found ? m_readers.get(found->value.segment) : nullptr;
    if (!segment) {
      why = found ? "its segment is missing or unreadable" : "not in the index";
      return std::nullopt;
    }
    std::vector<std::byte> bytes(static_cast<std::size_t>(found->value.length));
    try {
      if (detail::pack::pread_full(segment->fd.get(), bytes.data(), bytes.size(), found->value.offset) !=
          static_cast<::ssize_t>(bytes.size())) {
        throw format_error{"record truncated: the segment ends inside it"};
      }
      static_cast<void>(detail::decode_entry(bytes, call));
      return bytes;
    } catch (const std::exception& e) {
      why = e.what();
      return std::nullopt;
    }
  }

  // The segment file and offset of the entry of `call`, for people ("<segment>@<offset>").
  [[nodiscard]] std::string where(const key& call) {
    const auto found = shard(call).find(call);
    if (!found) {
      return m_root + "/" + std::string{detail::pack::index_folder} + "/" +
             detail::pack::shard_name(detail::pack::shard_of(call)) + " [" + call.hex() + "]";
    }
    const auto segment = m_readers.get(found->value.segment);
    return m_root + "/" + std::string{detail::pack::segment_folder} + "/" +
           (segment ? segment->name : std::string{"?"}) + "@" + std::to_string(found->value.offset);
  }

  // Live entries and their bytes, from the index alone (fast: no record is read).
  struct usage {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
    std::size_t segments = 0;
    std::uint64_t segment_bytes = 0; // every segment file, dead records included
  };
  [[nodiscard]] usage measure() {
    usage u;
    for (auto& s : m_shards) {
      for (const auto& slot : s->live_slots()) {
        ++u.entries;
        u.bytes += slot.length;
      }
    }
    for (const auto& name : m_readers.list()) {
      ++u.segments;
      u.segment_bytes += segment_file_size(name);
    }
    return u;
  }

  // Rewrites segments that waste space (or every segment, with compaction_scope::all) that no
  // live writer holds: copies their live records to this process's segment, points the index
  // at the copies, deletes the old files. Readers are never blocked: a reader that read a slot
  // just before it moved still reads the old file through its open descriptor, or finds the
  // file gone and reads the slot again. Safe to kill at any point (the old segment stays until
  // every slot has moved; a copy no slot points at is dropped by the next compaction), and to
  // run in several processes at once (each segment is taken by one, under its writer lock).
  compaction_report compact(compaction_scope scope = compaction_scope::wasteful) {
    compaction_report report;
    const std::lock_guard compacting{m_compaction_mutex};
    const auto names = m_readers.list();
    report.segments_before = names.size();
    // Live records per segment, from a snapshot of the index.
    std::unordered_map<std::uint64_t, std::vector<detail::pack::slot>> live;
    for (auto& s : m_shards) {
      for (const auto& slot : s->live_slots()) {
        live[slot.segment].push_back(slot);
      }
    }
    const std::string own = m_writer.current_name();
    // Small segments are merged only when there are several: rewriting a lone one gains nothing.
    std::size_t small = 0;
    for (const auto& name : names) {
      small += name != own && segment_file_size(name) * 4 < m_settings.max_segment_size ? 1 : 0;
    }
    for (const auto& name : names) {
      const std::uint64_t size = segment_file_size(name);
      report.bytes_before += size;
      if (name == own) {
        report.bytes_after += size;
        continue;
      }
      const std::uint64_t id = detail::pack::segment_id(name);
      const auto& records = live[id];
      std::uint64_t live_bytes = 0;
      for (const auto& r : records) {
        live_bytes += r.length;
      }
      const bool wasteful = live_bytes * 2 <= size || (small > 1 && size * 4 < m_settings.max_segment_size);
      if (scope == compaction_scope::wasteful && !wasteful) {
        report.bytes_after += size;
        continue;
      }
      if (!compact_segment(name, id, records, report)) {
        report.bytes_after += size;
      }
    }
    const std::string now_own = m_writer.current_name();
    if (!now_own.empty() && now_own != own) {
      report.bytes_after += segment_file_size(now_own);
    }
    return report;
  }

  // Drops the oldest entries until the store is under 90 % of its limits, then compacts; returns
  // the entries dropped.
  std::size_t enforce_limits() {
    const cache_limits limits = this->limits();
    if (!limits.max_size && !limits.max_entries) {
      return 0;
    }
    std::vector<std::pair<std::int64_t, detail::pack::slot>> all; // (segment created, slot)
    std::unordered_map<std::uint64_t, std::int64_t> created;
    std::uint64_t bytes = 0;
    for (auto& s : m_shards) {
      for (const auto& slot : s->live_slots()) {
        auto it = created.find(slot.segment);
        if (it == created.end()) {
          const auto segment = m_readers.get(slot.segment);
          it = created.emplace(slot.segment, segment ? segment_created(*segment) : 0).first;
        }
        all.emplace_back(it->second, slot);
        bytes += slot.length;
      }
    }
    const auto over = [&](double fraction) {
      return (limits.max_size && static_cast<double>(bytes) > fraction * static_cast<double>(*limits.max_size)) ||
             (limits.max_entries &&
              static_cast<double>(all.size()) > fraction * static_cast<double>(*limits.max_entries));
    };
    if (!over(1.0)) {
      record_usage(bytes);
      return 0;
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second.offset < b.second.offset;
    });
    std::size_t dropped = 0;
    std::uint64_t entries = all.size();
    for (const auto& [when, slot] : all) {
      if (!((limits.max_size && static_cast<double>(bytes) > 0.9 * static_cast<double>(*limits.max_size)) ||
            (limits.max_entries && static_cast<double>(entries) > 0.9 * static_cast<double>(*limits.max_entries)))) {
        break;
      }
      if (shard(slot.call).remove(slot.call, std::pair{slot.segment, slot.offset})) {
        ++dropped;
      }
      bytes -= slot.length;
      --entries;
    }
    record_usage(bytes);
    static_cast<void>(compact(compaction_scope::wasteful));
    return dropped;
  }

  // Adds to <root>/stats/<function folder> under a flock. Stats are advisory.
  void record_stats(const function_id& function, const function_stats& delta) override {
    const std::string relative = stats_relative(function);
    detail::fsio::unique_fd fd{m_root_folder.open(relative.c_str(), O_RDWR | O_CREAT | O_NONBLOCK, file_mode())};
    if (!fd && errno == ENOENT && delta.stores > 0) {
      try {
        make_folders();
      } catch (const store_error&) {
        return;
      }
      fd.reset(m_root_folder.open(relative.c_str(), O_RDWR | O_CREAT | O_NONBLOCK, file_mode(),
                                  detail::fsio::root_folder::root_check::now));
    }
    if (fd) {
      struct ::stat info {};
      if (::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode)) {
        static_cast<void>(detail::add_stats(fd.get(), delta));
      }
    }
  }

  [[nodiscard]] std::optional<function_stats> recorded_stats(const function_id& function) override {
    return stats(function);
  }

  [[nodiscard]] function_stats stats(const function_id& function) const {
    const detail::fsio::unique_fd fd{m_root_folder.open(stats_relative(function).c_str(), O_RDONLY | O_NONBLOCK)};
    struct ::stat info {};
    return fd && ::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode) ? detail::read_stats(fd.get())
                                                                        : function_stats{};
  }

  // One attempt at lock_for_compute()'s lock, for recall::sweep: busy while another process
  // holds the key's byte. The holder record is lock_for_compute()'s (no label).
  [[nodiscard]] lock_attempt try_lock_for_compute(const entry_address& address, std::string_view /*label*/) override {
    auto lock = lock_for_compute(address, std::chrono::milliseconds{0});
    const lock_outcome outcome = lock ? lock_outcome::acquired : lock_outcome::busy;
    return {outcome, std::move(lock)};
  }

  // Single flight across processes and hosts: an OFD lock on one byte of <root>/locks at an
  // offset taken from the call key, as directory_store does. The kernel (or the file system's
  // lock manager) drops it when its holder's descriptor closes or its process dies, so a dead
  // holder on another host never blocks anyone, and no pid is ever judged. The holder writes
  // "<key> <host>.<boot> <pid>" into a 128-byte slot of the file, for people.
  [[nodiscard]] std::unique_ptr<compute_lock> lock_for_compute(const entry_address& address,
                                                               std::chrono::milliseconds wait_limit) override {
    const std::string relative{detail::pack::lock_file_name};
    detail::fsio::unique_fd fd{m_root_folder.open(relative.c_str(), O_RDWR | O_CREAT | O_NONBLOCK, file_mode())};
    if (!fd && errno == ENOENT) {
      make_folders();
      fd.reset(m_root_folder.open(relative.c_str(), O_RDWR | O_CREAT | O_NONBLOCK, file_mode(),
                                  detail::fsio::root_folder::root_check::now));
    }
    if (!fd) {
      detail::fsio::throw_io_error("cannot open lock file", m_root + "/" + relative, errno);
    }
    struct ::stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
      throw store_error{"lock file " + m_root + "/" + relative + " is not a regular file"};
    }
    // Above the holder records (1024 slots of 128 bytes), so a lock never overlaps a record write.
    const std::uint64_t at = (std::uint64_t{1} << 20) + (address.call.low() >> 4);
    const auto deadline = std::chrono::steady_clock::now() + wait_limit;
    auto pause = std::chrono::milliseconds{1};
    while (!detail::pack::lock_byte(fd.get(), at, false)) {
      if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
        detail::fsio::throw_io_error("cannot lock", m_root + "/" + relative, errno);
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return nullptr;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds{50});
    }
    std::array<char, 128> record{};
    record.fill(' ');
    address.call.write_hex(record.data());
    const std::string who = detail::pack::host_identity() + " " + std::to_string(::getpid());
    std::copy_n(who.data(), std::min<std::size_t>(who.size(), record.size() - 35), record.data() + 33);
    record.back() = '\n';
    static_cast<void>(::pwrite(fd.get(), record.data(), record.size(),
                               static_cast<::off_t>((address.call.low() % 1024) * record.size())));
    return std::make_unique<held_lock>(std::move(fd));
  }

private:
  class held_lock final : public compute_lock {
  public:
    explicit held_lock(detail::fsio::unique_fd fd) noexcept : m_fd{std::move(fd)} {}

  private:
    detail::fsio::unique_fd m_fd;
  };

  enum class manifest_reading { skip, decode };

  struct entry_header_and_manifest {
    detail::entry_header header;
    entry_manifest manifest;
  };

  [[nodiscard]] static std::string normalized_root(const std::filesystem::path& root) {
    if (root.empty()) {
      throw config_error{"pack_store: the root folder path is empty"};
    }
    std::string text = std::filesystem::absolute(root).lexically_normal().string();
    while (text.size() > 1 && text.back() == '/') {
      text.pop_back();
    }
    return text;
  }

  [[nodiscard]] detail::pack::index_shard& shard(const key& call) { return *m_shards[detail::pack::shard_of(call)]; }

  [[nodiscard]] std::string stats_relative(const function_id& function) const {
    return std::string{detail::pack::stats_folder} + "/" + directory_store::folder_name(function);
  }

  [[nodiscard]] ::mode_t file_mode() const noexcept {
    return m_sharing.load(std::memory_order_relaxed) == sharing::group ? 0660 : 0600;
  }
  [[nodiscard]] ::mode_t folder_mode() const noexcept {
    return m_sharing.load(std::memory_order_relaxed) == sharing::group ? 02770 : 0700;
  }

  // Reads and checks the record `slot` points at: in place from the segment's map when it is
  // smaller than large_entry_size and inside the map, else by pread. The checks are the same
  // either way: header checksum, call key, length, and the body's checksum, computed over the
  // copy of the payload that is returned. A record that fails them in the map is read again
  // with pread before it is judged damaged: on a network file system a map is not revalidated
  // the way a read is (NFS drops a changed file's cached pages, and their maps, on a read), so
  // the last page of a segment another host appends to could be stale in the map.
  // Throws format_error on any defect.
  [[nodiscard]] static stored_entry read_record(const detail::pack::open_segment& segment,
                                                const detail::pack::slot& slot, const key& expected_call,
                                                manifest_reading reading) {
    if (slot.length < large_entry_size) {
      if (const std::span<const std::byte> record = segment.mapped(slot.offset, slot.length); !record.empty()) {
        try {
          return read_mapped_record(record, slot, expected_call, reading);
        } catch (const format_error&) {
          detail::pack::map_fallbacks.records_rechecked.fetch_add(1, std::memory_order_relaxed);
        }
      } else if (segment.map_reserve != 0) {
        detail::pack::map_fallbacks.records_outside_map.fetch_add(1, std::memory_order_relaxed);
      }
    }
    std::array<std::byte, 4096> head; // NOLINT(cppcoreguidelines-pro-type-member-init): filled by pread
    const std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(slot.length, head.size()));
    const ::ssize_t got_signed = detail::pack::pread_full(segment.fd.get(), head.data(), wanted, slot.offset);
    if (got_signed < 0) {
      detail::fsio::throw_io_error("cannot read segment", segment.name, errno);
    }
    const auto got = static_cast<std::size_t>(got_signed);
    if (got < wanted) {
      throw format_error{"record truncated: the segment ends inside it"};
    }
    const detail::entry_header header = detail::decode_header(std::span<const std::byte>{head}.first(got));
    detail::check_entry_call(header, expected_call);
    detail::check_entry_size(header, slot.length);
    const std::size_t manifest_end = detail::entry_header_size + header.manifest_size;
    std::vector<std::byte> manifest(header.manifest_size);
    std::vector<std::byte> payload(static_cast<std::size_t>(header.payload_size));
    const std::size_t in_head_manifest = std::min(got, manifest_end) - std::min(got, detail::entry_header_size);
    std::copy_n(head.data() + detail::entry_header_size, in_head_manifest, manifest.data());
    const std::size_t in_head_payload = got > manifest_end ? got - manifest_end : 0;
    std::copy_n(head.data() + manifest_end, std::min<std::size_t>(in_head_payload, payload.size()), payload.data());
    ::iovec rest[2] = {{manifest.data() + in_head_manifest, manifest.size() - in_head_manifest},
                       {payload.data() + in_head_payload, payload.size() - in_head_payload}};
    const std::size_t expected_rest = rest[0].iov_len + rest[1].iov_len;
    if (expected_rest != 0) {
      std::size_t done = 0;
      ::iovec* iov = rest;
      int count = 2;
      std::uint64_t at = slot.offset + got;
      while (done < expected_rest) {
        const ::ssize_t n = ::preadv(segment.fd.get(), iov, count, static_cast<::off_t>(at));
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n < 0) {
          detail::fsio::throw_io_error("cannot read segment", segment.name, errno);
        }
        if (n == 0) {
          throw format_error{"record truncated: the segment ends inside it"};
        }
        auto left = static_cast<std::size_t>(n);
        done += left;
        at += left;
        while (count > 0 && left >= iov->iov_len) {
          left -= iov->iov_len;
          ++iov;
          --count;
        }
        if (count > 0) {
          iov->iov_base = static_cast<std::byte*>(iov->iov_base) + left;
          iov->iov_len -= left;
        }
      }
    }
    detail::verify_entry(header, expected_call, manifest, payload);
    stored_entry entry{detail::unpack_payload(header, std::move(payload)), header.metadata, {}};
    if (reading == manifest_reading::decode) {
      entry.manifest = detail::decode_manifest(manifest);
    }
    return entry;
  }

  // read_record() of a record in the segment's map (`record`: its slot.length bytes).
  [[nodiscard]] static stored_entry read_mapped_record(std::span<const std::byte> record,
                                                       const detail::pack::slot& slot, const key& expected_call,
                                                       manifest_reading reading) {
    const detail::entry_header header = detail::decode_header(record);
    detail::check_entry_call(header, expected_call);
    detail::check_entry_size(header, slot.length);
    const std::size_t manifest_end = detail::entry_header_size + header.manifest_size;
    // Copied out before they are checked: what is checked is what is returned.
    std::vector<std::byte> payload(record.begin() + static_cast<std::ptrdiff_t>(manifest_end), record.end());
    std::vector<std::byte> manifest;
    std::span<const std::byte> manifest_bytes = record.subspan(detail::entry_header_size, header.manifest_size);
    if (reading == manifest_reading::decode) {
      manifest.assign(manifest_bytes.begin(), manifest_bytes.end());
      manifest_bytes = manifest;
    }
    detail::verify_entry(header, expected_call, manifest_bytes, payload);
    stored_entry entry{detail::unpack_payload(header, std::move(payload)), header.metadata, {}};
    if (reading == manifest_reading::decode) {
      entry.manifest = detail::decode_manifest(manifest);
    }
    return entry;
  }

  // The record `slot` points at, memory-mapped; header, call and size checked, and the checksum
  // too when `check` says so (otherwise deferred to the reader). Throws format_error.
  [[nodiscard]] static entry_view map_record(const detail::pack::open_segment& segment, const detail::pack::slot& slot,
                                             const key& expected_call, verification check,
                                             detail::page_loading loading) {
    struct ::stat info {};
    if (::fstat(segment.fd.get(), &info) != 0) {
      detail::fsio::throw_io_error("cannot stat segment", segment.name, errno);
    }
    // A record past the segment's end would fault (SIGBUS) when touched: refuse it here.
    if (slot.length < detail::entry_header_size || static_cast<std::uint64_t>(info.st_size) < slot.offset ||
        static_cast<std::uint64_t>(info.st_size) - slot.offset < slot.length) {
      throw format_error{"record truncated: the segment ends inside it"};
    }
    auto mapping = std::make_shared<const detail::file_mapping>(
        segment.fd.get(), slot.offset, static_cast<std::size_t>(slot.length), segment.name, loading);
    const std::span<const std::byte> bytes = mapping->bytes();
    const detail::entry_header header = detail::decode_header(bytes);
    detail::check_entry_call(header, expected_call);
    detail::check_entry_size(header, slot.length);
    return detail::mapped_entry_view(std::move(mapping), header, check);
  }

  // The header and manifest of the record at `slot`, for listing; nullopt if unreadable.
  [[nodiscard]] static std::optional<entry_header_and_manifest> read_head(const detail::pack::open_segment& segment,
                                                                          const detail::pack::slot& slot) {
    std::array<std::byte, 4096> head{};
    const std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(slot.length, head.size()));
    const ::ssize_t got = detail::pack::pread_full(segment.fd.get(), head.data(), wanted, slot.offset);
    if (got < static_cast<::ssize_t>(detail::entry_header_size)) {
      return std::nullopt;
    }
    const detail::entry_header header =
        detail::decode_header(std::span<const std::byte>{head}.first(static_cast<std::size_t>(got)));
    if (header.call != slot.call || header.file_size() != slot.length) {
      return std::nullopt;
    }
    std::vector<std::byte> manifest(header.manifest_size);
    const std::size_t in_head =
        std::min<std::size_t>(static_cast<std::size_t>(got) - detail::entry_header_size, manifest.size());
    std::copy_n(head.data() + detail::entry_header_size, in_head, manifest.data());
    if (in_head < manifest.size() &&
        detail::pack::pread_full(segment.fd.get(), manifest.data() + in_head, manifest.size() - in_head,
                                 slot.offset + detail::entry_header_size + in_head) !=
            static_cast<::ssize_t>(manifest.size() - in_head)) {
      return std::nullopt;
    }
    return entry_header_and_manifest{header, detail::decode_manifest(manifest)};
  }

  // A record failed its checks: drop its slot (if it still points there) so the entry is
  // recomputed, and say so once.
  void drop_damaged(const detail::pack::open_segment& segment, const detail::pack::slot& slot,
                    const format_error& error) {
    const std::string_view reason = error.reason();
    bool removed = false;
    try {
      removed = shard(slot.call).remove(slot.call, std::pair{slot.segment, slot.offset});
    } catch (const store_error&) {
      // A read-only cache: the entry stays damaged and keeps reading as a miss.
    }
    log(log_level::warning, std::string{removed ? "dropped damaged cache entry " : "damaged cache entry "} + m_root +
                                "/" + std::string{detail::pack::segment_folder} + "/" + segment.name + " at " +
                                std::to_string(slot.offset) + ": " + std::string{reason});
  }

  [[nodiscard]] std::uint64_t segment_file_size(const std::string& name) const {
    const std::string relative = std::string{detail::pack::segment_folder} + "/" + name;
    const detail::fsio::unique_fd fd{m_root_folder.open(relative.c_str(), O_PATH)};
    struct ::stat info {};
    return fd && ::fstat(fd.get(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
  }

  [[nodiscard]] static std::int64_t segment_created(const detail::pack::open_segment& segment) {
    std::array<std::byte, detail::pack::segment_header_size> bytes{};
    detail::pack::segment_header header;
    if (detail::pack::pread_full(segment.fd.get(), bytes.data(), bytes.size(), 0) ==
            static_cast<::ssize_t>(bytes.size()) &&
        detail::pack::decode_segment_header(bytes, header) == detail::pack::segment_verdict::good) {
      return header.created_ns;
    }
    return 0;
  }

  // Compacts one segment if no writer holds it; false if it was left in place.
  bool compact_segment(const std::string& name, std::uint64_t id, const std::vector<detail::pack::slot>& records,
                       compaction_report& report) {
    const std::string relative = std::string{detail::pack::segment_folder} + "/" + name;
    const detail::fsio::unique_fd fd{m_root_folder.open(relative.c_str(), O_RDWR | O_NONBLOCK)};
    struct ::stat info {};
    if (!fd || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
      return false;
    }
    if (!detail::pack::lock_byte(fd.get(), 0, false)) {
      ++report.busy;
      return false;
    }
    std::array<std::byte, detail::pack::segment_header_size> head{};
    detail::pack::segment_header header;
    const bool readable =
        detail::pack::pread_full(fd.get(), head.data(), head.size(), 0) == static_cast<::ssize_t>(head.size());
    if (readable && detail::pack::decode_segment_header(head, header) == detail::pack::segment_verdict::newer_version) {
      return false; // another version's file: not ours to rewrite
    }
    detail::pack::open_segment segment;
    segment.fd.reset(::dup(fd.get()));
    segment.name = name;
    std::map<std::size_t, std::vector<detail::pack::index_shard::move>> moves;
    for (const auto& slot : records) {
      std::vector<std::byte> body;
      try {
        // Copied byte for byte: read and checked whole, then appended as it was.
        body.resize(static_cast<std::size_t>(slot.length));
        if (detail::pack::pread_full(fd.get(), body.data(), body.size(), slot.offset) !=
            static_cast<::ssize_t>(body.size())) {
          throw format_error{"record truncated: the segment ends inside it"};
        }
        static_cast<void>(detail::decode_entry(body, slot.call));
      } catch (const format_error& error) {
        ++report.damaged;
        drop_damaged(segment, slot, error);
        continue;
      }
      const std::span<const std::byte> parts[] = {body};
      const auto where = m_writer.append(
          parts, [this] { make_folders(); }, file_mode());
      detail::pack::slot target = slot;
      target.segment = where.segment;
      target.offset = where.offset;
      moves[detail::pack::shard_of(slot.call)].push_back({slot.call, slot.segment, slot.offset, target});
    }
    for (auto& [s, list] : moves) {
      report.records_moved += m_shards[s]->relocate(list);
    }
    const detail::fsio::unique_fd folder{
        m_root_folder.open(std::string{detail::pack::segment_folder}.c_str(), O_RDONLY | O_DIRECTORY)};
    if (!folder || ::unlinkat(folder.get(), name.c_str(), 0) != 0) {
      return false;
    }
    m_readers.forget(id);
    ++report.segments_removed;
    return true;
  }

  // After each save: keep a running total and enforce the limits when it passes one.
  void after_save(std::uint64_t bytes) {
    bool check = false;
    {
      const std::lock_guard lock{m_limit_mutex};
      if (!m_limits.max_size && !m_limits.max_entries) {
        return;
      }
      if (!m_usage_known) {
        check = true;
      } else {
        m_usage_bytes += bytes;
        m_usage_entries += 1;
        check = (m_limits.max_size && m_usage_bytes > *m_limits.max_size) ||
                (m_limits.max_entries && m_usage_entries > *m_limits.max_entries);
      }
    }
    if (check) {
      try {
        static_cast<void>(enforce_limits());
      } catch (const std::exception& e) {
        log(log_level::warning, "cache size limit not enforced: " + std::string{e.what()});
      }
    }
  }

  void record_usage(std::uint64_t bytes) {
    std::uint64_t entries = 0;
    for (auto& s : m_shards) {
      if (auto h = s->header()) {
        entries += h->live;
      }
    }
    const std::lock_guard lock{m_limit_mutex};
    m_usage_known = true;
    m_usage_bytes = bytes;
    m_usage_entries = entries;
  }

  // Creates the root (and its parents), index/, segments/, stats/, the marker and CACHEDIR.TAG.
  void make_folders() {
    std::error_code error;
    std::filesystem::create_directories(m_root, error);
    if (error) {
      detail::fsio::throw_io_error("cannot create folder", m_root, error.value());
    }
    for (const std::string_view sub :
         {detail::pack::index_folder, detail::pack::segment_folder, detail::pack::stats_folder}) {
      const std::string path = m_root + "/" + std::string{sub};
      if (::mkdir(path.c_str(), folder_mode()) == 0) {
        if (m_sharing.load(std::memory_order_relaxed) == sharing::group) {
          static_cast<void>(::chmod(path.c_str(), folder_mode()));
        }
      } else if (errno != EEXIST) {
        detail::fsio::throw_io_error("cannot create folder", path, errno);
      } else {
        struct ::stat info {};
        if (::lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
          throw store_error{"refusing " + path + ": not a folder (a symbolic link or a file is in the way)"};
        }
      }
    }
    write_small_file(detail::pack::marker_name, detail::pack::marker_content);
    write_small_file(directory_store::cachedir_tag_name, directory_store::cachedir_tag_content);
  }

  void write_small_file(std::string_view name, std::string_view content) const {
    const std::string path = m_root + "/" + std::string{name};
    if (::access(path.c_str(), F_OK) == 0) {
      return;
    }
    detail::atomic_file file{path, m_durability, 0644};
    file.write(std::as_bytes(std::span{content}));
    file.commit();
  }

  std::string m_root;
  durability m_durability;
  compression m_compression;
  pack_settings m_settings;
  std::atomic<sharing> m_sharing{sharing::private_to_user};
  mutable detail::fsio::root_folder m_root_folder;
  detail::pack::segment_writer m_writer;
  detail::pack::segment_readers m_readers;
  std::array<std::unique_ptr<detail::pack::index_shard>, detail::pack::shard_count> m_shards;
  mutable std::mutex m_limit_mutex;
  cache_limits m_limits;
  bool m_usage_known = false;
  std::uint64_t m_usage_bytes = 0;
  std::uint64_t m_usage_entries = 0;
  std::mutex m_compaction_mutex;
};

} // namespace recall
