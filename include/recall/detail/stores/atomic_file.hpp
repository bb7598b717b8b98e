// Atomic file replacement on POSIX: write a temp file beside the target, then rename it over it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <recall/detail/stores/fsio.hpp>
#include <recall/detail/stores/process_id.hpp>
#include <recall/errors.hpp>
#include <recall/stores/durability.hpp>

namespace recall::detail {

// One atomic replacement of `destination`. The constructor creates `<destination>.tmp.XXXXXX`
// (six random characters, O_EXCL) in the destination's folder, which must exist; write() fills
// it; commit() renames it over the destination, so readers see the old file or the whole new
// one, never a mix. A temp file not committed (an error, an exception) is removed by the
// destructor. A process killed mid-write can leave a *.tmp.* file behind; nothing ever reads
// those, so a cleanup pass may delete any that are old.
//
// The folder may be given as an open descriptor instead of a path: the temp file is then created,
// renamed and removed relative to it (openat, renameat), so nothing resolves the folder's path
// again between the checks a caller made on it and the rename.
// Not thread-safe itself; distinct atomic_file objects, even for one destination, are.
class atomic_file {
public:
  // `mode` is set exactly with fchmod (the umask does not apply) unless it is 0600, which the
  // temp file is created with. Throws store_error naming the temp file and the reason.
  explicit atomic_file(std::string destination, durability level = durability::none, ::mode_t mode = 0600)
      : atomic_file{AT_FDCWD, {}, std::move(destination), level, mode, nullptr} {}

  // As above, but a failure to create the temp file is reported in `error` (an errno value in
  // generic_category) and leaves the object inert (write and commit must not be called); lets
  // a caller react to ENOENT, say, without paying for an exception.
  atomic_file(std::string destination, durability level, ::mode_t mode, std::error_code& error)
      : atomic_file{AT_FDCWD, {}, std::move(destination), level, mode, &error} {}

  // The file `name` in the folder open as `folder` (a descriptor that is not O_PATH when `level`
  // is durability::fsync, and outlives this object). `destination` is its full path, for
  // messages only. Failures are reported in `error`, as above.
  atomic_file(int folder, std::string name, std::string destination, durability level, ::mode_t mode,
              std::error_code& error)
      : atomic_file{folder, std::move(name), std::move(destination), level, mode, &error} {}

  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  ~atomic_file() {
    m_fd.reset();
    if (!m_committed && !m_temp.empty()) {
      ::unlinkat(m_folder, temp_name(), 0);
    }
  }

  [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(m_fd); }
  [[nodiscard]] const std::string& destination() const noexcept { return m_destination; }
  // Empty if the temp file could not be created.
  [[nodiscard]] const std::string& temp_path() const noexcept { return m_temp; }

  // Appends bytes to the temp file. Throws store_error (ENOSPC, EIO, ...).
  void write(std::span<const std::byte> bytes) {
    const std::span<const std::byte> parts[] = {bytes};
    write(parts);
  }

  // Appends several buffers with writev, so a header and a large payload need no joined copy.
  void write(std::span<const std::span<const std::byte>> parts) {
    if (const int error = fsio::write_all(m_fd.get(), parts); error != 0) {
      fsio::throw_io_error("cannot write", m_temp, error);
    }
  }

  // Makes the written bytes the destination's content: fsync (under durability::fsync), close,
  // rename, then fsync the folder (under durability::fsync). Throws store_error; if the rename
  // has not happened, the destination is untouched and the temp file is removed.
  void commit() {
    if (m_durability == durability::fsync) {
      if (const int error = fsio::sync_fd(m_fd.get()); error != 0) {
        fsio::throw_io_error("cannot fsync", m_temp, error);
      }
    }
    // close() is where some filesystems (NFS) report a failed write; on Linux the descriptor
    // is gone even when close() returns EINTR, so that is not retried.
    if (::close(m_fd.release()) != 0 && errno != EINTR) {
      fsio::throw_io_error("cannot close", m_temp, errno);
    }
    if (::renameat(m_folder, temp_name(), m_folder, destination_name()) != 0) {
      const int error = errno;
      fsio::throw_io_error("cannot rename " + m_temp + " to", m_destination, error);
    }
    m_committed = true;
    if (m_durability == durability::fsync) {
      const int error =
          m_folder == AT_FDCWD ? fsio::sync_directory(fsio::parent_of(m_destination)) : fsio::sync_fd(m_folder);
      if (error != 0 && error != EINVAL && error != ENOTSUP) {
        fsio::throw_io_error("cannot fsync folder", fsio::parent_of(m_destination), error);
      }
    }
  }

private:
  static constexpr std::string_view temp_infix = ".tmp.";
  static constexpr std::size_t temp_suffix_size = temp_infix.size() + 6;

