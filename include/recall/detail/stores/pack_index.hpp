// One shard of a pack store's index (<root>/index/<ss>): lock-free lookups read in place from a
// read-only map of the file (pread where it cannot be mapped), changes under the file's OFD lock
// with pwrite, growth by writing a larger copy and renaming it into place.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <recall/detail/stores/fsio.hpp>
#include <recall/detail/stores/open_beneath.hpp>
#include <recall/detail/stores/pack_format.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>

namespace recall::detail::pack {

// Whole positioned reads and writes (detail/stores/fsio.hpp), as the pack store's files use them.
using fsio::pread_full;
using fsio::pwrite_full;

#if defined(F_OFD_SETLKW)
inline constexpr int lock_wait_command = F_OFD_SETLKW;
inline constexpr int lock_try_command = F_OFD_SETLK;
#else
inline constexpr int lock_wait_command = F_SETLKW;
inline constexpr int lock_try_command = F_SETLK;
#endif

// Takes (blocking) or tries (not blocking) the write lock on byte `at` of the file open as `fd`:
// an OFD lock, held by the open file description, dropped by the kernel when it is closed or its
// holder dies, on any host of a file system whose locks are shared (NFSv4, Lustre with flock).
// True if held.
[[nodiscard]] inline bool lock_byte(int fd, std::uint64_t at, bool wait) noexcept {
  struct ::flock range {};
  range.l_type = F_WRLCK;
  range.l_whence = SEEK_SET;
  range.l_start = static_cast<::off_t>(at);
  range.l_len = 1;
  while (::fcntl(fd, wait ? lock_wait_command : lock_try_command, &range) != 0) {
    if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

// Copies `bytes` (a multiple of 8) from `from` (8-byte aligned) in a memory map that other
// threads and processes write to with pwrite, 8 bytes at a time with relaxed atomic loads, then
// an acquire fence: the copy is what the caller decodes (and checksums), never the map itself,
// so a word changing under the reader shows up as a bad checksum of the copy, not as a torn
// decode; and reads the slot leads to (a record) are not ordered before it.
inline void copy_shared(std::byte* to, const std::byte* from, std::size_t bytes) noexcept {
  for (std::size_t i = 0; i < bytes; i += sizeof(std::uint64_t)) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast,cppcoreguidelines-pro-type-reinterpret-cast)
    auto& word = *reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(from + i));
    const std::uint64_t value = std::atomic_ref<std::uint64_t>{word}.load(std::memory_order_relaxed);
    std::memcpy(to + i, &value, sizeof value);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
}

inline void unlock_byte(int fd, std::uint64_t at) noexcept {
  struct ::flock range {};
  range.l_type = F_UNLCK;
  range.l_whence = SEEK_SET;
  range.l_start = static_cast<::off_t>(at);
  range.l_len = 1;
  static_cast<void>(::fcntl(fd, lock_try_command, &range));
}

// Process-wide counts of lookups that could not be served from the maps although maps were in
// use: rare paths only (a hit from the maps counts nothing). On a local file system each stays
// 0 unless a record is damaged or a file was cut short; on a network file system they count
// what the maps missed and pread found. For tests and diagnostics.
struct map_fallback_counts {
  // A slot the index map did not show and pread did (after the miss reopened the index).
  std::atomic<std::uint64_t> slots_found_by_pread{0};
  // A record past the segment's end as its map saw it (or its segment could not be mapped).
  std::atomic<std::uint64_t> records_outside_map{0};
  // A record that failed its checks in the map, read again with pread.
  std::atomic<std::uint64_t> records_rechecked{0};
};
inline map_fallback_counts map_fallbacks;

// What a lookup found.
struct found_slot {
  slot value;
  std::uint32_t position = 0;
};

// One index shard. Thread-safe. Lookups take no lock (neither a mutex nor a file lock) and make
// no system call: they read slots from a MAP_SHARED, PROT_READ map of the file taken when it is
// opened, which sees every slot a writer pwrites (on Linux a shared file map and the page cache
// are the same pages). Changes are serialized across threads and processes by the OFD lock on
// byte 0 of the file. Growth renames a new file over the path: a lookup that misses reopens the
// path and maps the new file; the old handle, its descriptor and its map stay until the shard
// is destroyed, for lookups still reading them.
class index_shard {
public:
  // `root`: the store's root folder; `relative`: "index/<ss>". `make_folders` creates the store's
  // folders (called when a change finds them missing). `temp_tag` names this writer in temp
  // file names (host, boot id, pid). `mode`: the file mode for what this shard creates.
  index_shard(fsio::root_folder& root, std::size_t shard, std::string display_root, std::string temp_tag)
      : m_root{root}, m_shard{shard}, m_relative{std::string{index_folder} + "/" + shard_name(shard)},
        m_display{std::move(display_root) + "/" + m_relative}, m_temp_tag{std::move(temp_tag)} {}
  index_shard(const index_shard&) = delete;
  index_shard& operator=(const index_shard&) = delete;
  ~index_shard() {
    if (handle* h = m_current.load(std::memory_order_acquire); h != nullptr) {
      release(*h);
      delete h; // NOLINT(cppcoreguidelines-owning-memory): published as a raw pointer for lock-free reads
    }
    for (const auto& h : m_retired) {
      release(*h);
    }
  }

