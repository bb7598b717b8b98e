// Type and function names from templates, byte-identical under g++ and clang++ (for cache keys).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <recall/detail/immortal.hpp>

// Canonical spelling contract (what normalize_name guarantees, and what cache keys rely on).
//
// normalize_name(raw) takes a type or value as spelled by g++ 12 or clang++ 16 (libstdc++ or
// libc++) in __PRETTY_FUNCTION__ and returns one spelling for both. The rules, in order:
//  1. Entities whose compiler spelling carries a source location or an internal number become
//     path-free placeholders: clang's `(lambda at /p/f.cpp:12:3)` and gcc's `<lambda(int)>`,
//     `<lambda()>`, `<lambda(auto:11)>` all become `(lambda)`; clang's
//     `(unnamed struct at f.cpp:3:1)` / `(anonymous union at ...)` and gcc's `<unnamed struct>` /
//     `<anonymous union>` become `(unnamed struct)` / `(unnamed union)` (likewise class, enum).
//     gcc's `{anonymous}` and clang's `(anonymous namespace)` become `(anonymous namespace)`.
//  2. Whitespace is removed, except for exactly one space between two identifier characters
//     (`unsigned int`, `const int`, `long long`, `int ns::S::*`); the placeholders of rule 1
//     count as identifiers (`const (anonymous namespace)::A`). So `const int *const &` and
//     `const int* const&` both become `const int*const&`, `> >` becomes `>>`, and
//     `void (*)() noexcept` becomes `void(*)()noexcept`.
//  3. Implementation inline namespaces vanish: libstdc++'s `__cxx11::`, `_V2::`, `__debug::`,
//     `__parallel::`, `__cust::`, `__8::` and its long-double ABI namespaces; libc++'s `__1::`
//     (any `__<digits>::`) and `__ndk1::`. User inline namespaces cannot be recognised in text
//     and are kept (see the limitation below).
//  4. Fundamental types get clang's (the standard's) spelling: gcc's `long int`, `long unsigned
//     int`, `long long int`, `short unsigned int`, `__int128 unsigned` become `long`,
//     `unsigned long`, `long long`, `unsigned short`, `unsigned __int128`. `signed` is dropped
//     where it is implied (`signed int` -> `int`) but kept in `signed char`.
//  5. Literals in template arguments: integer suffixes go (`3UL` -> `3`); a cast to an integer
//     type in front of a literal goes (clang's `(short)3`, `(unsigned char)'\x03'` -> `3`);
//     prefixed character literals become their decimal value (clang's `L'a'`, `u8'\x05'` -> `97`,
//     `5`, as gcc prints them); plain character literals are re-encoded as `'c'` when c is a
//     letter, digit or `_` and as `'\xhh'` (two lowercase hex digits) otherwise, so gcc's `'\012'`
//     and clang's `'\n'` agree on `'\x0a'`.
//  6. Scopes of function-local entities are dropped, as clang does: gcc's `f()::Local`,
//     `ns::S::mf() const::Local`, `ns::f<int>(int)::<lambda(int)>` and `g()::<lambda()>::Inner`
//     become `Local`, `Local`, `(lambda)` and `Inner`.
//  7. Address-of in value positions goes: a leading `&` (clang's `&ns::f` for a function-pointer
//     value, gcc prints `ns::f`), a `&` opening a template argument (`W<&ns::f>` -> `W<ns::f>`),
//     and gcc's `(& ns::obj)` template argument -> `ns::obj`.
//  8. Trailing default template arguments of standard library templates are dropped (gcc spells
//     them out inside template argument packs, clang never does): e.g.
//     `std::vector<int,std::allocator<int>>` -> `std::vector<int>`,
//     `std::basic_string<char,std::char_traits<char>,std::allocator<char>>` ->
//     `std::basic_string<char>`, `std::span<const double,18446744073709551615>` ->
//     `std::span<const double>`, `std::ratio<1,1>` -> `std::ratio<1>`, `std::less<void>` ->
//     `std::less<>`. The same holds for the map/set/unordered/queue/stream/unique_ptr/duration
//     families.
// normalize_name is idempotent: normalizing a canonical spelling returns it unchanged.
//
// canonical_type_name<T>() does not merely normalize the compiler's spelling of T: it builds the
// spelling from T's structure (cv, pointers, references, arrays, functions, member pointers, and
// class templates whose parameters are all types, or a type and a std::size_t), asking the
// compiler only for the spelling of leaves. Trailing template arguments equal to the template's
// defaults are dropped by checking, at compile time, that the shorter argument list names the same
// type; this also covers user templates, which rule 8 cannot.
//
// Known limitations (spellings that still differ between the compilers, or collide):
//  - Names of function template specializations: clang prints `&ns::f` for `&ns::f<int>`, so
//    canonical_function_name drops the template arguments and specializations whose template
//    arguments do not show in the signature (`template <int N> double f(double)`) collide.
//  - Function-pointer template arguments inside type names lose their template arguments only
//    under clang (`W<&ns::f<int>>` is `W<ns::f>` under clang, `W<ns::f<int>>` under gcc).
//  - User inline namespaces: gcc prints them, clang leaves them out.
//  - Lambdas, unnamed classes and function-local classes lose their scope and location: two
//    different lambdas are both `(lambda)`, two local classes `Local` in different functions are
//    both `Local`.
//  - gcc prints user templates' default arguments inside packs; canonical_type_name handles that
//    structurally, but normalize_name on such raw text (and class templates with non-type
//    parameters other than (type, std::size_t) nested inside a pack) keeps them.
//  - Rule 7 makes a pointer template argument `W<&obj>` and a reference one `W<obj>` alike.
//  - For (type, std::size_t) templates the size is dropped only when it is std::dynamic_extent;
//    a user default is kept (`X<int,5>`), identically under both compilers.
//  - Floating-point template arguments (clang 16 rejects them) and vector types
//    (`__vector(4) int`) are not unified.
//  - Fundamental typedefs are resolved by the compiler: std::int64_t is `long`, std::size_t
//    `unsigned long` on LP64 Linux, so keys are identical across compilers, not across platforms.

