// A pack store's segment files: this process's own append-only segment (one writer per file,
// named after the host, its boot and the pid), and the segments of every writer, opened on
// demand for reading.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
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
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <recall/detail/stores/fsio.hpp>
#include <recall/detail/stores/host_name.hpp>
#include <recall/detail/stores/open_beneath.hpp>
#include <recall/detail/stores/pack_format.hpp>
#include <recall/detail/stores/pack_index.hpp>
#include <recall/detail/stores/safe_name.hpp>
#include <recall/errors.hpp>
#include <recall/log.hpp>
#include <recall/stores/durability.hpp>

namespace recall::detail::pack {

// "<host>.<boot>": the host name made safe (at most 24 characters) and the first 8 hex digits of
// the kernel's boot id (/proc/sys/kernel/random/boot_id), so a host renamed or rebooted, or two
// hosts with one name, still name their writers apart; where there is no boot id, 8 random hex
// digits drawn once per process. Writers add the pid and a counter, and create their files with
// O_EXCL, so even a collision of all of these costs a retry, never a shared file.
[[nodiscard]] inline const std::string& host_identity() {
  static const std::string identity = [] {
    std::string out;
    if (append_safe_name(out, host_name(), 24) == 0) {
      out = "host";
    }
    std::string boot;
    if (std::FILE* file = std::fopen("/proc/sys/kernel/random/boot_id", "re"); file != nullptr) {
      std::array<char, 64> text{};
      if (std::fgets(text.data(), text.size(), file) != nullptr) {
        for (const char c : std::string_view{text.data()}) {
          if (boot.size() < 8 && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            boot.push_back(c);
          }
        }
      }
      std::fclose(file);
    }
    if (boot.size() != 8) {
      std::uint32_t random = 0;
      if (::getentropy(&random, sizeof random) != 0) {
        random = static_cast<std::uint32_t>(::time(nullptr)) ^ static_cast<std::uint32_t>(::getpid());
      }
      char hex[9];
      std::snprintf(hex, sizeof hex, "%08x", random);
      boot = hex;
    }
    return out + "." + boot;
  }();
  return identity;
}

// "<host>.<boot>.<pid>": names this process's files (segments, temp files) in a shared cache.
[[nodiscard]] inline std::string writer_tag() { return host_identity() + "." + std::to_string(::getpid()); }

// Where an entry was appended.
struct record_location {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// This process's segment for one store: created on the first append, appended to under a mutex,
// replaced by a new one when it passes `max_size`. While open it holds the OFD lock on its byte
// 0, which tells compaction a writer is alive (on any host). Forked children start their own.
class segment_writer {
public:
  segment_writer(fsio::root_folder& root, std::string display_root, std::uint64_t max_size, durability level)
      : m_root{root}, m_display_root{std::move(display_root)}, m_max_size{max_size}, m_durability{level} {}
  segment_writer(const segment_writer&) = delete;
  segment_writer& operator=(const segment_writer&) = delete;

  // Appends one entry (its parts, written in order with one pwritev) and returns where it is.
  // The bytes are in the file (the page cache) when this returns; under durability::fsync, on
  // stable storage too. Throws store_error.
  record_location append(std::span<const std::span<const std::byte>> parts, const std::function<void()>& make_folders,
                         ::mode_t mode) {
    std::uint64_t length = 0;
    for (const auto& p : parts) {
      length += p.size();
    }
    const std::lock_guard lock{m_mutex};
    if (!m_fd || m_pid != ::getpid() || (m_end > segment_header_size && m_end + length > m_max_size)) {
      open_new(make_folders, mode);
    }
    const std::uint64_t offset = align_up(m_end);
    const std::array<std::byte, record_alignment> zeros{};
    std::vector<std::span<const std::byte>> all;
    all.reserve(parts.size() + 1);
    all.emplace_back(zeros.data(), static_cast<std::size_t>(offset - m_end));
    all.insert(all.end(), parts.begin(), parts.end());
    if (const int error = fsio::write_all(m_fd.get(), all, m_end); error != 0) {
      m_fd.reset(); // a half-written record: start a fresh segment next time
      fsio::throw_io_error("cannot write segment", m_path, error);
    }
    m_end = offset + length;
    if (m_durability == durability::fsync && ::fdatasync(m_fd.get()) != 0) {
      fsio::throw_io_error("cannot fsync", m_path, errno);
    }
    return {m_id, offset, length};
  }

