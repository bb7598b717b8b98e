// Reading a project: compile commands -> libclang translation units -> the project model.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"

namespace recall_sign {

// A failure reported in one line; recall-sign exits with status 1.
struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct analysis_options {
  std::filesystem::path database;             // compile_commands.json, or the directory holding it
  std::filesystem::path root;                 // the project source root: only files under it are hashed
  std::vector<std::filesystem::path> sources; // translation units to read; empty: every database entry
  std::vector<std::filesystem::path> skip;    // files never read as translation units (the output)
};

// Parses the translation units and returns the project's definitions and memoized functions.
// Warnings and compiler errors go to `log`, one per line. Throws failure when the database is
// missing or unreadable, a source is not in it, or a translation unit does not parse.
[[nodiscard]] project analyze(const analysis_options& options, std::ostream& log);

// The compiler arguments recall-sign gives libclang for a compile command's arguments: the
// compiler becomes clang++, outputs and dependency-file options go, warnings are off.
[[nodiscard]] std::vector<std::string> clang_arguments(const std::vector<std::string>& command);

// The value of a C++ string literal as written (one or more adjacent plain or raw literals);
// nullopt for prefixed literals (u8, L, u, U), which recall::memoize_as does not accept.
[[nodiscard]] std::optional<std::string> decode_string_literal(std::string_view token);

} // namespace recall_sign
