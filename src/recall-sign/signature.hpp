// From the project model to one signature per memoized function's identity name.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "model.hpp"

namespace recall_sign {

// One thing that went into a signature, as --explain prints it.
struct ingredient {
  std::string role; // root: the memoized function itself; uses: a project entity it reaches;
                    // unresolved: declared in the project, defined in no translation unit read
  node_kind kind = node_kind::function;
  std::string name;
  place where;
  std::string hash; // empty for unresolved entities
};

struct signature {
  std::string name; // the identity name memoize computes (canonical function name or label)
  std::string hex;  // 32 hex digits
  std::vector<ingredient> ingredients;
};

// Signatures sorted by name. A function's signature is XXH3-128 over its own token hash and the
// kind, display name and token hash of every project entity it reaches through calls and
// references, transitively (cycles included once); see docs/SIGNATURES.md for the exact text.
// Distinct definitions registered under one name (overloads, a label used twice) share one
// signature combining theirs. Warnings (memoized functions or used entities defined in no
// translation unit read) go to `log`.
[[nodiscard]] std::vector<signature> compute_signatures(const project& p, std::ostream& log);

} // namespace recall_sign
