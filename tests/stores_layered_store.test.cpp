// Tests for recall::layered_store: first hit wins, back-fill, read-only tiers, failing tiers.
#include "catch.hpp"

#include <memory>

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
