// recall::globals<&a, &b>: global variables whose values at each call are part of the key.
#pragma once

#include <type_traits>

namespace recall {

// Declares the globals a function reads. Their values are hashed at every call, so a changed
// value is a different key and restoring it finds the old entry again:
//   double g_temperature = 300.0;
//   recall::memoize<&simulate, recall::globals<&g_temperature>> sim;
template <auto... Globals>
struct globals {
  static_assert(((std::is_pointer_v<decltype(Globals)> &&
                  std::is_object_v<std::remove_pointer_t<decltype(Globals)>>)&&...),
                "recall::globals<...> takes addresses of variables with static storage: "
                "recall::globals<&g_temperature, &g_config>");
};

} // namespace recall
