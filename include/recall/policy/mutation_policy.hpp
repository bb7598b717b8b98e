// recall::mutation_policy: what to do when a memoized call changes an argument it took by reference.
#pragma once

namespace recall {

// A function that modifies its input makes its cached result depend on more than the key saw:
// the next call with the same (pre-call) values loads a result computed from different ones.
enum class mutation_policy {
  warn,   // the default: log a warning naming the argument; the result is stored under the pre-call key
  error,  // throw recall::mutation_error and store nothing
  ignore, // skip the check (no re-hash after the call: no overhead)
};

} // namespace recall
