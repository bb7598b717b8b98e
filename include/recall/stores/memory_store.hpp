// recall::memory_store: the in-process tier, holding decoded values (a hit decodes nothing) and,
// through the store interface, payload bytes; least-recently-used entries go first past a byte limit.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <recall/detail/immortal.hpp>
#include <recall/key/key.hpp>
#include <recall/stores/store.hpp>

namespace recall {

namespace detail {

// One address per type, compared to make sure a typed slot is read as the type it holds. The
// key already fixes the type (the result type is in the function identity); this is a guard.
template <class T>
inline constexpr char type_tag = 0;

} // namespace detail

class memory_store final : public store {
public:
  static constexpr std::size_t default_byte_limit = std::size_t{256} << 20;

  explicit memory_store(std::size_t byte_limit = default_byte_limit) : m_byte_limit{byte_limit} {}
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;
  // Slots of this store in threads' front caches die with their generation: make it unmatchable.
  ~memory_store() override { invalidate_front_caches(); }

  [[nodiscard]] std::string description() const override { return "memory"; }

  // --- Typed values (what memoize uses) ---

  // A copy of the value held for `k`, if it holds one of type T. Copying under the shard lock
  // avoids reference-count traffic on the hot path; large values are rarely kept here anyway.
  // `compute_ns`, if given, receives the compute time the value saves (as given to insert()).
  //
  // Small values are also kept in a per-thread front cache, so a repeated hit takes no lock and
  // writes no shared cache line: threads hitting the tier scale with cores. It has 1,024 slots
  // and each key two candidate slots (from its low and its high word): a thread's hot keys
  // rarely collide in both, where with one slot per key a few colliding keys kept taking the
  // shard lock, and those locked calls alone cost a second thread most of its gain.
  // A slot is valid only while the store's generation is the one it was filled under; every
  // erase, replacement, eviction and clear moves the generation on, so a front cache never
  // serves what the store no longer holds. Front hits do not refresh the shard's LRU order: a
  // value hot in one thread can be evicted, which invalidates the slot, and the next call
  // reloads it.
  //
  // A thread's front cache (64 KiB) is allocated when it first fills a slot, not when it first
  // looks: a process that only misses, or a cold one that makes one disk hit and exits, never
  // touches (page-faults in) or destroys it.
  //
  // The front cache's check is inlined into the caller; the shard's lookup is out of line, so
  // a front hit saves no registers for it.
  template <class T>
  [[nodiscard, gnu::always_inline]] std::optional<T> find(const key& k, std::int64_t* compute_ns = nullptr) {
    if (const front_table* front = front_cache().get()) {
      const std::uint64_t generation = m_generation.load(std::memory_order_acquire);
      for (const front_slot* slot : {&(*front)[k.low() % front_slots], &(*front)[k.high() % front_slots]}) {
        if (slot->store == m_id && slot->generation == generation && slot->type == &detail::type_tag<T> &&
            slot->call == k) {
          if (compute_ns != nullptr) {
            *compute_ns = slot->compute_ns;
          }
          return *static_cast<const T*>(slot->value.get());
        }
      }
    }
    return find_in_shard<T>(k, compute_ns);
  }

private:
  // find() past the front cache: the shard's index under its lock, filling a front slot.
  template <class T>
  [[nodiscard, gnu::noinline]] std::optional<T> find_in_shard(const key& k, std::int64_t* compute_ns) {
    front_table* front = front_cache().get();
    // Read before the lookup: an invalidation during it leaves the filled slot stale, never live.
    const std::uint64_t generation = m_generation.load(std::memory_order_acquire);
    auto& s = shard_for(k);
    const std::lock_guard lock{s.mutex};
    const auto it = s.index.find(k);
    if (it == s.index.end() || it->second->type != &detail::type_tag<T>) {
      return std::nullopt;
    }
    if (it->second != s.lru.begin()) {
      s.lru.splice(s.lru.begin(), s.lru, it->second);
    }
    if (compute_ns != nullptr) {
      *compute_ns = it->second->compute_ns;
    }
    if (front == nullptr && it->second->bytes <= front_value_limit) {
      // Without memory for it, the value is served from the shard as before.
      front_cache().reset(new (std::nothrow) front_table{});
      front = front_cache().get();
    }
    if (front != nullptr && it->second->bytes <= front_value_limit) {
      front_slot& first = (*front)[k.low() % front_slots];
      front_slot& second = (*front)[k.high() % front_slots];
      // The first candidate unless it holds a live value of this store and the second does not.
      const bool first_live = first.store == m_id && first.generation == generation;
      const bool second_live = second.store == m_id && second.generation == generation;
      front_slot& slot = first_live && !second_live ? second : first;
      slot = front_slot{m_id, generation, k, it->second->type, it->second->value, it->second->compute_ns};
    }
    return *static_cast<const T*>(it->second->value.get());
  }

public:
  // Keeps `value` for `k`, charged `bytes` against the limit. A value larger than an eighth of a
  // shard's share is not kept: it would evict everything else for one entry.
  template <class T>
  void insert(const key& k, std::shared_ptr<const T> value, std::size_t bytes, std::int64_t compute_ns = 0) {
    node n;
    n.call = k;
    n.value = std::move(value);
    n.type = &detail::type_tag<T>;
    n.compute_ns = compute_ns;
    n.bytes = bytes + sizeof(node);
    put(std::move(n));
  }