  [[nodiscard]] const std::string& path() const noexcept { return m_display; }

  // The live slot for `call`, if any. Never throws for a damaged or missing index (it reads as
  // empty, warned once); throws store_error for I/O errors.
  [[nodiscard]] std::optional<found_slot> find(const key& call) {
    const handle* h = current(false);
    if (h != nullptr && h->usable()) {
      if (auto hit = probe(*h, call)) {
        return hit;
      }
    }
    // Not there: the index may have been replaced (grown, repaired) since this process opened it.
    const handle* fresh = current(true);
    if (fresh == nullptr || !fresh->usable()) {
      return std::nullopt;
    }
    if (fresh != h) {
      return probe(*fresh, call);
    }
    if (fresh->map != nullptr) {
      // The same file, read from its map: look once more with pread. On a network file system
      // a read revalidates the client's cached pages (and drops changed ones from every map of
      // the file), which reading a map never does; a slot another host wrote is found here,
      // and through the map from then on. On a local file system the map was up to date.
      handle unmapped = *fresh;
      unmapped.map = nullptr;
      auto found = probe(unmapped, call);
      if (found) {
        map_fallbacks.slots_found_by_pread.fetch_add(1, std::memory_order_relaxed);
      }
      return found;
    }
    return std::nullopt;
  }

  // Changes the index under its file lock: `change` gets the open descriptor and the header, and
  // returns true if it changed the header's counts (written back afterwards). Creates, repairs
  // or grows the file first as needed. Throws store_error.
  struct locked {
    int fd;
    index_header header;
    fsio::unique_fd replacement{}; // set by replace_with: the new file, locked, now at the path
    bool grew = false;
  };

  // Points `call` at a record; replaces the slot of an earlier record of the same key.
  void put(const slot& value) {
    change([&](locked& l) {
      grow_if_needed(l, 1);
      const auto where = locate_for_insert(l, value.call);
      write_slot(l.fd, where.position, value);
      if (!where.existing) {
        ++l.header.live;
        if (where.reused_removed) {
          --l.header.removed;
        }
      }
      return true;
    });
  }

  // Marks the slot of `call` removed; if `only_if` is set, only when it still points at that
  // (segment, offset). True if a slot was removed.
  bool remove(const key& call, std::optional<std::pair<std::uint64_t, std::uint64_t>> only_if = std::nullopt) {
    bool removed = false;
    change([&](locked& l) {
      auto found = probe_locked(l, call);
      if (!found || (only_if && !found->value.points_at(only_if->first, only_if->second))) {
        return false;
      }
      slot dead = found->value;
      dead.state = slot_state::removed;
      write_slot(l.fd, found->position, dead);
      l.header.live -= std::min<std::uint32_t>(l.header.live, 1);
      ++l.header.removed;
      removed = true;
      return true;
    });
    return removed;
  }

