// recall::redis_store: a cache shared by the machines of a cluster through a Redis server (hiredis).
#pragma once

// Needs hiredis at build and link time: with meson, `dependency('recall-redis')` (recall's
// `redis` feature option, on when hiredis is found); otherwise `pkg-config --cflags --libs hiredis`.
// Deployment and costs: docs/REDIS.md.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/host_name.hpp>
#include <recall/detail/stores/lock_record.hpp>
#include <recall/detail/stores/redis_cluster.hpp>
#include <recall/detail/stores/redis_connection.hpp>
#include <recall/detail/stores/redis_layout.hpp>
#include <recall/detail/stores/redis_url.hpp>
#include <recall/detail/stores/remote_health.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/remote.hpp>
#include <recall/stores/store.hpp>

namespace recall {

// The environment variable from_environment() reads.
inline constexpr const char* redis_url_variable = "RECALL_REDIS_URL";

struct redis_options {
  // redis://[user:password@]host[:port][/db] (port 6379 and db 0 by default), or
  // unix://[user:password@]/path/to/socket[?db=N], or a Redis Cluster's seed nodes:
  // redis+cluster://[user:password@]host:port[,host:port...]. Percent-escape '@', ':' and '/' in
  // passwords.
  std::string url;
  // Namespace: every key starts with "{<prefix>:". Letters, digits and _ . : / - only.
  std::string prefix = "recall";
  // Unset: entries never expire. Set: each entry expires this long after it was saved.
  std::optional<std::chrono::milliseconds> ttl{};
  // Entries (88-byte header + payload) larger than this are cut into chunks of this size.
  std::size_t chunk_size = std::size_t{1} << 20;
  // Larger entries are neither saved nor loaded: bounds what a damaged or forged head can make
  // a reader fetch and allocate.
  std::uint64_t max_entry_size = std::uint64_t{512} << 20;
  // A dead server costs one connect timeout, then is skipped for `retry.first` (see retry).
  std::chrono::milliseconds connect_timeout{100};
  // A deadline for a whole operation (every read and write of it), not for each read: a server
  // that stops answering or drips bytes fails it by then. An operation moving a chunked entry is
  // given 1 s more per 16 MiB of it, so a large entry moving at 16 MiB/s or faster fits.
  std::chrono::milliseconds operation_timeout{2000};
  // After a failure the server is skipped (no I/O, the call goes on without it) for retry.first,
  // then checked with one PING (at most 50 ms added to that call); each failed check doubles
  // the pause up to retry.longest. One warning per outage; a note when the server is back.
  retry_backoff retry{};
  // Lifetime of a compute lock that is not renewed: how long a crashed holder delays others.
  // A holder renews it every lease / 3.
  std::chrono::milliseconds lock_lease{10'000};
  // Connections opened at most, per store object (see detail::redis::pool).
  std::size_t max_connections = 4;
};

namespace detail::redis {

// How much later an operation's deadline is for each byte it moves beyond the first chunk: the
// operation timeout bounds a small request; a large entry is also given 1 s per 16 MiB (a floor
// of 16 MiB/s on the transfer), so a healthy slow link moves it and a dripping server cannot hold
// a call for longer than that.
inline constexpr std::uint64_t bytes_per_second_floor = std::uint64_t{16} << 20;

[[nodiscard]] inline std::chrono::milliseconds transfer_allowance(std::uint64_t bytes) noexcept {
  return std::chrono::milliseconds{static_cast<std::int64_t>(bytes / (bytes_per_second_floor / 1000))};
}

// What every operation of a store, and its compute locks, share: the connections (one pool for
// a server, a router over per-node pools for a cluster), the options, and the remote's health
// (detail/stores/remote_health.hpp). Locks hold it too, so they may outlive the store object.
class backend {
public:
  backend(std::string_view url, const redis_options& options)
      : m_prefix{options.prefix}, m_ttl{options.ttl}, m_chunk_size{options.chunk_size},
        m_max_entry_size{options.max_entry_size}, m_lock_lease{options.lock_lease} {
    const timeouts limits{options.connect_timeout, options.operation_timeout};
    if (is_cluster_url(url)) {
      m_cluster = std::make_unique<cluster_router>(parse_cluster_url(url), limits, options.max_connections);
      m_label = m_cluster->label();
      m_redacted = m_cluster->url().redacted();
    } else {
      m_single = std::make_unique<pool>(parse_server_url(url), limits, options.max_connections);
      m_label = m_single->label();
      m_redacted = m_single->url().redacted();
    }
    m_health = std::make_unique<remote_health>(m_label, options.retry);
  }

  // Runs `operation` on a connection to the node serving `routing_key` (all keys an operation
  // names share its hash tag), by a deadline of the operation timeout from now. In a cluster,
  // MOVED updates the slot map and ASK goes to the importing node, and the operation is run
  // again there (at most 5 redirections). A store_error (refused, timed out, an error reply) is
  // a failure of the remote: it is reported to the circuit breaker (one warning per outage) and
  // rethrown. While the remote is down, calls throw store_error at once, without I/O, but one
  // every back-off interval, which first checks it with a PING bounded by probe_budget.
  template <class Operation>
  auto run(std::string_view what, std::string_view routing_key, Operation&& operation)
      -> decltype(operation(std::declval<connection&>())) {
    remote_attempt attempt = admit();
    try {
      const auto deadline = connection::clock::now() + limits().operation;
      if (m_single) {
        auto lease = m_single->acquire(deadline);
        return finish(lease, operation);
      }
      const std::uint16_t slot = hash_slot(routing_key);
      std::optional<std::pair<std::string, std::uint16_t>> asked;
      for (int hop = 0;; ++hop) {
        pool& p = asked ? m_cluster->pool_at(asked->first, asked->second) : m_cluster->pool_for(slot, deadline);
        auto lease = p.acquire(deadline);
        try {
          if (asked) {
            lease->expect_ok(lease->command({"ASKING"}), "ASKING");
          }
          return finish(lease, operation);
        } catch (const redirection& r) {
          if (hop >= 5) {
            throw store_error{m_label + ": too many redirections, the last: " + std::string{r.reason()}};
          }
          if (r.which() == redirection::kind::moved) {
            m_cluster->moved(r.slot(), r.host(), r.port());
            asked.reset();
          } else {
            asked.emplace(r.host(), r.port());
          }
        }
      }
    } catch (const store_error& e) {
      failed(attempt, what, e);
      throw;
    }
  }

