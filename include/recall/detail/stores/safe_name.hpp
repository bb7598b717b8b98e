// The filesystem-safe spelling of a name, for folders named after functions and scope labels.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recall::detail {

// Appends `name` to `out` as one safe path component and returns how many characters it
// appended: characters outside [A-Za-z0-9_.-] become '_', a run of them a single '_', and a
// leading '.' or '-' becomes '_' (no hidden folders, none a shell tool would take for an
// option); at most `max_length` characters. An empty name appends nothing: callers choose their
// own fallback.
inline std::size_t append_safe_name(std::string& out, std::string_view name, std::size_t max_length) {
  const std::size_t start = out.size();
  for (const char c : name) {
    if (out.size() - start == max_length) {
      break;
    }
    const bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!safe && out.size() > start && out.back() == '_') {
      continue;
    }
    const bool leading = out.size() == start && (c == '.' || c == '-');
    out.push_back(safe && !leading ? c : '_');
  }
  return out.size() - start;
}

} // namespace recall::detail
