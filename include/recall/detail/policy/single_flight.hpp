// In-process single flight: while one thread computes a key, the others calling it wait for its
// result instead of computing it again.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <recall/detail/immortal.hpp>
#include <recall/key/key.hpp>

namespace recall::detail {

class single_flight {
  struct flight {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;
    std::size_t waiters = 0; // guarded by the table's mutex while the flight is in the table
    std::shared_ptr<const void> result;
  };

public:
  // A place in the flight for one key: the leader computes; a follower waits for the leader.
  class ticket {
  public:
    ticket(ticket&& other) noexcept
        : m_table{std::exchange(other.m_table, nullptr)}, m_key{other.m_key}, m_flight{std::move(other.m_flight)},
          m_leader{other.m_leader} {}
    ticket(const ticket&) = delete;
    ticket& operator=(const ticket&) = delete;
    ticket& operator=(ticket&&) = delete;

    // A leader that leaves without publishing (its function threw) still releases the followers;
    // they find no result and compute themselves.
    ~ticket() {
      if (m_table != nullptr && m_leader) {
        m_table->land(m_key, *m_flight, nullptr);
      }
    }

    [[nodiscard]] bool leader() const noexcept { return m_leader; }

    // Leader only: hands the result to the followers and closes the flight. `make_shared_result`
    // is called only if someone is waiting, so an uncontended miss copies nothing.
    template <class MakeResult>
    void publish(MakeResult&& make_shared_result) {
      m_table->land(m_key, *m_flight, std::forward<MakeResult>(make_shared_result));
      m_table = nullptr;
    }

    // Follower only: blocks until the leader has landed; the leader's result, or null if it failed.
    [[nodiscard]] std::shared_ptr<const void> wait() {
      std::unique_lock lock{m_flight->mutex};
      m_flight->done_signal.wait(lock, [&] { return m_flight->done; });
      return m_flight->result;
    }

  private:
    friend class single_flight;
    ticket(single_flight* table, const key& k, std::shared_ptr<flight> f, bool leader)
        : m_table{table}, m_key{k}, m_flight{std::move(f)}, m_leader{leader} {}

    single_flight* m_table;
    key m_key;
    std::shared_ptr<flight> m_flight;
    bool m_leader;
  };

  [[nodiscard]] ticket join(const key& k) {
    const std::lock_guard lock{m_mutex};
    auto [it, inserted] = m_flights.try_emplace(k);
    if (inserted) {
      it->second = std::make_shared<flight>();
    } else {
      ++it->second->waiters;
    }
    return ticket{this, k, it->second, inserted};
  }

private:
  template <class MakeResult>
  void land(const key& k, flight& f, MakeResult&& make_shared_result) {
    std::size_t waiters = 0;
    {
      // Leaving the table first fixes the number of waiters: nobody can join this flight now.
      const std::lock_guard lock{m_mutex};
      waiters = f.waiters;
      m_flights.erase(k);
    }
    std::shared_ptr<const void> result;
    if constexpr (!std::is_null_pointer_v<std::remove_cvref_t<MakeResult>>) {
      if (waiters > 0) {
        result = make_shared_result();
      }
    }
    {
      const std::lock_guard lock{f.mutex};
      f.result = std::move(result);
      f.done = true;
    }
    f.done_signal.notify_all();
  }

  std::mutex m_mutex;
  std::unordered_map<key, std::shared_ptr<flight>> m_flights;
};

[[nodiscard]] inline single_flight& process_single_flight() {
  static immortal<single_flight> table; // memoize objects with static storage may outlive any static
  return table.get();
}

} // namespace recall::detail
