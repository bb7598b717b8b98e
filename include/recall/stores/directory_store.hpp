// recall::directory_store: entries as checksummed files in a folder tree, safe across processes.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
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
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <recall/detail/stores/atomic_file.hpp>
#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/entry_decode.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/file_mapping.hpp>
#include <recall/detail/stores/folder_trust.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/detail/stores/host_name.hpp>
#include <recall/detail/stores/lock_record.hpp>
#include <recall/detail/stores/open_beneath.hpp>
#include <recall/detail/stores/size_limiter.hpp>
#include <recall/detail/stores/stats_file.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/stores/compression.hpp>
#include <recall/stores/durability.hpp>
#include <recall/stores/sharing.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/verification.hpp>

namespace recall {

// A store keeping each entry in its own file:
//
//   <root>/CACHEDIR.TAG                       marks the tree as a cache for backup tools
//   <root>/<function folder>/<kk>/<key>.rce   one entry (format: detail/stores/entry_format.hpp)
//   <root>/<function folder>/stats            its statistics (detail/stores/stats_file.hpp)
//   <root>/<function folder>/locks            its compute locks (see lock_for_compute)
//
// where <key> is the call key's 32 hex digits, <kk> its first two (256 shards keep folders
// small), and <function folder> is the function's name made filesystem-safe followed by '-' and
// the first 8 hex digits of its identity key: `ns::simulate` becomes `ns_simulate-0123abcd`.
// detail/stores/directory_layout.hpp spells (and parses) every one of these names, and walks the
// tree; this class only uses it.
//
// Entries are written to a temp file and renamed into place, so any number of threads and
// processes can share one root: a reader sees a whole entry or none. Every read is checked
// (header checksum, call key, size, payload checksum); a damaged file is deleted, logged as a
// warning, and reads as a miss. Folders (mode 0700, or 2770 with sharing::group) are created by
// save() only, when missing. The root may be a symbolic link; nothing below it is followed if it
// is one (detail/stores/open_beneath.hpp): such a folder or file is refused with a warning.
// Its one piece of mutable state is the root's cached descriptor (detail::fsio::root_folder),
// which is thread-safe: all methods may run concurrently.
class directory_store final : public store {
public:
  static constexpr std::string_view entry_extension = detail::directory_layout::entry_extension;
  static constexpr std::size_t max_name_length = detail::directory_layout::max_function_name_length;
  static constexpr std::string_view cachedir_tag_name = detail::directory_layout::cachedir_tag_name;
  static constexpr std::string_view cachedir_tag_content = detail::directory_layout::cachedir_tag_content;

  // `root` is made absolute (against the current folder, now) but not created: that waits for
  // the first save(). Throws config_error if it is empty.
  explicit directory_store(std::filesystem::path root, durability level = durability::none, compression packing = {})
      : m_root{normalized_root(root)}, m_root_prefix{m_root.native() == "/" ? m_root.native() : m_root.native() + '/'},
        m_durability{level}, m_compression{packing}, m_root_folder{m_root.native()},
        m_limiter{std::make_unique<detail::size_limiter>(m_root)} {}

  // Bounds the directory: after each store, least recently used entries are evicted until the
  // directory is under 90 % of the limits (see detail/stores/size_limiter.hpp). Applies to this
  // process's stores; every process that stores with limits enforces them.
  void set_limits(const cache_limits& limits) { m_limiter->set_limits(limits); }
  [[nodiscard]] cache_limits limits() const { return m_limiter->limits(); }

  // Who may use what this store creates from now on (recall/stores/sharing.hpp). Existing
  // folders and files keep their modes.
  void set_sharing(sharing who) noexcept {
    m_sharing.store(who, std::memory_order_relaxed);
    m_root_folder.set_sharing(who);
  }
  [[nodiscard]] sharing sharing_mode() const noexcept { return m_sharing.load(std::memory_order_relaxed); }

  // Enforces the limits now, over the whole directory; returns the entries evicted.
  std::size_t enforce_limits() { return m_limiter->trim_now(); }

  [[nodiscard]] std::string description() const override {
    return "directory " + m_root.string() + (m_durability == durability::fsync ? " (fsync)" : "");
  }

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return m_root; }
  [[nodiscard]] durability durability_level() const noexcept { return m_durability; }
  [[nodiscard]] const compression& compression_settings() const noexcept { return m_compression; }

  // The folder's name alone, e.g. "ns_simulate-0123abcd".
  [[nodiscard]] static std::string folder_name(const function_id& function) {
    return detail::directory_layout::function_folder_name(function.name, function.identity);
  }

  // <root>/<function folder>: every entry of `function`.
  [[nodiscard]] std::filesystem::path function_folder(const function_id& function) const {
    std::string out = m_root_prefix;
    append_folder_name(out, function);
    return out;
  }

  // <root>/<function folder>/<kk>/<key>.rce
  [[nodiscard]] std::filesystem::path entry_path(const entry_address& address) const { return find(address).path; }

