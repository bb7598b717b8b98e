// Blocking hiredis connections with timeouts and authentication, and the small pool that lets a
// redis_store serve several threads at once.
#pragma once

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
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

// A MOVED or ASK reply: the key's slot is served by another node (for good, or during a
// migration). Cluster routing follows it; to a single-server store it is a failure like another.
class redirection : public store_error {
public:
  enum class kind { moved, ask };
  redirection(kind k, std::uint16_t slot, std::string host, std::uint16_t port, const std::string& text)
      : store_error{text}, m_kind{k}, m_slot{slot}, m_host{std::move(host)}, m_port{port} {}
  [[nodiscard]] kind which() const noexcept { return m_kind; }
  [[nodiscard]] std::uint16_t slot() const noexcept { return m_slot; }
  [[nodiscard]] const std::string& host() const noexcept { return m_host; }
  [[nodiscard]] std::uint16_t port() const noexcept { return m_port; }

private:
  kind m_kind;
  std::uint16_t m_slot;
  std::string m_host;
  std::uint16_t m_port;
};

// Throws redirection (with `message`) when `r` is "MOVED <slot> <host>:<port>" or "ASK ...".
inline void throw_if_redirection(const redisReply& r, const std::string& message) {
  if (r.type != REDIS_REPLY_ERROR) {
    return;
  }
  const std::string_view text = text_of(r);
  const bool moved = text.starts_with("MOVED ");
  if (!moved && !text.starts_with("ASK ")) {
    return;
  }
  const std::size_t slot_at = moved ? 6 : 4;
  const std::size_t space = text.find(' ', slot_at);
  const std::size_t colon = text.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) {
    return;
  }
  const long long slot = url_detail::parse_number(text.substr(slot_at, space - slot_at), 0, 16383);
  const long long port = url_detail::parse_number(text.substr(colon + 1), 1, 65535);
  if (slot < 0 || port < 0) {
    return;
  }
  throw redirection{moved ? redirection::kind::moved : redirection::kind::ask, static_cast<std::uint16_t>(slot),
                    std::string{text.substr(space + 1, colon - space - 1)}, static_cast<std::uint16_t>(port), message};
}

// One blocking connection. Every failure (connect, I/O, timeout, protocol) throws store_error,
// after which the connection is unusable and must be dropped. Not thread-safe: one user at a time.
//
// Deadlines: each operation sets one (set_deadline) and every read and write of it must end by
// then: before each read(2) or write(2) the socket's timeout is cut to the time left, so a server
// that drips a byte at a time cannot stretch an operation past its deadline the way a per-read
// timeout would let it.
class connection {
public:
  using clock = std::chrono::steady_clock;

