// recall-cache's CLI11 validators and shared options (validators.hpp).
#include "validators.hpp"

#include <algorithm>

#include <recall/errors.hpp>
#include <recall/management/prune.hpp>

namespace recall_cache {
namespace {

// A validator named `name` that accepts what `check` accepts; `check` throws config_error, whose
// message (less "recall: ") CLI11 reports.
template <class Check>
CLI::Validator recall_validator(Check check, const char* name) {
  return CLI::Validator{[check](std::string& text) -> std::string {
                          try {
                            check(text);
                            return {};
                          } catch (const recall::config_error& e) {
                            return std::string{e.reason()};
                          }
                        },
                        name};
}

} // namespace

CLI::Validator size_validator() {
  return recall_validator([](const std::string& text) { static_cast<void>(recall::parse_size(text)); }, "SIZE");
}

CLI::Validator duration_validator() {
  return recall_validator([](const std::string& text) { static_cast<void>(recall::parse_duration(text)); }, "DURATION");
}

CLI::Validator count_validator() {
  return CLI::Validator{
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 19 &&
                            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        return digits ? std::string{} : "bad count '" + text + "': expected a whole number, 0 or more";
      },
      "N"};
}

void add_scope_option(CLI::App& verb, std::string& into) {
  verb.add_option("--scope", into, "only the partition folder NAME (e.g. channels_1a2b3c4d; see info)")
      ->check(recall_validator([](const std::string& text) { recall::detail::management::check_scope_name(text); },
                               "PARTITION"));
}

} // namespace recall_cache
