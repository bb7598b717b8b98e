// recall::key: the 128-bit name of one cached result, with its canonical hex spelling.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace recall {

// A 128-bit XXH3 digest. Equality is the only relation with meaning; ordering exists so keys
// can live in sorted containers. hex() spells the high word first, like XXH128's canonical form.
class key {
public:
  constexpr key() noexcept = default;
  constexpr key(std::uint64_t high, std::uint64_t low) noexcept : m_high{high}, m_low{low} {}

  [[nodiscard]] constexpr std::uint64_t high() const noexcept { return m_high; }
  [[nodiscard]] constexpr std::uint64_t low() const noexcept { return m_low; }

  // 32 lower-case hex digits.
  [[nodiscard]] std::string hex() const {
    std::string out(32, '0');
    write_hex(out.data());
    return out;
  }

  // Writes the 32 hex digits to out[0..32); no terminator.
  void write_hex(char* out) const noexcept {
    constexpr std::string_view digits = "0123456789abcdef";
    for (int i = 0; i < 16; ++i) {
      out[15 - i] = digits[(m_high >> (4 * i)) & 0xF];
      out[31 - i] = digits[(m_low >> (4 * i)) & 0xF];
    }
  }

  // The 16 bytes, high word first, each word big-endian (the same order as hex()).
  [[nodiscard]] constexpr std::array<std::byte, 16> bytes() const noexcept {
    std::array<std::byte, 16> out{};
    for (int i = 0; i < 8; ++i) {
      out[static_cast<std::size_t>(7 - i)] = static_cast<std::byte>((m_high >> (8 * i)) & 0xFF);
      out[static_cast<std::size_t>(15 - i)] = static_cast<std::byte>((m_low >> (8 * i)) & 0xFF);
    }
    return out;
  }

  [[nodiscard]] static constexpr key from_bytes(const std::array<std::byte, 16>& in) noexcept {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      high = (high << 8) | std::to_integer<std::uint64_t>(in[i]);
      low = (low << 8) | std::to_integer<std::uint64_t>(in[8 + i]);
    }
    return key{high, low};
  }

  // Parses exactly 32 hex digits (either case); nullopt otherwise.
  [[nodiscard]] static constexpr std::optional<key> from_hex(std::string_view text) noexcept {
    if (text.size() != 32) {
      return std::nullopt;
    }
    std::uint64_t words[2] = {0, 0};
    for (std::size_t i = 0; i < 32; ++i) {
      const char c = text[i];
      std::uint64_t nibble = 0;
      if (c >= '0' && c <= '9') {
        nibble = static_cast<std::uint64_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        nibble = static_cast<std::uint64_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        nibble = static_cast<std::uint64_t>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
      words[i / 16] = (words[i / 16] << 4) | nibble;
    }
    return key{words[0], words[1]};
  }

  friend constexpr auto operator<=>(const key&, const key&) noexcept = default;

private:
  std::uint64_t m_high = 0;
  std::uint64_t m_low = 0;
};

} // namespace recall

template <>
struct std::hash<recall::key> {
  // The key is already a uniform hash: folding the words is enough.
  std::size_t operator()(const recall::key& k) const noexcept {
    return static_cast<std::size_t>(k.low() ^ (k.high() * 0x9E3779B97F4A7C15ULL));
  }
};
