// Tests for recall/adapters/chrono.hpp: calendar types as keys and stored results.
#include "catch.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

#include <recall/adapters/chrono.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace adapters_chrono {

using namespace std::chrono;

int g_calls = 0;

year_month_day next_day(const year_month_day& d) {
  ++g_calls;
  return year_month_day{sys_days{d} + days{1}};
}

recall::options on_disk(const std::filesystem::path& dir) {
  return recall::options{.directory = dir, .mode = recall::mode::reuse, .memory = recall::memory_tier::none};
}

template <class T>
T round_trip(const T& value) {
  return recall::detail::decode_payload<T>(recall::detail::encode_payload(value));
}

} // namespace adapters_chrono

using namespace adapters_chrono;

TEST_CASE("calendar types are hashable and storable", "[adapters_chrono]") {
  STATIC_REQUIRE(recall::storable<year>);
  STATIC_REQUIRE(recall::storable<month>);
  STATIC_REQUIRE(recall::storable<day>);
  STATIC_REQUIRE(recall::storable<weekday>);
  STATIC_REQUIRE(recall::storable<year_month>);
  STATIC_REQUIRE(recall::storable<month_day>);
  STATIC_REQUIRE(recall::storable<year_month_day>);
  STATIC_REQUIRE(recall::storable<hh_mm_ss<seconds>>);
  // Built in, without the adapter: durations and time points.
  STATIC_REQUIRE(recall::storable<milliseconds>);
  STATIC_REQUIRE(recall::storable<sys_seconds>);
}

TEST_CASE("calendar encodings: i16 year, u8 month and day, fields in order", "[adapters_chrono]") {
  const std::vector<std::byte> bytes = recall::detail::encode_payload(year{2024} / 2 / 29);
  REQUIRE(bytes.size() == 4);
  std::int16_t y = 0;
  std::memcpy(&y, bytes.data(), 2);
  CHECK(y == 2024);
  CHECK(bytes[2] == std::byte{2});
  CHECK(bytes[3] == std::byte{29});
  CHECK(recall::detail::encode_payload(Sunday) == std::vector<std::byte>{std::byte{0}});
  CHECK(recall::detail::encode_payload(hh_mm_ss<seconds>{seconds{3723}}) ==
        recall::detail::encode_payload(seconds{3723}));
}

TEST_CASE("calendar values round-trip, including values that are not ok()", "[adapters_chrono]") {
  CHECK(round_trip(year{-32767}) == year{-32767});
  CHECK(round_trip(month{12}) == December);
  CHECK(round_trip(day{31}) == day{31});
  CHECK(round_trip(Saturday) == Saturday);
  CHECK(round_trip(year{2024} / March) == year{2024} / March);
  CHECK(round_trip(February / 30) == February / 30);
  CHECK(round_trip(year{2023} / 2 / 30) == year{2023} / 2 / 30);
  CHECK(round_trip(hh_mm_ss<milliseconds>{milliseconds{-90'061'001}}).to_duration() == milliseconds{-90'061'001});
}

TEST_CASE("calendar keys differ by value", "[adapters_chrono]") {
  using recall::detail::hash_value;
  CHECK(hash_value(year{2024} / 1 / 2) != hash_value(year{2024} / 2 / 1));
  CHECK(hash_value(year{2024} / 1 / 2) == hash_value(year_month_day{sys_days{year{2024} / 1 / 1} + days{1}}));
  CHECK(hash_value(Monday) != hash_value(Tuesday));
}

TEST_CASE("a memoized function of a date hits from disk", "[adapters_chrono]") {
  recall_test::temp_dir dir;
  recall::memoize<&next_day> memo{on_disk(dir.path())};
  g_calls = 0;
  CHECK(memo(year{2024} / 2 / 28) == year{2024} / 2 / 29);
  CHECK(memo(year{2024} / 2 / 28) == year{2024} / 2 / 29);
  CHECK(g_calls == 1);
  CHECK(memo(year{2023} / 2 / 28) == year{2023} / 3 / 1);
  CHECK(g_calls == 2);
}
