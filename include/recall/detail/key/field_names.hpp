// The member names of a plain aggregate, read at compile time from the compiler's spelling of a
// pointer to each member, for argument labels (label.hpp): "{dt=0.01 steps=100}", not "{0.01 100}".
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <recall/detail/key/aggregate_fields.hpp>

namespace recall::detail {

// The probe is declared and never defined, on purpose: clang would say so about every use.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wundefined-var-template"
#pragma clang diagnostic ignored "-Wundefined-internal"
#endif

namespace field_names_detail {

// Never defined and never read: only the addresses of its members are formed, in constant
// expressions, so that a template argument names a member of T (the way Boost.PFR's get_name
// does). T needs no default constructor.
template <class T>
struct probe_holder {
  const T recall_field_probe;
};

template <class T>
extern const probe_holder<T> probe_object;

// A class-type template argument holding the pointer: clang 16 takes a pointer to a subobject
// only wrapped like this.
template <class Pointer>
struct pointer_argument {
  Pointer pointer;
};

// g++:   "...{(& probe_object<ns::p>.probe_holder<ns::p>::recall_field_probe.ns::p::steps)}; ...]"
// clang: "...{&probe_object.recall_field_probe.steps}]"
template <auto Argument>
consteval std::string_view spelling() {
  return __PRETTY_FUNCTION__;
}

consteval bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The member's name in a spelling above: the identifier that ends the pointer argument (just
// before g++'s ")}" or clang's "}]" after "recall_field_probe."), preceded by "." or "::";
// empty when the compiler spelled it some other way. Reading from the end keeps the class's own
// qualification ("ns::box<int>::", "{anonymous}::") out of the way.
consteval std::string_view member_name(std::string_view spelled) {
  const std::size_t probe = spelled.rfind("recall_field_probe.");
  if (probe == std::string_view::npos) {
    return {};
  }
  std::size_t end = spelled.find(")}", probe);
  if (const std::size_t clang_end = spelled.find("}]", probe); clang_end < end) {
    end = clang_end;
  }
  if (end == std::string_view::npos) {
    return {};
  }
  std::size_t begin = end;
  while (begin > probe && is_identifier_char(spelled[begin - 1])) {
    --begin;
  }
  const std::string_view name = spelled.substr(begin, end - begin);
  const bool separated = spelled[begin - 1] == '.' || spelled[begin - 1] == ':';
  return !separated || name.empty() || (name[0] >= '0' && name[0] <= '9') ? std::string_view{} : name;
}

template <class T, std::size_t I>
consteval std::string_view field_name() {
  constexpr auto fields = tie_fields<aggregate_field_count<T>()>(probe_object<T>.recall_field_probe);
  constexpr const auto* pointer = &std::get<I>(fields);
  return member_name(spelling<pointer_argument<decltype(pointer)>{pointer}>());
}

} // namespace field_names_detail

// Whether field_names<T>() can name T's members: a plain aggregate whose members can all be
// pointed at in a constant expression. A reference member cannot (its target is not an object of
// the probe), and it is what makes such an aggregate not copy-assignable; const members do that
// too and lose their names for no reason but this test's simplicity.
template <class T>
inline constexpr bool has_field_names =
    std::is_aggregate_v<T> && std::is_class_v<T> && std::is_copy_assignable_v<T> && aggregate_field_count<T>() > 0;

// The names of T's members in declaration order; an empty name where the compiler's spelling was
// not understood (labels then show that value without a name).
template <class T>
  requires has_field_names<T>
consteval auto field_names() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<std::string_view, sizeof...(I)>{field_names_detail::field_name<T, I>()...};
  }(std::make_index_sequence<aggregate_field_count<T>()>{});
}

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

} // namespace recall::detail