namespace recall::detail {

namespace type_name_impl {

template <class T>
[[nodiscard]] constexpr std::string_view pretty_type() noexcept {
  return __PRETTY_FUNCTION__;
}

template <auto V>
[[nodiscard]] constexpr std::string_view pretty_value() noexcept {
  return __PRETTY_FUNCTION__;
}

// Where the argument's spelling sits inside __PRETTY_FUNCTION__, learned from a probe whose
// spelling is known: the text around the argument does not depend on the argument.
struct pretty_frame {
  std::size_t prefix;
  std::size_t suffix;
};

[[nodiscard]] constexpr pretty_frame frame_of(std::string_view pretty, std::string_view probe) noexcept {
  const std::size_t at = pretty.find(probe);
  if (at == std::string_view::npos) return {0, 0};
  return {at, pretty.size() - at - probe.size()};
}

inline constexpr std::string_view type_probe = "double";
inline constexpr std::string_view value_probe = "4242";
inline constexpr pretty_frame type_frame = frame_of(pretty_type<double>(), type_probe);
inline constexpr pretty_frame value_frame = frame_of(pretty_value<4242>(), value_probe);

static_assert(pretty_type<double>().find(type_probe) != std::string_view::npos,
              "recall: this compiler's __PRETTY_FUNCTION__ has an unknown layout");
static_assert(pretty_value<4242>().find(value_probe) != std::string_view::npos,
              "recall: this compiler's __PRETTY_FUNCTION__ has an unknown layout");

[[nodiscard]] constexpr std::string_view cut(std::string_view pretty, pretty_frame f) noexcept {
  return pretty.substr(f.prefix, pretty.size() - f.prefix - f.suffix);
}

// ---- characters and tokens ----

[[nodiscard]] constexpr bool is_ident_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_ident_char(char c) noexcept { return is_ident_start(c) || is_digit(c); }
[[nodiscard]] constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

enum class token_kind { identifier, number, character, string, placeholder, punct };

struct token {
  token_kind kind;
  std::string text;
};

using tokens = std::vector<token>;

[[nodiscard]] inline bool is(const token& t, std::string_view text) { return t.text == text; }

[[nodiscard]] inline bool is_name_like(const token& t) {
  return t.kind == token_kind::identifier || t.kind == token_kind::placeholder;
}

// Reads the placeholder spelling of an entity without a name, if one starts at s[i]; returns the
// placeholder and the position after the compiler's spelling.
struct placeholder_match {
  std::string text;
  std::size_t end = 0;
};

[[nodiscard]] inline bool is_class_key(std::string_view w) {
  return w == "struct" || w == "class" || w == "union" || w == "enum";
}

// clang: `(lambda at PATH:L:C)`, `(unnamed struct at PATH:L:C)`, `(anonymous union at PATH:L:C)`,
// `(anonymous namespace)`; our own canonical forms `(lambda)`, `(unnamed struct)`, so that
// normalization is idempotent.
[[nodiscard]] inline placeholder_match match_paren_placeholder(std::string_view s, std::size_t i) {
  const std::string_view rest = s.substr(i);
  if (rest.starts_with("(anonymous namespace)")) return {"(anonymous namespace)", i + 21};
  if (rest.starts_with("(lambda)")) return {"(lambda)", i + 8};
  std::string what;
  std::size_t p = 1;
  if (rest.starts_with("(lambda at ")) {
    what = "lambda";
    p = 11;
  } else if (rest.starts_with("(unnamed ") || rest.starts_with("(anonymous ")) {
    p = rest[1] == 'u' ? 9 : 11;
    std::size_t q = p;
    while (q < rest.size() && is_ident_char(rest[q])) ++q;
    const std::string_view key = rest.substr(p, q - p);
    if (!is_class_key(key)) return {};
    what = "unnamed " + std::string{key};
    if (q < rest.size() && rest[q] == ')') return {"(" + what + ")", i + q + 1};
    if (!rest.substr(q).starts_with(" at ")) return {};
    p = q + 4;
  } else {
    return {};
  }
  // The location ends in `:LINE:COL)`; the path before it may hold any character.
  for (std::size_t q = p; q < rest.size(); ++q) {
    if (rest[q] != ':') continue;
    std::size_t r = q + 1;
    const std::size_t line_begin = r;
    while (r < rest.size() && is_digit(rest[r])) ++r;
    if (r == line_begin || r >= rest.size() || rest[r] != ':') continue;
    const std::size_t col_begin = ++r;
    while (r < rest.size() && is_digit(rest[r])) ++r;
    if (r == col_begin || r >= rest.size() || rest[r] != ')') continue;
    return {"(" + what + ")", i + r + 1};
  }
  return {};
}

// gcc: `<lambda(PARAMS)>`, `<unnamed struct>`, `<anonymous union>`, `{anonymous}`.
[[nodiscard]] inline placeholder_match match_gcc_placeholder(std::string_view s, std::size_t i) {
  const std::string_view rest = s.substr(i);
  if (rest.starts_with("{anonymous}")) return {"(anonymous namespace)", i + 11};
  if (rest.starts_with("<lambda(")) {
    int depth = 0;
    for (std::size_t q = 7; q < rest.size(); ++q) {
      if (rest[q] == '(') ++depth;
      if (rest[q] == ')' && --depth == 0) {
        if (q + 1 < rest.size() && rest[q + 1] == '>') return {"(lambda)", i + q + 2};
        return {};
      }
    }
    return {};
  }
  if (rest.starts_with("<unnamed ") || rest.starts_with("<anonymous ")) {
    const std::size_t p = rest[1] == 'u' ? 9 : 11;
    std::size_t q = p;
    while (q < rest.size() && is_ident_char(rest[q])) ++q;
    const std::string_view key = rest.substr(p, q - p);
    if (is_class_key(key) && q < rest.size() && rest[q] == '>')
      return {"(unnamed " + std::string{key} + ")", i + q + 1};
  }
  return {};
}

[[nodiscard]] inline std::size_t skip_quoted(std::string_view s, std::size_t i) {
  const char quote = s[i];
  for (std::size_t q = i + 1; q < s.size(); ++q) {
    if (s[q] == '\\') {
      ++q;
    } else if (s[q] == quote) {
      return q + 1;
    }
  }
  return s.size();
}

[[nodiscard]] inline tokens tokenize(std::string_view s) {
  tokens out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == '(' || c == '<' || c == '{') {
      placeholder_match m = c == '(' ? match_paren_placeholder(s, i) : match_gcc_placeholder(s, i);
      if (!m.text.empty()) {
        out.push_back({token_kind::placeholder, std::move(m.text)});
        i = m.end;
        continue;
      }
    }
    if (is_ident_start(c)) {
      std::size_t q = i;
      while (q < s.size() && is_ident_char(s[q])) ++q;
      const std::string_view word = s.substr(i, q - i);
      const bool char_prefix = word == "u8" || word == "u" || word == "U" || word == "L";
      if (char_prefix && q < s.size() && (s[q] == '\'' || s[q] == '"')) {
        const std::size_t end = skip_quoted(s, q);
        out.push_back({s[q] == '\'' ? token_kind::character : token_kind::string, std::string{s.substr(i, end - i)}});
        i = end;
        continue;
      }
      out.push_back({token_kind::identifier, std::string{word}});
      i = q;
      continue;
    }
    if (is_digit(c)) {
      std::size_t q = i + 1;
      while (q < s.size()) {
        if (is_ident_char(s[q]) || s[q] == '.') {
          ++q;
        } else if ((s[q] == '+' || s[q] == '-') &&
                   (s[q - 1] == 'e' || s[q - 1] == 'E' || s[q - 1] == 'p' || s[q - 1] == 'P')) {
          ++q;
        } else {
          break;
        }
      }
      out.push_back({token_kind::number, std::string{s.substr(i, q - i)}});
      i = q;
      continue;
    }
    if (c == '\'' || c == '"') {
      const std::size_t end = skip_quoted(s, i);
      out.push_back({c == '\'' ? token_kind::character : token_kind::string, std::string{s.substr(i, end - i)}});
      i = end;
      continue;
    }
    const std::string_view rest = s.substr(i);
    std::size_t len = 1;
    if (rest.starts_with("::") || rest.starts_with("&&") || rest.starts_with("->")) len = 2;
    if (rest.starts_with("...")) len = 3;
    out.push_back({token_kind::punct, std::string{rest.substr(0, len)}});
    i += len;
  }
  return out;
}

