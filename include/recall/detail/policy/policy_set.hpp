// Sorts the policy arguments of recall::memoize (globals<...>, version<...>) into one description.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include <recall/policy/globals.hpp>
#include <recall/policy/version.hpp>

namespace recall::detail {

template <class T>
inline constexpr bool is_globals = false;
template <auto... Gs>
inline constexpr bool is_globals<globals<Gs...>> = true;

template <class T>
inline constexpr bool is_version = false;
template <fixed_string Tag>
inline constexpr bool is_version<version<Tag>> = true;

template <class... Policies>
struct policy_set {
  static_assert(((is_globals<Policies> || is_version<Policies>)&&...),
                "recall::memoize<&f, Policies...>: each policy must be recall::globals<&g, ...> or "
                "recall::version<\"tag\">");
  static_assert((std::size_t{0} + ... + std::size_t{is_globals<Policies>}) <= 1,
                "recall::memoize: give recall::globals<...> once, listing every global in it");
  static_assert((std::size_t{0} + ... + std::size_t{is_version<Policies>}) <= 1,
                "recall::memoize: give recall::version<\"tag\"> at most once");

private:
  template <class P, class... Rest>
  static constexpr auto find_globals(globals<> fallback) {
    if constexpr (is_globals<P>) {
      return P{};
    } else if constexpr (sizeof...(Rest) > 0) {
      return find_globals<Rest...>(fallback);
    } else {
      return fallback;
    }
  }

  static constexpr std::string_view find_version() {
    std::string_view tag;
    ((is_version<Policies> ? (tag = version_of<Policies>(), 0) : 0), ...);
    return tag;
  }

  template <class P>
  static constexpr std::string_view version_of() {
    if constexpr (is_version<P>) {
      return P::value;
    } else {
      return {};
    }
  }

public:
  using globals_type = decltype([] {
    if constexpr (sizeof...(Policies) == 0) {
      return globals<>{};
    } else {
      return find_globals<Policies...>(globals<>{});
    }
  }());
  static constexpr std::string_view version_tag = find_version();
  // Naming this instantiates the class, and with it the checks above.
  static constexpr bool checked = true;
};

} // namespace recall::detail