  // The file name of the segment being written, or "" before the first append.
  [[nodiscard]] std::string current_name() {
    const std::lock_guard lock{m_mutex};
    return m_pid == ::getpid() ? m_name : std::string{};
  }

private:
  void open_new(const std::function<void()>& make_folders, ::mode_t mode) {
    m_fd.reset();
    if (m_pid != ::getpid()) {
      m_pid = ::getpid();
      m_sequence = 0;
    }
    const std::string tag = writer_tag();
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const std::string name = tag + "." + std::to_string(m_sequence++) + std::string{segment_extension};
      const std::string relative = std::string{segment_folder} + "/" + name;
      int fd = m_root.open(relative.c_str(), O_RDWR | O_CREAT | O_EXCL, mode);
      if (fd < 0 && errno == ENOENT) {
        make_folders();
        fd = m_root.open(relative.c_str(), O_RDWR | O_CREAT | O_EXCL, mode, fsio::root_folder::root_check::now);
      }
      if (fd < 0 && errno == EEXIST) {
        continue; // a writer of an earlier boot or namesake host: take the next number
      }
      if (fd < 0) {
        if (fsio::refused_link(errno)) {
          throw store_error{"refusing segment folder below " + m_display_root + ": it is a symbolic link"};
        }
        fsio::throw_io_error("cannot create segment", m_display_root + "/" + relative, errno);
      }
      fsio::unique_fd owned{fd};
      if (mode != 0600) {
        static_cast<void>(::fchmod(fd, mode));
      }
      if (!lock_byte(fd, 0, false)) {
        continue; // cannot happen for a file we just created, unless locks are broken
      }
      segment_header header;
      header.created_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      header.writer = name.substr(0, name.size() - segment_extension.size());
      const auto bytes = encode_segment_header(header);
      if (const int error = pwrite_full(fd, bytes.data(), bytes.size(), 0); error != 0) {
        fsio::throw_io_error("cannot write segment", m_display_root + "/" + relative, error);
      }
      m_fd = std::move(owned);
      m_name = name;
      m_path = m_display_root + "/" + relative;
      m_id = segment_id(name);
      m_end = segment_header_size;
      return;
    }
    throw store_error{"cannot create a segment in " + m_display_root + ": every name is taken"};
  }