  // Moves slots from old record locations to new ones, each only if it still points at the old
  // one (compaction: a newer save of the key wins). Returns how many moved.
  struct move {
    key call;
    std::uint64_t old_segment;
    std::uint64_t old_offset;
    slot target;
  };
  std::size_t relocate(const std::vector<move>& moves) {
    std::size_t moved = 0;
    change([&](locked& l) {
      for (const auto& m : moves) {
        auto found = probe_locked(l, m.call);
        if (found && found->value.points_at(m.old_segment, m.old_offset)) {
          write_slot(l.fd, found->position, m.target);
          ++moved;
        }
      }
      return false;
    });
    return moved;
  }

  // Every live slot, read without the lock (a snapshot good enough for listing and compaction,
  // which re-check under the lock before they change anything). Empty for a missing or damaged
  // index.
  [[nodiscard]] std::vector<slot> live_slots() {
    std::vector<slot> out;
    const handle* h = current(true);
    if (h == nullptr || !h->usable()) {
      return out;
    }
    std::vector<std::byte> bytes(std::size_t{h->capacity} * slot_size);
    const ::ssize_t got = pread_full(h->fd, bytes.data(), bytes.size(), index_header_size);
    if (got != static_cast<::ssize_t>(bytes.size())) {
      return out;
    }
    for (std::size_t i = 0; i < h->capacity; ++i) {
      if (auto s = decode_slot(bytes.data() + i * slot_size); s && s->state == slot_state::live) {
        out.push_back(*s);
      }
    }
    return out;
  }

  // The header of the index as it stands (zeros for a missing one); nullopt if damaged.
  [[nodiscard]] std::optional<index_header> header() {
    const handle* h = current(true);
    if (h == nullptr || h->fd < 0) {
      return index_header{static_cast<std::uint16_t>(m_shard), 0, 0, 0};
    }
    if (!h->usable()) {
      return h->empty ? std::optional<index_header>{index_header{static_cast<std::uint16_t>(m_shard), 0, 0, 0}}
                      : std::nullopt;
    }
    std::array<std::byte, index_header_size> bytes{};
    if (pread_full(h->fd, bytes.data(), bytes.size(), 0) != static_cast<::ssize_t>(bytes.size())) {
      return std::nullopt;
    }
    struct ::stat info {};
    if (::fstat(h->fd, &info) != 0) {
      return std::nullopt;
    }
    try {
      return decode_index_header(bytes, static_cast<std::uint64_t>(info.st_size), m_shard);
    } catch (const format_error&) {
      return std::nullopt;
    }
  }

  // Makes folders on demand; set by the store.
  std::function<void()> make_folders;
  // Mode of a file this shard creates (set when the store's sharing changes, read by saves).
  std::atomic<::mode_t> file_mode{0600};

private:
  // An open index file as this process knows it. Immutable once published.
  struct handle {
    int fd = -1;
    std::uint32_t capacity = 0;
    bool empty = false; // exists but holds nothing yet (size 0)
    ::dev_t dev{};
    ::ino_t ino{};
    // The whole file mapped read-only (map_length: its size by fstat when mapped, which its
    // header's capacity was checked against), or null where it could not be mapped: pread then.
    const std::byte* map = nullptr;
    std::size_t map_length = 0;
    [[nodiscard]] bool usable() const noexcept { return fd >= 0 && capacity != 0; }
  };

