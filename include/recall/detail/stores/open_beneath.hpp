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
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/stores/folder_trust.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/stores/sharing.hpp>

namespace recall::detail::fsio {

namespace beneath_detail {

// A root is opened only to open things below it: O_PATH where there is one.
#if defined(__linux__) && defined(O_PATH)
inline constexpr int root_open_flags = O_PATH | O_DIRECTORY;
#else
inline constexpr int root_open_flags = O_RDONLY | O_DIRECTORY;
#endif

// Set once openat2 turned out to be unavailable, so later opens go straight to the walk.
inline std::atomic<bool> no_openat2{false};

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
      struct ::stat info {};
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

// Opens `relative` ("a/b/c", no leading '/', no "." or ".." components) below the folder open as
// `root_fd`, following no link below it. open(2)'s flags and mode. Returns the descriptor, or -1
// with errno set: ELOOP (or ENOTDIR, EXDEV) when the path goes through a link below the root,
// ENOENT when something is missing, ...
[[nodiscard]] inline int open_beneath_at(int root_fd, const char* relative, int flags, ::mode_t mode = 0) noexcept {
#if defined(__linux__) && defined(SYS_openat2)
  if (!beneath_detail::no_openat2.load(std::memory_order_relaxed)) {
    ::open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = -1;
    do {
      fd = ::syscall(SYS_openat2, root_fd, relative, &how, sizeof how);
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
      return static_cast<int>(fd);
    }
    // ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that refuses unknown system calls.
    beneath_detail::no_openat2.store(true, std::memory_order_relaxed);
  }
#endif
  return beneath_detail::walk(root_fd, relative, flags, mode);
}

// As open_beneath_at, below the folder at the path `root`, which may itself be (or go through) a
// link. ENOENT when the root is missing.
[[nodiscard]] inline int open_beneath(const std::string& root, std::string_view relative, int flags,
                                      ::mode_t mode = 0) noexcept {
  const unique_fd root_fd{open_retrying(root.c_str(), beneath_detail::root_open_flags)};
  if (!root_fd) {
    return -1;
  }
  return open_beneath_at(root_fd.get(), std::string{relative}.c_str(), flags, mode);
}

// A cache root held open, so that a file below it costs one openat2 rather than a fresh walk of
// the root's own path every time (on a disk hit that walk was a third of the syscalls).
//
// The descriptor follows the folder, not its path. When an open below it finds nothing (ENOENT),
// the handle checks that the path still names the folder it holds (stat of the path against
// fstat of the descriptor) and, if not, reopens the path and tries again. Misses check at most
// once a second (a check is two system calls, on a path that costs about fifteen); a caller
// that is about to create what was missing asks for the check now (root_check::now). So a root
// removed, or moved aside and made anew, by another process is followed from the first save
// after it, and from the first miss a second after it. Until then, hits are served from the
// folder that was the root: entries that were valid there.
// Thread-safe; replaced descriptors stay open until the handle dies, since another thread may
// still be using one.
class root_folder {
public:
  explicit root_folder(std::string path) : m_path{std::move(path)} {}
  root_folder(const root_folder&) = delete;
  root_folder& operator=(const root_folder&) = delete;
  ~root_folder() {
    if (const int fd = m_fd.load(std::memory_order_relaxed); fd >= 0) {
      ::close(fd);
    }
    for (const int fd : m_retired) {
      ::close(fd);
    }
  }

  [[nodiscard]] const std::string& path() const noexcept { return m_path; }

  enum class root_check { when_due, now };

  // Whom the root may belong to (fsio::trust_problem), checked each time it is opened. Set it
  // before the first open.
  void set_sharing(sharing who) noexcept { m_sharing.store(who, std::memory_order_relaxed); }

  // Whether the root was refused when last opened (owned by someone untrusted, or writable by
  // others): then every open fails with EACCES and refusal() says why. A refused root is not
  // held open, so each open checks it again (a chmod or chown that fixes it takes effect at once).
  [[nodiscard]] bool refused() const noexcept { return m_refused.load(std::memory_order_acquire); }
  [[nodiscard]] std::string refusal() const {
    const std::lock_guard lock{m_mutex};
    return m_refusal;
  }

