// Writes the fuzz targets' seed corpora: valid inputs made by recall's own encoders, and corrupt
// variants of them (truncated, a flipped byte, forged sizes, wrong magic). Usage:
//   make-seeds DIR   -> DIR/entry/*, DIR/payload/*, DIR/redis/*
// The committed fuzz/corpus/ is this program's output; rerun it when a format changes.

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <valarray>
#include <variant>
#include <vector>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/redis_layout.hpp>
#if RECALL_FUZZ_ARCHIVE
#include <recall/management/archive.hpp>
#endif

#include "fuzz_support.hpp"

namespace {

namespace fs = std::filesystem;
namespace fmt = recall::detail::entry_format_detail;
namespace off = recall::detail::entry_offset;
namespace redis = recall::detail::redis;
using bytes = std::vector<std::byte>;

void write(const fs::path& path, std::uint8_t control, const bytes& body) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.put(static_cast<char>(control));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  if (!out) {
    throw std::runtime_error{"cannot write " + path.string()};
  }
}

recall::stored_entry sample_entry(std::size_t doubles) {
  recall::stored_entry e;
  std::vector<double> values(doubles);
  for (std::size_t i = 0; i < doubles; ++i) {
    values[i] = 0.5 * static_cast<double>(i);
  }
  e.payload = recall::detail::encode_payload(values);
  e.metadata.created = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  e.metadata.compute_time = std::chrono::milliseconds{1500};
  e.manifest.function = "lab::simulate";
  e.manifest.signature = "(const lab::params&,long)->std::vector<double>";
  e.manifest.version = "2";
  e.manifest.label = "{dt=0.01} 1000";
  e.manifest.argument_types = {"const lab::params&", "long"};
  e.manifest.argument_digests = {"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"};
  e.manifest.global_names = {"g_temperature"};
  e.manifest.global_digests = {"00112233445566778899aabbccddeeff"};
  e.manifest.host = "node-7";
  return e;
}

const recall::key call{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
const recall::key identity{0x1111222233334444ULL, 0x5555666677778888ULL};

void entry_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const bytes small = recall::detail::encode_entry(call, identity, sample_entry(4));
  const bytes large = recall::detail::encode_entry(call, identity, sample_entry(300));
  write(dir / "valid-small", 0, small);
  write(dir / "valid-large", 0, large);
  write(dir / "valid-small-reseal", 1, small);
  bytes b = small;
  b.resize(b.size() - 5);
  write(dir / "truncated-payload", 0, b);
  b = small;
  b.resize(50);
  write(dir / "truncated-header", 0, b);
  b = small;
  b.back() ^= std::byte{0x40};
  write(dir / "flipped-payload-byte", 0, b);
  b = small;
  b[0] = std::byte{'X'};
  write(dir / "bad-magic", 0, b);
  b = small;
  fmt::store_le(b.data() + off::payload_size, std::uint64_t{1} << 62, 8);
  write(dir / "forged-payload-size-reseal", 1, b);
  b = small;
  fmt::store_le(b.data() + off::manifest_size, 0xFFFFFFF0U, 4);
  write(dir / "forged-manifest-size-reseal", 1, b);
  b = small;
  // A manifest whose first string claims more bytes than remain, with checksums made good.
  fmt::store_le(b.data() + recall::detail::entry_header_size, std::uint64_t{1} << 40, 8);
  write(dir / "forged-string-size-reseal", 1, b);
  b = small;
  b.resize(b.size() + 7, std::byte{0xAB});
  write(dir / "appended-bytes", 0, b);
  write(dir / "appended-bytes-reseal", 1, b);
  // A zstd-compressed payload (flag bit 0), as the directory store writes large ones.
  recall::stored_entry repetitive;
  repetitive.payload.assign(4096, std::byte{7});
  const auto frame = recall::detail::compress_payload(repetitive.payload, recall::compression{.threshold = 1});
  const auto manifest = recall::detail::encode_manifest(repetitive.manifest);
  const auto header = recall::detail::encode_entry_header(call, identity, repetitive.metadata, manifest, *frame,
                                                          recall::detail::entry_flag_zstd);
  bytes compressed(header.size() + manifest.size() + frame->size());
  std::memcpy(compressed.data(), header.data(), header.size());
  std::memcpy(compressed.data() + header.size(), manifest.data(), manifest.size());
  std::memcpy(compressed.data() + header.size() + manifest.size(), frame->data(), frame->size());
  write(dir / "valid-compressed", 0, compressed);
  write(dir / "valid-compressed-reseal", 1, compressed);
}