  // The entry's path, as entry_path() spells it, for logs.
  [[nodiscard]] std::string locate(const entry_address& address) const override { return find(address).path; }

  // A miss costs one failing open(); a hit one open, fstat, readv and close, plus the checks.
  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    const std::string path = find(address).path;
    const detail::fsio::unique_fd fd{open_entry(path)};
    if (!fd) {
      return std::nullopt;
    }
    return read_open(fd.get(), regular_file_status(fd.get(), path), path, address);
  }

  // load() as views: read_hint::small reads the file into memory and checks it whole; large maps
  // an entry of large_entry_size bytes or more, checks its header and size and defers its
  // checksum to the reader; mapped and mapped_checked map any entry (pages read as touched, or
  // all at once to check the checksum). A damaged entry is removed and reads as a miss.
  [[nodiscard]] std::optional<entry_view> read(const entry_address& address, read_hint hint) override {
    const std::string path = find(address).path;
    const detail::fsio::unique_fd fd{open_entry(path)};
    if (!fd) {
      return std::nullopt;
    }
    const struct ::stat status = regular_file_status(fd.get(), path);
    switch (hint) {
    case read_hint::small: break;
    case read_hint::large:
      if (static_cast<std::uint64_t>(status.st_size) >= large_entry_size) {
        // The caller decodes every byte: map them all at once rather than fault them in.
        return map_open(fd.get(), status, path, address, verification::header, detail::page_loading::upfront);
      }
      break;
    case read_hint::mapped: return map_open(fd.get(), status, path, address, verification::header);
    case read_hint::mapped_checked: return map_open(fd.get(), status, path, address, verification::checksum);
    }
    auto entry = read_open(fd.get(), status, path, address);
    if (!entry) {
      return std::nullopt;
    }
    return entry_view::of(std::move(*entry));
  }

  // Removes the entry at `address`, found damaged by a check outside the store (a deferred
  // checksum computed while decoding); logged like any damaged entry.
  void discard(const entry_address& address, std::string_view why) override { discard_file(find(address).path, why); }

  void save(const entry_address& address, const stored_entry& entry) override {
    const location where = find(address);
    // The temp file is made and renamed relative to the shard folder, opened without following
    // links: a linked function or shard folder is refused, and none can be swapped in later.
    const std::string shard_path = where.path.substr(0, where.function_end + 3);
    const detail::fsio::unique_fd folder = open_making_folders(where, shard_path, "folder", O_RDONLY | O_DIRECTORY);
    check_folders_trusted(folder.get(), where);
    std::error_code error;
    detail::atomic_file file{
        folder.get(), where.path.substr(where.function_end + 4), where.path, m_durability, file_mode(), error};
    if (error) {
      detail::fsio::throw_io_error("cannot create a temp file for", where.path, error.value());
    }
    const auto manifest = detail::encode_manifest(entry.manifest);
    const auto packed = detail::compress_payload(entry.payload, m_compression);
    const std::span<const std::byte> payload = packed ? std::span<const std::byte>{*packed} : entry.payload;
    const auto header = detail::encode_entry_header(address.call, address.function.identity, entry.metadata, manifest,
                                                    payload, packed ? detail::entry_flag_zstd : 0);
    const std::span<const std::byte> parts[] = {header, manifest, payload};
    file.write(parts);
    file.commit();
    const std::size_t shard = detail::directory_layout::shard_of(address.call);
    try {
      m_limiter->stored(shard, header.size() + manifest.size() + payload.size());
    } catch (const std::exception& e) {
      // The entry is stored; failing to evict others only delays the bound.
      log(log_level::warning, "cache size limit not enforced: " + std::string{e.what()});
    }
  }

  // Reads and checks only the header (and the file's size), not the payload: a true answer
  // means the entry is there and well-formed, not that its payload checksum will match.
  [[nodiscard]] bool contains(const entry_address& address) override {
    const std::string path = find(address).path;
    const detail::fsio::unique_fd fd{open_entry(path)};
    if (!fd) {
      return false;
    }
    const std::uint64_t size = regular_file_size(fd.get(), path);
    detail::entry_header_bytes header_bytes{};
    ::iovec iov[1] = {{header_bytes.data(), header_bytes.size()}};
    const std::size_t got = detail::fsio::read_all(fd.get(), iov, 1, path);
    try {
      const detail::entry_header header = detail::decode_header(std::span<const std::byte>{header_bytes}.first(got));
      detail::check_entry_call(header, address.call);
      detail::check_entry_size(header, size);
      return true;
    } catch (const format_error& error) {
      discard_file(path, error.reason());
      return false;
    }
  }

  bool erase(const entry_address& address) override {
    const location where = find(address);
    // Unlinked relative to the shard folder, opened without following links: never at a linked
    // folder's target.
    const std::string shard_path = where.path.substr(0, where.function_end + 3);
    const detail::fsio::unique_fd folder{open_below(shard_path, O_PATH | O_DIRECTORY)};
    if (!folder) {
      if (errno == ENOENT) {
        return false;
      }
      throw_open_error("folder", shard_path, errno);
    }
    if (::unlinkat(folder.get(), where.path.c_str() + where.function_end + 4, 0) == 0) {
      return true;
    }
    if (errno == ENOENT) {
      return false;
    }
    detail::fsio::throw_io_error("cannot remove", where.path, errno);
  }

  // Reads headers and manifests only, never payloads; damaged entries are skipped here (load()
  // removes them when they are asked for).
  [[nodiscard]] std::vector<entry_description> similar_entries(const function_id& function,
                                                               std::size_t limit) override {
    namespace layout = detail::directory_layout;
    std::vector<entry_description> out;
    std::string prefix = folder_name(function);
    prefix.resize(prefix.size() - layout::folder_digits); // keep "<name>-", drop the identity digits
    const detail::fsio::unique_fd root{layout::open_root(m_root.native())};
    if (!root || limit == 0) {
      return out;
    }
    layout::for_each_function_folder(root.get(), {}, [&](const layout::function_folder& folder) {
      if (!folder.name.starts_with(prefix) || folder.name.size() != prefix.size() + layout::folder_digits) {
        return true;
      }
      return layout::for_each_entry(folder.fd, [&](const layout::shard_file& file) {
        const std::string name{file.name};
        const detail::fsio::unique_fd fd{
            detail::fsio::open_regular_at(file.shard_fd, name.c_str(), O_RDONLY | O_NOFOLLOW)};
        if (fd) {
          std::string path = m_root_prefix;
          path.append(folder.name).append(1, '/').append(file.shard).append(1, '/').append(name);
          if (auto description = describe_open(fd.get(), path)) {
            out.push_back(std::move(*description));
          }
        }
        return out.size() < limit;
      });
    });
    return out;
  }

  // The header and manifest of the entry file at `path`, or nullopt if it is not a readable
  // entry. For listing tools: never throws for a damaged or vanished file.
  [[nodiscard]] static std::optional<entry_description> describe_file(const std::string& path) {
    // O_NOFOLLOW: listing walks skip linked folders; this refuses a linked entry file.
    const detail::fsio::unique_fd fd{detail::fsio::open_regular(path.c_str(), O_RDONLY | O_NOFOLLOW)};
    return fd ? describe_open(fd.get(), path) : std::nullopt;
  }

  // describe_file() of the entry file open as `fd` (a regular file; `path` names it in messages).
  [[nodiscard]] static std::optional<entry_description> describe_open(int fd, const std::string& path) {
    std::array<std::byte, 4096> head{};
    ::iovec iov[1] = {{head.data(), head.size()}};
    try {
      const std::size_t got = detail::fsio::read_all(fd, iov, 1, path);
      const detail::entry_header header = detail::decode_header(std::span<const std::byte>{head}.first(got));
      std::vector<std::byte> manifest(header.manifest_size);
      const std::size_t in_head =
          std::min(got, detail::entry_header_size + manifest.size()) - std::min(got, detail::entry_header_size);
      std::copy_n(head.data() + detail::entry_header_size, in_head, manifest.data());
      if (in_head < manifest.size()) {
        ::iovec rest[1] = {{manifest.data() + in_head, manifest.size() - in_head}};
        if (detail::fsio::read_all(fd, rest, 1, path) != rest[0].iov_len) {
          return std::nullopt;
        }
      }
      return entry_description{header.call, header.identity, detail::decode_manifest(manifest)};
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Adds to <function folder>/stats under a flock; a function with no folder yet (nothing
  // stored) gets one only if the batch stored something.
  void record_stats(const function_id& function, const function_stats& delta) override {
    const std::string folder = function_folder(function).string();
    if (delta.stores > 0) {
      // As save() makes them: this store's modes, no link followed. Stats are advisory.
      try {
        make_folder(m_root_prefix.size() > 1 ? m_root_prefix.substr(0, m_root_prefix.size() - 1) : m_root_prefix, true);
        make_folder(folder, false);
      } catch (const store_error&) {
        return;
      }
    }
    // O_NONBLOCK and the type check: a FIFO planted as the stats file is skipped, never waited on.
    const detail::fsio::unique_fd fd{open_below(folder + "/" + std::string{detail::stats_file_name},
                                                O_RDWR | O_CREAT | O_NONBLOCK, file_mode(),
                                                delta.stores > 0 ? root_check::now : root_check::when_due)};
    if (fd && detail::fsio::is_regular_file(fd.get())) {
      set_shared_mode(fd.get());
      struct ::stat status {};
      if (!detail::add_stats(fd.get(), delta) && ::fstat(fd.get(), &status) == 0 && status.st_size == 0) {
        // Nothing could be written (a full disk): leave no empty stats file behind, unlinked
        // relative to its folder opened without following links, like erase().
        const detail::fsio::unique_fd parent{open_below(folder, O_PATH | O_DIRECTORY)};
        if (parent) {
          static_cast<void>(::unlinkat(parent.get(), std::string{detail::stats_file_name}.c_str(), 0));
        }
      }
    }
  }

  // The statistics recorded for a function (zeros if none).
  [[nodiscard]] std::optional<function_stats> recorded_stats(const function_id& function) override {
    return stats(function);
  }

  [[nodiscard]] function_stats stats(const function_id& function) const {
    const detail::fsio::unique_fd fd{open_below(
        function_folder(function).string() + "/" + std::string{detail::stats_file_name}, O_RDONLY | O_NONBLOCK)};
    return fd && detail::fsio::is_regular_file(fd.get()) ? detail::read_stats(fd.get()) : function_stats{};
  }

  // Single flight across processes: an open-file-description lock (fcntl F_OFD_SETLK) on one
  // byte of <function folder>/locks, at an offset taken from the call key. A miss creates and
  // deletes no file: a lock file per key cost an inode allocated and freed on every miss,
  // 170 µs on ext4. The kernel drops the lock when the holder's descriptor closes, which
  // kill -9 does too, so a dead holder never blocks anyone. The holder writes its key and a
  // lock record (host, pid, since, label: detail/stores/lock_record.hpp) into a 128-byte slot of
  // the same file (slot: the key's low bits mod 1024), for people (running_computations(),
  // `recall-cache running`); slots are shared by keys and a record is current only while its
  // key's byte is locked, so of two keys of one slot computed at once only the later shows.
  // Each lock opens the file anew, so threads and forked children never share a lock by sharing
  // a descriptor. On NFS, Linux sends these locks to the server as byte-range locks, which hold
  // across clients when the server runs a lock manager (NFSv4, or NFSv3 with lockd); without
  // one, locks are per client and two machines may both compute a key: results stay correct,
  // work doubles.
  [[nodiscard]] std::unique_ptr<compute_lock> lock_for_compute(const entry_address& address,
                                                               std::chrono::milliseconds wait_limit) override {
    return lock_range(address, {}, wait_limit);
  }

  // As lock_for_compute(), one attempt: busy while another process (of any host sharing the
  // folder through a file system that carries the lock) holds the key's byte.
  [[nodiscard]] lock_attempt try_lock_for_compute(const entry_address& address, std::string_view label) override {
    auto lock = lock_range(address, label, std::nullopt);
    const lock_outcome outcome = lock ? lock_outcome::acquired : lock_outcome::busy;
    return {outcome, std::move(lock)};
  }

  // A computation under way in a directory cache, as its lock record tells.
  struct running_computation {
    std::string folder; // the function folder's name
    key call;
    detail::lock_holder holder;
  };

  // The computations under way in the function folders under `root` (and in its partition
  // folders, recall::scope, one level down): each record of a `locks` file whose key's byte
  // another open file holds locked. Never throws for an unreadable folder or file (it is
  // skipped); a record lost to a slot collision is not listed. `folder` is the function folder's
  // name, "<partition>/<function folder>" in a partition.
  [[nodiscard]] static std::vector<running_computation> running_computations(const std::filesystem::path& root) {
    namespace layout = detail::directory_layout;
    std::vector<running_computation> out;
    const detail::fsio::unique_fd top{layout::open_root(root.string())};
    if (top) {
      layout::for_each_function_folder_in_tree(top.get(), [&](const layout::function_folder& folder) {
        std::string name{folder.partition};
        name.append(folder.partition.empty() ? 0 : 1, '/').append(folder.name);
        read_running(folder.fd, name, out);
      });
    }
    return out;
  }

  // The file, in each function folder, whose bytes are the compute locks of its keys.
  static constexpr std::string_view lock_file_name = detail::directory_layout::lock_file_name;
  static constexpr std::size_t lock_record_size = 128;
  static constexpr std::size_t lock_record_slots = 1024;

private:
  using root_check = detail::fsio::root_folder::root_check;

#if defined(F_OFD_SETLK)
  static constexpr int lock_command = F_OFD_SETLK;
#else
  // Without OFD locks, POSIX record locks: per process, so two stores of one process on one
  // root share them; in-process single flight already keeps threads from computing a key twice.
  static constexpr int lock_command = F_SETLK;
#endif

  // Holds the lock by holding the descriptor: closing it releases the lock.
  class range_lock final : public compute_lock {
  public:
    explicit range_lock(detail::fsio::unique_fd fd) noexcept : m_fd{std::move(fd)} {}

  private:
    detail::fsio::unique_fd m_fd;
  };

  // Adds the current records of the locks file of the function folder open as `folder` to `out`.
  static void read_running(int folder, const std::string& name, std::vector<running_computation>& out) {
    const detail::fsio::unique_fd fd{
        detail::fsio::openat_retrying(folder, std::string{lock_file_name}.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK)};
    if (!fd) {
      return;
    }
    std::vector<char> slots(lock_record_size * lock_record_slots);
    const ::ssize_t got = detail::fsio::pread_full(fd.get(), slots.data(), slots.size(), 0);
    for (std::size_t at = 0; got > 0 && at + lock_record_size <= static_cast<std::size_t>(got);
         at += lock_record_size) {
      const std::string_view record{slots.data() + at, lock_record_size};
      if (record[32] != ' ') {
        continue;
      }
      const auto call = key::from_hex(record.substr(0, 32));
      auto holder = call ? detail::parse_lock_record(record.substr(33)) : std::nullopt;
      if (holder && byte_locked(fd.get(), *call)) {
        out.push_back({name, *call, std::move(*holder)});
      }
    }
  }

  // The lock on the key's byte: one attempt when `wait_limit` is unset, else retried with
  // backoff until it has passed (then null).
  [[nodiscard]] std::unique_ptr<compute_lock> lock_range(const entry_address& address, std::string_view label,
                                                         std::optional<std::chrono::milliseconds> wait_limit) {
    const location where = find(address);
    std::string path = where.path.substr(0, where.function_end);
    path.append("/").append(lock_file_name);
    detail::fsio::unique_fd fd =
        open_making_folders(where, path, "lock file", O_RDWR | O_CREAT | O_NONBLOCK, file_mode());
    if (!detail::fsio::is_regular_file(fd.get())) {
      throw store_error{"cannot use lock file " + path + ": not a regular file"};
    }
    set_shared_mode(fd.get());
    struct ::flock range = key_range(address.call, F_WRLCK);
    const auto deadline = std::chrono::steady_clock::now() + wait_limit.value_or(std::chrono::milliseconds{0});
    auto pause = std::chrono::milliseconds{1};
    while (::fcntl(fd.get(), lock_command, &range) != 0) {
      if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
        detail::fsio::throw_io_error("cannot lock", path, errno);
      }
      if (errno != EINTR && (!wait_limit || std::chrono::steady_clock::now() >= deadline)) {
        return nullptr;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds{50});
    }
    record_holder(fd.get(), address.call, label);
    return std::make_unique<range_lock>(std::move(fd));
  }

  // The one byte of the locks file that stands for `call`.
  [[nodiscard]] static struct ::flock key_range(const key& call, short type) noexcept {
    struct ::flock range {};
    range.l_type = type;
    range.l_whence = SEEK_SET;
    range.l_start = static_cast<::off_t>(call.low() >> 2U); // fits off_t, with room for its one byte
    range.l_len = 1;
    return range;
  }

  // Whether another open file holds `call`'s byte of the locks file open as `fd`.
  [[nodiscard]] static bool byte_locked(int fd, const key& call) noexcept {
    struct ::flock range = key_range(call, F_WRLCK);
#if defined(F_OFD_GETLK)
    constexpr int probe = F_OFD_GETLK;
#else
    constexpr int probe = F_GETLK;
#endif
    return ::fcntl(fd, probe, &range) == 0 && range.l_type != F_UNLCK;
  }

  // "<key> <lock record>", space-padded to a newline-terminated 128-byte slot. Best effort.
  static void record_holder(int fd, const key& call, std::string_view label) {
    std::array<char, lock_record_size> record{};
    record.fill(' ');
    call.write_hex(record.data());
    const std::string who = detail::format_lock_record(label);
    const std::size_t room = record.size() - 32 - 2;
    std::copy_n(who.data(), std::min(who.size(), room), record.data() + 33);
    record.back() = '\n';
    const auto slot = static_cast<::off_t>(call.low() % lock_record_slots);
    static_cast<void>(::pwrite(fd, record.data(), record.size(), slot * static_cast<::off_t>(lock_record_size)));
  }

  [[nodiscard]] static std::uint64_t next_instance() noexcept {
    static std::atomic<std::uint64_t> count{0};
    return count.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  // `root` made absolute and normal, without a trailing '/'. Throws config_error if it is empty.
  [[nodiscard]] static std::string normalized_root(const std::filesystem::path& root) {
    if (root.empty()) {
      throw config_error{"directory_store: the root folder path is empty"};
    }
    std::string text = std::filesystem::absolute(root).lexically_normal().string();
    while (text.size() > 1 && text.back() == '/') {
      text.pop_back();
    }
    return text;
  }

  // An entry's path, with where its function folder ends (the '/' after it): the folders a
  // save may have to create are prefixes of it.
  struct location {
    std::string path;
    std::size_t function_end = 0;
  };

  static void append_folder_name(std::string& out, const function_id& function) {
    detail::directory_layout::append_function_folder_name(out, function.name, function.identity);
  }

  // "<root>/<function folder>", remembered per thread for the last function and store asked
  // about: every call needs it, and making a name filesystem-safe was most of what building a
  // hit's path cost (about 850 of 1,200 instructions).
  [[nodiscard]] const std::string& function_folder_path(const function_id& function) const {
    struct remembered {
      std::uint64_t store = 0; // m_instance; 0 is no store
      key identity;
      std::string name;
      std::string path;
    };
    thread_local remembered last;
    if (last.store != m_instance || last.identity != function.identity || last.name != function.name) {
      last.store = 0; // until complete: an allocation failure below leaves nothing half-made
      last.path.assign(m_root_prefix);
      append_folder_name(last.path, function);
      last.name = function.name;
      last.identity = function.identity;
      last.store = m_instance;
    }
    return last.path;
  }

  // One string, one allocation: a hit's path costs no std::filesystem::path work.
  [[nodiscard]] location find(const entry_address& address) const {
    location out;
    std::string& path = out.path;
    const std::string& folder = function_folder_path(address.function);
    path.reserve(folder.size() + 4 + detail::directory_layout::entry_name_size);
    path.append(folder);
    out.function_end = path.size();
    path.push_back('/');
    static_cast<void>(detail::directory_layout::append_entry_path(path, address.call));
    return out;
  }

  // load() once the file is open: one read serves a small entry whole.
  [[nodiscard]] std::optional<stored_entry> read_open(int fd, const struct ::stat& status, const std::string& path,
                                                      const entry_address& address) {
    const auto size = static_cast<std::uint64_t>(status.st_size);
    // One read serves a small entry whole; a large one reads its payload straight into the
    // vector it is returned in, so the bytes are copied once.
    std::array<std::byte, 4096> head; // NOLINT(cppcoreguidelines-pro-type-member-init): filled by read
    const std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(size, head.size()));
    ::iovec head_iov[1] = {{head.data(), wanted}};
    const std::size_t got = detail::fsio::read_all(fd, head_iov, 1, path);
    try {
      const detail::entry_header header = detail::decode_header(std::span<const std::byte>{head}.first(got));
      detail::check_entry_call(header, address.call);
      detail::check_entry_size(header, size);
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
      if (expected_rest != 0 && detail::fsio::read_all(fd, rest, 2, path) != expected_rest) {
        throw format_error{"entry shrank while it was read"};
      }
      detail::verify_entry(header, address.call, manifest, payload);
      // The manifest is verified but not decoded: a hit does not need it (describe_file does).
      stored_entry entry{detail::unpack_payload(header, std::move(payload)), header.metadata, {}};
      // The file's mtime is its last use: eviction takes the least recently used first.
      // Best effort: a read-only cache cannot be touched and needs no eviction.
      touch_if_stale(fd, status);
      return entry;
    } catch (const format_error& error) {
      discard_file(path, error.reason());
      return std::nullopt;
    }
  }

  // map() once the file is open.
  [[nodiscard]] std::optional<entry_view> map_open(int fd, const struct ::stat& status, const std::string& path,
                                                   const entry_address& address, verification check,
                                                   detail::page_loading loading = detail::page_loading::on_touch) {
    const auto size = static_cast<std::uint64_t>(status.st_size);
    try {
      if (size < detail::entry_header_size) {
        throw format_error{"entry too short: " + std::to_string(size) + " bytes"};
      }
      // The header and the sizes it declares are checked against the file before anything is
      // mapped: a forged header, or a file grown by a hole (truncate -s 3G), costs one pread.
      detail::entry_header_bytes head{};
      if (::pread(fd, head.data(), head.size(), 0) != static_cast<::ssize_t>(head.size())) {
        throw format_error{"entry shrank while it was read"};
      }
      const detail::entry_header declared = detail::decode_header(head);
      detail::check_entry_call(declared, address.call);
      detail::check_entry_size(declared, size);
      // Checking the checksum reads every page anyway: map them all at once.
      auto mapping = std::make_shared<const detail::file_mapping>(
          fd, static_cast<std::size_t>(size), path,
          check == verification::checksum || loading == detail::page_loading::upfront ? detail::page_loading::upfront
                                                                                      : detail::page_loading::on_touch);
      const std::span<const std::byte> bytes = mapping->bytes();
      const detail::entry_header header = detail::decode_header(bytes);
      detail::check_entry_call(header, address.call);
      detail::check_entry_size(header, size);
      entry_view view = detail::mapped_entry_view(std::move(mapping), header, check);
      touch_if_stale(fd, status);
      return view;
    } catch (const format_error& error) {
      discard_file(path, error.reason());
      return std::nullopt;
    }
  }

  // The open descriptor, or -1 for a missing entry (ENOENT, not logged). Throws store_error on
  // any other failure: EACCES, EIO, a root that is a file (ENOTDIR), ...
  [[nodiscard]] int open_entry(const std::string& path) const {
    // O_NONBLOCK changes nothing for a regular file, but keeps a FIFO planted under an entry's
    // name from blocking the open; fstat then rejects it.
    const int fd = open_below(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0 && errno != ENOENT) {
      throw_open_error("entry", path, errno);
    }
    return fd;
  }

  // open_beneath() for a `path` this store built (it starts with m_root_prefix).
  // `check`: root_check::now right after creating folders, so a replaced root is followed at once.
  [[nodiscard]] int open_below(const std::string& path, int flags, ::mode_t mode = 0,
                               root_check check = root_check::when_due) const noexcept {
    return m_root_folder.open(path.c_str() + m_root_prefix.size(), flags, mode, check);
  }

  // open_below(path), making the folders of `where` first if something on the way is missing
  // (folders are made only then, so the common save or lock pays for no mkdir or stat).
  // Throws store_error naming `what` and `path` on failure.
  [[nodiscard]] detail::fsio::unique_fd open_making_folders(const location& where, const std::string& path,
                                                            std::string_view what, int flags, ::mode_t mode = 0) const {
    detail::fsio::unique_fd fd{open_below(path, flags, mode)};
    if (!fd && errno == ENOENT) {
      create_folders(where);
      fd.reset(open_below(path, flags, mode, root_check::now));
    }
    if (!fd) {
      throw_open_error(what, path, errno);
    }
    return fd;
  }

  // Throws untrusted_cache_error unless the shard folder open as `shard` and its function folder
  // may be trusted: a function folder that another user made in the root (when it was shared,
  // say) is refused before anything is written to it. Two fstat calls per save.
  void check_folders_trusted(int shard, const location& where) const {
    struct ::stat status {};
    if (::fstatat(shard, "..", &status, AT_SYMLINK_NOFOLLOW) == 0) {
      check_trusted(status, where.path.substr(0, where.function_end));
    }
    if (::fstat(shard, &status) == 0) {
      check_trusted(status, where.path.substr(0, where.function_end));
    }
  }

  // Throws store_error for a failed open_below(), saying so plainly when a link was refused, and
  // untrusted_cache_error when the root was (detail/stores/folder_trust.hpp).
  [[noreturn]] void throw_open_error(std::string_view what, const std::string& path, int error) const {
    if (error == EACCES && m_root_folder.refused()) {
      throw untrusted_cache_error{m_root.string(), m_root_folder.refusal()};
    }
    if (detail::fsio::refused_link(error)) {
      throw store_error{"refusing to open " + std::string{what} + " " + path +
                        ": it, or a folder on its way below the cache root, is a symbolic link (recall follows "
                        "none below the root; see docs/RELIABILITY.md)"};
    }
    detail::fsio::throw_io_error("cannot open " + std::string{what}, path, error);
  }

  [[nodiscard]] ::mode_t file_mode() const noexcept {
    return m_sharing.load(std::memory_order_relaxed) == sharing::group ? 0660 : 0600;
  }
  [[nodiscard]] ::mode_t folder_mode() const noexcept {
    return m_sharing.load(std::memory_order_relaxed) == sharing::group ? 02770 : 0700;
  }

  // open(2) applies the umask to a new file's mode; group sharing needs exactly 0660. A file
  // another member created is left as it is (fchmod is the owner's right only).
  void set_shared_mode(int fd) const noexcept {
    if (m_sharing.load(std::memory_order_relaxed) == sharing::group) {
      static_cast<void>(::fchmod(fd, file_mode()));
    }
  }

  [[nodiscard]] std::uint64_t regular_file_size(int fd, const std::string& path) const {
    const auto size = regular_file_status(fd, path).st_size;
    return size < 0 ? 0 : static_cast<std::uint64_t>(size);
  }

  // The status of the entry file open as `fd`: a regular file that this store may trust (an
  // entry written by someone it does not trust is refused like its folder would be).
  [[nodiscard]] struct ::stat regular_file_status(int fd, const std::string& path) const {
    struct ::stat info {};
    if (::fstat(fd, &info) != 0) {
      detail::fsio::throw_io_error("cannot stat", path, errno);
    }
    if (!S_ISREG(info.st_mode)) {
      throw store_error{"cannot read " + path + ": not a regular file"};
    }
    if (info.st_uid != m_uid || (info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      check_trusted(info, path.substr(0, path.size() - 4 - 32 - entry_extension.size()), path);
    }
    return info;
  }

  // Throws untrusted_cache_error naming `folder` when `status` (of `folder` itself, or of
  // `file` in it) may not be trusted under this store's sharing.
  void check_trusted(const struct ::stat& status, const std::string& folder, const std::string& file = {}) const {
    const std::string problem = detail::fsio::trust_problem(status, m_sharing.load(std::memory_order_relaxed), m_uid);
    if (!problem.empty()) {
      throw untrusted_cache_error{folder,
                                  detail::fsio::refusal_message(folder, (file.empty() ? "" : file + ": ") + problem)};
    }
  }

  // Last use is kept to the minute: touching an entry on every hit would cost a syscall per
  // hit for an order that eviction only needs roughly.
  static void touch_if_stale(int fd, const struct ::stat& info) {
    constexpr std::time_t granularity = 60;
    if (::time(nullptr) - info.st_mtime >= granularity) {
      static_cast<void>(::futimens(fd, nullptr));
    }
  }

  // Removes a damaged entry so it is recomputed instead of failing every run. Another process
  // may have just renamed a good entry over the damaged one; deleting that costs one recompute.
  static void discard_file(const std::string& path, std::string_view reason) {
    const int unlink_error = ::unlink(path.c_str()) == 0 ? 0 : errno;
    std::string line;
    if (unlink_error == 0 || unlink_error == ENOENT) {
      line = "removed damaged cache entry " + path + ": ";
    } else {
      line =
          "damaged cache entry " + path + " (could not remove it: " + detail::fsio::errno_message(unlink_error) + "): ";
    }
    line.append(reason);
    log(log_level::warning, line);
  }

  // mkdir with mode 0700. True if it made the folder, false if a folder was already there
  // (made by a concurrent save, say). Throws store_error, naming the folder, otherwise.
  // `create_parents` walks up through missing parents, for the root only.
  bool make_folder(const std::string& path, bool create_parents) const {
    for (bool retried = false;; retried = true) {
      if (::mkdir(path.c_str(), folder_mode()) == 0) {
        // mkdir applies the umask and may drop the setgid bit: set the mode exactly.
        if (m_sharing.load(std::memory_order_relaxed) == sharing::group && ::chmod(path.c_str(), folder_mode()) != 0) {
          detail::fsio::throw_io_error("cannot set the mode of folder", path, errno);
        }
        if (m_durability == durability::fsync) {
          const std::string parent = detail::fsio::parent_of(path);
          if (const int error = detail::fsio::sync_directory(parent); error != 0) {
            detail::fsio::throw_io_error("cannot fsync folder", parent, error);
          }
        }
        return true;
      }
      const int error = errno;
      if (error == EEXIST) {
        struct ::stat info {};
        // Below the root, lstat: a symbolic link in a folder's place is refused, not followed.
        // The root and its parents may be links.
        const bool below_root = path.size() >= m_root_prefix.size();
        if ((below_root ? ::lstat(path.c_str(), &info) : ::stat(path.c_str(), &info)) == 0 && S_ISDIR(info.st_mode)) {
          return false;
        }
        if (below_root && S_ISLNK(info.st_mode)) {
          throw store_error{"refusing folder " + path +
                            ": it is a symbolic link below the cache root (recall follows "
                            "none there; see docs/RELIABILITY.md)"};
        }
        throw store_error{"cannot create folder " + path + ": a file is in the way"};
      }
      if (error == ENOENT && create_parents && !retried) {
        const std::string parent = detail::fsio::parent_of(path);
        if (parent != path) {
          make_folder(parent, true);
          continue;
        }
      }
      detail::fsio::throw_io_error("cannot create folder", path, error);
    }
  }

  void create_folders(const location& where) const {
    const std::string root =
        m_root_prefix.size() > 1 ? m_root_prefix.substr(0, m_root_prefix.size() - 1) : m_root_prefix;
    const bool root_made = make_folder(root, true);
    const bool function_made = make_folder(where.path.substr(0, where.function_end), false);
    make_folder(where.path.substr(0, where.function_end + 3), false);
    // Checked on the first save into a function folder too, so a root that already existed
    // (made by the user, or by a tool) also gets its tag. The tag only tells backup tools to skip
    // the tree: failing to write it (a full disk) must not cost the save or the compute lock
    // that made the folders, so it is tried again with the next function folder.
    if (root_made || function_made) {
      try {
        write_cachedir_tag();
      } catch (const store_error&) {
      }
    }
  }

  void write_cachedir_tag() const {
    const std::string path = m_root_prefix + std::string{cachedir_tag_name};
    if (::access(path.c_str(), F_OK) == 0) {
      return;
    }
    detail::atomic_file tag{path, m_durability, 0644};
    tag.write(std::as_bytes(std::span{cachedir_tag_content}));
    tag.commit();
  }

  // Tells stores apart in per-thread memos; never reused, unlike an address.
  std::uint64_t m_instance = next_instance();
  ::uid_t m_uid = ::geteuid(); // who this store trusts (with its group under sharing::group)
  std::filesystem::path m_root;
  std::string m_root_prefix; // m_root and a '/': the start of every path the store builds
  durability m_durability;
  std::atomic<sharing> m_sharing{sharing::private_to_user};
  compression m_compression;
  // The root held open: it caches a descriptor, hence mutable, and is thread-safe.
  mutable detail::fsio::root_folder m_root_folder;
  std::unique_ptr<detail::size_limiter> m_limiter;
};

} // namespace recall
