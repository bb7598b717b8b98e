// Who holds a compute lock: the record a directory_store writes into <function folder>/locks
// and a redis_store into the lock's value, for people listing computations under way.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <recall/detail/stores/host_name.hpp>
#include <recall/detail/stores/process_id.hpp>

namespace recall::detail {

// The fields, space-separated, in this order:
//
//   record  ::= host ' ' pid ' ' since ' ' label
//   host    ::= the holder's gethostname(2), no spaces ("" when unknown: "-")
//   pid     ::= decimal process id, in the holder's PID namespace
//   since   ::= decimal milliseconds since the Unix epoch when the lock was taken
//   label   ::= the call's arguments, short (detail/key/label.hpp), control characters as '?';
//               the rest of the record, possibly cut by the medium (a 128-byte file slot)
//
// A directory_store prefixes it with the key's 32 hex digits and a space; a redis_store
// appends ' ' and 16 random hex digits that make the value unique per acquisition.
struct lock_holder {
  std::string host;
  std::int64_t pid = 0;
  std::chrono::system_clock::time_point since{};
  std::string label;
};

// This process's record, taken now, for a computation of `label`.
[[nodiscard]] inline std::string format_lock_record(std::string_view label) {
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::string out = host_name().empty() ? std::string{"-"} : host_name();
  out.append(" ").append(std::to_string(process_id())).append(" ").append(std::to_string(now_ms)).append(" ");
  for (const char c : label) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}

// Parses `record` (trailing spaces and newline ignored); nullopt if it is not one.
[[nodiscard]] inline std::optional<lock_holder> parse_lock_record(std::string_view record) {
  while (!record.empty() && (record.back() == ' ' || record.back() == '\n')) {
    record.remove_suffix(1);
  }
  const auto next_field = [&record]() -> std::optional<std::string_view> {
    const auto space = record.find(' ');
    if (space == std::string_view::npos || space == 0) {
      return std::nullopt;
    }
    const std::string_view field = record.substr(0, space);
    record.remove_prefix(space + 1);
    return field;
  };
  const auto number = [](std::string_view text) -> std::optional<std::int64_t> {
    if (text.empty() || text.size() > 18) {
      return std::nullopt;
    }
    std::int64_t value = 0;
    for (const char c : text) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  };
  const auto host = next_field();
  const auto pid = host ? next_field() : std::nullopt;
  if (!pid) {
    return std::nullopt;
  }
  // A record cut right after `since` has no space before its (empty) label.
  const auto space = record.find(' ');
  const std::string_view since_text = record.substr(0, space);
  const auto pid_value = number(*pid);
  const auto since_ms = number(since_text);
  if (!pid_value || !since_ms) {
    return std::nullopt;
  }
  lock_holder out;
  out.host = *host == "-" ? std::string{} : std::string{*host};
  out.pid = *pid_value;
  out.since = std::chrono::system_clock::time_point{std::chrono::milliseconds{*since_ms}};
  out.label = space == std::string_view::npos ? std::string{} : std::string{record.substr(space + 1)};
  return out;
}

} // namespace recall::detail
