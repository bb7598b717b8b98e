// Opening files and folders below a cache root without following any symbolic link below it.
#pragma once

// The symlink policy of a directory store: the root (and the path leading to it) may be a
// symbolic link, resolved when a file is opened; nothing below the root is ever followed when it
// is one. recall creates no links in a cache, so a link found there was planted: a function or
// shard folder, entry, lock or stats file that is a link is refused (ELOOP), so a cache never
// reads from, writes to or deletes in a place outside its root on the strength of a link.
//
// On Linux 5.6 and later this is one openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH) relative to
// the root; where openat2 is missing (older kernels, some seccomp filters) each component is
// opened with O_NOFOLLOW in turn.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

#include <atomic>
#include <cerrno>
#include <string>
#include <string_view>

#include <recall/detail/stores/atomic_file.hpp>

namespace recall::detail::fsio {

namespace beneath_detail {

// Set once openat2 turned out to be unavailable, so later opens go straight to the walk.
inline std::atomic<bool> no_openat2{false};

// openat(2) retried on EINTR.
[[nodiscard]] inline int openat_retrying(int folder, const char* name, int flags, ::mode_t mode) noexcept {
  int fd = -1;
  do {
    fd = ::openat(folder, name, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// The component-by-component walk: every folder below `root_fd` is opened with O_NOFOLLOW, so a
// link anywhere gives ELOOP (or ENOTDIR).
[[nodiscard]] inline int walk(int root_fd, std::string_view relative, int flags, ::mode_t mode) noexcept {
  unique_fd current;
  int at = root_fd;
  while (true) {
    const auto slash = relative.find('/');
    const std::string name{relative.substr(0, slash)};
    if (name.empty() || name == "." || name == "..") {
      errno = EINVAL;
      return -1;
    }
    if (slash == std::string_view::npos) {
      return openat_retrying(at, name.c_str(), flags | O_NOFOLLOW, mode);
    }
    const int next = openat_retrying(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (next < 0) {
      // O_DIRECTORY | O_NOFOLLOW on a link gives ENOTDIR; say ELOOP, as openat2 does.
      struct ::stat info{};
      if (errno == ENOTDIR && ::fstatat(at, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode)) {
        errno = ELOOP;
      }
      return -1;
    }
    current.reset(next);
    at = next;
    relative.remove_prefix(slash + 1);
  }
}

} // namespace beneath_detail

// Opens `relative` ("a/b/c", no leading '/', no "." or ".." components) below the folder `root`,
// following links in `root` itself but none below it. open(2)'s flags and mode. Returns the
// descriptor, or -1 with errno set: ELOOP (or ENOTDIR, EXDEV) when the path goes through a link
// below the root, ENOENT when something is missing (the root included), ...
[[nodiscard]] inline int open_beneath(const std::string& root, std::string_view relative, int flags,
                                      ::mode_t mode = 0) noexcept {
#if defined(__linux__) && defined(O_PATH)
  const unique_fd root_fd{open_retrying(root.c_str(), O_PATH | O_DIRECTORY)};
#else
  const unique_fd root_fd{open_retrying(root.c_str(), O_RDONLY | O_DIRECTORY)};
#endif
  if (!root_fd) {
    return -1;
  }
#if defined(__linux__) && defined(SYS_openat2)
  if (!beneath_detail::no_openat2.load(std::memory_order_relaxed)) {
    const std::string path{relative};
    ::open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = -1;
    do {
      fd = ::syscall(SYS_openat2, root_fd.get(), path.c_str(), &how, sizeof how);
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
      return static_cast<int>(fd);
    }
    // ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that refuses unknown system calls.
    beneath_detail::no_openat2.store(true, std::memory_order_relaxed);
  }
#endif
  return beneath_detail::walk(root_fd.get(), relative, flags, mode);
}

// True for the errno values open_beneath gives when it refused a link.
[[nodiscard]] inline bool refused_link(int error) noexcept { return error == ELOOP || error == EXDEV; }

} // namespace recall::detail::fsio
