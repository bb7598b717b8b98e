// The exceptions recall throws, all derived from recall::error.
#pragma once

#include <stdexcept>
#include <string>

namespace recall {

// Base of every exception recall throws; what() starts with "recall: ".
class error : public std::runtime_error {
public:
  explicit error(const std::string& message) : std::runtime_error{"recall: " + message} {}
};

// A memoized call changed an argument it took by reference, under mutation_policy::error.
// Nothing was stored for that call.
class mutation_error : public error {
public:
  using error::error;
};

// A store could not do what was asked (I/O error, unreachable server, ...). memoize catches
// these: they reach user code only through the store and management APIs.
class store_error : public error {
public:
  using error::error;
};

// Bytes that do not decode: a corrupt or foreign entry, a truncated payload, a forged size.
class format_error : public error {
public:
  using error::error;
};

// An option or environment variable with a value recall does not accept.
class config_error : public error {
public:
  using error::error;
};

} // namespace recall