template <class T>
void payload_seed(const fs::path& dir, std::uint8_t type, const std::string& name, const T& value) {
  const bytes encoded = recall::detail::encode_payload(value);
  write(dir / (std::to_string(type) + "-" + name), type, encoded);
  if (encoded.size() > 1) {
    write(dir / (std::to_string(type) + "-" + name + "-truncated"), type, bytes(encoded.begin(), encoded.end() - 1));
  }
}

struct sample {
  double value = 0;
  std::vector<std::string> names;
  std::optional<std::map<int, std::string>> table;
};
enum class color : std::uint8_t { red, green };

// Type numbers as in payload_fuzzer.cpp's decoders table.
void payload_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  payload_seed(dir, 0, "double", 2.5);
  payload_seed(dir, 1, "bool", true);
  payload_seed(dir, 2, "string", std::string{"a result"});
  payload_seed(dir, 3, "doubles", std::vector<double>{1, 2, 3});
  payload_seed(dir, 4, "strings", std::vector<std::string>{"x", "yz"});
  payload_seed(dir, 5, "nested", std::vector<std::vector<std::int32_t>>{{1, 2}, {}, {3}});
  payload_seed(dir, 6, "map", std::map<std::string, std::vector<float>>{{"a", {1.0F}}, {"b", {}}});
  payload_seed(dir, 7, "unordered-map", std::unordered_map<std::int64_t, std::string>{{1, "one"}, {2, "two"}});
  payload_seed(dir, 8, "set", std::set<std::int16_t>{-1, 5, 9});
  payload_seed(dir, 9, "unordered-set", std::unordered_set<std::string>{"p", "q"});
  payload_seed(dir, 10, "optional", std::optional<std::vector<std::string>>{{"v"}});
  payload_seed(dir, 11, "variant", std::variant<std::int32_t, std::string, std::vector<double>>{std::string{"alt"}});
  payload_seed(dir, 12, "tuple", std::tuple<std::int32_t, double, std::string, color>{7, 0.25, "t", color::green});
  payload_seed(dir, 13, "pair", std::pair<std::deque<std::list<std::uint8_t>>, std::u32string>{{{1, 2}, {3}}, U"wide"});
  payload_seed(dir, 14, "unique-ptr", std::make_unique<std::vector<std::int64_t>>(std::vector<std::int64_t>{4, 5}));
  payload_seed(dir, 15, "shared-ptr", std::make_shared<std::string>("shared"));
  payload_seed(dir, 16, "bitset", std::bitset<70>{0x5A5A});
  payload_seed(dir, 17, "valarray", std::valarray<double>{1.5, 2.5});
  payload_seed(
      dir, 18, "mixed",
      std::tuple<std::complex<double>, std::chrono::nanoseconds, std::array<std::int32_t, 3>, std::vector<bool>>{
          {1, -1}, std::chrono::nanoseconds{42}, {1, 2, 3}, {true, false, true}});
  payload_seed(dir, 19, "aggregate", sample{3.5, {"n1", "n2"}, std::map<int, std::string>{{1, "a"}}});
}

bytes head_value(const redis::head_record& m) {
  std::string text;
  redis::encode_head_record(text, m);
  bytes out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

bytes joined(const bytes& a, const bytes& b) {
  bytes out(a.size() + b.size());
  std::memcpy(out.data(), a.data(), a.size());
  std::memcpy(out.data() + a.size(), b.data(), b.size());
  return out;
}

void redis_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const bytes small = recall::detail::encode_entry(call, identity, sample_entry(4));
  const bytes large = recall::detail::encode_entry(call, identity, sample_entry(400)); // ~3.7 KB: 4 chunks of 1024
  redis::head_record m;
  m.call = call;
  m.identity = identity;
  m.created = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  m.entry_size = small.size();
  m.generation = 0x0123456789abcdefULL;
  m.name = "lab::simulate";
  const bytes inline_value = joined(head_value(m), small);
  write(dir / "inline-valid", 0, inline_value);
  write(dir / "inline-valid-reseal", 1, inline_value);
  bytes b = inline_value;
  b.resize(b.size() - 3);
  write(dir / "inline-truncated", 0, b);
  b = inline_value;
  b[0] = std::byte{'Z'};
  write(dir / "bad-magic", 0, b);

  redis::head_record c = m;
  c.layout = redis::layout::chunked;
  c.entry_size = large.size();
  c.chunk_size = redis::min_chunk_size;
  c.chunk_count = static_cast<std::uint32_t>(redis::chunk_count_for(c.entry_size, c.chunk_size));
  const bytes chunked = joined(head_value(c), large);
  write(dir / "chunked-valid", 0, chunked);
  write(dir / "chunked-valid-reseal", 1, chunked);
  write(dir / "chunked-short-chunk", 0x81, chunked);
  b = chunked;
  b.resize(b.size() - 600);
  write(dir / "chunked-missing-chunk", 0, b);

  redis::head_record forged = c;
  forged.chunk_count = 0xFFFFFFFFU;
  forged.entry_size = std::uint64_t{forged.chunk_count} * forged.chunk_size;
  write(dir / "forged-chunk-count", 0, joined(head_value(forged), large));
  forged = c;
  forged.entry_size = std::uint64_t{400} << 20;
  forged.chunk_count = static_cast<std::uint32_t>(redis::chunk_count_for(forged.entry_size, forged.chunk_size));
  write(dir / "forged-entry-size", 0, joined(head_value(forged), large));
}

