// Tests for recall/adapters/filesystem.hpp: paths by their generic string, file_content by the file's bytes.
#include "catch.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <recall/adapters/filesystem.hpp>
#include <recall/recall.hpp>

#include "support.hpp"

namespace adapters_filesystem {

int g_calls = 0;

std::size_t count_lines(recall::file_content input) {
  ++g_calls;
  std::ifstream in{input.path()};
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
  }
  return lines;
}

std::filesystem::path output_for(const std::filesystem::path& input) {
  ++g_calls;
  return input.parent_path() / "out" / input.filename().replace_extension(".h5");
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
}

recall::options on_disk(const std::filesystem::path& dir) {
  return recall::options{.directory = dir, .mode = recall::mode::reuse, .memory = recall::memory_tier::none};
}

} // namespace adapters_filesystem

using namespace adapters_filesystem;

TEST_CASE("paths are hashable and storable; file_content is an argument only", "[adapters_filesystem]") {
  STATIC_REQUIRE(recall::hashable<std::filesystem::path>);
  STATIC_REQUIRE(recall::storable<std::filesystem::path>);
  STATIC_REQUIRE(recall::hashable<std::vector<std::filesystem::path>>);
  STATIC_REQUIRE(recall::hashable<recall::file_content>);
  STATIC_REQUIRE_FALSE(recall::storable<recall::file_content>);
}

TEST_CASE("a path is keyed and stored as its generic string", "[adapters_filesystem]") {
  const std::filesystem::path p{"data/run 1/input.csv"};
  CHECK(recall::detail::hash_value(p) == recall::detail::hash_value(std::string{"data/run 1/input.csv"}));
  CHECK(recall::detail::hash_value(p) != recall::detail::hash_value(std::filesystem::path{"data/run 1/input.txt"}));
  CHECK(recall::detail::decode_payload<std::filesystem::path>(recall::detail::encode_payload(p)) == p);
  CHECK(recall::detail::decode_payload<std::filesystem::path>(recall::detail::encode_payload(std::filesystem::path{}))
            .empty());
}

TEST_CASE("file_content is keyed by the file's bytes, not its name", "[adapters_filesystem]") {
  recall_test::temp_dir dir;
  const auto a = dir.path() / "a.txt";
  const auto b = dir.path() / "b.txt";
  write_file(a, "1 2 3\n");
  write_file(b, "1 2 3\n");
  CHECK(recall::detail::hash_value(recall::file_content{a}) == recall::detail::hash_value(recall::file_content{b}));
  CHECK(recall::detail::hash_value(recall::file_content{a}) == recall::detail::hash_value(std::string{"1 2 3\n"}));
  write_file(b, "1 2 4\n");
  CHECK(recall::detail::hash_value(recall::file_content{a}) != recall::detail::hash_value(recall::file_content{b}));
  // Larger than the 64 KiB read buffer: streamed in pieces, same key as the whole string.
  const std::string big(200'000, 'x');
  write_file(a, big);
  CHECK(recall::detail::hash_value(recall::file_content{a}) == recall::detail::hash_value(big));
  write_file(a, "");
  CHECK(recall::detail::hash_value(recall::file_content{a}) == recall::detail::hash_value(std::string{}));
}

TEST_CASE("file_content of a missing file or a directory is a clear error", "[adapters_filesystem]") {
  recall_test::temp_dir dir;
  const auto missing = dir.path() / "missing.csv";
  CHECK_THROWS_WITH(recall::detail::hash_value(recall::file_content{missing}),
                    Catch::Contains("missing.csv") && Catch::Contains("No such file"));
  CHECK_THROWS_AS(recall::detail::hash_value(recall::file_content{missing}), recall::file_content_error);
  CHECK_THROWS_WITH(recall::detail::hash_value(recall::file_content{dir.path()}),
                    Catch::Contains("is not a regular file"));

  recall::memoize<&count_lines> memo{on_disk(dir.path() / "cache")};
  g_calls = 0;
  CHECK_THROWS_AS(memo(recall::file_content{missing}), recall::file_content_error);
  CHECK(g_calls == 0);
}

TEST_CASE("an edited input file invalidates, a copy of it hits", "[adapters_filesystem]") {
  recall_test::temp_dir dir;
  const auto input = dir.path() / "input.csv";
  write_file(input, "a\nb\n");
  recall::memoize<&count_lines> memo{on_disk(dir.path() / "cache")};
  g_calls = 0;
  CHECK(memo(recall::file_content{input}) == 2);
  CHECK(memo(recall::file_content{input}) == 2);
  CHECK(g_calls == 1);
  write_file(input, "a\nb\nc\n");
  CHECK(memo(recall::file_content{input}) == 3);
  CHECK(g_calls == 2);
  const auto copy = dir.path() / "copy.csv";
  std::filesystem::copy_file(input, copy);
  CHECK(memo(recall::file_content{copy}) == 3);
  CHECK(g_calls == 2);
}

TEST_CASE("paths as arguments and results of a memoized function", "[adapters_filesystem]") {
  recall_test::temp_dir dir;
  recall::memoize<&output_for> memo{on_disk(dir.path())};
  g_calls = 0;
  const std::filesystem::path in{"runs/42/input.csv"};
  CHECK(memo(in) == std::filesystem::path{"runs/42/out/input.h5"});
  CHECK(memo(in) == std::filesystem::path{"runs/42/out/input.h5"});
  CHECK(g_calls == 1);
}