  atomic_file(int folder, std::string name, std::string destination, durability level, ::mode_t mode,
              std::error_code* error_out)
      : m_destination{std::move(destination)}, m_name{std::move(name)}, m_folder{folder}, m_durability{level} {
    std::string temp;
    temp.reserve(m_destination.size() + temp_suffix_size);
    temp.append(m_destination).append(temp_infix).append(6, 'X');
    int fd = -1;
    int error = 0;
    // O_EXCL makes a name taken by someone else (or a planted link) fail with EEXIST: draw again.
    for (int attempt = 0; attempt < 100; ++attempt) {
      fill_random_suffix(temp);
      m_temp_name = m_folder == AT_FDCWD ? temp : m_name + temp.substr(temp.size() - temp_suffix_size);
      fd = fsio::openat_retrying(m_folder, m_temp_name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
      error = fd < 0 ? errno : 0;
      if (error != EEXIST) {
        break;
      }
    }
    if (fd < 0) {
      if (error_out != nullptr) {
        *error_out = std::error_code{error, std::generic_category()};
        return;
      }
      fsio::throw_io_error("cannot create temp file", temp, error);
    }
    m_fd.reset(fd);
    m_temp = std::move(temp);
    if (mode != 0600 && ::fchmod(fd, mode) != 0) {
      const int failure = errno;
      // Cleaned up here: a constructor that throws never runs the destructor.
      m_fd.reset();
      ::unlinkat(m_folder, temp_name(), 0);
      const std::string failed = std::exchange(m_temp, std::string{});
      if (error_out != nullptr) {
        *error_out = std::error_code{failure, std::generic_category()};
        return;
      }
      fsio::throw_io_error("cannot set the mode of", failed, failure);
    }
    if (error_out != nullptr) {
      error_out->clear();
    }
  }

  // The last six characters of `temp` become random letters and digits. The generator is per
  // thread and mixes in the pid, so a forked child does not retrace its parent's names.
  static void fill_random_suffix(std::string& temp) noexcept {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    thread_local std::uint64_t state = [] {
      std::uint64_t seed = 0;
      if (::getentropy(&seed, sizeof seed) != 0) {
        seed = static_cast<std::uint64_t>(::time(nullptr)) ^ reinterpret_cast<std::uintptr_t>(&seed);
      }
      return seed;
    }();
    state += 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(process_id());
    std::uint64_t z = state; // splitmix64
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    for (std::size_t i = temp.size() - 6; i < temp.size(); ++i) {
      temp[i] = alphabet[z % (sizeof alphabet - 1)];
      z /= sizeof alphabet - 1;
    }
  }

  // Names as the syscalls take them: relative to m_folder, or whole paths under AT_FDCWD.
  [[nodiscard]] const char* destination_name() const noexcept {
    return m_folder == AT_FDCWD ? m_destination.c_str() : m_name.c_str();
  }
  [[nodiscard]] const char* temp_name() const noexcept { return m_temp_name.c_str(); }

  std::string m_destination;
  std::string m_name; // the destination relative to m_folder; empty under AT_FDCWD
  std::string m_temp;
  std::string m_temp_name; // m_temp as the syscalls take it
  fsio::unique_fd m_fd;
  int m_folder;
  durability m_durability;
  bool m_committed = false;
};

} // namespace recall::detail