  static void release(handle& h) noexcept {
    if (h.map != nullptr) {
      ::munmap(const_cast<std::byte*>(h.map), h.map_length); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    if (h.fd >= 0) {
      ::close(h.fd);
    }
  }

  struct insert_place {
    std::uint32_t position = 0;
    bool existing = false;
    bool reused_removed = false;
  };

  static constexpr std::uint32_t probe_window = 8;

  // The published handle; `recheck` compares it with what the path names now and reopens if
  // it changed (or opens it if there was none). nullptr when there is no index file.
  const handle* current(bool recheck) {
    handle* h = m_current.load(std::memory_order_acquire);
    if (h != nullptr && !recheck) {
      return h;
    }
    const std::lock_guard lock{m_mutex};
    h = m_current.load(std::memory_order_acquire);
    struct ::stat now {};
    fsio::unique_fd probe_fd{m_root.open(m_relative.c_str(), O_RDONLY | O_NONBLOCK)};
    if (!probe_fd) {
      if (errno != ENOENT) {
        warn_once_here("cannot open index " + m_display + ": " + fsio::errno_message(errno) +
                       "; its entries read as misses");
      }
      return h;
    }
    if (::fstat(probe_fd.get(), &now) != 0) {
      return h;
    }
    if (h != nullptr && h->dev == now.st_dev && h->ino == now.st_ino && (!h->empty || now.st_size == 0)) {
      return h;
    }
    auto fresh = std::make_unique<handle>();
    fresh->dev = now.st_dev;
    fresh->ino = now.st_ino;
    if (!S_ISREG(now.st_mode)) {
      warn_once_here("index " + m_display + " is not a regular file; its entries read as misses");
    } else if (now.st_size == 0) {
      fresh->empty = true;
    } else {
      std::array<std::byte, index_header_size> bytes{};
      const ::ssize_t got = pread_full(probe_fd.get(), bytes.data(), bytes.size(), 0);
      try {
        const index_header hd =
            decode_index_header(std::span<const std::byte>{bytes}.first(got < 0 ? 0 : static_cast<std::size_t>(got)),
                                static_cast<std::uint64_t>(now.st_size), m_shard);
        fresh->capacity = hd.capacity;
      } catch (const format_error& e) {
        warn_once_here("index " + m_display + " is unreadable (" + std::string{e.what()} +
                       "); its entries read as misses until a save repairs it");
      }
    }
    // Keep the descriptor only if the file is usable; a retained handle keeps its inode.
    if (fresh->capacity != 0 || fresh->empty) {
      fresh->fd = probe_fd.release();
    }
    // Map exactly the bytes the header was checked against (decode_index_header compared its
    // capacity with this size). Writers never resize an index in place (growth and repair
    // rename a new file over it), so these bytes stay in the file for as long as it lives.
    // Where mapping fails (a file system without mmap), lookups pread instead.
    if (fresh->capacity != 0 &&
        static_cast<std::uint64_t>(now.st_size) == index_header_size + std::uint64_t{fresh->capacity} * slot_size) {
      const auto length = static_cast<std::size_t>(now.st_size);
      void* address = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fresh->fd, 0);
      if (address != MAP_FAILED) {
        fresh->map = static_cast<const std::byte*>(address);
        fresh->map_length = length;
      } else if (!m_map_warned.exchange(true, std::memory_order_relaxed)) {
        log(log_level::debug,
            "cannot map index " + m_display + " (" + fsio::errno_message(errno) + "); its lookups read it with pread");
      }
    }
    const handle* published = fresh.get();
    if (h != nullptr) {
      m_retired.emplace_back(h); // readers may still be using it: kept until the shard dies
    }
    m_current.store(fresh.release(), std::memory_order_release);
    return published;
  }

  // Reads `bytes` of the index at `at` into `to`: from the map when the handle has one and the
  // bytes lie within it, else with pread. False if the file ends before them.
  [[nodiscard]] static bool read_slots(const handle& h, std::byte* to, std::size_t bytes, std::uint64_t at) {
    if (h.map != nullptr) {
      if (at > h.map_length || bytes > h.map_length - at) {
        return false; // past what the header and fstat said when mapped: never touched
      }
      copy_shared(to, h.map + at, bytes);
      return true;
    }
    return pread_full(h.fd, to, bytes, at) == static_cast<::ssize_t>(bytes);
  }

