// Blocking hiredis connections with timeouts and authentication, and the small pool that lets a
// redis_store serve several threads at once.
#pragma once

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/stores/redis_url.hpp>
#include <recall/errors.hpp>

namespace recall::detail::redis {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
// One reply; its type may be REDIS_REPLY_ERROR (a command the server refused).
using reply = std::unique_ptr<redisReply, reply_deleter>;

[[nodiscard]] inline std::string_view text_of(const redisReply& r) noexcept { return {r.str, r.len}; }

// Keeps a write to a socket the server closed from killing the process. hiredis writes with
// write(2), which raises SIGPIPE; a library must not change the program's signal dispositions,
// so SIGPIPE is blocked in this thread for the duration of the I/O and a SIGPIPE raised by it is
// consumed before unblocking (the technique libpq uses). A SIGPIPE already pending is left alone.
class sigpipe_guard {
public:
  sigpipe_guard() noexcept {
    sigemptyset(&m_pipe);
    sigaddset(&m_pipe, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    m_was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    m_blocked = pthread_sigmask(SIG_BLOCK, &m_pipe, &m_previous) == 0;
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;
  ~sigpipe_guard() {
    if (!m_blocked) {
      return;
    }
    if (!m_was_pending) {
      const timespec no_wait{0, 0};
      while (sigtimedwait(&m_pipe, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
  }

private:
  sigset_t m_pipe;
  sigset_t m_previous;
  bool m_was_pending = false;
  bool m_blocked = false;
};

struct timeouts {
  std::chrono::milliseconds connect{100};
  std::chrono::milliseconds operation{2000};
};

[[nodiscard]] inline timeval to_timeval(std::chrono::milliseconds ms) noexcept {
  const auto count = ms.count() > 0 ? ms.count() : 1;
  return timeval{static_cast<time_t>(count / 1000), static_cast<suseconds_t>((count % 1000) * 1000)};
}

// One blocking connection. Every failure (connect, I/O, timeout, protocol) throws store_error,
// after which the connection is unusable and must be dropped. Not thread-safe: one user at a time.
class connection {
public:
  // Connects, sets the operation timeout on the socket, authenticates and selects the database.
  // `label` (the redacted URL) starts every message.
  connection(const server_url& url, const timeouts& limits, std::string label) : m_label{std::move(label)} {
    const timeval connect_limit = to_timeval(limits.connect);
    {
      const sigpipe_guard guard;
      m_context.reset(url.kind == transport::tcp
                          ? redisConnectWithTimeout(url.host.c_str(), url.port, connect_limit)
                          : redisConnectUnixWithTimeout(url.socket_path.c_str(), connect_limit));
    }
    if (!m_context) {
      throw store_error{m_label + ": cannot allocate a connection"};
    }
    if (m_context->err != 0) {
      throw store_error{m_label + ": cannot connect: " + std::string{m_context->errstr}};
    }
    if (redisSetTimeout(m_context.get(), to_timeval(limits.operation)) != REDIS_OK) {
      fail("cannot set the operation timeout");
    }
    if (url.kind == transport::tcp) {
      // Finds a peer that vanished without closing (a crashed machine) on idle pooled sockets.
      redisEnableKeepAlive(m_context.get());
    }
    if (url.has_password) {
      if (url.user.empty()) {
        expect_ok(command({"AUTH", url.password}), "AUTH");
      } else {
        expect_ok(command({"AUTH", url.user, url.password}), "AUTH");
      }
    }
    if (url.db != 0) {
      expect_ok(command({"SELECT", std::to_string(url.db)}), "SELECT");
    }
  }

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() = default;

  // Queues a command without sending it (pipelining): send with the next get_reply().
  void append(std::initializer_list<std::string_view> args) { append(std::span{args.begin(), args.size()}); }
  void append(std::span<const std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(m_context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()) != REDIS_OK) {
      fail("cannot queue a command");
    }
  }

  // Sends whatever is queued and reads the next reply, in order.
  [[nodiscard]] reply get_reply() {
    void* raw = nullptr;
    int status = REDIS_ERR;
    {
      const sigpipe_guard guard;
      status = redisGetReply(m_context.get(), &raw);
    }
    if (status != REDIS_OK || raw == nullptr) {
      fail("lost the connection");
    }
    return reply{static_cast<redisReply*>(raw)};
  }

  [[nodiscard]] reply command(std::initializer_list<std::string_view> args) {
    append(args);
    return get_reply();
  }

  // A reply of the expected type, or store_error naming the command and what came instead. An
  // error reply is a failure too: recall only sends commands a healthy server accepts.
  static const redisReply& expect(const reply& r, int type, std::string_view what, const std::string& label) {
    if (r->type == type) {
      return *r;
    }
    std::string detail = r->type == REDIS_REPLY_ERROR ? std::string{text_of(*r)} : "reply of type " + std::to_string(r->type);
    if (detail.starts_with("MOVED") || detail.starts_with("ASK")) {
      detail += " (a Redis Cluster node: recall talks to one server; use a cluster-aware proxy)";
    }
    throw store_error{label + ": " + std::string{what} + " failed: " + detail};
  }
  const redisReply& expect(const reply& r, int type, std::string_view what) const {
    return expect(r, type, what, m_label);
  }
  void expect_ok(const reply& r, std::string_view what) const { expect(r, REDIS_REPLY_STATUS, what); }

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }

private:
  [[noreturn]] void fail(std::string_view what) const {
    std::string reason = m_context->errstr[0] != '\0' ? std::string{m_context->errstr} : std::string{"unknown error"};
    if (m_context->err == REDIS_ERR_IO && (reason.find("temporarily unavailable") != std::string::npos ||
                                           reason.find("timed out") != std::string::npos)) {
      reason = "timed out";
    }
    throw store_error{m_label + ": " + std::string{what} + ": " + reason};
  }

  struct context_deleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
  };

  std::string m_label;
  std::unique_ptr<redisContext, context_deleter> m_context;
};

// Up to `capacity` connections, opened on demand and kept for reuse. A thread leases one for one
// operation; when all are leased, it waits for one to come back. A connection that failed is
// dropped, never returned. Chosen over one mutex-protected connection so that a thread moving a
// large entry does not hold up the small reads of the others, and over a connection per thread
// so that a process with many threads opens at most `capacity` sockets.
class pool {
public:
  pool(server_url url, timeouts limits, std::size_t capacity)
      : m_url{std::move(url)}, m_label{"redis " + m_url.redacted()}, m_limits{limits},
        m_capacity{capacity == 0 ? 1 : capacity} {}

  class lease {
  public:
    lease(pool& owner, std::unique_ptr<connection> c) : m_owner{&owner}, m_connection{std::move(c)} {}
    lease(lease&& other) noexcept
        : m_owner{std::exchange(other.m_owner, nullptr)}, m_connection{std::move(other.m_connection)},
          m_healthy{other.m_healthy} {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (m_owner != nullptr) {
        m_owner->give_back(m_healthy ? std::move(m_connection) : nullptr);
      }
    }

    connection& operator*() const noexcept { return *m_connection; }
    connection* operator->() const noexcept { return m_connection.get(); }
    // The operation completed: the connection is in a known state and may be reused.
    void keep() noexcept { m_healthy = true; }

  private:
    pool* m_owner;
    std::unique_ptr<connection> m_connection;
    bool m_healthy = false;
  };

  // A connection for one operation. Throws store_error if a new one cannot be opened, or when
  // the pool is closed (the store was disabled) while waiting.
  [[nodiscard]] lease acquire() {
    std::unique_lock lock{m_mutex};
    m_returned.wait(lock, [&] { return m_closed || !m_idle.empty() || m_open < m_capacity; });
    if (m_closed) {
      throw store_error{m_label + ": disabled"};
    }
    if (!m_idle.empty()) {
      auto c = std::move(m_idle.back());
      m_idle.pop_back();
      return lease{*this, std::move(c)};
    }
    ++m_open; // the slot is taken now; the connect (up to the connect timeout) runs unlocked
    lock.unlock();
    try {
      return lease{*this, std::make_unique<connection>(m_url, m_limits, m_label)};
    } catch (...) {
      give_back(nullptr);
      throw;
    }
  }

  // Closes idle connections and fails every later acquire() at once.
  void close() {
    std::vector<std::unique_ptr<connection>> idle;
    {
      const std::lock_guard lock{m_mutex};
      m_closed = true;
      idle.swap(m_idle);
      m_open -= idle.size();
    }
    m_returned.notify_all();
  }

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }
  [[nodiscard]] const server_url& url() const noexcept { return m_url; }

private:
  void give_back(std::unique_ptr<connection> c) {
    std::unique_ptr<connection> dropped;
    {
      const std::lock_guard lock{m_mutex};
      if (c && !m_closed) {
        m_idle.push_back(std::move(c));
      } else {
        dropped = std::move(c); // closed outside the lock
        --m_open;
      }
    }
    m_returned.notify_one();
  }

  server_url m_url;
  std::string m_label;
  timeouts m_limits;
  std::size_t m_capacity;
  std::mutex m_mutex;
  std::condition_variable m_returned;
  std::vector<std::unique_ptr<connection>> m_idle;
  std::size_t m_open = 0; // idle + leased + being opened
  bool m_closed = false;
};

} // namespace recall::detail::redis