  // Runs `operation` once on every node that holds keys (the server; a cluster's masters), for
  // SCAN. Failures as in run().
  template <class Operation>
  void run_each(std::string_view what, Operation&& operation) {
    remote_attempt attempt = admit();
    try {
      const auto deadline = connection::clock::now() + limits().operation;
      const std::vector<pool*> nodes = m_single ? std::vector<pool*>{m_single.get()} : m_cluster->masters(deadline);
      for (pool* p : nodes) {
        auto lease = p->acquire(deadline);
        finish(lease, operation);
      }
    } catch (const store_error& e) {
      failed(attempt, what, e);
      throw;
    }
  }

  // True while the remote is skipped after a failure.
  [[nodiscard]] bool disabled() const noexcept { return m_health->down(); }
  [[nodiscard]] const std::string& label() const noexcept { return m_label; }
  [[nodiscard]] const std::string& redacted_url() const noexcept { return m_redacted; }
  [[nodiscard]] const std::string& prefix() const noexcept { return m_prefix; }
  [[nodiscard]] const std::optional<std::chrono::milliseconds>& ttl() const noexcept { return m_ttl; }
  [[nodiscard]] std::size_t chunk_size() const noexcept { return m_chunk_size; }
  [[nodiscard]] std::uint64_t max_entry_size() const noexcept { return m_max_entry_size; }
  [[nodiscard]] std::chrono::milliseconds lock_lease() const noexcept { return m_lock_lease; }

private:
  [[nodiscard]] const timeouts& limits() const noexcept { return m_single ? m_single->limits() : m_cluster->limits(); }

  template <class Operation>
  static auto finish(pool::lease& lease, Operation& operation) -> decltype(operation(*lease)) {
    if constexpr (std::is_void_v<decltype(operation(*lease))>) {
      operation(*lease);
      lease.keep();
    } else {
      auto result = operation(*lease);
      lease.keep();
      return result;
    }
  }

  // skip: throws at once. probe: checks the remote (a PING within probe_budget) and, when it
  // answers, ends the outage; the operation then runs as a normal one.
  remote_attempt admit() {
    remote_attempt attempt = m_health->admit();
    if (attempt == remote_attempt::skip) {
      throw store_error{m_health->unavailable_message()};
    }
    if (attempt == remote_attempt::probe) {
      try {
        const auto deadline = connection::clock::now() + remote_health::probe_budget;
        auto lease = (m_single ? *m_single : m_cluster->first_seed()).acquire(deadline, remote_health::probe_budget);
        lease->expect(lease->command({"PING"}), REDIS_REPLY_STATUS, "PING");
        lease.keep();
      } catch (const store_error& e) {
        failed(attempt, "retry", e);
        throw;
      }
      m_health->succeeded(attempt);
      attempt = remote_attempt::go;
    }
    return attempt;
  }

  void failed(remote_attempt attempt, std::string_view what, const store_error& e) {
    if (!m_health->down()) {
      if (m_single) {
        m_single->drop_idle();
      } else {
        m_cluster->drop_idle();
        m_cluster->forget_map(); // a failed node may mean a failover: re-read the slot map
      }
    }
    m_health->failed(attempt, what, e.what());
  }

  std::unique_ptr<pool> m_single;
  std::unique_ptr<cluster_router> m_cluster;
  std::string m_label;
  std::string m_redacted;
  std::unique_ptr<remote_health> m_health;
  std::string m_prefix;
  std::optional<std::chrono::milliseconds> m_ttl;
  std::size_t m_chunk_size;
  std::uint64_t m_max_entry_size;
  std::chrono::milliseconds m_lock_lease;
};

// Scripts run atomically by the server. Each names all its keys in KEYS (one hash slot).

// Replaces the head, returning the first ARGV[2] + 1 bytes of the one it replaced (to find and
// delete that save's chunks). ARGV: value, last byte to return, TTL in ms (0: none). KEYS[2...]:
// this save's chunks when entries never expire, written with a provisional TTL so that a save
// that fails half-way leaves nothing forever; they are made persistent with the head, atomically.
inline constexpr std::string_view swap_head_script =
    "local old = redis.call('GETRANGE', KEYS[1], 0, tonumber(ARGV[2]))\n"
    "if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[1])\n"
    "else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) end\n"
    "for i = 2, #KEYS do redis.call('PERSIST', KEYS[i]) end\n"
    "return old\n";

// Deletes a lock only if it still holds the value the caller saw (ARGV[1]): a stale or foreign
// lock is removed without racing a holder that just took the key.
inline constexpr std::string_view delete_stale_lock_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

// Deletes the head and the chunk keys after it only if the head still starts with ARGV[1] (the
// bytes the caller read), so a concurrent save is never deleted by mistake. Returns 1 or 0.
inline constexpr std::string_view delete_entry_script =
    "if redis.call('GETRANGE', KEYS[1], 0, #ARGV[1] - 1) ~= ARGV[1] then return 0 end\n"
    "for i = 1, #KEYS do redis.call('UNLINK', KEYS[i]) end\n"
    "return 1\n";

// Extends the lock's lease if this holder (token ARGV[1]) still has it. ARGV[2]: lease in ms.
inline constexpr std::string_view renew_lock_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "return 0\n";

// Deletes the lock if this holder (token ARGV[1]) still has it.
inline constexpr std::string_view release_lock_script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

[[nodiscard]] inline std::uint64_t random_u64() {
  // Read from the kernel (or the CPU) on every call: a process forked after a first use never
  // repeats its parent's tokens or generations.
  std::random_device source;
  return (std::uint64_t{source()} << 32) ^ std::uint64_t{source()};
}

[[nodiscard]] inline std::string_view as_text(std::span<const std::byte> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

[[nodiscard]] inline std::span<const std::byte> as_bytes(const redisReply& r) noexcept {
  return {reinterpret_cast<const std::byte*>(r.str), r.len};
}

// A lock held in Redis: SET NX PX with a random token, renewed every lease / 3 by a background
// thread (compare-and-renew), released when destroyed (compare-and-delete). If the lease is lost
// (the holder stalled longer than a lease, or Redis failed) the computation simply goes on: the
// lock only spares others a duplicate computation, it never guards correctness.
class held_lock final : public compute_lock {
public:
  held_lock(std::shared_ptr<backend> owner, std::string lock_name, std::string token)
      : m_backend{std::move(owner)}, m_key{std::move(lock_name)}, m_token{std::move(token)},
        m_renewer{[this](std::stop_token stop) { renew_until(stop); }} {}

  ~held_lock() override {
    m_renewer.request_stop();
    m_renewer.join();
    if (m_lost.load() || m_backend->disabled()) {
      return; // not ours anymore, or the server is skipped: the lease runs out by itself
    }
    try {
      m_backend->run("release lock", m_key, [&](connection& c) {
        const reply r = c.command({"EVAL", release_lock_script, "1", m_key, m_token});
        c.expect(r, REDIS_REPLY_INTEGER, "EVAL (release lock)");
      });
    } catch (const std::exception&) {
      // Logged by the backend; the lock expires after its lease.
    }
  }

private:
  void renew_until(const std::stop_token& stop) {
    const auto lease = m_backend->lock_lease();
    const std::string lease_ms = std::to_string(lease.count());
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock{mutex};
    while (!wake.wait_for(lock, stop, lease / 3, [] { return false; }) && !stop.stop_requested()) {
      try {
        const bool renewed = m_backend->run("renew lock", m_key, [&](connection& c) {
          const reply r = c.command({"EVAL", renew_lock_script, "1", m_key, m_token, lease_ms});
          return c.expect(r, REDIS_REPLY_INTEGER, "EVAL (renew lock)").integer == 1;
        });
        if (!renewed) {
          log(log_level::info, m_backend->label() + ": lost the compute lock " + m_key +
                                   " (held longer than its lease without renewal?); computing on");
          m_lost.store(true);
          return;
        }
      } catch (const std::exception&) {
        m_lost.store(true); // the backend logged and disabled itself
        return;
      }
    }
  }

  std::shared_ptr<backend> m_backend;
  std::string m_key;
  std::string m_token;
  std::atomic<bool> m_lost{false};
  std::jthread m_renewer; // last: starts once everything it uses exists
};

// Returned when the entry appeared while waiting: nothing to hold, the caller's next load hits.
class entry_ready final : public compute_lock {};

} // namespace detail::redis

// A store keeping entries in a Redis server shared by many machines, each entry under its own
// keys (layout: detail/stores/redis_layout.hpp) in the entry format of a directory_store file,
// so damage is detected the same way: a damaged, truncated or partly missing entry is a miss,
// is deleted (when the server lets this user delete) and logged, never returned.
//
// Meant as the last tier of a layered_store (memory -> local directory -> Redis): a Redis hit is
// copied into the local directory, a save goes to both. From a machine that should only read
// the cluster's results, add it with tier_access::read_only.
//
// Failures: a failure of the server or the network (refused, timed out, connection dropped, an
// error reply) makes the store skip the server, with one warning per outage: operations throw
// store_error at once, without network I/O, so layered_store and memoize skip it for the price of
// a branch, until the back-off (redis_options::retry) is over; then one call checks the server
// (at most 50 ms) and, when it answers, the store uses it again and says so in one note. Every
// operation ends by its deadline (redis_options::operation_timeout). Passwords never appear in
// description(), locate(), logs or exception messages.
//
// Thread safety: every method may be called from several threads at once; each operation leases
// a connection from a small pool (redis_options::max_connections). Create stores after fork(),
// not before: a child must not share its parent's sockets.
class redis_store final : public store {
public:
  // What list() reports for one entry.
  struct entry_info {
    key call;
    function_id function;   // the readable name and the identity key
    std::string folder;     // the function's folder name in a directory_store
    std::uint64_t size = 0; // bytes of the entry (header, manifest, payload), as in a .rce file
    std::chrono::system_clock::time_point created{};
  };

