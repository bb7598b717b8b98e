// Tests for recall/stores/remote.hpp: RECALL_REMOTE's URL list and mode, the scheme registry, and
// the remote store made on first use (with a clear error for a store not in the program).
#include "catch.hpp"

#include <stdlib.h>

#include <memory>
#include <string>

#include <recall/stores/memory_store.hpp>
#include <recall/stores/remote.hpp>

#include "support.hpp"

namespace {

const recall::function_id g_function{"remote_test", recall::key{3, 3}};

recall::stored_entry entry_of(std::uint8_t b) {
  recall::stored_entry e;
  e.payload = {std::byte{b}};
  return e;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("RECALL_REMOTE: URLs split on spaces and ';', a cluster URL's commas kept; the mode", "[stores_remote]") {
  CHECK(recall::split_remote_urls("") == std::vector<std::string>{});
  CHECK(recall::split_remote_urls("  redis://a:1/0  ") == std::vector<std::string>{"redis://a:1/0"});
  CHECK(recall::split_remote_urls("redis+cluster://a:1,b:2 s3://bucket/p?region=x&endpoint=http://h:9;unix:///s") ==
        std::vector<std::string>{"redis+cluster://a:1,b:2", "s3://bucket/p?region=x&endpoint=http://h:9", "unix:///s"});
  recall_test::log_capture capture;
  CHECK(recall::parse_remote_mode("") == recall::tier_access::read_write);
  CHECK(recall::parse_remote_mode("read-write") == recall::tier_access::read_write);
  CHECK(recall::parse_remote_mode("read-only") == recall::tier_access::read_only);
  CHECK(recall::parse_remote_mode("ro") == recall::tier_access::read_only);
  CHECK(capture.warnings() == 0);
  CHECK(recall::parse_remote_mode("read_only!") == recall::tier_access::read_only);
  CHECK(capture.count(recall::log_level::warning, "RECALL_REMOTE_MODE='read_only!'") == 1);
}

TEST_CASE("a remote scheme nothing registered is a clear error naming what to add", "[stores_remote]") {
  // This test program includes neither redis_store.hpp nor s3_store.hpp.
  const auto error_of = [](const std::string& url) {
    try {
      static_cast<void>(recall::make_remote_store(url));
    } catch (const recall::config_error& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  CHECK(contains(error_of("s3://bucket/prefix"), "s3:// needs recall-s3"));
  CHECK(contains(error_of("redis://:hunter2@cache:6379/0"), "redis:// needs recall-redis"));
  CHECK_FALSE(contains(error_of("redis://:hunter2@cache:6379/0"), "hunter2"));
  CHECK(contains(error_of("redis+cluster://a:1,b:2"), "redis+cluster:// needs recall-redis"));
  CHECK(contains(error_of("ftp://x"), "unknown remote scheme 'ftp'"));

  // Made on first use: one warning, then every operation fails at once and a layered store skips it.
  recall_test::log_capture capture;
  auto remote = std::make_shared<recall::deferred_remote_store>("s3://bucket");
  auto local = std::make_shared<recall::memory_store>();
  recall::layered_store layered{{{local}, {remote}}};
  const recall::entry_address address{g_function, recall::key{1, 1}};
  layered.save(address, entry_of(1));
  CHECK(layered.load(address));
  CHECK_FALSE(layered.contains(recall::entry_address{g_function, recall::key{2, 2}}));
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::warning, "s3:// needs recall-s3") == 1);
  CHECK_THROWS_AS(remote->load(address), recall::store_error);
}

TEST_CASE("a registered scheme makes its store on first use; RECALL_REMOTE builds the tiers", "[stores_remote]") {
  static auto shared = std::make_shared<recall::memory_store>(); // the registry outlives this test case
  static int made = 0;
  recall::register_remote_scheme("mem+test", [](const std::string& url) -> std::shared_ptr<recall::store> {
    ++made;
    CHECK(url == "mem+test://here");
    return shared;
  });
  ::setenv("RECALL_REMOTE", "mem+test://here  mem+test://here", 1);
  ::setenv("RECALL_REMOTE_MODE", "read-only", 1);
  auto tiers = recall::remote_tiers_from_environment(std::chrono::milliseconds{7});
  ::unsetenv("RECALL_REMOTE");
  ::unsetenv("RECALL_REMOTE_MODE");
  REQUIRE(tiers.size() == 2);
  CHECK(tiers[0].access == recall::tier_access::read_only);
  CHECK(tiers[0].write_budget == std::chrono::milliseconds{7});
  CHECK(made == 0); // not before the first use
  const recall::entry_address address{g_function, recall::key{4, 4}};
  shared->save(address, entry_of(9));
  CHECK(tiers[0].store->load(address));
  CHECK(made == 1);
  CHECK(tiers[0].store->description() == "memory");
  CHECK(recall::remote_tiers_from_environment().empty());
}
