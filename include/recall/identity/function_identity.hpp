// recall::function_identity: what names a memoized function in every key, and its hash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <recall/detail/key/xxh3.hpp>
#include <recall/key/key.hpp>

namespace recall {

enum class identity_kind {
  function, // recall::memoize<&f>: named by f's canonical qualified name
  named,    // recall::memoize_as<"label">(callable): named by the label
};

// The parts of a function's identity. Its hash is XXH3-128 of text(), which is, line by line:
//   recall-identity 1
//   kind function|named
//   name <canonical qualified name, or the memoize_as label>
//   signature (<canonical parameter types, comma-separated>)-><canonical result type>
//   version <the recall::version tag, empty by default>
//   body <the build-time body signature, or "untracked">
// Canonical names are spelled identically by g++ and clang++ (recall/detail/identity/type_name.hpp);
// nothing here depends on source paths or the build directory.
struct function_identity {
  identity_kind kind = identity_kind::function;
  std::string name;
  std::string signature;
  std::string version;
  std::string body; // empty: body changes are not tracked for this function

  [[nodiscard]] std::string text() const {
    std::string out = "recall-identity 1\nkind ";
    out += kind == identity_kind::function ? "function" : "named";
    out += "\nname ";
    out += name;
    out += "\nsignature ";
    out += signature;
    out += "\nversion ";
    out += version;
    out += "\nbody ";
    out += body.empty() ? std::string_view{"untracked"} : std::string_view{body};
    out += '\n';
    return out;
  }

  [[nodiscard]] key hash() const {
    const std::string t = text();
    return detail::xxh3_128(t.data(), t.size());
  }
};

} // namespace recall