// Placeholders count as words, so that `const (anonymous namespace)::A` keeps its space.
[[nodiscard]] inline std::string join(const tokens& t, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    const std::string& text = t[i].text;
    if (i > begin && !text.empty()) {
      const token& prev = t[i - 1];
      const bool left = prev.kind == token_kind::placeholder || is_ident_char(prev.text.back());
      const bool right = t[i].kind == token_kind::placeholder || is_ident_char(text.front());
      if (left && right) out += ' ';
    }
    out += text;
  }
  return out;
}

[[nodiscard]] inline std::string join(const tokens& t) { return join(t, 0, t.size()); }

// Index of the bracket matching the opening one at `open` (searching forward), or npos.
[[nodiscard]] inline std::size_t match_forward(const tokens& t, std::size_t open, std::string_view o,
                                               std::string_view c) {
  int depth = 0;
  for (std::size_t i = open; i < t.size(); ++i) {
    if (is(t[i], o)) ++depth;
    if (is(t[i], c) && --depth == 0) return i;
  }
  return std::string::npos;
}

// Index of the bracket matching the closing one at `close` (searching backward), or npos.
[[nodiscard]] inline std::size_t match_backward(const tokens& t, std::size_t close, std::string_view o,
                                                std::string_view c) {
  int depth = 0;
  for (std::size_t i = close + 1; i-- > 0;) {
    if (is(t[i], c)) ++depth;
    if (is(t[i], o) && --depth == 0) return i;
  }
  return std::string::npos;
}

// ---- rule 3: implementation inline namespaces ----

[[nodiscard]] inline bool is_implementation_inline_namespace(std::string_view n) {
  if (n == "__cxx11" || n == "_V2" || n == "__debug" || n == "__parallel" || n == "__cust" ||
      n == "__gnu_cxx_ieee128" || n == "__gnu_cxx11_ieee128" || n == "__gnu_cxx_ldbl128" || n == "__ndk1")
    return true;
  if (n.size() < 3 || !n.starts_with("__")) return false;
  for (char c : n.substr(2))
    if (!is_digit(c)) return false;
  return true; // libc++'s __1, libstdc++'s versioned __8
}

inline void drop_inline_namespaces(tokens& t) {
  tokens out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i].kind == token_kind::identifier && i + 1 < t.size() && is(t[i + 1], "::") &&
        is_implementation_inline_namespace(t[i].text)) {
      ++i;
      continue;
    }
    out.push_back(std::move(t[i]));
  }
  t = std::move(out);
}

// ---- rule 4: fundamental type spellings ----

[[nodiscard]] inline bool is_arithmetic_keyword(const token& t) {
  if (t.kind != token_kind::identifier) return false;
  const std::string& w = t.text;
  return w == "signed" || w == "unsigned" || w == "short" || w == "long" || w == "int" || w == "char" ||
         w == "double" || w == "__int128";
}

