// C++20 calendar types (std::chrono::year_month_day and its parts, hh_mm_ss) as memoized arguments and results.
#pragma once

// Include this header before the code that memoizes functions taking these types: recall
// decides once per type whether it can be hashed.
//
// std::chrono durations and time points need no adapter (they are built in: the tick count in
// its own representation; the period and clock are part of the function's identity). This
// header adds the calendar types, encoded field by field in recall's canonical form:
//   year                 i16          month, day, weekday   u8 (weekday: C encoding, Sunday 0)
//   year_month           year, month  month_day             month, day
//   year_month_day       year, month, day
//   hh_mm_ss<Duration>   the Duration it was built from (to_duration())
// Values that are not ok() (month 13, February 30) keep their fields: they are keys like any other.
//
// Time points of std::chrono::steady_clock hash like any other, but mean nothing in another
// process (its epoch is unspecified, usually the boot): do not pass them to memoized functions.

#include <chrono>
#include <cstdint>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/key/hashable.hpp>

// cereal finds these through the archive's base class namespace (argument-dependent lookup).
namespace cereal {

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::year& y) {
  ar(static_cast<std::int16_t>(static_cast<int>(y)));
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::year& y) {
  std::int16_t value = 0;
  ar(value);
  y = std::chrono::year{value};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::month& m) {
  ar(static_cast<std::uint8_t>(static_cast<unsigned>(m)));
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::month& m) {
  std::uint8_t value = 0;
  ar(value);
  m = std::chrono::month{value};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::day& d) {
  ar(static_cast<std::uint8_t>(static_cast<unsigned>(d)));
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::day& d) {
  std::uint8_t value = 0;
  ar(value);
  d = std::chrono::day{value};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::weekday& w) {
  ar(static_cast<std::uint8_t>(w.c_encoding()));
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::weekday& w) {
  std::uint8_t value = 0;
  ar(value);
  w = std::chrono::weekday{value};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::year_month& ym) {
  ar(ym.year(), ym.month());
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::year_month& ym) {
  std::chrono::year y;
  std::chrono::month m;
  ar(y, m);
  ym = std::chrono::year_month{y, m};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::month_day& md) {
  ar(md.month(), md.day());
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::month_day& md) {
  std::chrono::month m;
  std::chrono::day d;
  ar(m, d);
  md = std::chrono::month_day{m, d};
}

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::year_month_day& ymd) {
  ar(ymd.year(), ymd.month(), ymd.day());
}
template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::year_month_day& ymd) {
  std::chrono::year y;
  std::chrono::month m;
  std::chrono::day d;
  ar(y, m, d);
  ymd = std::chrono::year_month_day{y, m, d};
}

template <class Archive, class Duration>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::chrono::hh_mm_ss<Duration>& t) {
  ar(t.to_duration());
}
template <class Archive, class Duration>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::chrono::hh_mm_ss<Duration>& t) {
  typename std::chrono::hh_mm_ss<Duration>::precision d{};
  ar(d);
  t = std::chrono::hh_mm_ss<Duration>{d};
}

} // namespace cereal
