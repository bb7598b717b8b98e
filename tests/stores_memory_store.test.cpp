// Tests for recall::memory_store: typed slots, byte slots, LRU eviction by bytes.
#include "catch.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <recall/stores/memory_store.hpp>

namespace {

const recall::function_id g_function{"memory_test", recall::key{1, 1}};

recall::key nth_key(std::uint64_t i) { return recall::key{i * 0x9E3779B97F4A7C15ULL, i}; }

} // namespace

TEST_CASE("typed slots return copies of what was inserted, of the same type only", "[stores_memory_store]") {
  recall::memory_store tier;
  const recall::key k{7, 7};
  CHECK_FALSE(tier.find<std::string>(k));
  tier.insert(k, std::make_shared<const std::string>("value"), 5);
  CHECK(tier.find<std::string>(k) == std::string{"value"});
  CHECK_FALSE(tier.find<int>(k));
  CHECK(tier.holds<std::string>(k));
  CHECK_FALSE(tier.holds<double>(k));
  CHECK(tier.erase(k));
  CHECK_FALSE(tier.erase(k));
  CHECK_FALSE(tier.find<std::string>(k));
}

TEST_CASE("byte slots implement the store interface", "[stores_memory_store]") {
  recall::memory_store tier;
  const recall::entry_address address{g_function, recall::key{3, 4}};
  CHECK_FALSE(tier.load(address));
  CHECK_FALSE(tier.contains(address));
  recall::stored_entry entry;
  entry.payload = {std::byte{1}, std::byte{2}};
  entry.metadata.compute_time = std::chrono::seconds{3};
  tier.save(address, entry);
  CHECK(tier.contains(address));
  const auto loaded = tier.load(address);
  REQUIRE(loaded);
  CHECK(loaded->payload == entry.payload);
  CHECK(loaded->metadata.compute_time == std::chrono::seconds{3});
  CHECK(tier.erase(address));
  CHECK_FALSE(tier.contains(address));
}

TEST_CASE("past its byte limit the tier drops the least recently used entries", "[stores_memory_store]") {
  // 16 shards of 64 KiB: each shard keeps what fits in its share.
  recall::memory_store tier{16 * 64 * 1024};
  for (std::uint64_t i = 0; i < 4000; ++i) {
    tier.insert(nth_key(i), std::make_shared<const std::vector<char>>(1000), 1000);
  }
  CHECK(tier.bytes_used() <= tier.byte_limit());
  CHECK(tier.size() < 4000);
  CHECK(tier.size() > 500);
  // The newest entries survive; the oldest are gone.
  CHECK(tier.holds<std::vector<char>>(nth_key(3999)));
  CHECK_FALSE(tier.holds<std::vector<char>>(nth_key(0)));
}

TEST_CASE("a hit makes an entry recently used", "[stores_memory_store]") {
  recall::memory_store tier{16 * 16 * 1024};
  // Fill one shard (keys with the same low word % 16 share a shard).
  const auto shard_key = [](std::uint64_t i) { return recall::key{i, i * 16}; };
  for (std::uint64_t i = 0; i < 10; ++i) {
    tier.insert(shard_key(i), std::make_shared<const int>(static_cast<int>(i)), 1000);
  }
  CHECK(tier.find<int>(shard_key(0)) == 0); // touch the oldest
  for (std::uint64_t i = 10; i < 16; ++i) {
    tier.insert(shard_key(i), std::make_shared<const int>(static_cast<int>(i)), 1000);
  }
  CHECK(tier.holds<int>(shard_key(0)));
  CHECK_FALSE(tier.holds<int>(shard_key(1)));
}

TEST_CASE("a value too large for the tier is not kept", "[stores_memory_store]") {
  recall::memory_store tier{16 * 1024};
  tier.insert(recall::key{1, 2}, std::make_shared<const int>(1), 1 << 20);
  CHECK_FALSE(tier.holds<int>(recall::key{1, 2}));
  CHECK(tier.size() == 0);
}

TEST_CASE("memory_store: front caches never serve what the store no longer holds", "[stores_memory_store]") {
  recall::memory_store store;
  const recall::key k{11, 22};
  store.insert(k, std::make_shared<const int>(1), sizeof(int), 5);
  std::int64_t saved = 0;
  CHECK(store.find<int>(k, &saved) == 1); // fills this thread's front slot
  CHECK(saved == 5);
  CHECK(store.find<int>(k) == 1); // served from it
  // Replaced (refresh): the new value, at once.
  store.insert(k, std::make_shared<const int>(2), sizeof(int));
  CHECK(store.find<int>(k) == 2);
  CHECK(store.find<int>(k) == 2);
  // Erased (forget) and cleared: gone, not served from a front slot.
  CHECK(store.erase(k));
  CHECK_FALSE(store.find<int>(k).has_value());
  store.insert(k, std::make_shared<const int>(3), sizeof(int));
  CHECK(store.find<int>(k) == 3);
  store.clear();
  CHECK_FALSE(store.find<int>(k).has_value());
  // Evicted by a smaller limit.
  store.insert(k, std::make_shared<const int>(4), sizeof(int));
  CHECK(store.find<int>(k) == 4);
  store.set_byte_limit(0);
  CHECK_FALSE(store.find<int>(k).has_value());
  // Another store with the same key does not see this one's slot, nor does another type.
  recall::memory_store other;
  store.set_byte_limit(recall::memory_store::default_byte_limit);
  store.insert(k, std::make_shared<const int>(5), sizeof(int));
  CHECK(store.find<int>(k) == 5);
  CHECK_FALSE(other.find<int>(k).has_value());
  CHECK_FALSE(store.find<long>(k).has_value());
}

TEST_CASE("memory_store: keys sharing their front slots are each served their own value", "[stores_memory_store]") {
  // Equal modulo 1,024 in both words: all three have the same two candidate front slots.
  const recall::key keys[] = {{1024 * 1 + 7, 1024 * 5 + 9}, {1024 * 2 + 7, 1024 * 6 + 9}, {1024 * 3 + 7, 1024 * 7 + 9}};
  recall::memory_store store;
  for (int i = 0; i < 3; ++i) {
    store.insert(keys[i], std::make_shared<const int>(100 + i), sizeof(int), i);
  }
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 3; ++i) {
      std::int64_t saved = -1;
      CHECK(store.find<int>(keys[i], &saved) == 100 + i);
      CHECK(saved == i);
    }
  }
  // Two of them fit their two slots: after both are seen, each is served (from either slot).
  for (int round = 0; round < 3; ++round) {
    CHECK(store.find<int>(keys[0]) == 100);
    CHECK(store.find<int>(keys[1]) == 101);
  }
  CHECK(store.erase(keys[1]));
  CHECK_FALSE(store.find<int>(keys[1]).has_value());
  CHECK(store.find<int>(keys[0]) == 100);
  CHECK(store.find<int>(keys[2]) == 102);
}

TEST_CASE("memory_store: another thread sees an erase its front slot missed", "[stores_memory_store]") {
  recall::memory_store store;
  const recall::key k{33, 44};
  store.insert(k, std::make_shared<const int>(7), sizeof(int));
  std::atomic<int> stage{0};
  std::optional<int> after;
  std::thread reader{[&] {
    CHECK(store.find<int>(k) == 7); // its own front slot now holds 7
    stage = 1;
    while (stage.load() != 2) {
      std::this_thread::yield();
    }
    after = store.find<int>(k);
  }};
  while (stage.load() != 1) {
    std::this_thread::yield();
  }
  store.erase(k);
  stage = 2;
  reader.join();
  CHECK_FALSE(after.has_value());
}
