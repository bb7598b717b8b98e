// Tests for the log sink: replacement, restoration, serialization of calls.
#include "catch.hpp"

#include <string>
#include <thread>
#include <vector>

#include <recall/log.hpp>

TEST_CASE("set_log_sink replaces the sink and returns the previous one", "[log]") {
  std::vector<std::string> first;
  std::vector<std::string> second;
  auto original = recall::set_log_sink([&](recall::log_level, std::string_view l) { first.emplace_back(l); });
  recall::log(recall::log_level::warning, "one");
  auto previous = recall::set_log_sink([&](recall::log_level, std::string_view l) { second.emplace_back(l); });
  recall::log(recall::log_level::info, "two");
  REQUIRE(previous);
  previous(recall::log_level::debug, "three");
  recall::set_log_sink(original);
  CHECK(first == std::vector<std::string>{"one", "three"});
  CHECK(second == std::vector<std::string>{"two"});
}

TEST_CASE("log calls from many threads reach the sink one at a time", "[log]") {
  int inside = 0;
  int overlaps = 0;
  int lines = 0;
  auto original = recall::set_log_sink([&](recall::log_level, std::string_view) {
    overlaps += inside++ != 0 ? 1 : 0;
    ++lines;
    --inside;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 500; ++i) {
        recall::log(recall::log_level::debug, "x");
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  recall::set_log_sink(original);
  CHECK(lines == 2000);
  CHECK(overlaps == 0);
}

TEST_CASE("log levels have names", "[log]") {
  CHECK(recall::to_string(recall::log_level::warning) == "warning");
  CHECK(recall::to_string(recall::log_level::info) == "info");
  CHECK(recall::to_string(recall::log_level::debug) == "debug");
}