  // Throws config_error for a malformed URL (bad scheme, bad port, ...) or out-of-range options.
  // Does not connect: the first operation does, so a program starts even when Redis is down.
  explicit redis_store(redis_options options)
      : m_backend{std::make_shared<detail::redis::backend>(options.url, validated(options))} {}

  explicit redis_store(std::string_view url) : redis_store{redis_options{.url = std::string{url}}} {}

  // A store for $RECALL_REDIS_URL with the other fields of `options`; null when the variable is
  // unset or empty. Throws config_error when it is malformed.
  [[nodiscard]] static std::shared_ptr<redis_store> from_environment(redis_options options = {}) {
    const char* url = std::getenv(redis_url_variable); // NOLINT(concurrency-mt-unsafe): read-only use
    if (url == nullptr || *url == '\0') {
      return nullptr;
    }
    options.url = url;
    return std::make_shared<redis_store>(std::move(options));
  }

  // "redis redis://alice:********@cache.lab:6379/0 prefix recall".
  [[nodiscard]] std::string description() const override {
    return m_backend->label() + " prefix " + m_backend->prefix();
  }

  // The server and the entry's head key: "redis redis://cache.lab:6379/0 {recall:<hex>}".
  [[nodiscard]] std::string locate(const entry_address& address) const override {
    return m_backend->label() + " " + head_of(address);
  }

  // A small entry costs one round trip (GETRANGE of the head); a chunked one three: the head,
  // the chunks' lengths (checked before the payload is allocated), then the chunks themselves,
  // pipelined in groups of about 8 MiB.
  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    const std::string head = head_of(address);
    return m_backend->run("load", head, [&](detail::redis::connection& c) -> std::optional<stored_entry> {
      const detail::redis::reply r = c.command({"GETRANGE", head, "0", head_read_end()});
      const auto bytes = detail::redis::as_bytes(c.expect(r, REDIS_REPLY_STRING, "GETRANGE"));
      if (bytes.empty()) {
        return std::nullopt;
      }
      std::optional<detail::redis::head_record> parsed;
      try {
        parsed = detail::redis::decode_head_record(bytes);
        if (!acceptable(*parsed, address.call)) {
          return std::nullopt;
        }
        if (parsed->layout == detail::redis::layout::inline_entry) {
          return detail::redis::decode_inline_entry(bytes, *parsed, address.call);
        }
        c.extend_deadline(detail::redis::transfer_allowance(parsed->entry_size));
        return read_chunks(c, head, *parsed, address.call);
      } catch (const format_error& error) {
        discard_damaged_head(c, head, bytes, parsed, error);
        return std::nullopt;
      }
    });
  }

