// Tests for memoize::mapped and recall::mapped: zero-copy views of cached arrays, and when they
// fall back to owning a decoded copy.
#include "catch.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <vector>

#include <recall/recall.hpp>

#include "support.hpp"

namespace mapped_test {

int g_calls = 0;

// Distinct values (compressible only a little: tests store them raw).
std::vector<double> ramp(int n, double scale) {
  ++g_calls;
  std::vector<double> out(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = scale * static_cast<double>(i) + 1.0 / (static_cast<double>(i) + 3.0);
  }
  return out;
}

std::vector<std::int32_t> constant(int n) {
  ++g_calls;
  return std::vector<std::int32_t>(static_cast<std::size_t>(n), 7);
}

// Raw entries: only those can be mapped (the compressed case has its own test).
recall::options at(const std::filesystem::path& dir) {
  recall::options o;
  o.directory = dir;
  o.memory = recall::memory_tier::none;
  o.compression.codec = recall::codec::none;
  return o;
}

std::filesystem::path only_entry(const std::filesystem::path& dir) {
  std::filesystem::path found;
  for (const auto& e : std::filesystem::recursive_directory_iterator{dir}) {
    if (e.path().extension() == ".rce") {
      found = e.path();
    }
  }
  return found;
}

void flip_last_byte(const std::filesystem::path& file) {
  std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
  f.seekg(-1, std::ios::end);
  char c = 0;
  f.get(c);
  f.seekp(-1, std::ios::end);
  f.put(static_cast<char>(c ^ 0x40));
}

} // namespace mapped_test

using namespace mapped_test;

static_assert(recall::mappable_result<std::vector<double>>);
static_assert(recall::mappable_result<std::vector<std::uint8_t>>);
static_assert(!recall::mappable_result<std::vector<bool>>);
static_assert(!recall::mappable_result<std::vector<std::vector<double>>>);
static_assert(!recall::mappable_result<double>);

TEST_CASE("a miss computes and stores, then the view maps the stored entry", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  g_calls = 0;
  recall::memoize<&ramp> f{at(dir.path())};
  const auto view = f.mapped(100000, 0.5);
  CHECK(g_calls == 1);
  CHECK(view.is_mapped());
  CHECK(view.to_vector() == ramp(100000, 0.5));
  CHECK(reinterpret_cast<std::uintptr_t>(view.data()) % alignof(double) == 0);
}

TEST_CASE("a hit maps the entry without computing or copying", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  g_calls = 0;
  {
    recall::memoize<&ramp> writer{at(dir.path())};
    static_cast<void>(writer(50000, 2.0));
  }
  recall::memoize<&ramp> reader{at(dir.path())};
  const auto view = reader.mapped(50000, 2.0);
  CHECK(g_calls == 1);
  REQUIRE(view.is_mapped());
  REQUIRE(view.size() == 50000);
  CHECK(view[0] == ramp(50000, 2.0)[0]);
  CHECK(std::vector<double>(view.begin(), view.end()) == ramp(50000, 2.0));
  const std::span<const double> as_span = view;
  CHECK(as_span.size() == 50000);
}

TEST_CASE("a view outlives the entry it maps and the memoize object", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  recall::mapped<std::vector<double>> view;
  {
    recall::memoize<&ramp> f{at(dir.path())};
    static_cast<void>(f(1000, 1.0));
    view = f.mapped(1000, 1.0);
    REQUIRE(view.is_mapped());
    CHECK(f.forget(1000, 1.0));
  }
  std::filesystem::remove_all(dir.path() / "");
  CHECK(view.to_vector() == ramp(1000, 1.0));
}

TEST_CASE("a compressed entry is decoded into an owned view", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  g_calls = 0;
  recall::options compressed = at(dir.path());
  compressed.compression = recall::compression{};
  recall::memoize<&constant> f{compressed};
  static_cast<void>(f(100000));
  const auto view = f.mapped(100000);
  CHECK(g_calls == 1);
  CHECK_FALSE(view.is_mapped());
  CHECK(view.to_vector() == std::vector<std::int32_t>(100000, 7));

  recall_test::temp_dir raw_dir;
  recall::options raw = at(raw_dir.path());
  raw.compression.codec = recall::codec::none;
  recall::memoize<&constant> g{raw};
  static_cast<void>(g(100000));
  CHECK(g.mapped(100000).is_mapped());
}

