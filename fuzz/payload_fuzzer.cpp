// libFuzzer target: the canonical payload decoder (canonical_reader through decode_payload) for
// result types that exercise every kind of cereal load: sizes, nested containers, maps, sets,
// optionals, variants, tuples, smart pointers, bitsets, aggregates.
//
// Input: one byte choosing the result type, then the payload bytes. A decode either returns a
// value or throws format_error; anything else (a crash, another exception, an allocation larger
// than libFuzzer's -malloc_limit_mb) is a finding.

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <valarray>
#include <variant>
#include <vector>

#include <recall/detail/key/canonical_archive.hpp>

#include "fuzz_support.hpp"

namespace {

struct sample {
  double value = 0;
  std::vector<std::string> names;
  std::optional<std::map<int, std::string>> table;
};

enum class color : std::uint8_t { red, green };

template <class T>
void decode_as(std::span<const std::byte> bytes) {
  try {
    static_cast<void>(recall::detail::decode_payload<T>(bytes));
  } catch (const recall::format_error&) {
  }
}

using decoder = void (*)(std::span<const std::byte>);

constexpr std::array<decoder, 20> decoders{
    &decode_as<double>,
    &decode_as<bool>,
    &decode_as<std::string>,
    &decode_as<std::vector<double>>,
    &decode_as<std::vector<std::string>>,
    &decode_as<std::vector<std::vector<std::int32_t>>>,
    &decode_as<std::map<std::string, std::vector<float>>>,
    &decode_as<std::unordered_map<std::int64_t, std::string>>,
    &decode_as<std::set<std::int16_t>>,
    &decode_as<std::unordered_set<std::string>>,
    &decode_as<std::optional<std::vector<std::string>>>,
    &decode_as<std::variant<std::int32_t, std::string, std::vector<double>>>,
    &decode_as<std::tuple<std::int32_t, double, std::string, color>>,
    &decode_as<std::pair<std::deque<std::list<std::uint8_t>>, std::u32string>>,
    &decode_as<std::unique_ptr<std::vector<std::int64_t>>>,
    &decode_as<std::shared_ptr<std::string>>,
    &decode_as<std::bitset<70>>,
    &decode_as<std::valarray<double>>,
    &decode_as<
        std::tuple<std::complex<double>, std::chrono::nanoseconds, std::array<std::int32_t, 3>, std::vector<bool>>>,
    &decode_as<sample>,
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const auto bytes = recall_fuzz::to_bytes(data + 1, size - 1);
  decoders[data[0] % decoders.size()](bytes);
  return 0;
}