#if RECALL_FUZZ_ARCHIVE
// One tar archive in memory (plain, or zstd-compressed like export_cache writes), made of
// (name, bytes) regular-file members, plus one symbolic-link member when `link` is set.
bytes tar_of(const std::vector<std::pair<std::string, bytes>>& members, bool zstd, bool link = false) {
  namespace dm = recall::detail::management;
  bytes out(1 << 20);
  std::size_t used = 0;
  const dm::archive_writer a{::archive_write_new()};
  ::archive_write_set_format_pax_restricted(a.get());
  if (zstd) {
    ::archive_write_add_filter_zstd(a.get());
  }
  if (::archive_write_open_memory(a.get(), out.data(), out.size(), &used) != ARCHIVE_OK) {
    throw std::runtime_error{"archive_write_open_memory: " + dm::archive_message(a.get())};
  }
  for (const auto& [name, content] : members) {
    dm::write_member(a.get(), name, content, 1'700'000'000'000'000'000, "seed");
  }
  if (link) {
    const dm::archive_entry_handle e{::archive_entry_new()};
    ::archive_entry_set_pathname(e.get(), "entries/evil/ab/link.rce");
    ::archive_entry_set_filetype(e.get(), AE_IFLNK);
    ::archive_entry_set_symlink(e.get(), "/etc/passwd");
    ::archive_write_header(a.get(), e.get());
  }
  ::archive_write_close(a.get());
  out.resize(used);
  return out;
}

void archive_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string marker_text = recall::detail::management::archive_marker_text();
  const bytes marker(reinterpret_cast<const std::byte*>(marker_text.data()),
                     reinterpret_cast<const std::byte*>(marker_text.data()) + marker_text.size());
  const bytes entry = recall::detail::encode_entry(call, identity, sample_entry(4));
  const std::string name = "entries/lab_simulate-11112222/01/" + call.hex() + ".rce";
  bytes damaged = entry;
  damaged.back() ^= std::byte{1};
  const auto write_raw = [&](const std::string& file, const bytes& b) {
    std::ofstream out{dir / file, std::ios::binary | std::ios::trunc};
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  write_raw("valid", tar_of({{"RECALL-ARCHIVE", marker}, {name, entry}}, false));
  write_raw("valid-zstd", tar_of({{"RECALL-ARCHIVE", marker}, {name, entry}}, true));
  write_raw("damaged-entry", tar_of({{"RECALL-ARCHIVE", marker}, {name, damaged}}, false));
  write_raw("escaping-paths",
            tar_of({{"RECALL-ARCHIVE", marker}, {"../../escape.rce", entry}, {"/abs/x.rce", entry}}, false));
  write_raw("symlink-member", tar_of({{"RECALL-ARCHIVE", marker}}, false, true));
  write_raw("no-marker", tar_of({{name, entry}}, false));
  bytes truncated = tar_of({{"RECALL-ARCHIVE", marker}, {name, entry}}, false);
  truncated.resize(truncated.size() / 2);
  write_raw("truncated", truncated);
  // A zstd frame header declaring a 128 MiB window (the most libzstd accepts by default): the
  // decoder allocates about 135 MB for these 9 bytes, under the archive target's 160 MB limit.
  write_raw("zstd-largest-window",
            bytes{std::byte{0x28}, std::byte{0xB5}, std::byte{0x2F}, std::byte{0xFD}, std::byte{0x00}, std::byte{0x88},
                  std::byte{0x01}, std::byte{0x00}, std::byte{0x00}});
}
#endif

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-seeds DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  entry_seeds(root / "entry");
  payload_seeds(root / "payload");
  redis_seeds(root / "redis");
#if RECALL_FUZZ_ARCHIVE
  archive_seeds(root / "archive");
#endif
  return 0;
}