TEST_CASE("a damaged entry is not served through a checked map", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  recall_test::log_capture log;
  g_calls = 0;
  recall::memoize<&ramp> f{at(dir.path())};
  static_cast<void>(f(20000, 3.0));
  flip_last_byte(only_entry(dir.path()));
  const auto view = f.mapped(20000, 3.0);
  CHECK(g_calls == 2); // recomputed
  CHECK(view.to_vector() == ramp(20000, 3.0));
  CHECK(log.count(recall::log_level::warning, "checksum mismatch") == 1);
}

TEST_CASE("verification::header trusts the payload once header and size check out", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  g_calls = 0;
  recall::options o = at(dir.path());
  o.mapped_verification = recall::verification::header;
  recall::memoize<&ramp> f{o};
  static_cast<void>(f(20000, 3.0));
  flip_last_byte(only_entry(dir.path()));
  const auto view = f.mapped(20000, 3.0);
  CHECK(g_calls == 1);
  REQUIRE(view.is_mapped());
  // The documented trade: bit rot inside the payload is served.
  CHECK(view[19999] != ramp(20000, 3.0)[19999]);
  // A truncated entry is still refused.
  std::filesystem::resize_file(only_entry(dir.path()), std::filesystem::file_size(only_entry(dir.path())) - 8);
  g_calls = 0;
  const auto again = f.mapped(20000, 3.0);
  CHECK(g_calls == 1);
  CHECK(again.to_vector() == ramp(20000, 3.0));
}

TEST_CASE("mode::off and stores without files give owning views", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  g_calls = 0;
  recall::options off = at(dir.path());
  off.mode = recall::mode::off;
  recall::memoize<&ramp> plain{off};
  const auto a = plain.mapped(10, 1.0);
  CHECK_FALSE(a.is_mapped());
  CHECK(a.to_vector() == ramp(10, 1.0));

  recall::options layered = at(dir.path());
  layered.store = std::make_shared<recall::memory_store>();
  recall::memoize<&ramp> in_memory{layered};
  const auto b = in_memory.mapped(10, 2.0);
  CHECK_FALSE(b.is_mapped());
  CHECK(b.to_vector() == ramp(10, 2.0));
}

TEST_CASE("in_place refuses counts that do not match and misaligned bytes", "[memoize_mapped]") {
  using view = recall::mapped<std::vector<double>>;
  alignas(16) std::array<std::byte, 8 + 3 * 8 + 1> bytes{};
  const std::uint64_t three = 3;
  std::memcpy(bytes.data(), &three, 8);
  const std::shared_ptr<const void> none;
  CHECK(view::in_place(none, std::span<const std::byte>{bytes}.first(32)).has_value());
  CHECK_FALSE(view::in_place(none, std::span<const std::byte>{bytes}).has_value());           // a byte too many
  CHECK_FALSE(view::in_place(none, std::span<const std::byte>{bytes}.first(31)).has_value()); // a byte short
  CHECK_FALSE(view::in_place(none, std::span<const std::byte>{bytes}.first(4)).has_value());  // no count
  const std::uint64_t forged = std::uint64_t{1} << 62;
  std::memcpy(bytes.data(), &forged, 8);
  CHECK_FALSE(view::in_place(none, std::span<const std::byte>{bytes}.first(32)).has_value());
}

namespace mapped_test {

// A store as a user would write one: load and save over a map, nothing else.
class map_store final : public recall::store {
public:
  [[nodiscard]] std::string description() const override { return "map"; }
  [[nodiscard]] std::optional<recall::stored_entry> load(const recall::entry_address& address) override {
    const auto it = m_entries.find(address.call);
    return it == m_entries.end() ? std::nullopt : std::optional{it->second};
  }
  void save(const recall::entry_address& address, const recall::stored_entry& entry) override {
    m_entries[address.call] = entry;
  }
  [[nodiscard]] bool contains(const recall::entry_address& address) override {
    return m_entries.contains(address.call);
  }
  bool erase(const recall::entry_address& address) override { return m_entries.erase(address.call) > 0; }

private:
  std::map<recall::key, recall::stored_entry> m_entries;
};

std::shared_ptr<recall::layered_store> memory_over_directory(const std::filesystem::path& dir) {
  recall::compression raw;
  raw.codec = recall::codec::none;
  return std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{
      {std::make_shared<recall::memory_store>()},
      {std::make_shared<recall::directory_store>(dir, recall::durability::none, raw)}});
}

