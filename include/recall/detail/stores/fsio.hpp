// Small POSIX file-descriptor helpers shared by the file-based stores and the management tools:
// an owned descriptor, opens, whole reads and writes retried on EINTR and short counts, syncs,
// and the errors they throw. The one place such loops are written.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <recall/errors.hpp>

namespace recall::detail::fsio {

// strerror's text for `error`, without strerror's shared buffer (safe from any thread).
[[nodiscard]] inline std::string errno_message(int error) { return std::generic_category().message(error); }

// Throws store_error "<action> <path>: <reason>".
[[noreturn]] inline void throw_io_error(std::string_view action, std::string_view path, int error) {
  std::string message;
  message.reserve(action.size() + path.size() + 40);
  message.append(action).append(" ").append(path).append(": ").append(errno_message(error));
  throw store_error{message};
}

// True for the errno values an open that refuses symbolic links gives when it met one
// (open_beneath.hpp: ELOOP from O_NOFOLLOW or openat2's RESOLVE_NO_SYMLINKS, EXDEV from its
// RESOLVE_BENEATH).
[[nodiscard]] inline bool refused_link(int error) noexcept { return error == ELOOP || error == EXDEV; }

// A file's mtime in ns since the Unix epoch (a cache entry's last use: the store touches it on hits).
[[nodiscard]] inline std::int64_t mtime_ns(const struct ::stat& status) noexcept {
  return std::int64_t{status.st_mtim.tv_sec} * 1'000'000'000 + status.st_mtim.tv_nsec;
}

// Owns one file descriptor and closes it. Close errors are ignored: callers that must see
// them (a file being written) call release() and close themselves.
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : m_fd{fd} {}
  unique_fd(unique_fd&& other) noexcept : m_fd{std::exchange(other.m_fd, -1)} {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.m_fd, -1));
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return m_fd; }
  [[nodiscard]] explicit operator bool() const noexcept { return m_fd >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(m_fd, -1); }
  void reset(int fd = -1) noexcept {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

// openat(2) relative to the folder open as `folder` (or AT_FDCWD), close-on-exec, retried on
// EINTR. Returns -1 with errno set on failure.
[[nodiscard]] inline int openat_retrying(int folder, const char* name, int flags, ::mode_t mode = 0) noexcept {
  int fd = -1;
  do {
    fd = ::openat(folder, name, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// open(2), retried on EINTR. Returns -1 with errno set on failure.
[[nodiscard]] inline int open_retrying(const char* path, int flags, ::mode_t mode = 0) noexcept {
  return openat_retrying(AT_FDCWD, path, flags, mode);
}

// Whether the open `fd` is a regular file. False (errno EINVAL) for a FIFO, device, socket or
// folder planted under a cache file's name; errno from fstat if that fails.
[[nodiscard]] inline bool is_regular_file(int fd) noexcept {
  struct ::stat status {};
  if (::fstat(fd, &status) != 0) {
    return false;
  }
  if (!S_ISREG(status.st_mode)) {
    errno = EINVAL;
    return false;
  }
  return true;
}

// openat_retrying() for a file in the cache that must be a regular file: opened with O_NONBLOCK,
// which changes nothing for a regular file but keeps a FIFO planted under its name from
// blocking the open (or a later read) forever, then checked with fstat. Returns -1 with errno
// EINVAL when something else is there.
[[nodiscard]] inline int open_regular_at(int folder, const char* name, int flags, ::mode_t mode = 0) noexcept {
  const int fd = openat_retrying(folder, name, flags | O_NONBLOCK, mode);
  if (fd >= 0 && !is_regular_file(fd)) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// open_regular_at() for a path.
[[nodiscard]] inline int open_regular(const char* path, int flags, ::mode_t mode = 0) noexcept {
  return open_regular_at(AT_FDCWD, path, flags, mode);
}

namespace io_detail {

// Moves `iov` (of `count` buffers) past `done` bytes: the loop step of every vectored transfer.
inline void advance(::iovec*& iov, int& count, std::size_t done) noexcept {
  while (count > 0 && done >= iov->iov_len) {
    done -= iov->iov_len;
    ++iov;
    --count;
  }
  if (count > 0) {
    iov->iov_base = static_cast<std::byte*>(iov->iov_base) + done;
    iov->iov_len -= done;
  }
}

// readv, or preadv at `at` when set.
[[nodiscard]] inline ::ssize_t read_some(int fd, const ::iovec* iov, int count,
                                         std::optional<std::uint64_t> at) noexcept {
  return at ? ::preadv(fd, iov, count, static_cast<::off_t>(*at)) : ::readv(fd, iov, count);
}

// writev, or pwritev at `at` when set.
[[nodiscard]] inline ::ssize_t write_some(int fd, const ::iovec* iov, int count,
                                          std::optional<std::uint64_t> at) noexcept {
  return at ? ::pwritev(fd, iov, count, static_cast<::off_t>(*at)) : ::writev(fd, iov, count);
}

} // namespace io_detail

// Fills the buffers from fd (from its file offset, or from `at` with preadv when given) until they
// are full or the file ends, looping on short reads and EINTR. The iovecs are consumed. Returns the
// bytes read, or -1 with errno set.
[[nodiscard]] inline ::ssize_t readv_full(int fd, ::iovec* iov, int count,
                                          std::optional<std::uint64_t> at = {}) noexcept {
  std::size_t total = 0;
  while (count > 0) {
    const ::ssize_t got = io_detail::read_some(fd, iov, count, at ? std::optional{*at + total} : std::nullopt);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (got == 0) {
      break;
    }
    total += static_cast<std::size_t>(got);
    io_detail::advance(iov, count, static_cast<std::size_t>(got));
  }
  return static_cast<::ssize_t>(total);
}

// readv_full(), throwing store_error naming `path` on a read error. Returns the bytes read (fewer
// than asked at the end of the file).
inline std::size_t read_all(int fd, ::iovec* iov, int count, const std::string& path) {
  const ::ssize_t got = readv_full(fd, iov, count);
  if (got < 0) {
    throw_io_error("cannot read", path, errno);
  }
  return static_cast<std::size_t>(got);
}

// pread of exactly `size` bytes at `offset`, looping on short reads and EINTR. Returns the bytes
// read (fewer at the end of the file), or -1 with errno set.
[[nodiscard]] inline ::ssize_t pread_full(int fd, void* buffer, std::size_t size, std::uint64_t offset) noexcept {
  ::iovec iov[1] = {{buffer, size}};
  return readv_full(fd, iov, 1, offset);
}

// Writes every byte of `parts`, in order (at the file offset, or from `at` with pwritev when
// given), with as few calls as the kernel allows; loops on short writes and EINTR. Returns 0, or
// the errno of the failure.
[[nodiscard]] inline int write_all(int fd, std::span<const std::span<const std::byte>> parts,
                                   std::optional<std::uint64_t> at = {}) noexcept {
  constexpr int batch = 16;
  std::size_t part = 0;
  std::size_t offset = 0; // bytes of parts[part] already written
  std::uint64_t written_total = 0;
  while (part < parts.size()) {
    ::iovec iov[batch];
    int count = 0;
    for (std::size_t i = part; i < parts.size() && count < batch; ++i) {
      const std::size_t skip = i == part ? offset : 0;
      if (parts[i].size() > skip) {
        // writev does not write through iov_base; the cast only satisfies its C signature.
        iov[count].iov_base = const_cast<std::byte*>(parts[i].data() + skip);
        iov[count].iov_len = parts[i].size() - skip;
        ++count;
      }
    }
    if (count == 0) {
      break;
    }
    const ::ssize_t written =
        io_detail::write_some(fd, iov, count, at ? std::optional{*at + written_total} : std::nullopt);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    if (written == 0) {
      return EIO; // no progress on a regular file: never loop forever
    }
    auto left = static_cast<std::size_t>(written);
    written_total += left;
    while (part < parts.size() && left >= parts[part].size() - offset) {
      left -= parts[part].size() - offset;
      ++part;
      offset = 0;
    }
    offset += left;
  }
  return 0;
}

// pwrite of every byte at `offset`, looping on short writes and EINTR. Returns 0 or errno.
[[nodiscard]] inline int pwrite_full(int fd, const void* buffer, std::size_t size, std::uint64_t offset) noexcept {
  const std::span<const std::byte> part{static_cast<const std::byte*>(buffer), size};
  return write_all(fd, std::span<const std::span<const std::byte>>{&part, 1}, offset);
}

// Flushes the file's data and metadata to stable storage. Returns 0 or errno.
[[nodiscard]] inline int sync_fd(int fd) noexcept {
#if defined(__APPLE__) && defined(F_FULLFSYNC)
  // fsync on macOS stops at the drive's volatile cache; F_FULLFSYNC does not.
  if (::fcntl(fd, F_FULLFSYNC) == 0) {
    return 0;
  }
#endif
  while (::fsync(fd) != 0) {
    if (errno != EINTR) {
      return errno;
    }
  }
  return 0;
}

// Makes the entries of a folder (a rename or a new file in it) durable. Returns 0 or errno.
// Filesystems that cannot sync a folder (EINVAL, ENOTSUP) count as success: there is nothing
// more a program can do on them.
[[nodiscard]] inline int sync_directory(const std::string& path) noexcept {
  const unique_fd fd{open_retrying(path.c_str(), O_RDONLY | O_DIRECTORY)};
  if (!fd) {
    return errno;
  }
  const int error = sync_fd(fd.get());
  return error == EINVAL || error == ENOTSUP ? 0 : error;
}

// The folder part of a path written with '/' separators: "." for a bare name, "/" for "/x".
[[nodiscard]] inline std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? std::string{"/"} : path.substr(0, slash);
}

} // namespace recall::detail::fsio