  // Whether insert() would keep a value charged `bytes`: callers skip making a copy it would drop.
  [[nodiscard]] bool would_keep(std::size_t bytes) const noexcept {
    return bytes + sizeof(node) <= m_byte_limit.load(std::memory_order_relaxed) / shard_count / 8;
  }

  template <class T>
  [[nodiscard]] bool holds(const key& k) {
    auto& s = shard_for(k);
    const std::lock_guard lock{s.mutex};
    const auto it = s.index.find(k);
    return it != s.index.end() && it->second->type == &detail::type_tag<T>;
  }

  bool erase(const key& k) {
    auto& s = shard_for(k);
    const std::lock_guard lock{s.mutex};
    const auto it = s.index.find(k);
    if (it == s.index.end()) {
      return false;
    }
    s.bytes -= it->second->bytes;
    s.lru.erase(it->second);
    s.index.erase(it);
    invalidate_front_caches();
    return true;
  }

  // --- store interface: payload bytes, for layering in front of another store ---

  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    auto& s = shard_for(address.call);
    const std::lock_guard lock{s.mutex};
    const auto it = s.index.find(address.call);
    if (it == s.index.end() || it->second->type != nullptr) {
      return std::nullopt;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->entry;
  }

  void save(const entry_address& address, const stored_entry& entry) override {
    node n;
    n.call = address.call;
    n.entry = entry;
    n.bytes = entry.payload.size() + sizeof(node);
    put(std::move(n));
  }

  [[nodiscard]] bool contains(const entry_address& address) override {
    auto& s = shard_for(address.call);
    const std::lock_guard lock{s.mutex};
    return s.index.contains(address.call);
  }

  bool erase(const entry_address& address) override { return erase(address.call); }

  // --- Bookkeeping ---

  void clear() {
    for (auto& s : m_shards) {
      const std::lock_guard lock{s.mutex};
      s.index.clear();
      s.lru.clear();
      s.bytes = 0;
    }
    invalidate_front_caches();
  }

  [[nodiscard]] std::size_t byte_limit() const noexcept { return m_byte_limit.load(std::memory_order_relaxed); }

  // Changes the limit; entries past the new one are evicted now.
  void set_byte_limit(std::size_t limit) {
    m_byte_limit.store(limit, std::memory_order_relaxed);
    const std::size_t share = limit / shard_count;
    for (auto& s : m_shards) {
      const std::lock_guard lock{s.mutex};
      while (s.bytes > share && !s.lru.empty()) {
        s.bytes -= s.lru.back().bytes;
        s.index.erase(s.lru.back().call);
        s.lru.pop_back();
      }
    }
    invalidate_front_caches();
  }

