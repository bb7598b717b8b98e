// detail::immortal<T>: process-wide state that is built on first use and never destroyed.
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace recall::detail {

// Holds a T that is constructed in place and never destroyed. Every process-wide object that a
// memoize object may touch belongs in one: memoize objects have static storage duration too (at
// namespace scope, as statics in functions), and the order in which statics of different
// translation units, or a function-local static and a global, are destroyed after main returns
// is not one recall can choose. A static immortal has a trivial destructor, so nothing is
// registered with atexit and the T stays usable until the process ends; its memory is reclaimed
// with the process (leak checkers see it as reachable from static storage).
template <class T>
class immortal {
public:
  template <class... Args>
  explicit immortal(Args&&... args) {
    ::new (static_cast<void*>(m_storage)) T(std::forward<Args>(args)...);
  }
  immortal(const immortal&) = delete;
  immortal& operator=(const immortal&) = delete;
  ~immortal() = default;

  [[nodiscard]] T& get() noexcept { return *std::launder(reinterpret_cast<T*>(m_storage)); }

private:
  alignas(T) std::byte m_storage[sizeof(T)];
};

} // namespace recall::detail
