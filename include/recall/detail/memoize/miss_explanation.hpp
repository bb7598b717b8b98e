// Why a call missed: which part of its key differs from the nearest cached entry of its function.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <recall/detail/policy/duration_text.hpp>
#include <recall/identity/function_identity.hpp>
#include <recall/key/key.hpp>
#include <recall/stores/store.hpp>

namespace recall::detail {

// The parts of one call's key, as memoize hashed them, with names for people.
struct call_description {
  const function_identity& identity;
  const function_id& function;
  std::span<const key> arguments;
  std::span<const std::string> argument_types;
  std::span<const key> globals;
  std::span<const std::string> global_names;
};

// The reason a call missed, against `entries` of its function (similar_entries): the nearest
// entry under the same identity and the arguments and globals that differ from it, or what in
// the identity changed (version tag, parameter types, body) when no entry shares it. Not a
// template: compiled once per program however many functions are memoized.
[[nodiscard]] inline std::string explain_miss_against(const call_description& call,
                                                      const std::vector<entry_description>& entries) {
  if (entries.empty()) {
    return "no entry for this function yet";
  }
  const entry_description* nearest = nullptr;
  std::size_t best = 0;
  for (const auto& e : entries) {
    if (e.identity != call.function.identity) {
      continue;
    }
    std::size_t same = 0;
    for (std::size_t i = 0; i < call.arguments.size() && i < e.manifest.argument_digests.size(); ++i) {
      same += e.manifest.argument_digests[i] == call.arguments[i].hex() ? 1 : 0;
    }
    for (std::size_t i = 0; i < call.globals.size() && i < e.manifest.global_digests.size(); ++i) {
      same += e.manifest.global_digests[i] == call.globals[i].hex() ? 1 : 0;
    }
    if (nearest == nullptr || same > best) {
      nearest = &e;
      best = same;
    }
  }
  if (nearest == nullptr) {
    const auto& other = entries.front().manifest;
    std::string why = "the function identity changed (" + count_of(entries.size(), "entry", "entries") + " of " +
                      call.function.name + (entries.size() == 1 ? " has" : " have") + " another identity: ";
    if (other.version != call.identity.version) {
      why += "version tag '" + other.version + "' -> '" + call.identity.version + "'";
    } else if (other.signature != call.identity.signature) {
      why += "parameter types " + other.signature + " -> " + call.identity.signature;
    } else {
      why += "same name, parameter types and version: the function's body changed";
    }
    return why + ")";
  }
  std::string why;
  const auto& m = nearest->manifest;
  for (std::size_t i = 0; i < call.arguments.size(); ++i) {
    if (i >= m.argument_digests.size() || m.argument_digests[i] != call.arguments[i].hex()) {
      why += (why.empty() ? "" : ", ") + std::string{"argument "} + std::to_string(i) + " (" + call.argument_types[i] +
             ") differs";
    }
  }
  for (std::size_t i = 0; i < call.globals.size(); ++i) {
    if (i >= m.global_digests.size() || m.global_digests[i] != call.globals[i].hex()) {
      why += (why.empty() ? "" : ", ") + std::string{"global "} + call.global_names[i] + " differs";
    }
  }
  if (why.empty()) {
    why = "every part matches an entry written under another key layout";
  }
  return why + " (nearest of " + count_of(entries.size(), "entry", "entries") + ": " + m.label + ")";
}

} // namespace recall::detail