  // Chunks first, then the head (atomically swapped in by a script), so a reader sees the old
  // entry, the new one, or none, never a part. Throws store_error, without disabling the store,
  // for an entry over max_entry_size.
  void save(const entry_address& address, const stored_entry& entry) override {
    const auto manifest = detail::encode_manifest(entry.manifest);
    const auto header =
        detail::encode_entry_header(address.call, address.function.identity, entry.metadata, manifest, entry.payload);
    // The entry is these three parts one after the other, exactly as in a directory_store file.
    const std::array<std::string_view, 3> parts{detail::redis::as_text(header), detail::redis::as_text(manifest),
                                                detail::redis::as_text(entry.payload)};
    const std::uint64_t entry_size = std::uint64_t{header.size()} + manifest.size() + entry.payload.size();
    if (entry_size > m_backend->max_entry_size()) {
      throw store_error{m_backend->label() + ": not saving a " + std::to_string(entry_size) +
                        "-byte entry, over max_entry_size (" + std::to_string(m_backend->max_entry_size()) + ")"};
    }
    const std::string head = head_of(address);
    const std::size_t chunk_size = m_backend->chunk_size();

    detail::redis::head_record m;
    m.call = address.call;
    m.identity = address.function.identity;
    m.created = entry.metadata.created;
    m.entry_size = entry_size;
    m.generation = detail::redis::random_u64();
    m.name = address.function.name;
    if (entry_size > chunk_size) {
      m.layout = detail::redis::layout::chunked;
      m.chunk_size = chunk_size;
      m.chunk_count = static_cast<std::uint32_t>(detail::redis::chunk_count_for(entry_size, chunk_size));
    }
    std::string value;
    detail::redis::encode_head_record(value, m);
    if (m.layout == detail::redis::layout::inline_entry) {
      value.reserve(value.size() + static_cast<std::size_t>(entry_size));
      for (const auto part : parts) {
        value.append(part);
      }
    }

    m_backend->run("save", head, [&](detail::redis::connection& c) {
      const auto started = std::chrono::steady_clock::now();
      // Chunks that must become persistent with the head (entries without a TTL).
      std::vector<std::string> pending;
      if (m.layout == detail::redis::layout::chunked) {
        c.extend_deadline(detail::redis::transfer_allowance(entry_size));
        write_chunks(c, head, m, parts);
        if (!m_backend->ttl()) {
          pending = chunk_keys(head, m);
        }
      }
      const std::string key_count = std::to_string(1 + pending.size());
      const std::string last_byte = std::to_string(detail::redis::max_head_size - 1);
      const std::string ttl = head_ttl(started);
      std::vector<std::string_view> args{"EVAL", detail::redis::swap_head_script, key_count, head};
      args.insert(args.end(), pending.begin(), pending.end());
      args.insert(args.end(), {value, last_byte, ttl});
      c.append(args);
      const detail::redis::reply r = c.get_reply();
      const auto old = detail::redis::as_bytes(c.expect(r, REDIS_REPLY_STRING, "EVAL (swap head)"));
      delete_replaced_chunks(c, head, old, m.generation);
    });
  }

  // Reads and checks the head record only, not the chunks or checksums of the entry: true means a
  // well-formed entry is there, not that every chunk still is.
  [[nodiscard]] bool contains(const entry_address& address) override {
    const std::string head = head_of(address);
    return m_backend->run("contains", head, [&](detail::redis::connection& c) {
      const detail::redis::reply r =
          c.command({"GETRANGE", head, "0", std::to_string(detail::redis::max_head_size - 1)});
      const auto bytes = detail::redis::as_bytes(c.expect(r, REDIS_REPLY_STRING, "GETRANGE"));
      if (bytes.empty()) {
        return false;
      }
      std::optional<detail::redis::head_record> parsed;
      try {
        parsed = detail::redis::decode_head_record(bytes);
        return acceptable(*parsed, address.call);
      } catch (const format_error& error) {
        discard_damaged_head(c, head, bytes, parsed, error);
        return false;
      }
    });
  }

  bool erase(const entry_address& address) override {
    const std::string head = head_of(address);
    return m_backend->run("erase", head, [&](detail::redis::connection& c) { return erase_head(c, head, nullptr); });
  }

  // Waits (polling with backoff from 2 ms to 100 ms, one round trip per poll) until this process
  // holds the entry's Redis lock, or the entry has appeared (returns a lock that holds nothing:
  // the caller's next load hits), or `wait_limit` has passed (returns null). A lock key that no
  // recall process can have written (see is_lock_token()) or that never expires is stale: it is
  // removed at once, with a warning, instead of stalling every caller for the whole wait. Throws
  // store_error when the server is skipped or fails.
  [[nodiscard]] std::unique_ptr<compute_lock> lock_for_compute(const entry_address& address,
                                                               std::chrono::milliseconds wait_limit) override {
    const std::string head = head_of(address);
    const std::string lock_name = detail::redis::lock_key(head);
    const std::string token = lock_token(address.function, {});
    const auto deadline = std::chrono::steady_clock::now() + wait_limit;
    std::minstd_rand jitter{static_cast<std::minstd_rand::result_type>(detail::redis::random_u64())};
    auto backoff = std::chrono::milliseconds{2};
    while (true) {
      if (auto lock = attempt_lock(head, lock_name, token)) {
        return lock;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        return nullptr;
      }
      // +-25 % jitter keeps the waiters of one key from polling in step.
      const auto spread =
          static_cast<std::uint_fast32_t>(std::max<std::chrono::milliseconds::rep>(1, backoff.count() / 2));
      const auto pause = backoff - backoff / 4 + std::chrono::milliseconds{jitter() % spread};
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      backoff = std::min(backoff * 2, std::chrono::milliseconds{100});
    }
  }

  // One round trip of lock_for_compute() (two when a stale lock is taken over): acquired (or the
  // entry is there), or busy.
  [[nodiscard]] lock_attempt try_lock_for_compute(const entry_address& address, std::string_view label) override {
    const std::string head = head_of(address);
    auto lock = attempt_lock(head, detail::redis::lock_key(head), lock_token(address.function, label));
    const lock_outcome outcome = lock ? lock_outcome::acquired : lock_outcome::busy;
    return {outcome, std::move(lock)};
  }

  // A computation under way, as its lock's value tells (see lock_token()).
  struct running_computation {
    std::string folder; // the function's folder name in a directory_store
    key call;
    detail::lock_holder holder;
  };

  // The compute locks held under this prefix (on every master of a cluster), found with SCAN
  // and one pipelined GET per page. Locks of older builds ("host:pid:random") are skipped.
  [[nodiscard]] std::vector<running_computation> running_computations() {
    std::vector<running_computation> out;
    const std::string pattern = detail::redis::head_pattern(m_backend->prefix()) + ":lock";
    const std::size_t hex_at = m_backend->prefix().size() + 2; // after "{prefix:"
    m_backend->run_each("running", [&](detail::redis::connection& c) {
      std::unordered_set<std::string> seen;
      std::string cursor = "0";
      do {
        std::vector<std::string> locks;
        for (auto& name : scan_page(c, cursor, pattern)) {
          if (seen.insert(name).second) {
            locks.push_back(std::move(name));
          }
        }
        for (const auto& name : locks) {
          c.append({"GET", name});
        }
        for (const auto& name : locks) {
          const detail::redis::reply got = c.get_reply();
          if (got->type != REDIS_REPLY_STRING || name.size() < hex_at + 32) {
            continue; // released since SCAN saw it
          }
          const auto call = key::from_hex(std::string_view{name}.substr(hex_at, 32));
          const auto parts = split_lock_token(detail::redis::text_of(*got));
          if (!call || !parts) {
            continue;
          }
          if (auto holder = detail::parse_lock_record(parts->record)) {
            out.push_back({std::string{parts->folder}, *call, std::move(*holder)});
          }
        }
      } while (cursor != "0");
    });
    return out;
  }

