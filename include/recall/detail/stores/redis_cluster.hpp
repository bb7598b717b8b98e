// Redis Cluster over plain hiredis 0.14: hash slots (CRC16 with {...} hash tags), the seed-node
// URL redis+cluster://, the slot map read with CLUSTER SLOTS, and the MOVED/ASK replies.
#pragma once

// Cluster routing, as the Redis Cluster specification defines it:
//
//   slot(key) = CRC16-XMODEM(tag) mod 16384, where tag is the text between the first '{' and
//               the next '}' when that is not empty, else the whole key.
//
// recall's keys all start with the hash tag "{prefix:<hex>}" (detail/stores/redis_layout.hpp), so
// an entry's head, chunks and lock hash to one slot: every operation of redis_store runs on one
// node, and its scripts are single-slot.
//
// URL: redis+cluster://[user:password@]host:port[,host:port...]  (seed nodes; port 6379 by
// default; the credentials, in the forms of redis://, apply to every node; no database: a
// cluster has only database 0).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/stores/redis_connection.hpp>
#include <recall/detail/stores/redis_url.hpp>
#include <recall/errors.hpp>

namespace recall::detail::redis {

inline constexpr std::uint16_t slot_count = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis Cluster uses.
[[nodiscard]] constexpr std::uint16_t crc16(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    crc = static_cast<std::uint16_t>(crc ^ (static_cast<std::uint16_t>(static_cast<unsigned char>(c)) << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc =
          (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

[[nodiscard]] constexpr std::uint16_t hash_slot(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16(key) % slot_count);
}

// The seed nodes of a redis+cluster:// URL, each a server_url with the shared credentials.
struct cluster_url {
  std::vector<server_url> seeds;

  // "redis+cluster://alice:********@10.0.0.1:7000,10.0.0.2:7000".
  [[nodiscard]] std::string redacted() const {
    std::string out = "redis+cluster://";
    const server_url& first = seeds.front();
    if (first.has_password || !first.user.empty()) {
      out += first.user + (first.has_password ? ":********" : "") + "@";
    }
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      out += (i == 0 ? "" : ",") + address_of(seeds[i]);
    }
    return out;
  }

  [[nodiscard]] static std::string address_of(const server_url& u) {
    return (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) + ":" + std::to_string(u.port);
  }
};

[[nodiscard]] inline bool is_cluster_url(std::string_view text) noexcept {
  if (text.size() < 16) {
    return false;
  }
  std::string scheme{text.substr(0, 16)};
  for (char& c : scheme) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return scheme == "redis+cluster://";
}

// Parses a redis+cluster:// URL; throws config_error naming the problem (without the password).
[[nodiscard]] inline cluster_url parse_cluster_url(std::string_view text) {
  const auto fail = [&](const std::string& what) {
    throw config_error{"redis cluster URL '" + url_detail::redact_raw(text) + "': " + what +
                       " (expected redis+cluster://[user:password@]host:port[,host:port...])"};
  };
  if (!is_cluster_url(text)) {
    fail("not a redis+cluster:// URL");
  }
  std::string_view rest = text.substr(16);
  std::string userinfo;
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    userinfo = std::string{rest.substr(0, at)} + "@";
    rest.remove_prefix(at + 1);
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    fail("a cluster has no database number, query or path");
  }
  cluster_url out;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view node = rest.substr(0, comma);
    if (node.empty()) {
      fail("an empty seed node");
    }
    try {
      out.seeds.push_back(parse_server_url("redis://" + userinfo + std::string{node}));
    } catch (const config_error& e) {
      std::string why = e.what();
      const std::size_t colon = why.find("': ");
      fail(colon == std::string::npos ? why : why.substr(colon + 3, why.find(" (expected") - colon - 3));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// The nodes of a cluster and which master serves each slot. A pool per node, opened on demand;
// the slot map is read with CLUSTER SLOTS from any known node, at the first use and whenever a
// MOVED reply or a failed node says it changed. Thread-safe.
class cluster_router {
public:
  cluster_router(cluster_url url, timeouts limits, std::size_t capacity)
      : m_url{std::move(url)}, m_label{"redis " + m_url.redacted()}, m_limits{limits}, m_capacity{capacity} {
    for (const auto& seed : m_url.seeds) {
      node_for(seed.host, seed.port);
    }
  }

  // The pool of the master serving `slot`, reading the slot map first if it is not known.
  [[nodiscard]] pool& pool_for(std::uint16_t slot, connection::clock::time_point deadline) {
    {
      const std::shared_lock lock{m_mutex};
      if (m_mapped && m_slots[slot] != unmapped) {
        return *m_nodes[m_slots[slot]].connections;
      }
    }
    refresh(deadline);
    const std::shared_lock lock{m_mutex};
    if (m_slots[slot] == unmapped) {
      throw store_error{m_label + ": no node serves hash slot " + std::to_string(slot) + " (the cluster is not ready)"};
    }
    return *m_nodes[m_slots[slot]].connections;
  }

  // The pool of the node at host:port (from a redirection), added if new.
  [[nodiscard]] pool& pool_at(const std::string& host, std::uint16_t port) {
    const std::lock_guard lock{m_mutex};
    return *m_nodes[node_for(host, port)].connections;
  }

  // A MOVED reply: `slot` is served by host:port now. The whole map is re-read at the next use
  // too, since a moved slot usually means a failover or a resharding that moved many.
  void moved(std::uint16_t slot, const std::string& host, std::uint16_t port) {
    const std::lock_guard lock{m_mutex};
    m_slots[slot] = static_cast<std::uint16_t>(node_for(host, port));
    m_stale = true;
  }

  // A node failed: re-read the map at the next use (a replica may have been promoted).
  void forget_map() {
    const std::lock_guard lock{m_mutex};
    m_stale = true;
  }

  // The pools of the masters that serve at least one slot (for SCAN over the whole cluster).
  [[nodiscard]] std::vector<pool*> masters(connection::clock::time_point deadline) {
    refresh_if_needed(deadline);
    const std::shared_lock lock{m_mutex};
    std::vector<bool> serving(m_nodes.size(), false);
    for (const std::uint16_t n : m_slots) {
      if (n != unmapped) {
        serving[n] = true;
      }
    }
    std::vector<pool*> out;
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
      if (serving[i]) {
        out.push_back(m_nodes[i].connections.get());
      }
    }
    return out;
  }

  void drop_idle() {
    const std::shared_lock lock{m_mutex};
    for (auto& n : m_nodes) {
      n.connections->drop_idle();
    }
  }

  [[nodiscard]] const std::string& label() const noexcept { return m_label; }
  [[nodiscard]] const cluster_url& url() const noexcept { return m_url; }
  [[nodiscard]] const timeouts& limits() const noexcept { return m_limits; }

  // Any node that answers, for a PING: the seeds first.
  [[nodiscard]] pool& first_seed() {
    const std::shared_lock lock{m_mutex};
    return *m_nodes.front().connections;
  }

private:
  static constexpr std::uint16_t unmapped = 0xffff;

  struct node {
    std::string host;
    std::uint16_t port;
    std::unique_ptr<redis::pool> connections;
  };

  // Index of the node host:port, added if new. Caller holds m_mutex exclusively (or constructs).
  std::size_t node_for(const std::string& host, std::uint16_t port) {
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
      if (m_nodes[i].host == host && m_nodes[i].port == port) {
        return i;
      }
    }
    server_url u = m_url.seeds.front();
    u.host = host;
    u.port = port;
    u.db = 0;
    m_nodes.push_back(node{
        host, port, std::make_unique<pool>(u, m_limits, m_capacity, m_label + " node " + cluster_url::address_of(u))});
    return m_nodes.size() - 1;
  }

  void refresh_if_needed(connection::clock::time_point deadline) {
    {
      const std::shared_lock lock{m_mutex};
      if (m_mapped && !m_stale) {
        return;
      }
    }
    refresh(deadline);
  }

  // Reads CLUSTER SLOTS from the first known node that answers and replaces the map.
  void refresh(connection::clock::time_point deadline) {
    const std::lock_guard refreshing{m_refresh_mutex}; // one reader of the map at a time
    std::vector<pool*> candidates;
    {
      const std::shared_lock lock{m_mutex};
      if (m_mapped && !m_stale) {
        return; // another thread just did it
      }
      for (auto& n : m_nodes) {
        candidates.push_back(n.connections.get());
      }
    }
    std::string failures;
    for (pool* p : candidates) {
      try {
        auto lease = p->acquire(deadline);
        const reply r = lease->command({"CLUSTER", "SLOTS"});
        const redisReply& ranges = lease->expect(r, REDIS_REPLY_ARRAY, "CLUSTER SLOTS");
        std::array<std::uint16_t, slot_count> slots;
        slots.fill(unmapped);
        const std::lock_guard lock{m_mutex};
        for (std::size_t i = 0; i < ranges.elements; ++i) {
          const redisReply& range = *ranges.element[i];
          if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 || range.element[0]->type != REDIS_REPLY_INTEGER ||
              range.element[1]->type != REDIS_REPLY_INTEGER || range.element[2]->type != REDIS_REPLY_ARRAY ||
              range.element[2]->elements < 2 || range.element[2]->element[0]->type != REDIS_REPLY_STRING ||
              range.element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
            throw store_error{m_label + ": CLUSTER SLOTS returned an unexpected reply"};
          }
          const long long first = range.element[0]->integer;
          const long long last = range.element[1]->integer;
          const long long port = range.element[2]->element[1]->integer;
          if (first < 0 || last >= slot_count || first > last || port < 1 || port > 65535) {
            throw store_error{m_label + ": CLUSTER SLOTS returned an unexpected reply"};
          }
          std::string host{text_of(*range.element[2]->element[0])};
          if (host.empty()) {
            host = p->url().host; // the node that answered, as Redis 7 reports "" for "ask me"
          }
          const auto index = static_cast<std::uint16_t>(node_for(host, static_cast<std::uint16_t>(port)));
          std::fill(slots.begin() + first, slots.begin() + last + 1, index);
        }
        lease.keep();
        m_slots = slots;
        m_mapped = true;
        m_stale = false;
        return;
      } catch (const store_error& e) {
        failures += (failures.empty() ? "" : "; ") + std::string{error::reason_of(e)};
      }
    }
    throw store_error{m_label + ": no node answered CLUSTER SLOTS: " + failures};
  }

  cluster_url m_url;
  std::string m_label;
  timeouts m_limits;
  std::size_t m_capacity;
  std::mutex m_refresh_mutex;
  mutable std::shared_mutex m_mutex; // guards what follows
  std::vector<node> m_nodes;         // seeds first; never shrinks, so pool references stay valid
  std::array<std::uint16_t, slot_count> m_slots{};
  bool m_mapped = false;
  bool m_stale = false;
};

} // namespace recall::detail::redis