  // Connects (within `connect_limit`), authenticates and selects the database (by `deadline`).
  // `label` (the redacted URL) starts every message.
  connection(const server_url& url, std::chrono::milliseconds connect_limit, clock::time_point deadline,
             std::string label)
      : m_label{std::move(label)}, m_deadline{deadline} {
    const timeval limit = to_timeval(connect_limit);
    {
      const sigpipe_guard guard;
      m_context.reset(url.kind == transport::tcp ? redisConnectWithTimeout(url.host.c_str(), url.port, limit)
                                                 : redisConnectUnixWithTimeout(url.socket_path.c_str(), limit));
    }
    if (!m_context) {
      throw store_error{m_label + ": cannot allocate a connection"};
    }
    if (m_context->err != 0) {
      throw store_error{m_label + ": cannot connect: " + std::string{m_context->errstr}};
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

  // A connection of its own (a tool's, a test's), not a pool's: each reply must come within the
  // operation timeout of the moment it is waited for, until set_deadline() sets one deadline.
  connection(const server_url& url, const timeouts& limits, std::string label)
      : connection{url, limits.connect, clock::now() + limits.operation, std::move(label)} {
    m_per_reply = limits.operation;
  }

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() = default;

  // Every later read and write must end by `deadline`.
  void set_deadline(clock::time_point deadline) noexcept {
    m_deadline = deadline;
    m_per_reply.reset();
  }
  [[nodiscard]] clock::time_point deadline() const noexcept { return m_deadline; }
  // Moves the deadline `more` later: for an operation that learns it has more bytes to move.
  void extend_deadline(clock::duration more) noexcept { m_deadline += more; }

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
    if (redisAppendCommandArgv(m_context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      fail("cannot queue a command");
    }
  }

  // Sends whatever is queued and reads the next reply, in order, by the deadline. The loop is
  // hiredis's redisGetReply with the socket timeout cut to the time left before each system call.
  [[nodiscard]] reply get_reply() {
    void* raw = nullptr;
    if (redisGetReplyFromReader(m_context.get(), &raw) != REDIS_OK) {
      fail("lost the connection");
    }
    if (raw == nullptr) {
      if (m_per_reply) {
        m_deadline = clock::now() + *m_per_reply;
      }
      const sigpipe_guard guard;
      int done = 0;
      while (done == 0) {
        limit_to_deadline();
        if (redisBufferWrite(m_context.get(), &done) != REDIS_OK) {
          fail("lost the connection");
        }
      }
      while (raw == nullptr) {
        limit_to_deadline();
        if (redisBufferRead(m_context.get()) != REDIS_OK ||
            redisGetReplyFromReader(m_context.get(), &raw) != REDIS_OK) {
          fail("lost the connection");
        }
      }
    }
    return reply{static_cast<redisReply*>(raw)};
  }

  [[nodiscard]] reply command(std::initializer_list<std::string_view> args) {
    append(args);
    return get_reply();
  }

  // A reply of the expected type, or store_error naming the command and what came instead (a
  // redirection for MOVED and ASK, which cluster routing follows). An error reply is a failure
  // too: recall only sends commands a healthy server accepts.
  static const redisReply& expect(const reply& r, int type, std::string_view what, const std::string& label) {
    if (r->type == type) {
      return *r;
    }
    const std::string detail =
        r->type == REDIS_REPLY_ERROR ? std::string{text_of(*r)} : "reply of type " + std::to_string(r->type);
    const std::string message = label + ": " + std::string{what} + " failed: " + detail;
    throw_if_redirection(*r, message + " (a Redis Cluster node: use a redis+cluster:// URL)");
    throw store_error{message};
  }
  const redisReply& expect(const reply& r, int type, std::string_view what) const {
    return expect(r, type, what, m_label);
  }
  void expect_ok(const reply& r, std::string_view what) const { expect(r, REDIS_REPLY_STATUS, what); }

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }

private:
  // The socket's timeout, re-set only when the time left has fallen 5 ms or more below the one
  // in force: a read may overrun the deadline by at most that, and a large transfer makes one
  // setsockopt per 5 ms rather than one per read.
  static constexpr auto timeout_slack = std::chrono::milliseconds{5};

  void limit_to_deadline() {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(m_deadline - clock::now());
    if (left.count() <= 0) {
      throw store_error{m_label + ": timed out"};
    }
    // Kept while the time left is at most the timeout in force and within 5 ms of it; a later
    // deadline (a pooled connection's next operation) needs a longer one, set here too.
    if (m_applied.count() >= 0 && left <= m_applied && left + timeout_slack > m_applied) {
      return;
    }
    const timeval tv{static_cast<time_t>(left.count() / 1'000'000), static_cast<suseconds_t>(left.count() % 1'000'000)};
    if (::setsockopt(m_context->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        ::setsockopt(m_context->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
      throw store_error{m_label + ": cannot set the socket timeout"};
    }
    m_applied = left;
  }

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
  clock::time_point m_deadline;
  std::chrono::microseconds m_applied{-1};              // the socket timeout in force; negative: none set yet
  std::optional<std::chrono::milliseconds> m_per_reply; // set: a fresh deadline for each reply
};

// Up to `capacity` connections, opened on demand and kept for reuse. A thread leases one for one
// operation; when all are leased, it waits for one to come back. A connection that failed is
// dropped, never returned. Chosen over one mutex-protected connection so that a thread moving a
// large entry does not hold up the small reads of the others, and over a connection per thread
// so that a process with many threads opens at most `capacity` sockets.
class pool {
public:
  pool(server_url url, timeouts limits, std::size_t capacity, std::string label = {})
      : m_url{std::move(url)}, m_label{label.empty() ? "redis " + m_url.redacted() : std::move(label)},
        m_limits{limits}, m_capacity{capacity == 0 ? 1 : capacity} {}

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

  // A connection for one operation that must end by `deadline` (a new connection's connect is
  // bounded by the smaller of the connect timeout and `connect_limit` too). Throws store_error if
  // a new one cannot be opened, or when no connection comes back by the deadline.
  [[nodiscard]] lease acquire(connection::clock::time_point deadline,
                              std::chrono::milliseconds connect_limit = std::chrono::milliseconds::max()) {
    std::unique_lock lock{m_mutex};
    if (!m_returned.wait_until(lock, deadline, [&] { return !m_idle.empty() || m_open < m_capacity; })) {
      throw store_error{m_label + ": timed out waiting for a free connection"};
    }
    if (!m_idle.empty()) {
      auto c = std::move(m_idle.back());
      m_idle.pop_back();
      c->set_deadline(deadline);
      return lease{*this, std::move(c)};
    }
    ++m_open; // the slot is taken now; the connect (up to the connect timeout) runs unlocked
    lock.unlock();
    try {
      return lease{*this,
                   std::make_unique<connection>(m_url, std::min(m_limits.connect, connect_limit), deadline, m_label)};
    } catch (...) {
      give_back(nullptr);
      throw;
    }
  }

  // Closes the idle connections: after a failure they are suspect. Leased ones are closed when
  // they come back failed.
  void drop_idle() {
    std::vector<std::unique_ptr<connection>> idle;
    {
      const std::lock_guard lock{m_mutex};
      idle.swap(m_idle);
      m_open -= idle.size();
    }
    m_returned.notify_all();
  }

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }
  [[nodiscard]] const server_url& url() const noexcept { return m_url; }
  [[nodiscard]] const timeouts& limits() const noexcept { return m_limits; }

private:
  void give_back(std::unique_ptr<connection> c) {
    {
      const std::lock_guard lock{m_mutex};
      if (c) {
        m_idle.push_back(std::move(c));
      } else {
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
};

} // namespace recall::detail::redis
