// The exceptions recall throws, all derived from recall::error.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace recall {

// Base of every exception recall throws; what() starts with "recall: ".
class error : public std::runtime_error {
public:
  static constexpr std::string_view prefix = "recall: ";

  explicit error(const std::string& message) : std::runtime_error{std::string{prefix} + message} {}

  // The message without the "recall: " prefix, for a line that already says where it comes from.
  [[nodiscard]] std::string_view reason() const noexcept { return reason_of(*this); }

  // reason() of any exception: its what() without a leading "recall: ".
  [[nodiscard]] static std::string_view reason_of(const std::exception& e) noexcept {
    std::string_view text = e.what();
    if (text.starts_with(prefix)) {
      text.remove_prefix(prefix.size());
    }
    return text;
  }
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
  untrusted_cache_error(std::string folder, const std::string& message)
      : store_error{message}, m_folder{std::move(folder)} {}
  [[nodiscard]] const std::string& folder() const noexcept { return m_folder; }

private:
  std::string m_folder;
};

// Bytes that do not decode: a corrupt or foreign entry, a truncated payload, a forged size.
class format_error : public error {
public:
  using error::error;
};

// An entry whose checksum does not match its bytes: damaged on the medium (bit rot, a torn or
// forged write), not merely written by an incompatible build. Whoever finds it asks the store to
// discard it (store::discard); an entry that is intact but does not decode is a format_error.
class damaged_entry_error : public format_error {
public:
  using format_error::format_error;
};

// An option or environment variable with a value recall does not accept.
class config_error : public error {
public:
  using error::error;
};

} // namespace recall
