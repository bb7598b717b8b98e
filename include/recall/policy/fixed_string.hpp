// recall::fixed_string: a string literal usable as a template argument (version tags, names).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace recall {

template <std::size_t N>
struct fixed_string {
  char chars[N]{};

  constexpr fixed_string(const char (&text)[N]) noexcept { // NOLINT(google-explicit-constructor)
    std::copy_n(text, N, chars);
  }

  [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

} // namespace recall
