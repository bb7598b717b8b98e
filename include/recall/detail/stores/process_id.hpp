// This process's id, asked of the kernel once per process: every miss records it three times.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace recall::detail {

// The cached id; 0 until first asked for, and again in a child made by fork() (see process_id).
inline std::atomic<::pid_t>& cached_process_id() noexcept {
  static std::atomic<::pid_t> pid{0}; // trivially destructible: usable after main returns
  return pid;
}

// getpid() without a system call after the first: a miss put it in the entry's manifest, in
// its compute lock's holder record and into its temp file's random name, three system calls
// that cost about 8 % of a small miss's CPU on a virtual machine (bench/recall_bench.cpp).
// A child made by fork() (or anything calling glibc's fork, posix_spawn included) forgets the
// cached id in an atfork handler, registered before the id is first cached, so it asks anew.
// A child made by a raw clone() or _Fork() runs no handler and keeps its parent's id, which then
// only misnames the holder in records shown to people (`recall-cache running`, show): none of
// the three uses decides anything (locks are held by open file descriptions, temp names are
// created with O_EXCL and drawn again on a clash).
// Race-free by construction: the id is one relaxed atomic; threads that both find it 0 both
// store the same getpid() answer, and the fork handler runs in the child alone, before any
// thread of it can read the id.
[[nodiscard]] inline ::pid_t process_id() noexcept {
  auto& cached = cached_process_id();
  ::pid_t pid = cached.load(std::memory_order_relaxed);
  if (pid == 0) [[unlikely]] {
    static const bool forgets_in_children =
        ::pthread_atfork(nullptr, nullptr, [] { cached_process_id().store(0, std::memory_order_relaxed); }) == 0;
    pid = ::getpid();
    if (forgets_in_children) { // else ask every time: a stale id is worse than a system call
      cached.store(pid, std::memory_order_relaxed);
    }
  }
  return pid;
}

} // namespace recall::detail
