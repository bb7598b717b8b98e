// Parameter and result types of what memoize wraps: function pointers and lambdas' call operators.
#pragma once

#include <type_traits>

namespace recall::detail {

template <class... Ts>
struct type_list {};

template <class T>
struct callable_traits {
  static constexpr bool known = false;
};

template <class R, class... Args>
struct callable_traits<R (*)(Args...)> {
  static constexpr bool known = true;
  using result_type = R;
  using parameters = type_list<Args...>;
};
template <class R, class... Args>
struct callable_traits<R (*)(Args...) noexcept> : callable_traits<R (*)(Args...)> {};

template <class C, class R, class... Args>
struct callable_traits<R (C::*)(Args...)> : callable_traits<R (*)(Args...)> {};
template <class C, class R, class... Args>
struct callable_traits<R (C::*)(Args...) const> : callable_traits<R (*)(Args...)> {};
template <class C, class R, class... Args>
struct callable_traits<R (C::*)(Args...) noexcept> : callable_traits<R (*)(Args...)> {};
template <class C, class R, class... Args>
struct callable_traits<R (C::*)(Args...) const noexcept> : callable_traits<R (*)(Args...)> {};

// A lambda or function object with exactly one, non-template call operator.
template <class F>
concept has_concrete_call_operator = requires { &F::operator(); };

template <class F>
struct object_traits : callable_traits<void> {};
template <has_concrete_call_operator F>
struct object_traits<F> : callable_traits<decltype(&F::operator())> {};

} // namespace recall::detail