  // Every entry under this prefix whose function's readable name or folder name contains
  // `function_filter` (all entries when it is empty), found with SCAN (never KEYS) and one
  // pipelined head record read per batch. Damaged heads are skipped.
  [[nodiscard]] std::vector<entry_info> list(std::string_view function_filter = {}) {
    std::vector<entry_info> out;
    m_backend->run_each("list", [&](detail::redis::connection& c) {
      for_each_head(c, function_filter,
                    [&](const std::string&, const detail::redis::head_record& m, std::span<const std::byte>) {
                      entry_info info;
                      info.call = m.call;
                      info.function = function_id{m.name, m.identity};
                      info.folder = directory_store::folder_name(info.function);
                      info.size = m.entry_size;
                      info.created = m.created;
                      out.push_back(std::move(info));
                    });
    });
    return out;
  }

  // Removes the entries list(function_filter) would report, and their compute locks; returns how
  // many entries. With an empty filter it also removes every other key under the prefix (chunks
  // left by an interrupted save, damaged heads, compute locks).
  std::size_t clear(std::string_view function_filter = {}) {
    std::size_t removed = 0;
    m_backend->run_each("clear", [&](detail::redis::connection& c) {
      std::vector<std::pair<std::string, std::vector<std::byte>>> doomed;
      for_each_head(c, function_filter,
                    [&](const std::string& head, const detail::redis::head_record&, std::span<const std::byte> bytes) {
                      doomed.emplace_back(head, std::vector<std::byte>(bytes.begin(), bytes.end()));
                    });
      std::vector<std::string> locks;
      for (const auto& [head, bytes] : doomed) {
        removed += erase_head(c, head, &bytes) ? 1 : 0;
        locks.push_back(detail::redis::lock_key(head));
      }
      unlink_all(c, locks);
      if (function_filter.empty()) {
        remove_strays(c);
      }
    });
    return removed;
  }

  // Keys under the prefix that belong to no entry: what list() cannot see.
  struct stray_keys {
    std::uint64_t orphan_chunks = 0; // chunks whose head is missing, damaged, or of another save
    std::uint64_t orphan_bytes = 0;
    std::uint64_t locks = 0; // compute locks (of computations under way, or left behind)
  };

  // Counts the keys clear() would remove besides the entries: chunks of saves that failed before
  // their head was written (they expire by themselves, see write_chunks) and compute locks.
  [[nodiscard]] stray_keys strays() {
    stray_keys out;
    m_backend->run_each("strays", [&](detail::redis::connection& c) {
      std::map<std::string, std::vector<std::string>> chunks_by_head; // head -> its chunk keys
      const std::string pattern = detail::redis::all_keys_pattern(m_backend->prefix());
      std::unordered_set<std::string> seen;
      std::string cursor = "0";
      do {
        for (auto& name : scan_page(c, cursor, pattern)) {
          if (!seen.insert(name).second) {
            continue;
          }
          const std::size_t close = name.find('}');
          if (name.ends_with(":lock")) {
            ++out.locks;
          } else if (close != std::string::npos && name.compare(close, 3, "}:c") == 0) {
            chunks_by_head[name.substr(0, close + 1)].push_back(name);
          }
        }
      } while (cursor != "0");
      const std::string record_end = std::to_string(detail::redis::max_head_size - 1);
      std::vector<std::string> orphans;
      for (const auto& [head, chunks] : chunks_by_head) {
        const detail::redis::reply r = c.command({"GETRANGE", head, "0", record_end});
        const auto bytes = detail::redis::as_bytes(c.expect(r, REDIS_REPLY_STRING, "GETRANGE"));
        std::unordered_set<std::string> live;
        try {
          if (!bytes.empty()) {
            const auto keys = chunk_keys(head, detail::redis::decode_head_record(bytes));
            live.insert(keys.begin(), keys.end());
          }
        } catch (const format_error&) {
          // a damaged head owns no chunks
        }
        for (const auto& chunk : chunks) {
          if (!live.contains(chunk)) {
            orphans.push_back(chunk);
          }
        }
      }
      for (const auto& chunk : orphans) {
        c.append({"STRLEN", chunk});
      }
      for (std::size_t i = 0; i < orphans.size(); ++i) {
        out.orphan_bytes += static_cast<std::uint64_t>(c.expect(c.get_reply(), REDIS_REPLY_INTEGER, "STRLEN").integer);
      }
      out.orphan_chunks += orphans.size();
    });
    return out;
  }

  // Bytes of the entries list(function_filter) would report.
  [[nodiscard]] std::uint64_t total_size(std::string_view function_filter = {}) {
    std::uint64_t total = 0;
    for (const auto& info : list(function_filter)) {
      total += info.size;
    }
    return total;
  }

  // True once a failure has disabled the store for the rest of the process.
  [[nodiscard]] bool disabled() const noexcept { return m_backend->disabled(); }

  // The URL with its password replaced by ********.
  [[nodiscard]] std::string redacted_url() const { return m_backend->redacted_url(); }

  // The head key of an entry: "{<prefix>:<hex>}".
  [[nodiscard]] std::string head_of(const entry_address& address) const {
    return detail::redis::head_key(m_backend->prefix(), address.call);
  }

private:
  static const redis_options& validated(const redis_options& o) {
    const auto fail = [](const std::string& what) { throw config_error{"redis_store: " + what}; };
    if (o.prefix.empty() || o.prefix.size() > 128) {
      fail("the key prefix must have 1 to 128 characters");
    }
    for (const char c : o.prefix) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == ':' || c == '/' || c == '-';
      if (!ok) {
        fail("the key prefix '" + o.prefix + "' may hold only letters, digits and _ . : / -");
      }
    }
    if (o.chunk_size < detail::redis::min_chunk_size || o.chunk_size > detail::redis::max_chunk_size) {
      fail("chunk_size " + std::to_string(o.chunk_size) + " is outside [" +
           std::to_string(detail::redis::min_chunk_size) + ", " + std::to_string(detail::redis::max_chunk_size) + "]");
    }
    if (o.max_entry_size < detail::entry_header_size) {
      fail("max_entry_size must hold at least an entry header (" + std::to_string(detail::entry_header_size) +
           " bytes)");
    }
    if (detail::redis::chunk_count_for(o.max_entry_size, o.chunk_size) > detail::redis::max_chunk_count) {
      fail("max_entry_size / chunk_size exceeds the 2^20 chunks an entry may have");
    }
    if (o.connect_timeout.count() <= 0 || o.operation_timeout.count() <= 0) {
      fail("timeouts must be positive");
    }
    if (o.ttl && o.ttl->count() <= 0) {
      fail("a ttl must be positive (leave it unset for entries that never expire)");
    }
    if (o.lock_lease.count() < 10) {
      fail("lock_lease must be at least 10 ms");
    }
    if (o.max_connections == 0) {
      fail("max_connections must be at least 1");
    }
    return o;
  }