  fsio::root_folder& m_root;
  std::string m_display_root;
  std::uint64_t m_max_size;
  durability m_durability;
  std::mutex m_mutex;
  fsio::unique_fd m_fd;
  ::pid_t m_pid = 0;
  std::uint64_t m_sequence = 0;
  std::string m_name;
  std::string m_path;
  std::uint64_t m_id = 0;
  std::uint64_t m_end = 0;
};

// A read-only map of a segment file. It may reach past the file's end (room for the appends of
// a segment still being written, so they need no new map): only its first `valid` bytes, the
// file's size by fstat when last looked at, are ever touched.
struct segment_map {
  const std::byte* address = nullptr;
  std::size_t reserved = 0;
  std::atomic<std::uint64_t> valid{0};
};

// A segment open for reading. Records are read in place from a map of the file (mapped()),
// taken on first use; where that fails, or a record lies past what the file held when last
// looked at, they are read with pread. Thread-safe; lookups of records already inside the map
// take no lock.
class open_segment {
public:
  open_segment() = default;
  open_segment(const open_segment&) = delete;
  open_segment& operator=(const open_segment&) = delete;
  ~open_segment() {
    for (const auto& m : m_maps) {
      ::munmap(const_cast<std::byte*>(m->address), m->reserved); // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
  }

  fsio::unique_fd fd;
  std::string name;
  std::uint64_t size_at_open = 0;
  // Bytes a map reserves at least (the store's maximum segment size): a segment being appended
  // to grows into it without a new map. 0: no map is ever taken (reads use pread).
  std::uint64_t map_reserve = 0;

  // The `length` bytes at `offset`, in place in the map, or an empty span where they are not in
  // it: no map (mapping failed or is off), or they lie past the file's end as fstat last saw it
  // (looked at again once here: a record appended since the map was taken). The bytes stay
  // valid while this segment lives. Segments are append-only and never truncated by recall, so
  // the bytes of a record the index points at do not change; truncating one in place under a
  // reader is outside the contract (docs/RELIABILITY.md), as for any map.
  [[nodiscard]] std::span<const std::byte> mapped(std::uint64_t offset, std::uint64_t length) const {
    if (length == 0) {
      return {};
    }
    if (const segment_map* m = m_current.load(std::memory_order_acquire); m != nullptr) {
      if (const std::uint64_t valid = m->valid.load(std::memory_order_acquire);
          offset <= valid && length <= valid - offset) {
        return {m->address + offset, static_cast<std::size_t>(length)};
      }
    }
    if (map_reserve == 0 || m_failed.load(std::memory_order_relaxed)) {
      return {};
    }
    const segment_map* m = refresh(offset + length);
    if (m == nullptr) {
      return {};
    }
    const std::uint64_t valid = m->valid.load(std::memory_order_acquire);
    if (offset > valid || length > valid - offset) {
      return {}; // past the file's end: pread reports it
    }
    return {m->address + offset, static_cast<std::size_t>(length)};
  }

private:
  // Looks at the file's size again; maps it (or maps it larger) if `wanted` bytes are in the file
  // but past the map. The map in use, or null.
  const segment_map* refresh(std::uint64_t wanted) const {
    const std::lock_guard lock{m_mutex};
    segment_map* m = m_current.load(std::memory_order_acquire);
    if (m != nullptr && wanted <= m->valid.load(std::memory_order_acquire)) {
      return m; // another thread looked meanwhile
    }
    struct ::stat info {};
    if (::fstat(fd.get(), &info) != 0) {
      return m;
    }
    const auto size = static_cast<std::uint64_t>(info.st_size);
    if (m != nullptr && size <= m->reserved) {
      m->valid.store(size, std::memory_order_release);
      return m;
    }
    static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::uint64_t reserve = std::max(size, map_reserve);
    if (m != nullptr) {
      reserve = std::max<std::uint64_t>(reserve, std::uint64_t{m->reserved} * 2);
    }
    reserve = (reserve + page - 1) / page * page;
    if (reserve > std::numeric_limits<std::size_t>::max() / 2) {
      return m;
    }
    void* address = ::mmap(nullptr, static_cast<std::size_t>(reserve), PROT_READ, MAP_SHARED, fd.get(), 0);
    if (address == MAP_FAILED) {
      m_failed.store(true, std::memory_order_relaxed);
      log(log_level::debug,
          "cannot map segment " + name + " (" + fsio::errno_message(errno) + "); its records are read with pread");
      return m;
    }
    auto fresh = std::make_unique<segment_map>();
    fresh->address = static_cast<const std::byte*>(address);
    fresh->reserved = static_cast<std::size_t>(reserve);
    fresh->valid.store(size, std::memory_order_relaxed);
    m = fresh.get();
    m_maps.push_back(std::move(fresh)); // an older map stays for readers still in it
    m_current.store(m, std::memory_order_release);
    return m;
  }

  mutable std::mutex m_mutex;
  mutable std::atomic<segment_map*> m_current{nullptr};
  mutable std::atomic<bool> m_failed{false};
  mutable std::vector<std::unique_ptr<segment_map>> m_maps;
};

// Segments by id, opened on first use and kept open (up to a bound). Thread-safe. `map_reserve`:
// what an open segment's map reserves at least (open_segment::map_reserve; 0: no maps).
class segment_readers {
public:
  segment_readers(fsio::root_folder& root, std::string display_root, std::uint64_t map_reserve = 0)
      : m_root{root}, m_display_root{std::move(display_root)}, m_map_reserve{map_reserve} {}

