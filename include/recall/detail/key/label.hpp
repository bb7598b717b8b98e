// Short human-readable labels of argument values ("sigma=10 rho=28 1000") for manifests and
// `recall-cache ls`: never part of a key, so they may abbreviate and truncate freely.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/key/field_names.hpp>

namespace recall::detail {

inline constexpr std::size_t max_label_length = 120;
inline constexpr std::size_t max_label_text = 24;

template <class T>
void append_label(std::string& out, const T& value, int depth);

template <class T>
void append_number(std::string& out, T value) {
  char text[64];
  const auto result = std::to_chars(text, text + sizeof text, value);
  out.append(text, result.ptr);
}

inline void append_text(std::string& out, std::string_view text) {
  out += '"';
  if (text.size() > max_label_text) {
    out.append(text.substr(0, max_label_text - 3));
    out += "...";
  } else {
    out.append(text);
  }
  out += '"';
}

template <class T>
void append_fields(std::string& out, const T& value, int depth) {
  bool first = true;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto accessor) {
    out += first ? "" : " ";
    first = false;
    out += boost::hana::to<const char*>(boost::hana::first(accessor));
    out += '=';
    append_label(out, boost::hana::second(accessor)(value), depth + 1);
  });
}

// Appends a label for one value. Hana structs show member names; other aggregates show their
// members in braces, named when field_names.hpp can name them ("{dt=0.01 steps=100}"); ranges show their size, or their elements when there are a few scalars.
template <class T>
void append_label(std::string& out, const T& value, int depth) {
  if (out.size() > max_label_length) {
    return;
  }
  if constexpr (std::is_same_v<T, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, char>) {
    out += '\'';
    out += value;
    out += '\'';
  } else if constexpr (std::is_arithmetic_v<T>) {
    append_number(out, value);
  } else if constexpr (std::is_enum_v<T>) {
    append_number(out, static_cast<std::underlying_type_t<T>>(value));
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    append_text(out, std::string_view{value});
  } else if constexpr (is_specialization_of<T, std::optional>) {
    if (value) {
      append_label(out, *value, depth);
    } else {
      out += "none";
    }
  } else if constexpr (is_specialization_of<T, std::variant>) {
    std::visit([&](const auto& alternative) { append_label(out, alternative, depth); }, value);
  } else if constexpr (is_hana_struct<T>) {
    out += depth > 0 ? "{" : "";
    append_fields(out, value, depth);
    out += depth > 0 ? "}" : "";
  } else if constexpr (std::ranges::sized_range<const T>) {
    using element = std::remove_cvref_t<std::ranges::range_reference_t<const T>>;
    if constexpr (std::is_arithmetic_v<element>) {
      if (std::ranges::size(value) <= 4) {
        out += '[';
        bool first = true;
        for (const auto& v : value) {
          out += first ? "" : " ";
          first = false;
          append_label(out, v, depth + 1);
        }
        out += ']';
        return;
      }
    }
    out += '[';
    append_number(out, std::ranges::size(value));
    out += " items]";
  } else if constexpr (is_reflectable_aggregate<T> && !is_cereal_wrapper<T>) {
    out += '{';
    std::apply(
        [&](const auto&... fields) {
          std::size_t i = 0;
          const auto append_field = [&](const auto& field) {
            out += i == 0 ? "" : " ";
            if constexpr (has_field_names<T>) {
              static constexpr auto names = field_names<T>();
              if (!names[i].empty()) {
                out.append(names[i]);
                out += '=';
              }
            }
            append_label(out, field, depth + 1);
            ++i;
          };
          (append_field(fields), ...);
        },
        tie_fields<aggregate_field_count<T>()>(value));
    out += '}';
  } else {
    out += "...";
  }
}

// The label of a whole call: its arguments separated by spaces, truncated.
template <class... Args>
[[nodiscard]] std::string call_label(const Args&... args) {
  std::string out;
  bool first = true;
  ((out += first ? "" : " ", first = false, append_label(out, args, 0)), ...);
  if (out.size() > max_label_length) {
    out.resize(max_label_length - 3);
    out += "...";
  }
  return out;
}

} // namespace recall::detail