  // The last byte index a head read asks for: a head record and the largest inline entry.
  static const std::string& head_read_end() {
    static const std::string end = std::to_string(detail::redis::max_head_size + detail::redis::max_chunk_size - 1);
    return end;
  }

  // The lock's value, unique per acquisition (release and renewal compare it) and telling who
  // holds the lock, for running_computations() and anyone reading it with redis-cli:
  //   token ::= random ' ' folder ' ' lock_record
  //   random ::= 16 hex digits;  folder ::= the function's folder name (no spaces)
  //   lock_record: host, pid, since, label (detail/stores/lock_record.hpp)
  static std::string lock_token(const function_id& function, std::string_view label) {
    return detail::entry_format_detail::hex(detail::redis::random_u64(), 16) + " " +
           directory_store::folder_name(function) + " " + detail::format_lock_record(label);
  }

  struct token_parts {
    std::string_view folder;
    std::string_view record;
  };

  // A token lock_token() makes, split; nullopt for anything else.
  static std::optional<token_parts> split_lock_token(std::string_view value) {
    const auto hex_digit = [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); };
    if (value.size() < 18 || value[16] != ' ' || !std::all_of(value.begin(), value.begin() + 16, hex_digit)) {
      return std::nullopt;
    }
    const std::size_t folder_end = value.find(' ', 17);
    if (folder_end == std::string_view::npos || folder_end == 17) {
      return std::nullopt;
    }
    const std::string_view record = value.substr(folder_end + 1);
    if (!detail::parse_lock_record(record)) {
      return std::nullopt;
    }
    return token_parts{value.substr(17, folder_end - 17), record};
  }