[[nodiscard]] inline std::vector<std::string> canonical_arithmetic(const tokens& t, std::size_t begin,
                                                                   std::size_t end) {
  bool is_signed = false;
  bool is_unsigned = false;
  int shorts = 0;
  int longs = 0;
  std::string base;
  for (std::size_t i = begin; i < end; ++i) {
    const std::string& w = t[i].text;
    if (w == "signed") is_signed = true;
    else if (w == "unsigned") is_unsigned = true;
    else if (w == "short") ++shorts;
    else if (w == "long") ++longs;
    else if (w != "int" || base.empty()) base = w;
  }
  std::vector<std::string> out;
  if (base == "char") {
    if (is_signed) out.push_back("signed");
    if (is_unsigned) out.push_back("unsigned");
    out.push_back("char");
    return out;
  }
  if (base == "double") {
    for (int i = 0; i < longs; ++i) out.push_back("long");
    out.push_back("double");
    return out;
  }
  if (is_unsigned) out.push_back("unsigned");
  if (base == "__int128") {
    out.push_back("__int128");
    return out;
  }
  for (int i = 0; i < shorts; ++i) out.push_back("short");
  for (int i = 0; i < longs; ++i) out.push_back("long");
  if (out.empty() || (out.size() == 1 && is_unsigned)) out.push_back("int");
  return out;
}

inline void canonicalize_arithmetic(tokens& t) {
  tokens out;
  for (std::size_t i = 0; i < t.size();) {
    if (!is_arithmetic_keyword(t[i])) {
      out.push_back(std::move(t[i++]));
      continue;
    }
    std::size_t end = i;
    while (end < t.size() && is_arithmetic_keyword(t[end])) ++end;
    for (std::string& w : canonical_arithmetic(t, i, end)) out.push_back({token_kind::identifier, std::move(w)});
    i = end;
  }
  t = std::move(out);
}

// ---- rule 5: literals ----

[[nodiscard]] inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Value of the (single) character in a character literal body, escapes decoded; false if the
// literal is not one we understand (it is then left as written).
[[nodiscard]] inline bool decode_char(std::string_view body, unsigned long& value) {
  if (body.empty()) return false;
  if (body[0] != '\\') {
    // UTF-8 encoded code point (a wide literal printed as a character).
    const auto b0 = static_cast<unsigned char>(body[0]);
    std::size_t len = b0 < 0x80 ? 1 : b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1;
    if (body.size() != len) return false;
    value = len == 1 ? b0 : (b0 & (0x7Fu >> len));
    for (std::size_t i = 1; i < len; ++i) value = (value << 6) | (static_cast<unsigned char>(body[i]) & 0x3Fu);
    return true;
  }
  if (body.size() < 2) return false;
  const char e = body[1];
  if (e == 'x') {
    if (body.size() < 3) return false;
    value = 0;
    for (char c : body.substr(2)) {
      const int h = hex_value(c);
      if (h < 0) return false;
      value = value * 16 + static_cast<unsigned long>(h);
    }
    return true;
  }
  if (e >= '0' && e <= '7') {
    value = 0;
    for (char c : body.substr(1)) {
      if (c < '0' || c > '7') return false;
      value = value * 8 + static_cast<unsigned long>(c - '0');
    }
    return true;
  }
  if (body.size() != 2) return false;
  switch (e) {
  case 'n': value = '\n'; return true;
  case 't': value = '\t'; return true;
  case 'r': value = '\r'; return true;
  case 'a': value = '\a'; return true;
  case 'b': value = '\b'; return true;
  case 'f': value = '\f'; return true;
  case 'v': value = '\v'; return true;
  case 'e': value = 27; return true;
  case '0': value = 0; return true;
  case '\\':
  case '\'':
  case '"':
  case '?': value = static_cast<unsigned char>(e); return true;
  default: return false;
  }
}

// Splits a character literal token into its prefix (u8, u, U, L or empty) and decoded value.
[[nodiscard]] inline bool parse_char_literal(const std::string& text, std::string& prefix, unsigned long& value) {
  const std::size_t quote = text.find('\'');
  if (quote == std::string::npos || text.size() < quote + 3 || text.back() != '\'') return false;
  prefix = text.substr(0, quote);
  return decode_char(std::string_view{text}.substr(quote + 1, text.size() - quote - 2), value);
}

[[nodiscard]] inline std::string canonical_char(unsigned long value) {
  const unsigned long byte = value & 0xFFu;
  const char c = static_cast<char>(byte);
  if (is_ident_char(c) && c != '$') return std::string{'\'', c, '\''};
  constexpr std::string_view hex = "0123456789abcdef";
  return std::string{'\'', '\\', 'x', hex[byte >> 4], hex[byte & 0xFu], '\''};
}

[[nodiscard]] inline std::string strip_integer_suffix(const std::string& n) {
  // Only decimal and hexadecimal integers; floating literals are left alone.
  const bool hexadecimal = n.size() > 2 && n[0] == '0' && (n[1] == 'x' || n[1] == 'X');
  if (!hexadecimal && n.find_first_of(".eEpP") != std::string::npos) return n;
  std::size_t end = n.size();
  while (end > 0 && (n[end - 1] == 'u' || n[end - 1] == 'U' || n[end - 1] == 'l' || n[end - 1] == 'L')) --end;
  return n.substr(0, end);
}

[[nodiscard]] inline bool is_integer_cast_keyword(const token& t) {
  return is_arithmetic_keyword(t) && t.text != "double";
}

