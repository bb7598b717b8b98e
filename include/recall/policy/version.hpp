// recall::version<"tag">: a tag in the function identity; changing it retires every old entry.
#pragma once

#include <string_view>

#include <recall/policy/fixed_string.hpp>

namespace recall {

// Bump the tag when a change the key cannot see (a data file the function reads, a fixed bug
// in a library it calls) should invalidate what was cached:
//   recall::memoize<&simulate, recall::version<"2">> sim;
template <fixed_string Tag>
struct version {
  static constexpr std::string_view value = Tag.view();
};

} // namespace recall