  // Linear probing from the key's home slot, window by window; stops at an empty slot.
  [[nodiscard]] static std::optional<found_slot> probe(const handle& h, const key& call) {
    const std::uint32_t mask = h.capacity - 1;
    std::uint32_t position = static_cast<std::uint32_t>(call.low()) & mask;
    std::array<std::byte, probe_window * slot_size> window; // NOLINT(cppcoreguidelines-pro-type-member-init)
    // From a map, a slot at a time (most lookups end at the home slot: one or two cache lines);
    // with pread, a window of slots per call.
    const std::uint32_t step = h.map != nullptr ? 1 : probe_window;
    for (std::uint32_t seen = 0; seen < h.capacity;) {
      const std::uint32_t count = std::min(step, h.capacity - position);
      if (!read_slots(h, window.data(), count * slot_size, index_header_size + std::uint64_t{position} * slot_size)) {
        return std::nullopt; // truncated under us: a miss
      }
      for (std::uint32_t i = 0; i < count; ++i) {
        std::optional<slot> s = decode_slot(window.data() + i * slot_size);
        if (!s) {
          // A write in flight, or damage: read that slot once more on its own.
          std::array<std::byte, slot_size> again{};
          const std::uint64_t at = index_header_size + std::uint64_t{position + i} * slot_size;
          if (read_slots(h, again.data(), slot_size, at)) {
            s = decode_slot(again.data());
          }
          if (!s) {
            continue; // unreadable: not this key as far as anyone can tell
          }
        }
        if (s->state == slot_state::empty) {
          return std::nullopt;
        }
        if (s->call == call) {
          if (s->state == slot_state::live) {
            return found_slot{*s, position + i};
          }
        }
      }
      seen += count;
      position = (position + count) & mask;
    }
    return std::nullopt;
  }

  // probe() on the locked file, by pread; also reports removed slots of the key as not found.
  [[nodiscard]] static std::optional<found_slot> probe_locked(const locked& l, const key& call) {
    handle h; // no map: reads what the locked descriptor names
    h.fd = l.fd;
    h.capacity = l.header.capacity;
    return probe(h, call);
  }

  // Where `call` goes: its existing slot (live or removed), else the first removed or empty slot
  // on its probe sequence. The index is never full (grow_if_needed keeps it under 60 %).
  [[nodiscard]] insert_place locate_for_insert(const locked& l, const key& call) const {
    const std::uint32_t capacity = l.header.capacity;
    const std::uint32_t mask = capacity - 1;
    std::uint32_t position = static_cast<std::uint32_t>(call.low()) & mask;
    std::optional<std::uint32_t> reusable;
    std::array<std::byte, probe_window * slot_size> window; // NOLINT(cppcoreguidelines-pro-type-member-init)
    for (std::uint32_t seen = 0; seen < capacity;) {
      const std::uint32_t count = std::min(probe_window, capacity - position);
      if (pread_full(l.fd, window.data(), count * slot_size, index_header_size + std::uint64_t{position} * slot_size) !=
          static_cast<::ssize_t>(count * slot_size)) {
        throw store_error{"cannot read index " + m_display + ": it shrank while locked"};
      }
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::optional<slot> s = decode_slot(window.data() + i * slot_size);
        if (!s || s->state == slot_state::removed) {
          // A damaged slot is as good as a removed one for reuse.
          if (s && s->call == call) {
            return {position + i, false, true};
          }
          if (!reusable) {
            reusable = position + i;
          }
          continue;
        }
        if (s->state == slot_state::empty) {
          return reusable ? insert_place{*reusable, false, true} : insert_place{position + i, false, false};
        }
        if (s->call == call) {
          return {position + i, true, false};
        }
      }
      seen += count;
      position = (position + count) & mask;
    }
    if (reusable) {
      return {*reusable, false, true};
    }
    throw store_error{"index " + m_display + " is full"};
  }

  void write_slot(int fd, std::uint32_t position, const slot& value) const {
    const slot_bytes bytes = encode_slot(value);
    if (const int error =
            pwrite_full(fd, bytes.data(), bytes.size(), index_header_size + std::uint64_t{position} * slot_size);
        error != 0) {
      fsio::throw_io_error("cannot write index", m_display, error);
    }
  }