  // Whether `value` is a token a recall process can have written: lock_token()'s, or an older
  // build's "<host>:<decimal pid>:<16 hex digits>".
  static bool is_lock_token(std::string_view value) {
    if (split_lock_token(value)) {
      return true;
    }
    const std::size_t last = value.rfind(':');
    if (last == std::string_view::npos || value.size() - last - 1 != 16 || last == 0) {
      return false;
    }
    const std::size_t before = value.rfind(':', last - 1);
    if (before == std::string_view::npos || before == 0 || before + 1 == last) {
      return false;
    }
    const auto all_of = [](std::string_view text, auto&& ok) { return std::all_of(text.begin(), text.end(), ok); };
    return all_of(value.substr(before + 1, last - before - 1), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
           all_of(value.substr(last + 1), [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
  }

  // SET NX PX the lock and check for the entry in one round trip: the lock when acquired, a lock
  // holding nothing when the entry is there, null when another holder has it. A stale lock
  // (not a recall token, or no expiry) is removed with a warning and the attempt made again.
  [[nodiscard]] std::unique_ptr<compute_lock> attempt_lock(const std::string& head, const std::string& lock_name,
                                                           const std::string& token) {
    const std::string lease = std::to_string(m_backend->lock_lease().count());
    while (true) {
      enum class outcome { acquired, entry_present, busy, stale_removed };
      std::string stale_reason;
      const outcome seen = m_backend->run("lock", head, [&](detail::redis::connection& c) {
        c.append({"SET", lock_name, token, "NX", "PX", lease});
        c.append({"EXISTS", head});
        c.append({"GET", lock_name});
        c.append({"PTTL", lock_name});
        const detail::redis::reply set = c.get_reply();
        const detail::redis::reply exists = c.get_reply();
        const detail::redis::reply holder = c.get_reply();
        const detail::redis::reply ttl = c.get_reply();
        const bool acquired = set->type != REDIS_REPLY_NIL;
        if (acquired) {
          c.expect_ok(set, "SET NX (lock)");
        }
        const bool present = c.expect(exists, REDIS_REPLY_INTEGER, "EXISTS").integer != 0;
        const long long left = c.expect(ttl, REDIS_REPLY_INTEGER, "PTTL").integer;
        if (acquired || present || holder->type != REDIS_REPLY_STRING) {
          return acquired ? outcome::acquired : present ? outcome::entry_present : outcome::busy;
        }
        const std::string_view value = detail::redis::text_of(*holder);
        if (!is_lock_token(value)) {
          stale_reason = "holds no recall lock token";
        } else if (left == -1) {
          stale_reason = "has no expiry";
        } else {
          return outcome::busy;
        }
        const detail::redis::reply removed =
            c.command({"EVAL", detail::redis::delete_stale_lock_script, "1", lock_name, value});
        c.expect(removed, REDIS_REPLY_INTEGER, "EVAL (delete stale lock)");
        return outcome::stale_removed;
      });
      switch (seen) {
      case outcome::acquired: return std::make_unique<detail::redis::held_lock>(m_backend, lock_name, token);
      case outcome::entry_present: return std::make_unique<detail::redis::entry_ready>();
      case outcome::busy: return nullptr;
      case outcome::stale_removed:
        log(log_level::warning, m_backend->label() + ": removed the compute lock " + lock_name + ", which " +
                                    stale_reason + " (written by hand or by another program?); taking it over");
        break;
      }
    }
  }

  // The TTL argument for the head, in ms ("0": none). Chunks were given the full TTL when their
  // writing started; the head gets what is left, so it never outlives them.
  std::string head_ttl(std::chrono::steady_clock::time_point started) const {
    if (!m_backend->ttl()) {
      return "0";
    }
    const auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    return std::to_string(std::max<std::chrono::milliseconds::rep>(1, (*m_backend->ttl() - spent).count()));
  }

  // Whether a well-formed head record may be read: false (a miss, logged at debug level, the entry
  // left in place) for an entry over this reader's max_entry_size, which another node with a
  // larger limit may have saved on purpose. Throws format_error for a head that answers another
  // call (copied or renamed: damaged).
  bool acceptable(const detail::redis::head_record& m, const key& call) const {
    if (m.call != call) {
      throw format_error{"redis head holds call " + m.call.hex() + ", expected " + call.hex()};
    }
    if (m.entry_size > m_backend->max_entry_size()) {
      log(log_level::debug, m_backend->label() + ": skipping a " + std::to_string(m.entry_size) + "-byte entry of " +
                                m.name + ", over max_entry_size (" + std::to_string(m_backend->max_entry_size()) + ")");
      return false;
    }
    return true;
  }

  // Chunk keys of a chunked entry, in order.
  static std::vector<std::string> chunk_keys(const std::string& head, const detail::redis::head_record& m) {
    std::vector<std::string> keys;
    if (m.layout == detail::redis::layout::chunked) {
      keys.reserve(m.chunk_count);
      for (std::uint32_t i = 0; i < m.chunk_count; ++i) {
        keys.push_back(detail::redis::chunk_key(head, m.generation, i));
      }
    }
    return keys;
  }

  // Chunks per pipelined batch: about 8 MiB in flight, at least one chunk.
  static std::size_t batch_of(std::uint64_t chunk_size) {
    return static_cast<std::size_t>(std::max<std::uint64_t>(1, (std::uint64_t{8} << 20) / chunk_size));
  }

  // Writes the chunks of `m`, each with the entry's TTL or, for entries that never expire, a
  // provisional one: the time left to this save's deadline plus a minute, so that chunks of a
  // save that fails before its head is written (a dropped connection, a server out of memory)
  // expire by themselves; the head's script makes them persistent.
  void write_chunks(detail::redis::connection& c, const std::string& head, const detail::redis::head_record& m,
                    std::span<const std::string_view> parts) const {
    const auto provisional =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline() - std::chrono::steady_clock::now()) +
        std::chrono::minutes{1};
    const std::string ttl = std::to_string(m_backend->ttl() ? m_backend->ttl()->count() : provisional.count());
    std::string scratch; // for the first chunks, which straddle header, manifest and payload
    const std::size_t batch = batch_of(m.chunk_size);
    for (std::uint32_t start = 0; start < m.chunk_count; start += static_cast<std::uint32_t>(batch)) {
      const auto end = static_cast<std::uint32_t>(std::min<std::uint64_t>(m.chunk_count, start + batch));
      for (std::uint32_t i = start; i < end; ++i) {
        const std::string name = detail::redis::chunk_key(head, m.generation, i);
        // hiredis copies the arguments as it queues the command, so scratch may be reused.
        const std::string_view bytes =
            detail::redis::slice(parts, std::uint64_t{i} * m.chunk_size,
                                 static_cast<std::size_t>(detail::redis::chunk_length(m, i)), scratch);
        c.append({"SET", name, bytes, "PX", ttl});
      }
      for (std::uint32_t i = start; i < end; ++i) {
        c.expect_ok(c.get_reply(), "SET (chunk)");
      }
    }
  }

  // Reads every chunk of `m` after checking their lengths, then verifies the reassembled entry.
  // Throws format_error for a missing, short or long chunk or a bad checksum; always reads
  // every reply it asked for first, so the connection stays in step.
  static stored_entry read_chunks(detail::redis::connection& c, const std::string& head,
                                  const detail::redis::head_record& m, const key& call) {
    const std::vector<std::string> keys = chunk_keys(head, m);
    std::optional<std::string> defect;
    const auto check_length = [&](std::uint32_t i, std::uint64_t got) {
      if (!defect) {
        defect = detail::redis::chunk_defect(m, i, got);
      }
    };
    // Lengths first: the payload is allocated only for bytes the server holds.
    constexpr std::size_t strlen_batch = 1024;
    for (std::size_t start = 0; start < keys.size(); start += strlen_batch) {
      const std::size_t end = std::min(keys.size(), start + strlen_batch);
      for (std::size_t i = start; i < end; ++i) {
        c.append({"STRLEN", keys[i]});
      }
      for (std::size_t i = start; i < end; ++i) {
        const detail::redis::reply r = c.get_reply();
        check_length(static_cast<std::uint32_t>(i),
                     static_cast<std::uint64_t>(c.expect(r, REDIS_REPLY_INTEGER, "STRLEN").integer));
      }
    }
    if (defect) {
      throw format_error{*defect};
    }
    detail::redis::entry_assembler assembler{m.entry_size};
    const std::size_t batch = batch_of(m.chunk_size);
    for (std::size_t start = 0; start < keys.size(); start += batch) {
      const std::size_t end = std::min(keys.size(), start + batch);
      for (std::size_t i = start; i < end; ++i) {
        // GETRANGE, not GET: a chunk that grew since its length was checked still cannot make
        // hiredis allocate more than one byte over the expected length.
        c.append(
            {"GETRANGE", keys[i], "0", std::to_string(detail::redis::chunk_length(m, static_cast<std::uint32_t>(i)))});
      }
      for (std::size_t i = start; i < end; ++i) {
        const detail::redis::reply r = c.get_reply();
        const auto bytes = detail::redis::as_bytes(c.expect(r, REDIS_REPLY_STRING, "GETRANGE (chunk)"));
        check_length(static_cast<std::uint32_t>(i), bytes.size());
        if (!defect) {
          try {
            assembler.feed(bytes);
          } catch (const format_error& e) {
            defect = e.what(); // reported once the pipelined replies are all read
          }
        }
      }
    }
    if (defect) {
      throw format_error{*defect};
    }
    return assembler.finish(call);
  }

  // After a head was replaced: deletes the chunks of the save it replaced (its first bytes are
  // `old`), unless they are this save's. Best effort: a damaged old head record leaves its chunks,
  // which clear() or their TTL remove.
  static void delete_replaced_chunks(detail::redis::connection& c, const std::string& head,
                                     std::span<const std::byte> old, std::uint64_t generation) {
    if (old.empty()) {
      return;
    }
    detail::redis::head_record replaced;
    try {
      replaced = detail::redis::decode_head_record(old);
    } catch (const format_error&) {
      return;
    }
    if (replaced.layout != detail::redis::layout::chunked || replaced.generation == generation) {
      return;
    }
    unlink_all(c, chunk_keys(head, replaced));
  }

  // One UNLINK per key, pipelined 512 at a time: keys of different hash slots (a cluster node's
  // SCAN page) may not share one command.
  static void unlink_all(detail::redis::connection& c, const std::vector<std::string>& keys) {
    constexpr std::size_t per_batch = 512;
    for (std::size_t start = 0; start < keys.size(); start += per_batch) {
      const std::size_t end = std::min(keys.size(), start + per_batch);
      for (std::size_t i = start; i < end; ++i) {
        c.append({"UNLINK", keys[i]});
      }
      for (std::size_t i = start; i < end; ++i) {
        c.expect(c.get_reply(), REDIS_REPLY_INTEGER, "UNLINK");
      }
    }
  }

  // What became of a request to delete an entry.
  enum class deletion {
    deleted,
    changed, // the head no longer starts with the bytes read from it: a new save, left alone
    refused, // an error reply: a read-only user or replica
  };

  // Deletes the head and its chunks if the head still starts with `expected` (the bytes read
  // from it). `refusal` receives the server's error text when it refuses.
  static deletion delete_entry(detail::redis::connection& c, const std::string& head,
                               std::span<const std::byte> expected, const std::vector<std::string>& chunks,
                               std::string* refusal = nullptr) {
    const std::string key_count = std::to_string(1 + chunks.size());
    std::vector<std::string_view> args{"EVAL", detail::redis::delete_entry_script, key_count, head};
    args.insert(args.end(), chunks.begin(), chunks.end());
    args.emplace_back(detail::redis::as_text(expected));
    c.append(args);
    const detail::redis::reply r = c.get_reply();
    if (r->type == REDIS_REPLY_ERROR && refusal != nullptr) {
      *refusal = detail::redis::text_of(*r);
      return deletion::refused;
    }
    return c.expect(r, REDIS_REPLY_INTEGER, "EVAL (delete entry)").integer == 1 ? deletion::deleted : deletion::changed;
  }

  // Removes an entry found damaged, and says so. A head that changed since it was read (a new
  // save) is left alone; so is an entry the server refuses to delete (a read-only user or
  // replica), which does not disable the store: reading goes on.
  void discard_damaged_head(detail::redis::connection& c, const std::string& head, std::span<const std::byte> bytes,
                            const std::optional<detail::redis::head_record>& parsed, const format_error& error) const {
    const std::string_view reason = error.reason();
    const auto identifying = bytes.first(std::min(bytes.size(), detail::redis::head_fixed_size));
    std::string refusal;
    const deletion outcome =
        delete_entry(c, head, identifying, parsed ? chunk_keys(head, *parsed) : std::vector<std::string>{}, &refusal);
    std::string line = outcome == deletion::deleted ? "removed damaged cache entry " : "damaged cache entry ";
    line += m_backend->label() + " " + head;
    if (outcome == deletion::refused) {
      line += " (could not remove it: " + refusal + ")";
    }
    log(log_level::warning, line + ": " + std::string{reason});
  }

  // Erases the entry at `head`. `known` is the head's first bytes when the caller just read them.
  // Retries when a concurrent save replaced the head between the read and the delete.
  static bool erase_head(detail::redis::connection& c, const std::string& head, const std::vector<std::byte>* known) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::vector<std::byte> bytes;
      if (known != nullptr && attempt == 0) {
        bytes = *known;
      } else {
        const detail::redis::reply r =
            c.command({"GETRANGE", head, "0", std::to_string(detail::redis::max_head_size - 1)});
        const auto got = detail::redis::as_bytes(c.expect(r, REDIS_REPLY_STRING, "GETRANGE"));
        bytes.assign(got.begin(), got.end());
      }
      if (bytes.empty()) {
        return false;
      }
      std::vector<std::string> chunks;
      try {
        chunks = chunk_keys(head, detail::redis::decode_head_record(bytes));
      } catch (const format_error&) {
        // A damaged head goes anyway; chunks it may have had are left to clear() or their TTL.
      }
      const auto identifying =
          std::span<const std::byte>{bytes}.first(std::min(bytes.size(), detail::redis::head_fixed_size));
      if (delete_entry(c, head, identifying, chunks) == deletion::deleted) {
        return true;
      }
    }
    return false;
  }