inline void canonicalize_literals(tokens& t) {
  tokens out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    // clang: `(short)3`, `(unsigned char)'\x03'`; gcc prints the bare value.
    if (is(t[i], "(") && i + 2 < t.size() && is_integer_cast_keyword(t[i + 1])) {
      std::size_t close = i + 1;
      while (close < t.size() && is_integer_cast_keyword(t[close])) ++close;
      const bool literal_follows =
          close + 1 < t.size() && is(t[close], ")") &&
          (t[close + 1].kind == token_kind::number || t[close + 1].kind == token_kind::character ||
           (is(t[close + 1], "-") && close + 2 < t.size() && t[close + 2].kind == token_kind::number));
      if (literal_follows) {
        const bool signed_char = close == i + 3 && is(t[i + 1], "signed") && is(t[i + 2], "char");
        std::string prefix;
        unsigned long value = 0;
        if (t[close + 1].kind == token_kind::character && parse_char_literal(t[close + 1].text, prefix, value)) {
          std::string number = signed_char && prefix.empty() && (value & 0x80u)
                                   ? "-" + std::to_string(256 - (value & 0xFFu))
                                   : std::to_string(value);
          if (number.front() == '-') {
            out.push_back({token_kind::punct, "-"});
            number.erase(0, 1);
          }
          out.push_back({token_kind::number, std::move(number)});
          i = close + 1;
          continue;
        }
        if (t[close + 1].kind != token_kind::character) {
          i = close; // drop the cast; the literal is handled on the next iterations
          continue;
        }
      }
    }
    token& tok = t[i];
    if (tok.kind == token_kind::number) {
      out.push_back({token_kind::number, strip_integer_suffix(tok.text)});
      continue;
    }
    if (tok.kind == token_kind::character) {
      std::string prefix;
      unsigned long value = 0;
      if (parse_char_literal(tok.text, prefix, value)) {
        if (prefix.empty()) out.push_back({token_kind::character, canonical_char(value)});
        else out.push_back({token_kind::number, std::to_string(value)});
        continue;
      }
    }
    out.push_back(std::move(tok));
  }
  t = std::move(out);
}

// ---- rule 6: function-local scopes ----

// Start of the name component that ends at `last` (an identifier, a placeholder, or the `>` of a
// template argument list), or npos if there is none.
[[nodiscard]] inline std::size_t component_start(const tokens& t, std::size_t last) {
  if (is_name_like(t[last])) return last;
  if (is(t[last], ">")) {
    const std::size_t open = match_backward(t, last, "<", ">");
    if (open != std::string::npos && open > 0 && t[open - 1].kind == token_kind::identifier) return open - 1;
  }
  return std::string::npos;
}

// Extends a name component backwards over `A::B::` qualifiers.
[[nodiscard]] inline std::size_t qualified_start(const tokens& t, std::size_t start) {
  while (start >= 2 && is(t[start - 1], "::")) {
    const std::size_t prev = component_start(t, start - 2);
    if (prev == std::string::npos) break;
    start = prev;
  }
  if (start >= 1 && is(t[start - 1], "::")) --start; // a leading global `::`
  return start;
}

// If the `::` at `colons` closes a function scope (gcc's `f(int) const::` or a lambda's
// `(lambda)::`), returns where the qualified name holding that scope starts; else npos.
[[nodiscard]] inline std::size_t function_scope_start(const tokens& t, std::size_t colons) {
  if (colons == 0) return std::string::npos;
  std::size_t j = colons - 1;
  if (is(t[j], "(lambda)")) return qualified_start(t, j);
  while (j > 0 &&
         (is(t[j], "const") || is(t[j], "volatile") || is(t[j], "&") || is(t[j], "&&") || is(t[j], "noexcept")))
    --j;
  if (!is(t[j], ")")) return std::string::npos;
  const std::size_t open = match_backward(t, j, "(", ")");
  if (open == std::string::npos || open == 0) return std::string::npos;
  std::size_t name = std::string::npos;
  // `operator()`, `operator+`, `operator<<`, ...: up to two punctuation tokens after `operator`.
  for (std::size_t back = 1; back <= 3 && back <= open; ++back) {
    const token& cand = t[open - back];
    if (is(cand, "operator")) {
      name = open - back;
      break;
    }
    if (cand.kind != token_kind::punct) break;
  }
  if (name == std::string::npos) name = component_start(t, open - 1);
  if (name == std::string::npos) return std::string::npos;
  if (name > 0 && is(t[name - 1], "~")) --name;
  return qualified_start(t, name);
}

inline void drop_function_scopes(tokens& t) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!is(t[i], "::")) continue;
    const std::size_t start = function_scope_start(t, i);
    if (start == std::string::npos) continue;
    t.erase(t.begin() + static_cast<std::ptrdiff_t>(start), t.begin() + static_cast<std::ptrdiff_t>(i + 1));
    i = start == 0 ? static_cast<std::size_t>(-1) : start - 1;
  }
}

// ---- rule 7: address-of in value positions ----

[[nodiscard]] inline bool starts_name(const tokens& t, std::size_t i) {
  return i < t.size() && (is_name_like(t[i]) || is(t[i], "::"));
}

inline void drop_address_of(tokens& t) {
  tokens out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool value_position = out.empty() || is(out.back(), "<") || is(out.back(), ",");
    if (value_position && is(t[i], "&") && starts_name(t, i + 1)) continue;
    // gcc: `(& ns::obj)` as a template argument.
    if (value_position && is(t[i], "(") && i + 1 < t.size() && is(t[i + 1], "&") && starts_name(t, i + 2)) {
      const std::size_t close = match_forward(t, i, "(", ")");
      bool plain_name = close != std::string::npos;
      for (std::size_t k = i + 2; plain_name && k < close; ++k) plain_name = is_name_like(t[k]) || is(t[k], "::");
      if (plain_name) {
        for (std::size_t k = i + 2; k < close; ++k) out.push_back(std::move(t[k]));
        i = close;
        continue;
      }
    }
    out.push_back(std::move(t[i]));
  }
  t = std::move(out);
}