  // Opens the index read-write, locks it, makes sure it is the current file at the path and
  // well-formed (creating or repairing it), runs `body`, writes back the header if asked.
  template <class Body>
  void change(Body&& body) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      fsio::unique_fd fd{
          m_root.open(m_relative.c_str(), O_RDWR | O_CREAT | O_NONBLOCK, file_mode.load(std::memory_order_relaxed))};
      if (!fd && errno == ENOENT && make_folders) {
        make_folders();
        fd.reset(m_root.open(m_relative.c_str(), O_RDWR | O_CREAT | O_NONBLOCK,
                             file_mode.load(std::memory_order_relaxed), fsio::root_folder::root_check::now));
      }
      if (!fd) {
        if (fsio::refused_link(errno)) {
          throw store_error{"refusing index " + m_display + ": it is a symbolic link below the cache root"};
        }
        fsio::throw_io_error("cannot open index", m_display, errno);
      }
      struct ::stat held {};
      if (::fstat(fd.get(), &held) != 0) {
        fsio::throw_io_error("cannot stat index", m_display, errno);
      }
      if (!S_ISREG(held.st_mode)) {
        throw store_error{"index " + m_display + " is not a regular file"};
      }
      // open(2) applied the umask; group sharing needs the mode exactly (only the owner may set it).
      if (const ::mode_t mode = file_mode.load(std::memory_order_relaxed);
          (held.st_mode & 07777) != mode && held.st_uid == ::geteuid()) {
        static_cast<void>(::fchmod(fd.get(), mode));
      }
      if (!lock_byte(fd.get(), 0, true)) {
        fsio::throw_io_error("cannot lock index", m_display, errno);
      }
      // The lock is on this file; another process may have replaced the path meanwhile.
      struct ::stat now {};
      const fsio::unique_fd check{m_root.open(m_relative.c_str(), O_RDONLY | O_NONBLOCK)};
      if (!check || ::fstat(check.get(), &now) != 0 || now.st_ino != held.st_ino || now.st_dev != held.st_dev) {
        continue; // closing `fd` releases the lock; try the file that is there now
      }
      if (::fstat(fd.get(), &held) != 0) {
        fsio::throw_io_error("cannot stat index", m_display, errno);
      }
      locked l{fd.get(), {}, {}, false};
      if (held.st_size == 0) {
        l.header = index_header{static_cast<std::uint16_t>(m_shard), min_capacity, 0, 0};
        initialize(fd.get(), l.header);
      } else {
        std::array<std::byte, index_header_size> bytes{};
        const ::ssize_t got = pread_full(fd.get(), bytes.data(), bytes.size(), 0);
        try {
          l.header =
              decode_index_header(std::span<const std::byte>{bytes}.first(got < 0 ? 0 : static_cast<std::size_t>(got)),
                                  static_cast<std::uint64_t>(held.st_size), m_shard);
        } catch (const format_error& e) {
          const std::string reason = e.what();
          if (reason.find("newer recall") != std::string::npos) {
            throw store_error{"index " + m_display + " was written by a newer recall; not changing it"};
          }
          log(log_level::warning, "replaced damaged index " + m_display + " (" + reason +
                                      "); the entries it pointed at will be recomputed");
          l.header = index_header{static_cast<std::uint16_t>(m_shard), min_capacity, 0, 0};
          replace_with(l, {});
          continue; // lock the new file
        }
      }
      if (body(l)) {
        const auto bytes = encode_index_header(l.header);
        if (const int error = pwrite_full(fd.get(), bytes.data(), bytes.size(), 0); error != 0) {
          fsio::throw_io_error("cannot write index", m_display, error);
        }
      }
      if (l.grew) {
        static_cast<void>(current(true));
      }
      return; // closing `fd` releases the lock
    }
    throw store_error{"index " + m_display + " keeps being replaced; giving up"};
  }

  void initialize(int fd, const index_header& header) const {
    if (::ftruncate(fd, static_cast<::off_t>(header.file_size())) != 0) {
      fsio::throw_io_error("cannot size index", m_display, errno);
    }
    const auto bytes = encode_index_header(header);
    if (const int error = pwrite_full(fd, bytes.data(), bytes.size(), 0); error != 0) {
      fsio::throw_io_error("cannot write index", m_display, error);
    }
  }

  // Grows the locked index (writing a copy twice the size with only live slots, renamed into
  // place) when adding `adding` slots would pass 60 % use. The caller keeps its lock on the old
  // file, which nobody changes after the rename (writers check which file they locked).
  void grow_if_needed(locked& l, std::uint32_t adding) {
    const std::uint64_t used = std::uint64_t{l.header.live} + l.header.removed + adding;
    if (used * 5 <= std::uint64_t{l.header.capacity} * 3) {
      return;
    }
    std::uint32_t capacity = l.header.capacity;
    while ((std::uint64_t{l.header.live} + adding) * 5 > std::uint64_t{capacity} * 2 && capacity < max_capacity) {
      capacity *= 2;
    }
    std::vector<std::byte> old(std::size_t{l.header.capacity} * slot_size);
    if (pread_full(l.fd, old.data(), old.size(), index_header_size) != static_cast<::ssize_t>(old.size())) {
      throw store_error{"cannot read index " + m_display + " to grow it"};
    }
    std::vector<slot> live;
    for (std::size_t i = 0; i < l.header.capacity; ++i) {
      if (auto s = decode_slot(old.data() + i * slot_size); s && s->state == slot_state::live) {
        live.push_back(*s);
      }
    }
    l.header.capacity = capacity;
    replace_with(l, live);
    l.grew = true;
  }

  // Writes a fresh index of l.header.capacity slots holding `live` to a temp file named after
  // this writer, renames it over the index, and makes `l` refer to it (still holding the lock
  // on the old file, which no writer changes once it is no longer at the path; the new one is
  // locked by us too before anyone can find it, since it is locked before the rename).
  void replace_with(locked& l, const std::vector<slot>& live) {
    l.header.live = static_cast<std::uint32_t>(live.size());
    l.header.removed = 0;
    std::vector<std::byte> table(std::size_t{l.header.capacity} * slot_size);
    const std::uint32_t mask = l.header.capacity - 1;
    for (const slot& s : live) {
      std::uint32_t position = static_cast<std::uint32_t>(s.call.low()) & mask;
      while (table[std::size_t{position} * slot_size + 40] != std::byte{0}) {
        position = (position + 1) & mask;
      }
      const auto bytes = encode_slot(s);
      std::copy(bytes.begin(), bytes.end(),
                table.begin() + static_cast<std::ptrdiff_t>(std::size_t{position} * slot_size));
    }
    const std::string temp = m_relative + ".tmp." + m_temp_tag;
    fsio::unique_fd fd{
        m_root.open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW, file_mode.load(std::memory_order_relaxed))};
    if (!fd) {
      fsio::throw_io_error("cannot create", m_display + ".tmp." + m_temp_tag, errno);
    }
    const auto header = encode_index_header(l.header);
    if (int error = pwrite_full(fd.get(), header.data(), header.size(), 0); error != 0) {
      fsio::throw_io_error("cannot write", m_display + ".tmp." + m_temp_tag, error);
    }
    if (int error = pwrite_full(fd.get(), table.data(), table.size(), index_header_size); error != 0) {
      fsio::throw_io_error("cannot write", m_display + ".tmp." + m_temp_tag, error);
    }
    // Locked before it is visible: a writer that opens it after the rename waits for us.
    if (!lock_byte(fd.get(), 0, true)) {
      fsio::throw_io_error("cannot lock", m_display + ".tmp." + m_temp_tag, errno);
    }
    const fsio::unique_fd folder{m_root.open(std::string{index_folder}.c_str(), O_RDONLY | O_DIRECTORY)};
    if (!folder || ::renameat(folder.get(), (shard_name(m_shard) + ".tmp." + m_temp_tag).c_str(), folder.get(),
                              shard_name(m_shard).c_str()) != 0) {
      const int error = errno;
      static_cast<void>(
          ::unlinkat(folder ? folder.get() : AT_FDCWD, (shard_name(m_shard) + ".tmp." + m_temp_tag).c_str(), 0));
      fsio::throw_io_error("cannot rename a new index over", m_display, error);
    }
    // The old file's descriptor (and its lock) stay with the caller's unique_fd until it returns;
    // from here the caller works on the new file.
    l.replacement = std::move(fd);
    l.fd = l.replacement.get();
  }

  void warn_once_here(const std::string& message) {
    if (!m_warned.exchange(true, std::memory_order_relaxed)) {
      log(log_level::warning, message);
    }
  }

  fsio::root_folder& m_root;
  std::size_t m_shard;
  std::string m_relative;
  std::string m_display;
  std::string m_temp_tag;
  std::atomic<handle*> m_current{nullptr};
  std::mutex m_mutex;
  std::vector<std::unique_ptr<handle>> m_retired;
  std::atomic<bool> m_warned{false};
  std::atomic<bool> m_map_warned{false};
};

} // namespace recall::detail::pack
