// What recall-sign learns from a project's translation units: the project's definitions (nodes),
// what each one uses, and the memoized functions (roots) whose signatures it generates.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace recall_sign {

enum class node_kind { function, lambda, constant, enumeration, type, alias, macro };

[[nodiscard]] constexpr std::string_view kind_name(node_kind k) {
  switch (k) {
  case node_kind::function: return "function";
  case node_kind::lambda: return "lambda";
  case node_kind::constant: return "constant";
  case node_kind::enumeration: return "enum";
  case node_kind::type: return "type";
  case node_kind::alias: return "alias";
  case node_kind::macro: return "macro";
  }
  return "?";
}

// A place in the project: a path relative to the project root and a line.
struct place {
  std::string file;
  unsigned line = 0;

  [[nodiscard]] std::string text() const { return file + ":" + std::to_string(line); }
};

// One definition in the project (a function, lambda, variable, enum, class, alias or macro),
// hashed by its token stream. Nothing here depends on where the project sits on disk.
struct node {
  node_kind kind = node_kind::function;
  std::string name;           // path-free display name, e.g. `physics::drag(double,const params&)`
  place where;                // for --explain only; never hashed
  std::string hash;           // XXH3-128 (hex) of the definition's tokens
  std::set<std::string> uses; // keys of the project entities it references
};

// A memoized function, as found at a recall::memoize<&f> or recall::memoize_as<"label"> use.
struct root {
  std::vector<std::string> names; // identity names it registers under
  std::string key;                // the node that defines it
  place site;                     // where it is memoized
};

// A project entity something refers to, as declared where it was referenced.
struct declaration {
  node_kind kind = node_kind::function;
  std::string name;
  place where;
};

struct project {
  std::map<std::string, node> nodes;           // by key: a USR, or file:offset where there is none
  std::map<std::string, declaration> declared; // every referenced project entity, by key
  std::vector<root> roots;
  std::set<std::string> files;    // absolute paths of the project files read
  std::set<std::string> warnings; // warnings already given (a header is read many times)
  std::size_t translation_units = 0;
};

} // namespace recall_sign