  // open_beneath_at() below the root; -1 with errno ENOENT when the root itself is missing, and
  // EACCES when it was refused.
  [[nodiscard]] int open(const char* relative, int flags, ::mode_t mode = 0,
                         root_check check = root_check::when_due) noexcept {
    const int root = current();
    if (root < 0) {
      return -1;
    }
    const int fd = open_beneath_at(root, relative, flags, mode);
    if (fd < 0 && errno == ENOENT && check_due(check) && reopen_if_moved(root)) {
      return open_beneath_at(m_fd.load(std::memory_order_acquire), relative, flags, mode);
    }
    return fd;
  }

private:
  // The root's descriptor, opened on first use (and retried while the root does not exist).
  [[nodiscard]] int current() noexcept {
    if (const int fd = m_fd.load(std::memory_order_acquire); fd >= 0) {
      return fd;
    }
    const std::lock_guard lock{m_mutex};
    if (const int fd = m_fd.load(std::memory_order_acquire); fd >= 0) {
      return fd;
    }
    const int fd = open_retrying(m_path.c_str(), beneath_detail::root_open_flags);
    if (fd >= 0 && !trusted(fd)) {
      return -1;
    }
    if (fd >= 0) {
      m_last_check.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      m_fd.store(fd, std::memory_order_release);
    }
    return fd;
  }

  // Whether to check the root now; a due check is counted as done.
  [[nodiscard]] bool check_due(root_check check) noexcept {
    const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    constexpr std::int64_t period = std::chrono::steady_clock::duration{std::chrono::seconds{1}}.count();
    std::int64_t last = m_last_check.load(std::memory_order_relaxed);
    if (check == root_check::when_due && now - last < period) {
      return false;
    }
    // One thread per period does the check; `now` wins over a concurrent due check.
    return m_last_check.compare_exchange_strong(last, now, std::memory_order_relaxed) || check == root_check::now;
  }

  // True if `seen` is no longer the folder at m_path and a descriptor of the one now there
  // replaced it. Leaves errno as it found it.
  [[nodiscard]] bool reopen_if_moved(int seen) noexcept {
    const int saved_errno = errno;
    struct ::stat now {};
    struct ::stat held {};
    bool replaced = false;
    if (::stat(m_path.c_str(), &now) == 0 &&
        (::fstat(seen, &held) != 0 || held.st_dev != now.st_dev || held.st_ino != now.st_ino)) {
      const std::lock_guard lock{m_mutex};
      if (m_fd.load(std::memory_order_acquire) != seen) {
        replaced = true; // another thread got there first
      } else if (const int fresh = open_retrying(m_path.c_str(), beneath_detail::root_open_flags);
                 fresh >= 0 && trusted(fresh)) {
        try {
          m_retired.push_back(seen);
          m_fd.store(fresh, std::memory_order_release);
          replaced = true;
        } catch (const std::bad_alloc&) {
          ::close(fresh); // keep the old descriptor: misses stay misses, nothing worse
        }
      }
    }
    errno = saved_errno;
    return replaced;
  }

  // Whether the root open as `fd` may be used; if not, closes it and records why (errno EACCES).
  // Called with m_mutex held.
  [[nodiscard]] bool trusted(int fd) noexcept {
    try {
      struct ::stat status {};
      std::string problem = ::fstat(fd, &status) != 0
                                ? "cannot stat it: " + errno_message(errno)
                                : trust_problem(status, m_sharing.load(std::memory_order_relaxed));
      if (problem.empty()) {
        m_refused.store(false, std::memory_order_release);
        return true;
      }
      m_refusal = refusal_message(m_path, problem);
    } catch (...) {
      // Out of memory while saying why: refused all the same, without a reason.
    }
    ::close(fd);
    m_refused.store(true, std::memory_order_release);
    errno = EACCES;
    return false;
  }

  std::string m_path;
  std::atomic<sharing> m_sharing{sharing::private_to_user};
  std::atomic<bool> m_refused{false};
  std::string m_refusal; // guarded by m_mutex
  std::atomic<int> m_fd{-1};
  std::atomic<std::int64_t> m_last_check{0}; // steady_clock ticks of the last check of the path
  mutable std::mutex m_mutex;                // serializes opening and replacing the descriptor
  std::vector<int> m_retired;
};

} // namespace recall::detail::fsio