// ---- rule 8: default template arguments of the standard library ----

// `const T` for a canonical T: `int*const`, `int(*const)(int)`, `const int`.
[[nodiscard]] inline std::string const_of(const std::string& type) {
  if (!type.empty() && type.back() == '*') return type + "const";
  // The first `*)` of a pointer to function or array is where its declarator-id would go.
  if (const std::size_t star = type.find("*)"); star != std::string::npos) {
    std::string out = type;
    out.insert(star + 1, "const");
    return out;
  }
  if (type.starts_with("const ")) return type;
  return "const " + type;
}

// The default of every template parameter of a known std template, given the arguments before it
// (empty where there is no default).
[[nodiscard]] inline std::vector<std::string> std_defaults(std::string_view name, const std::vector<std::string>& a) {
  const std::string a0 = a.empty() ? std::string{} : a[0];
  const std::string a1 = a.size() < 2 ? std::string{} : a[1];
  const std::string alloc = "std::allocator<" + a0 + ">";
  const std::string traits = "std::char_traits<" + a0 + ">";
  const std::string pair_alloc = "std::allocator<std::pair<" + const_of(a0) + "," + a1 + ">>";
  if (name == "std::basic_string" || name == "std::basic_stringstream" || name == "std::basic_istringstream" ||
      name == "std::basic_ostringstream" || name == "std::basic_stringbuf")
    return {"", traits, alloc};
  if (name == "std::basic_string_view" || name == "std::basic_ostream" || name == "std::basic_istream" ||
      name == "std::basic_iostream" || name == "std::basic_streambuf" || name == "std::basic_ios" ||
      name == "std::basic_fstream" || name == "std::basic_ifstream" || name == "std::basic_ofstream" ||
      name == "std::basic_filebuf")
    return {"", traits};
  if (name == "std::vector" || name == "std::deque" || name == "std::list" || name == "std::forward_list")
    return {"", alloc};
  if (name == "std::set" || name == "std::multiset") return {"", "std::less<" + a0 + ">", alloc};
  if (name == "std::map" || name == "std::multimap") return {"", "", "std::less<" + a0 + ">", pair_alloc};
  if (name == "std::unordered_set" || name == "std::unordered_multiset")
    return {"", "std::hash<" + a0 + ">", "std::equal_to<" + a0 + ">", alloc};
  if (name == "std::unordered_map" || name == "std::unordered_multimap")
    return {"", "", "std::hash<" + a0 + ">", "std::equal_to<" + a0 + ">", pair_alloc};
  if (name == "std::unique_ptr") return {"", "std::default_delete<" + a0 + ">"};
  if (name == "std::span") return {"", std::to_string(static_cast<std::size_t>(-1))};
  if (name == "std::chrono::duration") return {"", "std::ratio<1>"};
  if (name == "std::ratio") return {"", "1"};
  if (name == "std::queue" || name == "std::stack") return {"", "std::deque<" + a0 + ">"};
  if (name == "std::priority_queue") return {"", "std::vector<" + a0 + ">", "std::less<" + a0 + ">"};
  constexpr std::string_view void_defaulted[] = {
      "std::less",         "std::greater", "std::less_equal",  "std::greater_equal", "std::equal_to",
      "std::not_equal_to", "std::plus",    "std::minus",       "std::multiplies",    "std::divides",
      "std::modulus",      "std::negate",  "std::logical_and", "std::logical_or",    "std::logical_not",
      "std::bit_and",      "std::bit_or",  "std::bit_xor",     "std::bit_not"};
  for (std::string_view v : void_defaulted)
    if (name == v) return {"void"};
  return {};
}

// Qualified name (`std::chrono::duration`) ending just before `end`, without spaces.
[[nodiscard]] inline std::string qualified_name_before(const tokens& t, std::size_t end) {
  std::size_t begin = end;
  while (begin > 0 && (t[begin - 1].kind == token_kind::identifier || is(t[begin - 1], "::"))) --begin;
  return join(t, begin, end);
}

[[nodiscard]] inline tokens drop_std_defaults(const tokens& t, std::size_t begin, std::size_t end) {
  tokens out;
  for (std::size_t i = begin; i < end; ++i) {
    const bool opens_arguments =
        is(t[i], "<") && !out.empty() && out.back().kind == token_kind::identifier && !is(out.back(), "operator");
    const std::size_t close = opens_arguments ? match_forward(t, i, "<", ">") : std::string::npos;
    if (close == std::string::npos || close >= end) {
      out.push_back(t[i]);
      continue;
    }
    std::vector<tokens> args;
    int depth = 0;
    std::size_t arg_begin = i + 1;
    for (std::size_t k = i + 1; k <= close; ++k) {
      const std::string& x = t[k].text;
      if (x == "<" || x == "(" || x == "[" || x == "{") ++depth;
      if (x == ">" || x == ")" || x == "]" || x == "}") --depth;
      if ((depth == 0 && x == ",") || k == close) {
        if (k > arg_begin) args.push_back(drop_std_defaults(t, arg_begin, k));
        arg_begin = k + 1;
      }
    }
    std::vector<std::string> spelled;
    for (const tokens& a : args) spelled.push_back(join(a));
    const std::vector<std::string> defaults = std_defaults(qualified_name_before(out, out.size()), spelled);
    std::size_t keep = args.size();
    while (keep > 0 && keep <= defaults.size() && !defaults[keep - 1].empty() &&
           defaults[keep - 1] == spelled[keep - 1])
      --keep;
    out.push_back(t[i]);
    for (std::size_t k = 0; k < keep; ++k) {
      if (k > 0) out.push_back({token_kind::punct, ","});
      out.insert(out.end(), args[k].begin(), args[k].end());
    }
    out.push_back(t[close]);
    i = close;
  }
  return out;
}