  // The segment with `id`, or null if no segment of this id exists, or it cannot be read (not a
  // regular file, damaged header, another format version: warned once per segment).
  [[nodiscard]] std::shared_ptr<const open_segment> get(std::uint64_t id) {
    {
      const std::lock_guard lock{m_mutex};
      if (auto it = m_open.find(id); it != m_open.end()) {
        return it->second;
      }
    }
    std::string name;
    {
      const std::lock_guard lock{m_mutex};
      auto it = m_names.find(id);
      if (it == m_names.end()) {
        relist_locked();
        it = m_names.find(id);
      }
      if (it == m_names.end()) {
        return nullptr;
      }
      name = it->second;
    }
    auto opened = open(name);
    const std::lock_guard lock{m_mutex};
    if (!opened) {
      return nullptr;
    }
    if (m_open.size() >= max_open) {
      m_open.clear(); // readers in flight keep theirs alive
    }
    m_open[id] = opened;
    return opened;
  }

  // Forgets a segment that turned out to be gone (compacted away): the next get() looks again.
  void forget(std::uint64_t id) {
    const std::lock_guard lock{m_mutex};
    m_open.erase(id);
    m_names.erase(id);
  }

  // The names of every segment file now in the folder.
  [[nodiscard]] std::vector<std::string> list() const {
    std::vector<std::string> out;
    const fsio::unique_fd folder{m_root.open(std::string{segment_folder}.c_str(), O_RDONLY | O_DIRECTORY)};
    if (!folder) {
      return out;
    }
    const int fd = ::dup(folder.get());
    if (fd < 0) {
      return out;
    }
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      return out;
    }
    while (const ::dirent* item = ::readdir(dir)) {
      const std::string_view name{item->d_name};
      if (name.size() > segment_extension.size() && name.ends_with(segment_extension)) {
        out.emplace_back(name);
      }
    }
    ::closedir(dir);
    return out;
  }

  // Opens segment `name` for reading and checks its header; null if it is gone or unusable.
  [[nodiscard]] std::shared_ptr<open_segment> open(const std::string& name) {
    const std::string relative = std::string{segment_folder} + "/" + name;
    fsio::unique_fd fd{m_root.open(relative.c_str(), O_RDONLY | O_NONBLOCK)};
    if (!fd) {
      if (errno != ENOENT) {
        warn_once(name, "cannot open segment " + m_display_root + "/" + relative + ": " + fsio::errno_message(errno) +
                            "; its entries read as misses");
      }
      return nullptr;
    }
    struct ::stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
      warn_once(name, "segment " + m_display_root + "/" + relative + " is not a regular file; ignored");
      return nullptr;
    }
    std::array<std::byte, segment_header_size> bytes{};
    const ::ssize_t got = pread_full(fd.get(), bytes.data(), bytes.size(), 0);
    segment_header header;
    const segment_verdict verdict =
        got == static_cast<::ssize_t>(bytes.size()) ? decode_segment_header(bytes, header) : segment_verdict::damaged;
    if (verdict == segment_verdict::newer_version) {
      warn_once(name, "segment " + m_display_root + "/" + relative + " has format version " +
                          std::to_string(header.version) + " (this build reads version " +
                          std::to_string(format_version) + "); ignored");
      return nullptr;
    }
    if (verdict == segment_verdict::damaged) {
      warn_once(name, "segment " + m_display_root + "/" + relative + " has a damaged header; ignored");
      return nullptr;
    }
    auto out = std::make_shared<open_segment>();
    out->fd = std::move(fd);
    out->name = name;
    out->size_at_open = static_cast<std::uint64_t>(info.st_size);
    out->map_reserve = m_map_reserve;
    return out;
  }

private:
  static constexpr std::size_t max_open = 256;

  void relist_locked() {
    m_names.clear();
    for (auto& name : list()) {
      const std::uint64_t id = segment_id(name);
      m_names.emplace(id, std::move(name));
    }
  }

  void warn_once(const std::string& name, const std::string& message) {
    {
      const std::lock_guard lock{m_warned_mutex};
      if (!m_warned.insert(name).second) {
        return;
      }
    }
    log(log_level::warning, message);
  }

  fsio::root_folder& m_root;
  std::string m_display_root;
  std::uint64_t m_map_reserve;
  std::mutex m_mutex;
  std::unordered_map<std::uint64_t, std::shared_ptr<const open_segment>> m_open;
  std::unordered_map<std::uint64_t, std::string> m_names;
  std::mutex m_warned_mutex;
  std::set<std::string> m_warned;
};

} // namespace recall::detail::pack
