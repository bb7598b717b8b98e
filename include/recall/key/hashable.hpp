// recall::hashable and recall::storable: which types can be a memoized argument or result.
#pragma once

#include <array>
#include <chrono>
#include <complex>
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <valarray>
#include <variant>
#include <vector>

#include <boost/hana/tuple.hpp>

#include <recall/detail/key/canonical_archive.hpp>

namespace recall {

namespace detail {

using key_writer = canonical_writer<hash_sink, encoding_purpose::key>;
using payload_writer = canonical_writer<counting_sink, encoding_purpose::payload>;

template <class T>
struct hashable_trait;

template <class T>
inline constexpr bool hashable_v = hashable_trait<std::remove_cv_t<T>>::value;

template <class... Ts>
inline constexpr bool all_hashable = (hashable_v<Ts> && ...);

template <class T>
constexpr bool aggregate_fields_hashable() {
  using fields = decltype(tie_fields<aggregate_field_count<T>()>(std::declval<T&>()));
  return []<class... Fs>(std::type_identity<std::tuple<Fs...>>) {
    return all_hashable<std::remove_cvref_t<Fs>...>;
  }(std::type_identity<fields>{});
}

template <class T>
constexpr bool hana_members_hashable() {
  using accessors = decltype(boost::hana::accessors<T>());
  return []<class... Pairs>(std::type_identity<boost::hana::tuple<Pairs...>>) {
    return all_hashable<
        std::remove_cvref_t<decltype(boost::hana::second(std::declval<Pairs>())(std::declval<T&>()))>...>;
  }(std::type_identity<accessors>{});
}

// Containers whose elements decide: recurse instead of trusting cereal's generic templates,
// which accept std::vector<int*> and fail deep inside with an unrelated message.
template <class T>
struct hashable_trait {
  static constexpr bool value = [] {
    if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      return true;
    } else if constexpr (std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_function_v<T> ||
                         std::is_void_v<T> || std::is_reference_v<T> || std::is_array_v<T> || std::is_union_v<T> ||
                         std::is_null_pointer_v<T>) {
      return false;
    } else if constexpr (is_hana_struct<T>) {
      return hana_members_hashable<T>();
    } else if constexpr (cereal::traits::is_output_serializable<T, key_writer>::value) {
      return true;
    } else if constexpr (is_reflectable_aggregate<T>) {
      return aggregate_fields_hashable<T>();
    } else {
      return false;
    }
  }();
};

template <class T, class A>
struct hashable_trait<std::vector<T, A>> : std::bool_constant<hashable_v<T>> {};
template <class T, class A>
struct hashable_trait<std::deque<T, A>> : std::bool_constant<hashable_v<T>> {};
template <class T, class A>
struct hashable_trait<std::list<T, A>> : std::bool_constant<hashable_v<T>> {};
template <class T, class A>
struct hashable_trait<std::forward_list<T, A>> : std::bool_constant<hashable_v<T>> {};
template <class T, std::size_t N>
struct hashable_trait<std::array<T, N>> : std::bool_constant<hashable_v<T>> {};
template <class T>
struct hashable_trait<std::valarray<T>> : std::bool_constant<hashable_v<T>> {};
template <class T>
struct hashable_trait<std::complex<T>> : std::bool_constant<hashable_v<T>> {};
template <class T, std::size_t N>
struct hashable_trait<std::span<T, N>> : std::bool_constant<hashable_v<T>> {};
template <class C, class Tr>
struct hashable_trait<std::basic_string_view<C, Tr>> : std::true_type {};
template <class C, class Tr, class A>
struct hashable_trait<std::basic_string<C, Tr, A>> : std::true_type {};
template <class T>
struct hashable_trait<std::optional<T>> : std::bool_constant<hashable_v<T>> {};
template <class... Ts>
struct hashable_trait<std::variant<Ts...>> : std::bool_constant<all_hashable<Ts...>> {};
template <class... Ts>
struct hashable_trait<std::tuple<Ts...>> : std::bool_constant<all_hashable<Ts...>> {};
template <class A, class B>
struct hashable_trait<std::pair<A, B>> : std::bool_constant<all_hashable<A, B>> {};
template <class K, class C, class A>
struct hashable_trait<std::set<K, C, A>> : std::bool_constant<hashable_v<K>> {};
template <class K, class C, class A>
struct hashable_trait<std::multiset<K, C, A>> : std::bool_constant<hashable_v<K>> {};
template <class K, class V, class C, class A>
struct hashable_trait<std::map<K, V, C, A>> : std::bool_constant<all_hashable<K, V>> {};
template <class K, class V, class C, class A>
struct hashable_trait<std::multimap<K, V, C, A>> : std::bool_constant<all_hashable<K, V>> {};
template <class K, class H, class E, class A>
struct hashable_trait<std::unordered_set<K, H, E, A>> : std::bool_constant<hashable_v<K>> {};
template <class K, class H, class E, class A>
struct hashable_trait<std::unordered_multiset<K, H, E, A>> : std::bool_constant<hashable_v<K>> {};
template <class K, class V, class H, class E, class A>
struct hashable_trait<std::unordered_map<K, V, H, E, A>> : std::bool_constant<all_hashable<K, V>> {};
template <class K, class V, class H, class E, class A>
struct hashable_trait<std::unordered_multimap<K, V, H, E, A>> : std::bool_constant<all_hashable<K, V>> {};
template <class T>
struct hashable_trait<std::shared_ptr<T>> : std::bool_constant<hashable_v<T>> {};
template <class T, class D>
struct hashable_trait<std::unique_ptr<T, D>> : std::bool_constant<hashable_v<T>> {};
template <class R, class P>
struct hashable_trait<std::chrono::duration<R, P>> : std::bool_constant<hashable_v<R>> {};
template <class C, class D>
struct hashable_trait<std::chrono::time_point<C, D>> : std::bool_constant<hashable_v<D>> {};

// Views are fine as arguments (hashed by content) but cannot be results: they would point into
// memory that is gone when the entry is loaded in another process.
template <class T>
inline constexpr bool is_view = is_string_view<T> || is_span<T>;

template <class T>
inline constexpr bool storable_v = [] {
  if constexpr (std::is_void_v<T> || std::is_reference_v<T> || is_view<T> || !std::is_default_constructible_v<T> ||
                !std::is_move_constructible_v<T>) {
    return false;
  } else {
    return hashable_v<T> && !std::is_pointer_v<T>;
  }
}();

} // namespace detail

// A type whose value can be part of a key: arithmetic types, enums, strings and string views,
// std containers, optional, variant, tuple, pair and span of hashable types, Hana structs and
// plain aggregates of hashable members, and any type with cereal serialize/save functions.
// Not: raw pointers (their address means nothing in another run), unions, C arrays.
template <class T>
concept hashable = detail::hashable_v<std::remove_cvref_t<T>>;

// A type that can be a memoized result: hashable, owning its data (no views), default
// constructible (it is decoded into a default-constructed value) and movable.
template <class T>
concept storable = detail::storable_v<T>;

} // namespace recall