  // Calls visit(head, record, head bytes) for every well-formed head under the prefix whose
  // function matches `filter`. SCAN may report a key twice; each is visited once.
  template <class Visit>
  void for_each_head(detail::redis::connection& c, std::string_view filter, Visit&& visit) const {
    const std::string pattern = detail::redis::head_pattern(m_backend->prefix());
    const std::string record_end = std::to_string(detail::redis::max_head_size - 1);
    std::unordered_set<std::string> seen;
    std::string cursor = "0";
    do {
      std::vector<std::string> heads;
      for (auto& name : scan_page(c, cursor, pattern)) {
        if (seen.insert(name).second) {
          heads.push_back(std::move(name));
        }
      }
      for (const auto& head : heads) {
        c.append({"GETRANGE", head, "0", record_end});
      }
      for (const auto& head : heads) {
        const detail::redis::reply got = c.get_reply();
        const auto bytes = detail::redis::as_bytes(c.expect(got, REDIS_REPLY_STRING, "GETRANGE"));
        if (bytes.empty()) {
          continue; // deleted since SCAN saw it
        }
        detail::redis::head_record m;
        try {
          m = detail::redis::decode_head_record(bytes);
        } catch (const format_error&) {
          continue;
        }
        if (filter.empty() || m.name.find(filter) != std::string::npos ||
            directory_store::folder_name(function_id{m.name, m.identity}).find(filter) != std::string::npos) {
          visit(head, m, bytes);
        }
      }
    } while (cursor != "0");
  }

  // One SCAN step: the key names of the page at `cursor`, which is advanced (to "0" at the end).
  std::vector<std::string> scan_page(detail::redis::connection& c, std::string& cursor,
                                     const std::string& pattern) const {
    const detail::redis::reply r = c.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    const redisReply& page = c.expect(r, REDIS_REPLY_ARRAY, "SCAN");
    if (page.elements != 2 || page.element[0]->type != REDIS_REPLY_STRING ||
        page.element[1]->type != REDIS_REPLY_ARRAY) {
      throw store_error{m_backend->label() + ": SCAN returned an unexpected reply"};
    }
    cursor = std::string{detail::redis::text_of(*page.element[0])};
    std::vector<std::string> names;
    for (std::size_t i = 0; i < page.element[1]->elements; ++i) {
      const redisReply& name = *page.element[1]->element[i];
      if (name.type == REDIS_REPLY_STRING) {
        names.emplace_back(detail::redis::text_of(name));
      }
    }
    return names;
  }

  // Unlinks every key under the prefix (for clear() with no filter), compute locks included: a
  // holder that is still computing saves its result anyway and at worst one other process
  // computes the same call again, whereas a lock left by a crash or written by hand would
  // otherwise be kept by clear.
  void remove_strays(detail::redis::connection& c) const {
    const std::string pattern = detail::redis::all_keys_pattern(m_backend->prefix());
    std::string cursor = "0";
    do {
      unlink_all(c, scan_page(c, cursor, pattern));
    } while (cursor != "0");
  }

  std::shared_ptr<detail::redis::backend> m_backend;
};

namespace detail::redis {

// RECALL_REMOTE's redis://, unix:// and redis+cluster:// URLs (stores/remote.hpp), registered
// by every program that includes this header.
inline const bool remote_schemes_registered = [] {
  const remote_factory make = [](const std::string& url) -> std::shared_ptr<store> {
    return std::make_shared<redis_store>(url);
  };
  for (const char* scheme : {"redis", "unix", "redis+cluster"}) {
    register_remote_scheme(scheme, make);
  }
  return true;
}();

} // namespace detail::redis

} // namespace recall
