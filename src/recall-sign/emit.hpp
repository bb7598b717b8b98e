// What recall-sign writes: the generated C++ source, the depfile, --list and --explain text.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "signature.hpp"

namespace recall_sign {

// A translation unit registering one row per signature with recall::register_body_signatures
// during static initialization.
[[nodiscard]] std::string generated_source(const std::vector<signature>& signatures);

// A C++ string literal holding `text` exactly (quotes, backslashes and non-printable bytes escaped).
[[nodiscard]] std::string cpp_string_literal(std::string_view text);

// A Makefile-style depfile: `target` depends on every file in `files`.
[[nodiscard]] std::string depfile(const std::filesystem::path& target, const std::set<std::string>& files);

// `NAME<TAB>SIGNATURE` per line.
[[nodiscard]] std::string list_text(const std::vector<signature>& signatures);

// What went into one signature, one ingredient per line:
// `signature<TAB>NAME<TAB>HEX`, then `ROLE<TAB>KIND<TAB>NAME<TAB>FILE:LINE<TAB>HASH`.
[[nodiscard]] std::string explain_text(const signature& s);

// Writes `content` to `path` through a temporary file and a rename; throws failure on error.
void write_file(const std::filesystem::path& path, std::string_view content);

} // namespace recall_sign