  [[nodiscard]] std::size_t bytes_used() {
    std::size_t total = 0;
    for (auto& s : m_shards) {
      const std::lock_guard lock{s.mutex};
      total += s.bytes;
    }
    return total;
  }

  [[nodiscard]] std::size_t size() {
    std::size_t total = 0;
    for (auto& s : m_shards) {
      const std::lock_guard lock{s.mutex};
      total += s.index.size();
    }
    return total;
  }

private:
  static constexpr std::size_t shard_count = 16;
  static constexpr std::size_t front_slots = 1024;
  // Values charged more than this stay out of front caches, which pin what they hold (until the
  // slot is refilled or the thread ends): at most 1,024 x 1 KiB per thread, beside 64 KiB of
  // slots.
  static constexpr std::size_t front_value_limit = 1024;

  struct front_slot {
    std::uint64_t store = 0; // m_id of the store that filled it; 0: empty
    std::uint64_t generation = 0;
    key call;
    const void* type = nullptr;
    std::shared_ptr<const void> value;
    std::int64_t compute_ns = 0;
  };

  using front_table = std::array<front_slot, front_slots>;

  // This thread's front cache, null until find() first fills a slot. Per thread, so no other
  // thread ever reads or writes it: race-free without a lock.
  static std::unique_ptr<front_table>& front_cache() noexcept {
    thread_local std::unique_ptr<front_table> slots;
    return slots;
  }

  static std::uint64_t next_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  void invalidate_front_caches() noexcept { m_generation.fetch_add(1, std::memory_order_acq_rel); }

  struct node {
    key call;
    std::shared_ptr<const void> value; // typed slot, or
    const void* type = nullptr;
    stored_entry entry; // payload slot
    std::size_t bytes = 0;
    std::int64_t compute_ns = 0;
  };

  // Sharded so that threads hitting different keys rarely share a lock; each shard keeps its own
  // LRU list and an equal share of the byte limit.
  // A cache line each: threads working on different shards must not contend for one line.
  struct alignas(64) shard {
    std::mutex mutex;
    std::list<node> lru; // most recently used first
    std::unordered_map<key, std::list<node>::iterator> index;
    std::size_t bytes = 0;
  };

  shard& shard_for(const key& k) noexcept { return m_shards[k.low() % shard_count]; }

  void put(node n) {
    const std::size_t share = m_byte_limit.load(std::memory_order_relaxed) / shard_count;
    if (n.bytes > share / 8) {
      return;
    }
    auto& s = shard_for(n.call);
    bool removed = false;
    {
      const std::lock_guard lock{s.mutex};
      if (const auto it = s.index.find(n.call); it != s.index.end()) {
        s.bytes -= it->second->bytes;
        s.lru.erase(it->second);
        s.index.erase(it);
        removed = true;
      }
      s.bytes += n.bytes;
      s.lru.push_front(std::move(n));
      s.index.emplace(s.lru.front().call, s.lru.begin());
      while (s.bytes > share && !s.lru.empty()) {
        s.bytes -= s.lru.back().bytes;
        s.index.erase(s.lru.back().call);
        s.lru.pop_back();
        removed = true;
      }
    }
    if (removed) {
      invalidate_front_caches();
    }
  }

  std::atomic<std::size_t> m_byte_limit;
  const std::uint64_t m_id = next_id();
  std::atomic<std::uint64_t> m_generation{1};
  std::array<shard, shard_count> m_shards;
};

// The tier every memoize object shares unless its options say memory_tier::none.
[[nodiscard]] inline memory_store& process_memory_tier() {
  static detail::immortal<memory_store> tier; // memoize objects with static storage may outlive any static
  return tier.get();
}

} // namespace recall