// Drops the template arguments of the last component of a function's name (gcc prints
// `ns::f<int>`, clang 16 `&ns::f`).
[[nodiscard]] inline std::string drop_function_template_arguments(const std::string& name) {
  tokens t = tokenize(name);
  if (t.empty() || !is(t.back(), ">")) return name;
  const std::size_t open = match_backward(t, t.size() - 1, "<", ">");
  if (open == std::string::npos || open == 0 || t[open - 1].kind != token_kind::identifier ||
      is(t[open - 1], "operator"))
    return name;
  t.resize(open);
  return join(t);
}

// Spelling of the template a class template specialization's canonical name names: the name
// without its last template argument list (`std::map<int,int>` -> `std::map`).
[[nodiscard]] inline std::string template_of(const std::string& canonical) {
  const tokens t = tokenize(canonical);
  if (t.empty() || !is(t.back(), ">")) return {};
  const std::size_t open = match_backward(t, t.size() - 1, "<", ">");
  if (open == std::string::npos || open == 0) return {};
  return join(t, 0, open);
}

} // namespace type_name_impl

// The compiler's own spelling of T, cut out of __PRETTY_FUNCTION__. Differs between compilers.
template <class T>
[[nodiscard]] constexpr std::string_view raw_type_name() noexcept {
  return type_name_impl::cut(type_name_impl::pretty_type<T>(), type_name_impl::type_frame);
}

// The compiler's own spelling of a non-type template argument, e.g. gcc `ns::simulate`, clang
// `&ns::simulate` for F = &ns::simulate.
template <auto F>
[[nodiscard]] constexpr std::string_view raw_value_name() noexcept {
  return type_name_impl::cut(type_name_impl::pretty_value<F>(), type_name_impl::value_frame);
}

// Canonical spelling of a raw compiler spelling; the rules are the contract at the top of this
// file. Pure and deterministic; idempotent.
[[nodiscard]] inline std::string normalize_name(std::string_view raw) {
  using namespace type_name_impl;
  tokens t = tokenize(raw);
  drop_inline_namespaces(t);
  canonicalize_arithmetic(t);
  canonicalize_literals(t);
  drop_function_scopes(t);
  drop_address_of(t);
  return join(drop_std_defaults(t, 0, t.size()));
}