recall::options through(std::shared_ptr<recall::store> store) {
  recall::options o;
  o.memory = recall::memory_tier::none;
  o.store = std::move(store);
  return o;
}

} // namespace mapped_test

TEST_CASE("mapped and large hits work through a layered store of memory + directory", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  g_calls = 0;
  constexpr int large = 300000; // 2.4 MB: past the size from which a directory store maps hits
  {
    recall::memoize<&ramp> writer{through(memory_over_directory(dir.path()))};
    static_cast<void>(writer(50000, 2.0));
    static_cast<void>(writer(large, 1.5));
  }
  REQUIRE(g_calls == 2);
  // A new process: nothing in its memory tier, the entries on disk.
  recall::memoize<&ramp> reader{through(memory_over_directory(dir.path()))};
  const auto view = reader.mapped(50000, 2.0);
  CHECK(view.is_mapped());
  CHECK(view.to_vector() == ramp(50000, 2.0));
  CHECK(reader(large, 1.5) == ramp(large, 1.5));
  CHECK(g_calls == 4); // the two ramp() calls in the checks above, nothing recomputed
}

TEST_CASE("a damaged large entry under a layered store is discarded and recomputed, never served", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  recall_test::log_capture log;
  g_calls = 0;
  constexpr int large = 300000;
  {
    recall::memoize<&ramp> writer{through(memory_over_directory(dir.path()))};
    static_cast<void>(writer(large, 0.25));
  }
  flip_last_byte(only_entry(dir.path()));
  recall::memoize<&ramp> reader{through(memory_over_directory(dir.path()))};
  CHECK(reader(large, 0.25) == ramp(large, 0.25));
  CHECK(g_calls == 3); // written, recomputed, and the expected value above
  CHECK(log.count(recall::log_level::warning, "checksum mismatch") == 1);
  // Stored again whole: the next process hits.
  recall::memoize<&ramp> again{through(memory_over_directory(dir.path()))};
  CHECK(again(large, 0.25) == ramp(large, 0.25));
  CHECK(g_calls == 4); // the expected value only
}

TEST_CASE("a store that implements only load and save serves mapped and large hits", "[memoize_mapped]") {
  g_calls = 0;
  const auto store = std::make_shared<map_store>();
  constexpr int large = 300000;
  {
    recall::memoize<&ramp> writer{through(store)};
    static_cast<void>(writer(1000, 4.0));
    static_cast<void>(writer(large, 4.0));
  }
  recall::memoize<&ramp> reader{through(store)};
  const auto view = reader.mapped(1000, 4.0);
  CHECK_FALSE(view.is_mapped()); // nothing to map: the view owns the decoded result
  CHECK(view.to_vector() == ramp(1000, 4.0));
  CHECK(reader(large, 4.0) == ramp(large, 4.0));
  CHECK(g_calls == 4);
}

TEST_CASE("a pack store maps views and large hits from its segments; a damaged record is dropped", "[memoize_mapped]") {
  recall_test::temp_dir dir;
  recall_test::log_capture log;
  g_calls = 0;
  recall::options o = at(dir.path());
  o.layout = recall::store_layout::pack;
  constexpr int large = 300000;
  {
    recall::memoize<&ramp> writer{o};
    static_cast<void>(writer(40000, 0.5));
    static_cast<void>(writer(large, 0.5));
  }
  recall::memoize<&ramp> reader{o};
  const auto view = reader.mapped(40000, 0.5);
  CHECK(view.to_vector() == ramp(40000, 0.5));
  CHECK(reader(large, 0.5) == ramp(large, 0.5));
  CHECK(g_calls == 4); // two stored, two expected values: nothing recomputed
  // In place when the record's payload is aligned in its segment, else an owned copy: both right.
  INFO("mapped in place: " << view.is_mapped());
  // Flip the last byte of the segment: the large record, written last, ends there.
  std::filesystem::path segment;
  for (const auto& e : std::filesystem::recursive_directory_iterator{dir.path()}) {
    if (e.is_regular_file() && e.path().parent_path().filename() == "segments" &&
        (segment.empty() || e.file_size() > std::filesystem::file_size(segment))) {
      segment = e.path();
    }
  }
  REQUIRE_FALSE(segment.empty());
  flip_last_byte(segment);
  recall::memoize<&ramp> after{o};
  CHECK(after(large, 0.5) == ramp(large, 0.5));
  CHECK(g_calls == 6); // recomputed once
  CHECK(log.count(recall::log_level::warning, "checksum mismatch") == 1);
}
