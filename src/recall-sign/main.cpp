// recall-sign: build-time body signatures for recall's memoized functions (docs/SIGNATURES.md).
//
// Exit status: 0 done; 1 the input is bad (no compilation database, a source that is not in it or
// does not parse, an unknown --explain name, an unwritable output); 2 the command line is wrong.
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyze.hpp"
#include "emit.hpp"
#include "signature.hpp"

#ifndef RECALL_SIGN_VERSION
#define RECALL_SIGN_VERSION "unknown"
#endif

namespace fs = std::filesystem;

namespace {

constexpr std::string_view usage_text =
    "usage: recall-sign --compdb PATH --root DIR [--output FILE [--depfile FILE]] [--list]\n"
    "                   [--explain NAME] [[--source-dir DIR] SOURCE...]\n"
    "\n"
    "Hashes the definition of every function memoized with recall::memoize<&f> or\n"
    "recall::memoize_as<\"label\">(callable), together with every function, constant, enum, class\n"
    "and macro of the project it uses (transitively), ignoring comments and formatting, and\n"
    "generates a C++ source that registers the signatures with recall at static initialization.\n"
    "\n"
    "  -p, --compdb PATH    compile_commands.json, or the build directory holding it\n"
    "  --root DIR           the project source root: only definitions in files under it are hashed\n"
    "  -o, --output FILE    write the generated C++ source (add it to the program's sources)\n"
    "  --depfile FILE       write a Makefile depfile naming every project file read (with --output)\n"
    "  --list               print NAME<TAB>SIGNATURE for every memoized function\n"
    "  --explain NAME       print what went into NAME's signature, one ingredient per line\n"
    "  --source-dir DIR     relative SOURCEs after it are relative to DIR (a CMake target's folder)\n"
    "  -h, --help           print this help\n"
    "  --version            print the version\n"
    "  SOURCE...            translation units to read (default: every database entry under --root\n"
    "                       but those of recall itself and of the root's subprojects/)\n"
    "\n"
    "Exit status: 0 done, 1 bad input (missing database, parse errors, unknown NAME), 2 usage error.\n";

struct usage_error {
  std::string message;
};

struct command_line {
  std::optional<fs::path> compdb;
  std::optional<fs::path> root;
  std::optional<fs::path> output;
  std::optional<fs::path> depfile;
  std::optional<std::string> explain;
  bool list = false;
  bool help = false;
  bool version = false;
  std::vector<fs::path> sources;
};

command_line parse(int argc, char** argv) {
  command_line out;
  bool only_sources = false;
  std::optional<fs::path> source_directory; // relative SOURCEs that follow are relative to it
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (only_sources || arg.empty() || arg.front() != '-' || arg == "-") {
      const fs::path source{std::string{arg}};
      out.sources.push_back(source_directory && source.is_relative() ? *source_directory / source : source);
      continue;
    }
    if (arg == "--") {
      only_sources = true;
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = std::string{arg.substr(eq + 1)};
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) throw usage_error{std::string{name} + " needs a value"};
      return argv[++i];
    };
    auto flag = [&](bool& target) {
      if (inline_value) throw usage_error{std::string{name} + " takes no value"};
      target = true;
    };
    if (name == "-p" || name == "--compdb") {
      out.compdb = value();
    } else if (name == "--root") {
      out.root = value();
    } else if (name == "-o" || name == "--output") {
      out.output = value();
    } else if (name == "--depfile") {
      out.depfile = value();
    } else if (name == "--source-dir") {
      source_directory = value();
    } else if (name == "--explain") {
      out.explain = value();
    } else if (name == "--list") {
      flag(out.list);
    } else if (name == "-h" || name == "--help") {
      flag(out.help);
    } else if (name == "--version") {
      flag(out.version);
    } else {
      throw usage_error{"unknown option " + std::string{name}};
    }
  }
  if (out.help || out.version) return out;
  if (!out.compdb) throw usage_error{"--compdb is required"};
  if (!out.root) throw usage_error{"--root is required"};
  if (!out.output && !out.list && !out.explain) throw usage_error{"nothing to do: give --output, --list or --explain"};
  if (out.depfile && !out.output) throw usage_error{"--depfile needs --output"};
  return out;
}

int run(const command_line& cmd) {
  recall_sign::analysis_options options;
  options.database = *cmd.compdb;
  options.root = *cmd.root;
  options.sources = cmd.sources;
  if (cmd.output) options.skip.push_back(*cmd.output);
  const recall_sign::project project = recall_sign::analyze(options, std::cerr);
  const std::vector<recall_sign::signature> signatures = recall_sign::compute_signatures(project, std::cerr);

  if (cmd.explain) {
    const auto found = std::find_if(signatures.begin(), signatures.end(),
                                    [&](const recall_sign::signature& s) { return s.name == *cmd.explain; });
    if (found == signatures.end()) {
      std::string known;
      for (const auto& s : signatures) known += (known.empty() ? "" : ", ") + s.name;
      throw recall_sign::failure("no memoized function named '" + *cmd.explain +
                                 "' in the sources read (known: " + (known.empty() ? "none" : known) + ")");
    }
    std::cout << recall_sign::explain_text(*found);
  }
  if (cmd.list) std::cout << recall_sign::list_text(signatures);
  if (cmd.output) {
    if (project.roots.empty()) {
      std::cerr << "recall-sign: warning: no recall::memoize or recall::memoize_as use in the "
                << project.translation_units << " translation unit(s) read\n";
    }
    recall_sign::write_file(*cmd.output, recall_sign::generated_source(signatures));
    if (cmd.depfile) {
      std::set<std::string> files = project.files;
      const fs::path db = fs::is_directory(*cmd.compdb) ? *cmd.compdb / "compile_commands.json" : *cmd.compdb;
      files.insert(fs::absolute(db).lexically_normal().string());
      recall_sign::write_file(*cmd.depfile, recall_sign::depfile(*cmd.output, files));
    }
  }
  std::cout.flush();
  return std::cout ? EXIT_SUCCESS : EXIT_FAILURE;
}

} // namespace

int main(int argc, char** argv) {
  command_line cmd;
  try {
    cmd = parse(argc, argv);
  } catch (const usage_error& e) {
    std::cerr << "recall-sign: error: " << e.message << " (see recall-sign --help)\n";
    return 2;
  }
  if (cmd.help) {
    std::cout << usage_text;
    return EXIT_SUCCESS;
  }
  if (cmd.version) {
    std::cout << "recall-sign " << RECALL_SIGN_VERSION << "\n";
    return EXIT_SUCCESS;
  }
  try {
    return run(cmd);
  } catch (const recall_sign::failure& e) {
    std::cerr << "recall-sign: error: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "recall-sign: error: " << e.what() << "\n";
  }
  return EXIT_FAILURE;
}