namespace type_name_impl {

template <class... T>
struct type_list {};

template <std::size_t I, class... T>
struct nth;
template <class Head, class... Tail>
struct nth<0, Head, Tail...> {
  using type = Head;
};
template <std::size_t I, class Head, class... Tail>
struct nth<I, Head, Tail...> : nth<I - 1, Tail...> {};

// Whether TT<first N of A...> is a valid type and the same type as Full: then the arguments
// after the N-th are defaults.
template <template <class...> class TT, class Full, class... A, std::size_t... I>
[[nodiscard]] constexpr bool names_same(std::index_sequence<I...>) noexcept {
  if constexpr (requires { typename TT<typename nth<I, A...>::type...>; })
    return std::is_same_v<TT<typename nth<I, A...>::type...>, Full>;
  else return false;
}

template <std::size_t N, template <class...> class TT, class Full, class... A>
[[nodiscard]] constexpr std::size_t significant_arguments() noexcept {
  if constexpr (N >= sizeof...(A)) {
    return N;
  } else if constexpr (names_same<TT, Full, A...>(std::make_index_sequence<N>{})) {
    return N;
  } else {
    return significant_arguments<N + 1, TT, Full, A...>();
  }
}

// Function types we can spell structurally: unqualified, possibly noexcept, possibly C-variadic.
template <class T>
struct function_parts {
  static constexpr bool spellable = false;
};
template <class R, class... A>
struct function_parts<R(A...)> {
  static constexpr bool spellable = true;
  static constexpr bool is_noexcept = false;
  static constexpr bool c_variadic = false;
  using result = R;
  using params = type_list<A...>;
};
template <class R, class... A>
struct function_parts<R(A...) noexcept> : function_parts<R(A...)> {
  static constexpr bool is_noexcept = true;
};
template <class R, class... A>
struct function_parts<R(A..., ...)> : function_parts<R(A...)> {
  static constexpr bool c_variadic = true;
};
template <class R, class... A>
struct function_parts<R(A..., ...) noexcept> : function_parts<R(A...)> {
  static constexpr bool is_noexcept = true;
  static constexpr bool c_variadic = true;
};

template <class T>
struct member_pointer_parts;
template <class M, class C>
struct member_pointer_parts<M C::*> {
  using member = M;
  using owner = C;
};

// Class template specializations whose arguments can be spelled one by one.
template <class T>
struct specialization {
  static constexpr bool all_types = false;
  static constexpr bool type_and_size = false;
};
template <template <class...> class TT, class... A>
struct specialization<TT<A...>> {
  static constexpr bool all_types = true;
  static constexpr bool type_and_size = false;
  static constexpr std::size_t significant = significant_arguments<0, TT, TT<A...>, A...>();
  using arguments = type_list<A...>;
};
template <template <class, std::size_t> class TT, class A, std::size_t N>
struct specialization<TT<A, N>> {
  static constexpr bool all_types = false;
  static constexpr bool type_and_size = true;
  // A template template parameter hides the template's defaults, so only std::span's
  // dynamic_extent (the one standard default of this shape) is recognised.
  static constexpr bool size_is_default = N == static_cast<std::size_t>(-1);
  using argument = A;
  static constexpr std::size_t size = N;
};

template <class T>
std::string spell(std::string inner);

[[nodiscard]] inline std::string with_inner(std::string left, const std::string& inner) {
  if (!inner.empty()) left += ' ' + inner;
  return left;
}

// The first `count` of A..., spelled and separated by commas.
template <class... A>
[[nodiscard]] std::string spell_list(type_list<A...>, std::size_t count) {
  std::string out;
  std::size_t index = 0;
  [[maybe_unused]] auto append = [&](std::string spelled) {
    if (index++ >= count) return;
    if (index > 1) out += ',';
    out += spelled;
  };
  (append(spell<A>({})), ...);
  return out;
}

// Spelling of a cv-unqualified type that is not a pointer, reference, array or function.
template <class T>
[[nodiscard]] std::string spell_leaf() {
  using s = specialization<T>;
  const std::string own = normalize_name(raw_type_name<T>());
  if constexpr (s::all_types || s::type_and_size) {
    const std::string name = template_of(own);
    if (name.empty()) return own;
    if constexpr (s::all_types) {
      return name + "<" + spell_list(typename s::arguments{}, s::significant) + ">";
    } else {
      std::string out = name + "<" + spell<typename s::argument>({});
      if (!s::size_is_default) out += "," + std::to_string(s::size);
      return out + ">";
    }
  } else {
    return own;
  }
}

// Spelling of T declaring `inner` (C declarator syntax: `int (*inner)[3]`); `inner` is empty for
// the type itself. Not yet normalized: spacing is fixed by the caller.
template <class T>
std::string spell(std::string inner) {
  auto parenthesize = [](bool needed, std::string s) { return needed ? "(" + s + ")" : s; };
  if constexpr (std::is_reference_v<T>) {
    using U = std::remove_reference_t<T>;
    const std::string ref = std::is_lvalue_reference_v<T> ? "&" : "&&";
    return spell<U>(parenthesize(std::is_array_v<U> || std::is_function_v<U>, ref + inner));
  } else if constexpr (std::is_array_v<T>) {
    const std::string bound = std::extent_v<T> == 0 ? std::string{"[]"} : "[" + std::to_string(std::extent_v<T>) + "]";
    return spell<std::remove_extent_t<T>>(inner + bound);
  } else if constexpr (std::is_function_v<T>) {
    using parts = function_parts<T>;
    if constexpr (parts::spellable) {
      std::string params = spell_list(typename parts::params{}, static_cast<std::size_t>(-1));
      if (parts::c_variadic) params += params.empty() ? "..." : ",...";
      std::string declarator = inner + "(" + params + ")";
      if (parts::is_noexcept) declarator += " noexcept";
      return spell<typename parts::result>(std::move(declarator));
    } else {
      return with_inner(normalize_name(raw_type_name<T>()), inner);
    }
  } else {
    using U = std::remove_cv_t<T>;
    std::string cv;
    if (std::is_const_v<T>) cv = "const";
    if (std::is_volatile_v<T>) cv += cv.empty() ? "volatile" : " volatile";
    if constexpr (std::is_pointer_v<U>) {
      using P = std::remove_pointer_t<U>;
      return spell<P>(parenthesize(std::is_array_v<P> || std::is_function_v<P>, "*" + with_inner(cv, inner)));
    } else if constexpr (std::is_member_pointer_v<U>) {
      using M = typename member_pointer_parts<U>::member;
      if constexpr (std::is_function_v<M> && !function_parts<M>::spellable) {
        return with_inner(normalize_name(raw_type_name<T>()), inner);
      } else {
        const std::string owner = spell<typename member_pointer_parts<U>::owner>({});
        return spell<M>(
            parenthesize(std::is_array_v<M> || std::is_function_v<M>, owner + "::*" + with_inner(cv, inner)));
      }
    } else {
      return with_inner(cv.empty() ? spell_leaf<U>() : cv + " " + spell_leaf<U>(), inner);
    }
  }
}

template <class F>
struct function_pointer_parts {
  static constexpr bool valid = false;
};
template <class R, class... A>
struct function_pointer_parts<R (*)(A...)> {
  static constexpr bool valid = true;
  using result = R;
  using params = type_list<A...>;
};
template <class R, class... A>
struct function_pointer_parts<R (*)(A...) noexcept> : function_pointer_parts<R (*)(A...)> {};

} // namespace type_name_impl

template <class T>
[[nodiscard]] std::string canonical_type_name();

namespace type_name_impl {

template <class R, class... A>
[[nodiscard]] std::string canonical_list(function_pointer_parts<R (*)(A...)>) {
  std::string out;
  ((out += (out.empty() ? "" : ","), out += canonical_type_name<A>()), ...);
  return out;
}

} // namespace type_name_impl

// Canonical spelling of T (contract at the top of this file); computed once per T.
template <class T>
[[nodiscard]] std::string canonical_type_name() {
  static immortal<const std::string> name{normalize_name(type_name_impl::spell<T>({}))};
  return name.get();
}

// Canonical fully qualified name of the function F points to, e.g. `ns::simulate`; template
// arguments of a function template specialization are not part of it (clang does not print them).
template <auto F>
[[nodiscard]] std::string canonical_function_name() {
  static_assert(std::is_pointer_v<decltype(F)> && std::is_function_v<std::remove_pointer_t<decltype(F)>>,
                "recall: canonical_function_name needs a pointer to a function");
  static immortal<const std::string> name{
      type_name_impl::drop_function_template_arguments(normalize_name(raw_value_name<F>()))};
  return name.get();
}

// Canonical identity of the function F points to: name, parameter types as declared (after the
// language's adjustments: arrays decay, top-level const goes) and result type, e.g.
// `ns::simulate(const ns::Params&,int)->double`. Overloads differ; noexcept is not part of it.
template <auto F>
[[nodiscard]] std::string function_signature() {
  using parts = type_name_impl::function_pointer_parts<decltype(F)>;
  static_assert(parts::valid, "recall: function_signature needs a pointer to a non-variadic function");
  static immortal<const std::string> signature{canonical_function_name<F>() + "(" +
                                               type_name_impl::canonical_list(parts{}) + ")->" +
                                               canonical_type_name<typename parts::result>()};
  return signature.get();
}

} // namespace recall::detail
