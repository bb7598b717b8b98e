// The exceptions recall throws, all derived from recall::error.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

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

// A cache folder recall refuses to use because someone it does not trust could write to it
// (docs/RELIABILITY.md, Trust model): owned by another user, or writable by group or others
// without sharing::group. `folder()` names it: callers warn once per folder, not per call.
class untrusted_cache_error : public store_error {
public:
  untrusted_cache_error(std::string folder, const std::string& message) : store_error{message}, m_folder{std::move(folder)} {}
  [[nodiscard]] const std::string& folder() const noexcept { return m_folder; }

private:
  std::string m_folder;
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
