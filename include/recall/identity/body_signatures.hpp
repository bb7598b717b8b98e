// The seam for build-time body signatures: recall-sign generates a table that registers, for each
// memoized function, a hash of its definition and of everything it calls; memoize looks it up.
#pragma once

#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include <recall/detail/immortal.hpp>

namespace recall {

// One generated row: `function` is the function's identity name (its canonical qualified name,
// or its memoize_as label), `signature` the hash of its body and callees.
struct body_signature {
  std::string_view function;
  std::string_view signature;
};

namespace detail {

struct body_signature_table {
  std::mutex mutex;
  std::unordered_map<std::string, std::string> rows;
};

// Never destroyed: a memoize object at namespace scope may resolve its identity at any time.
inline body_signature_table& body_signatures() {
  static immortal<body_signature_table> table;
  return table.get();
}

} // namespace detail

// Called from generated code during static initialization; later rows replace earlier ones.
inline bool register_body_signatures(std::span<const body_signature> rows) {
  auto& table = detail::body_signatures();
  const std::lock_guard lock{table.mutex};
  for (const auto& row : rows) {
    table.rows.insert_or_assign(std::string{row.function}, std::string{row.signature});
  }
  return true;
}

// The registered body signature of a function, if the build generated one.
[[nodiscard]] inline std::optional<std::string> find_body_signature(std::string_view function) {
  auto& table = detail::body_signatures();
  const std::lock_guard lock{table.mutex};
  if (const auto it = table.rows.find(std::string{function}); it != table.rows.end()) {
    return it->second;
  }
  return std::nullopt;
}

} // namespace recall
