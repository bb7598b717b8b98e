// Tests for recall::layered_store: first hit wins, back-fill, read-only tiers, failing tiers.
#include "catch.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <recall/stores/layered_store.hpp>
#include <recall/stores/memory_store.hpp>

namespace {

const recall::function_id g_function{"layered_test", recall::key{2, 2}};

recall::stored_entry entry_of(std::uint8_t b) {
  recall::stored_entry e;
  e.payload = {std::byte{b}};
  return e;
}

class failing_store final : public recall::store {
public:
  [[nodiscard]] std::string description() const override { return "failing"; }
  std::optional<recall::stored_entry> load(const recall::entry_address&) override { throw recall::store_error{"down"}; }
  void save(const recall::entry_address&, const recall::stored_entry&) override { throw recall::store_error{"down"}; }
  bool contains(const recall::entry_address&) override { throw recall::store_error{"down"}; }
  bool erase(const recall::entry_address&) override { throw recall::store_error{"down"}; }
};

// A remote that takes its time to save (or waits until released): the saves are counted.
class slow_store final : public recall::store {
public:
  explicit slow_store(std::chrono::milliseconds delay) : m_delay{delay} {}
  [[nodiscard]] std::string description() const override { return "slow"; }
  std::optional<recall::stored_entry> load(const recall::entry_address&) override { return std::nullopt; }
  void save(const recall::entry_address&, const recall::stored_entry&) override {
    std::unique_lock lock{m_mutex};
    m_released.wait_for(lock, m_delay, [&] { return m_open; });
    ++saved;
  }
  bool contains(const recall::entry_address&) override { return false; }
  bool erase(const recall::entry_address&) override { return false; }
  void release() {
    {
      const std::lock_guard lock{m_mutex};
      m_open = true;
    }
    m_released.notify_all();
  }
  std::atomic<int> saved{0};

private:
  std::chrono::milliseconds m_delay;
  std::mutex m_mutex;
  std::condition_variable m_released;
  bool m_open = false;
};

} // namespace

TEST_CASE("a hit in a lower tier back-fills the tiers above it", "[stores_layered_store]") {
  auto top = std::make_shared<recall::memory_store>();
  auto bottom = std::make_shared<recall::memory_store>();
  recall::layered_store layered{{{top}, {bottom}}};
  const recall::entry_address address{g_function, recall::key{5, 5}};
  bottom->save(address, entry_of(9));
  CHECK_FALSE(top->contains(address));
  const auto loaded = layered.load(address);
  REQUIRE(loaded);
  CHECK(loaded->payload == entry_of(9).payload);
  CHECK(top->contains(address));
}

TEST_CASE("save writes every writable tier, never a read-only one", "[stores_layered_store]") {
  auto top = std::make_shared<recall::memory_store>();
  auto remote = std::make_shared<recall::memory_store>();
  recall::layered_store layered{{{top}, {remote, recall::tier_access::read_only}}};
  const recall::entry_address address{g_function, recall::key{6, 6}};
  layered.save(address, entry_of(1));
  CHECK(top->contains(address));
  CHECK_FALSE(remote->contains(address));
  CHECK(layered.erase(address));
  CHECK_FALSE(top->contains(address));
  CHECK(layered.description() == "layered(memory -> memory [read-only])");
}

TEST_CASE("a failing tier is skipped; only all tiers failing is an error", "[stores_layered_store]") {
  auto good = std::make_shared<recall::memory_store>();
  const recall::entry_address address{g_function, recall::key{7, 7}};
  recall::layered_store mixed{{{std::make_shared<failing_store>()}, {good}}};
  mixed.save(address, entry_of(3));
  CHECK(good->contains(address));
  CHECK(mixed.load(address));
  CHECK(mixed.contains(address));

  recall::layered_store dead{{{std::make_shared<failing_store>()}, {std::make_shared<failing_store>()}}};
  CHECK_THROWS_AS(dead.load(address), recall::store_error);
  CHECK_THROWS_AS(dead.save(address, entry_of(3)), recall::store_error);
  CHECK_FALSE(dead.contains(address));
  CHECK_THROWS_AS(recall::layered_store({{nullptr}}), recall::config_error);
}

TEST_CASE("a tier with a write budget never holds save() longer than the budget", "[stores_layered_store]") {
  using namespace std::chrono_literals;
  auto local = std::make_shared<recall::memory_store>();
  auto remote = std::make_shared<slow_store>(300ms);
  const recall::entry_address address{g_function, recall::key{8, 8}};
  {
    recall::layered_store layered{{{local}, {remote, recall::tier_access::read_write, 20ms}}};
    const auto started = std::chrono::steady_clock::now();
    layered.save(address, entry_of(4));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 15ms);
    CHECK(took < 200ms); // without the budget: 300 ms
    CHECK(local->contains(address));
    CHECK(remote->saved == 0); // still being written
  }                            // destruction waits for the write under way
  CHECK(remote->saved == 1);

  // A write that fails within the budget is a failure like any other.
  recall::layered_store only_failing{{{std::make_shared<failing_store>(), recall::tier_access::read_write, 1000ms}}};
  CHECK_THROWS_AS(only_failing.save(address, entry_of(1)), recall::store_error);

  // A remote that does not keep up: writes beyond the pending limit are dropped, not queued.
  auto stuck = std::make_shared<slow_store>(60s);
  {
    recall::layered_store layered{{{local}, {stuck, recall::tier_access::read_write, 0ms}}};
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
      layered.save(recall::entry_address{g_function, recall::key{9, static_cast<std::uint64_t>(i)}}, entry_of(2));
    }
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    stuck->release();
  }
  CHECK(stuck->saved == static_cast<int>(recall::detail::background_writer::max_pending));
}
