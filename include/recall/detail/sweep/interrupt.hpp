// SIGINT during recall::sweep: a flag the workers read, so running points finish and stay cached.
#pragma once

#include <signal.h>

#include <atomic>
#include <mutex>

namespace recall::detail::sweep {

// Set by the handler, read by the workers before they take a point.
inline std::atomic<bool>& interrupt_requested() noexcept {
  static std::atomic<bool> flag{false};
  return flag;
}

// The handler only sets the flag and gives SIGINT back its default action, so a second Ctrl-C
// ends the process at once (both are async-signal-safe).
extern "C" inline void on_sigint(int /*signal*/) {
  interrupt_requested().store(true, std::memory_order_relaxed);
  struct ::sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  static_cast<void>(::sigaction(SIGINT, &fallback, nullptr));
}

// Installs on_sigint for its lifetime (the outermost of nested or concurrent sweeps does) and
// puts back the handler it found.
class interrupt_guard {
public:
  explicit interrupt_guard(bool enabled) {
    if (!enabled) {
      return;
    }
    const std::lock_guard lock{mutex()};
    if (depth()++ == 0) {
      interrupt_requested().store(false, std::memory_order_relaxed);
      struct ::sigaction handler {};
      handler.sa_handler = &on_sigint;
      ::sigemptyset(&handler.sa_mask);
      installed() = ::sigaction(SIGINT, &handler, &previous()) == 0;
    }
    m_enabled = true;
  }

  interrupt_guard(const interrupt_guard&) = delete;
  interrupt_guard& operator=(const interrupt_guard&) = delete;

  ~interrupt_guard() {
    if (!m_enabled) {
      return;
    }
    const std::lock_guard lock{mutex()};
    if (--depth() == 0 && installed()) {
      static_cast<void>(::sigaction(SIGINT, &previous(), nullptr));
    }
  }

  [[nodiscard]] static bool requested() noexcept { return interrupt_requested().load(std::memory_order_relaxed); }

private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static int& depth() {
    static int d = 0;
    return d;
  }
  static bool& installed() {
    static bool i = false;
    return i;
  }
  static struct ::sigaction& previous() {
    static struct ::sigaction p {};
    return p;
  }

  bool m_enabled = false;
};

} // namespace recall::detail::sweep
