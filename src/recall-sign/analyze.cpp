// Reads the project's translation units with libclang and builds the project model: every
// definition in a project file becomes a node hashed by its tokens, with edges to the project
// entities it uses; every recall::memoize<&f> and recall::memoize_as<"label">(callable) becomes a
// root. See docs/SIGNATURES.md for what is and is not tracked.
#include "analyze.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <dlfcn.h>

#include <recall/detail/identity/type_name.hpp>
#include <recall/detail/key/xxh3.hpp>

#include "cx.hpp"

namespace fs = std::filesystem;

namespace recall_sign {

namespace {

struct compile_command {
  fs::path directory;
  fs::path file; // absolute, normalized
  std::vector<std::string> arguments;
};

// Absolute and normalized, with symlinks resolved where the path exists.
fs::path canonical_path(const fs::path& p, const fs::path& base) {
  const fs::path absolute = p.is_absolute() ? p : base / p;
  std::error_code ec;
  fs::path out = fs::weakly_canonical(absolute, ec);
  return ec ? absolute.lexically_normal() : out;
}

std::vector<compile_command> load_database(const fs::path& path) {
  fs::path directory = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw failure("no compilation database at " + path.string() +
                  " (configure the build first: meson setup writes compile_commands.json)");
  }
  if (!fs::is_directory(path, ec)) {
    if (path.filename() != "compile_commands.json") {
      throw failure(path.string() + ": the compilation database must be named compile_commands.json");
    }
    directory = path.parent_path().empty() ? fs::path{"."} : path.parent_path();
  }
  const fs::path file = directory / "compile_commands.json";
  if (!fs::exists(file, ec)) {
    throw failure("no compilation database at " + file.string() +
                  " (configure the build first: meson setup writes compile_commands.json)");
  }
  CXCompilationDatabase_Error error = CXCompilationDatabase_NoError;
  const cx::database_handle db{clang_CompilationDatabase_fromDirectory(directory.c_str(), &error)};
  if (error != CXCompilationDatabase_NoError || !db) {
    throw failure(file.string() + ": not a readable compilation database");
  }
  const cx::commands_handle commands{clang_CompilationDatabase_getAllCompileCommands(db.get())};
  std::vector<compile_command> out;
  const unsigned count = commands ? clang_CompileCommands_getSize(commands.get()) : 0;
  for (unsigned i = 0; i < count; ++i) {
    CXCompileCommand command = clang_CompileCommands_getCommand(commands.get(), i);
    compile_command c;
    c.directory = cx::take(clang_CompileCommand_getDirectory(command));
    c.file = canonical_path(cx::take(clang_CompileCommand_getFilename(command)), c.directory);
    const unsigned args = clang_CompileCommand_getNumArgs(command);
    for (unsigned a = 0; a < args; ++a) c.arguments.push_back(cx::take(clang_CompileCommand_getArg(command, a)));
    out.push_back(std::move(c));
  }
  return out;
}

bool is_under(const fs::path& file, const fs::path& directory) {
  const fs::path relative = file.lexically_relative(directory);
  return !relative.empty() && *relative.begin() != ".." && relative != ".";
}

// Whether `file`, under the project root, belongs to recall itself rather than to the project:
// recall's headers (.../include/recall/..., next to recall/memoize.hpp) or anything in a copy of
// recall's source tree below the root (subprojects/recall, a CMake third_party/recall), found by
// its include/recall/memoize.hpp. Such files are neither hashed nor named in the depfile, like
// any other library's.
bool is_recall_file(const fs::path& file, const fs::path& root) {
  std::error_code ec;
  for (fs::path dir = file.parent_path(); is_under(dir, root) || dir == root; dir = dir.parent_path()) {
    if (dir.filename() == "recall" && dir.parent_path().filename() == "include" &&
        fs::exists(dir / "memoize.hpp", ec)) {
      return true;
    }
    if (dir != root && fs::exists(dir / "include" / "recall" / "memoize.hpp", ec)) return true;
    if (dir == root) break;
  }
  return false;
}

// Translation units read when none is named: the database entries under the root, except those
// of the root's meson subprojects (third-party code) and of recall itself.
bool is_project_translation_unit(const fs::path& file, const fs::path& root) {
  if (!is_under(file, root)) return false;
  const fs::path relative = file.lexically_relative(root);
  if (*relative.begin() == "subprojects") return false;
  return !is_recall_file(file, root);
}

// Where a cursor sits: its file (as libclang's handle) and offset, after macro expansion.
struct position {
  CXFile file = nullptr;
  unsigned line = 0;
  unsigned offset = 0;
};

position position_of(CXSourceLocation loc) {
  position p;
  unsigned column = 0;
  clang_getExpansionLocation(loc, &p.file, &p.line, &column, &p.offset);
  return p;
}

// A source range within one file, as offsets.
struct extent {
  CXFile file = nullptr;
  unsigned begin = 0;
  unsigned end = 0;

  [[nodiscard]] bool contains(const position& p) const {
    return file != nullptr && clang_File_isEqual(file, p.file) != 0 && p.offset >= begin && p.offset <= end;
  }
};

extent extent_of(CXCursor c) {
  const CXSourceRange range = clang_getCursorExtent(c);
  const position b = position_of(clang_getRangeStart(range));
  const position e = position_of(clang_getRangeEnd(range));
  return {b.file, b.offset, e.offset};
}

bool is_recall_entity(CXCursor d, std::string_view name) {
  if (cx::null(d) || cx::spelling(d) != name) return false;
  const CXCursor ns = cx::semantic_parent(d);
  return cx::kind(ns) == CXCursor_Namespace && cx::spelling(ns) == "recall" &&
         cx::kind(cx::semantic_parent(ns)) == CXCursor_TranslationUnit;
}

// `extern "C" { ... }`: clang 16 reports it as an unnamed UnexposedDecl when walking up.
bool is_transparent(CXCursor c) {
  const CXCursorKind k = cx::kind(c);
  return k == CXCursor_LinkageSpec || (k == CXCursor_UnexposedDecl && cx::spelling(c).empty());
}

bool is_local_variable(CXCursor var) {
  const CXCursorKind parent = cx::kind(cx::semantic_parent(var));
  return cx::is_function_kind(parent) || parent == CXCursor_LambdaExpr;
}

// A function template specialization or a member of a class template specialization stands for
// its template's pattern, unless it is an explicit specialization with a definition of its own.
CXCursor pattern_of(CXCursor d) {
  for (int depth = 0; depth < 4; ++depth) {
    const CXCursor tmpl = cx::specialized_template(d);
    if (cx::null(tmpl)) return d;
    const CXCursor def = cx::definition(d);
    if (!cx::null(def) && !clang_equalLocations(clang_getCursorLocation(def), clang_getCursorLocation(tmpl))) {
      return def;
    }
    d = tmpl;
  }
  return d;
}

class tu_indexer {
public:
  tu_indexer(CXTranslationUnit tu, fs::path root, fs::path directory, project& out, std::ostream& log)
      : m_tu{tu}, m_root{std::move(root)}, m_directory{std::move(directory)}, m_out{out}, m_log{log} {}

  void run() {
    const CXCursor top = clang_getTranslationUnitCursor(m_tu);
    for (const CXCursor c : cx::children(top)) {
      if (cx::kind(c) == CXCursor_MacroDefinition && in_project(c)) m_macros[cx::spelling(c)] = c;
    }
    walk(top);
    clang_getInclusions(
        m_tu,
        [](CXFile included, CXSourceLocation*, unsigned, CXClientData self) {
          static_cast<tu_indexer*>(self)->project_file(included);
        },
        this);
  }

  // The functions a translation unit that does not parse defines in its main file, as far as
  // libclang's error recovery got: what the warning about it names.
  static std::vector<std::string> functions_defined_in_main_file(CXTranslationUnit tu) {
    std::vector<std::string> out;
    const auto walk_decls = [&out](const auto& self, CXCursor parent) -> void {
      for (const CXCursor c : cx::children(parent)) {
        if (clang_Location_isFromMainFile(clang_getCursorLocation(c)) == 0) continue;
        const CXCursorKind k = cx::kind(c);
        if (k == CXCursor_Namespace || is_transparent(c) || cx::is_record_kind(k)) {
          self(self, c);
        } else if (cx::is_function_kind(k) && clang_isCursorDefinition(c) != 0) {
          const std::string name = display_of(c);
          if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
        }
      }
    };
    walk_decls(walk_decls, clang_getTranslationUnitCursor(tu));
    return out;
  }

private:
  struct context {
    node* owner = nullptr; // the node whose uses are being collected; null: look for roots only
    std::string owner_key;
    extent scope; // the owner's own text: entities defined inside it are part of its tokens
  };

  // Gives a warning once per run.
  void warn(const std::string& text) {
    if (m_out.warnings.insert(text).second) m_log << "recall-sign: warning: " << text << "\n";
  }

  // ---- files and places ----

  // The file's path relative to the project root, or nullopt if it is not a project file.
  const std::optional<std::string>& project_file(CXFile file) {
    static const std::optional<std::string> none;
    if (file == nullptr) return none;
    const auto found = m_files.find(file);
    if (found != m_files.end()) return found->second;
    std::string real = cx::take(clang_File_tryGetRealPathName(file));
    const fs::path absolute = real.empty() ? canonical_path(cx::take(clang_getFileName(file)), m_directory)
                                           : (m_directory / real).lexically_normal();
    std::optional<std::string> result;
    if (is_under(absolute, m_root) && !is_recall_file(absolute, m_root)) {
      result = absolute.lexically_relative(m_root).generic_string();
      m_out.files.insert(absolute.string());
    }
    return m_files.emplace(file, std::move(result)).first->second;
  }

  bool in_project(CXCursor c) { return project_file(position_of(clang_getCursorLocation(c)).file).has_value(); }

  place place_of(CXCursor c) {
    const position p = position_of(clang_getCursorLocation(c));
    const auto& file = project_file(p.file);
    return {file.value_or(cx::take(clang_getFileName(p.file))), p.line};
  }

  // ---- names ----

  // A key that names the entity in every translation unit: its USR; entities without linkage
  // outside their file also carry the file, so that two files' `static f` stay apart.
  std::string key_of(CXCursor c) {
    std::string usr = cx::usr(c);
    const CXCursor canonical = clang_getCanonicalCursor(c);
    const CXLinkageKind linkage = clang_getCursorLinkage(c);
    if (usr.empty() || cx::kind(c) == CXCursor_MacroDefinition || linkage == CXLinkage_Internal ||
        linkage == CXLinkage_NoLinkage) {
      const position p = position_of(clang_getCursorLocation(canonical));
      usr += "@" + project_file(p.file).value_or("") + (usr.empty() ? ":" + std::to_string(p.offset) : "");
    }
    return usr;
  }

  // Path-free display name: `physics::drag(double,const params&)`.
  static std::string display_of(CXCursor c) {
    const CXCursorKind k = cx::kind(c);
    std::string name = k == CXCursor_MacroDefinition ? cx::spelling(c) : cx::display_name(c);
    if (k != CXCursor_MacroDefinition) {
      for (CXCursor p = cx::semantic_parent(c); !cx::null(p); p = cx::semantic_parent(p)) {
        const CXCursorKind pk = cx::kind(p);
        if (pk == CXCursor_TranslationUnit || clang_isInvalid(pk) != 0) break;
        if (is_transparent(p)) continue;
        std::string part = pk == CXCursor_Namespace ? cx::spelling(p) : cx::display_name(p);
        if (part.empty()) part = pk == CXCursor_Namespace ? "(anonymous namespace)" : "(unnamed)";
        name = part + "::" + name;
      }
    }
    return recall::detail::normalize_name(name);
  }

  // The names recall::memoize<&f> computes for f (recall::detail::canonical_function_name):
  // g++ spells user inline namespaces, clang++ does not, so both spellings are registered.
  static std::vector<std::string> identity_names(CXCursor fn) {
    std::vector<std::string> out;
    for (const bool with_inline : {true, false}) {
      std::string name = cx::spelling(fn);
      for (CXCursor p = cx::semantic_parent(fn); !cx::null(p); p = cx::semantic_parent(p)) {
        const CXCursorKind pk = cx::kind(p);
        if (pk == CXCursor_TranslationUnit || clang_isInvalid(pk) != 0) break;
        if (is_transparent(p)) continue;
        if (pk == CXCursor_Namespace) {
          const std::string ns = cx::spelling(p);
          if (ns.empty()) {
            name = "(anonymous namespace)::" + name;
          } else if (with_inline || clang_Cursor_isInlineNamespace(p) == 0) {
            name = ns + "::" + name;
          }
          continue;
        }
        if (!cx::null(cx::specialized_template(p))) {
          // A member of a class template specialization: the class's canonical type spelling
          // carries its scope and template arguments.
          name = cx::take(clang_getTypeSpelling(clang_getCanonicalType(clang_getCursorType(p)))) + "::" + name;
          break;
        }
        name = cx::spelling(p) + "::" + name;
      }
      name = recall::detail::type_name_impl::drop_function_template_arguments(recall::detail::normalize_name(name));
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
    return out;
  }

  // ---- the walk over the project's declarations ----

  void walk(CXCursor parent) {
    for (const CXCursor c : cx::children(parent)) {
      if (!in_project(c)) continue;
      const CXCursorKind k = cx::kind(c);
      if (k == CXCursor_Namespace || is_transparent(c)) {
        walk(c);
      } else if (cx::is_record_kind(k)) {
        if (clang_isCursorDefinition(c) != 0) walk(c);
      } else if (cx::is_function_kind(k) || k == CXCursor_VarDecl) {
        if (clang_isCursorDefinition(c) != 0) {
          ensure_node(c);
        } else {
          visit(c, context{});
        }
      } else if (k != CXCursor_MacroDefinition && k != CXCursor_MacroExpansion && k != CXCursor_InclusionDirective) {
        visit(c, context{});
      }
    }
  }

  // Visits a subtree: records the owner's uses and finds memoized functions.
  void visit(CXCursor parent, const context& ctx) {
    const std::vector<CXCursor> kids = cx::children(parent);
    for (std::size_t i = 0; i < kids.size(); ++i) {
      const CXCursor c = kids[i];
      const CXCursorKind k = cx::kind(c);
      if (k == CXCursor_TemplateRef && i + 1 < kids.size() && clang_isExpression(cx::kind(kids[i + 1])) != 0 &&
          is_recall_entity(cx::referenced(c), "memoize")) {
        memoize_root(kids[i + 1], c);
      }
      if (k == CXCursor_CallExpr) {
        const CXCursor callee = cx::referenced(c);
        if (cx::kind(callee) == CXCursor_FunctionDecl && is_recall_entity(callee, "memoize_as")) {
          memoize_as_root(c);
        }
      }
      if (ctx.owner != nullptr) record_use(c, ctx);
      visit(c, ctx);
    }
  }

  void record_use(CXCursor c, const context& ctx) {
    switch (cx::kind(c)) {
    case CXCursor_OverloadedDeclRef: {
      const unsigned n = clang_getNumOverloadedDecls(c);
      for (unsigned i = 0; i < n; ++i) use(clang_getOverloadedDecl(c, i), ctx);
      break;
    }
    case CXCursor_DeclRefExpr:
    case CXCursor_MemberRefExpr:
    case CXCursor_CallExpr:
    case CXCursor_TypeRef:
    case CXCursor_TemplateRef:
    case CXCursor_MemberRef: use(cx::referenced(c), ctx); break;
    default: break;
    }
  }

  // Records that the owner uses entity `d` (if it is defined in the project) and indexes it.
  void use(CXCursor d, const context& ctx) {
    if (cx::null(d) || ctx.owner == nullptr) return;
    CXCursorKind k = cx::kind(d);
    if (k == CXCursor_EnumConstantDecl || k == CXCursor_FieldDecl) {
      d = cx::semantic_parent(d);
      k = cx::kind(d);
    }
    if (k == CXCursor_Constructor || k == CXCursor_Destructor) {
      use(cx::semantic_parent(d), ctx); // default member initializers, bases
    }
    if (k == CXCursor_VarDecl && is_local_variable(d)) return;
    if (cx::is_function_kind(k) || cx::is_record_kind(k)) {
      d = pattern_of(d);
      k = cx::kind(d);
    }
    const bool tracked = cx::is_function_kind(k) || cx::is_record_kind(k) || cx::is_alias_kind(k) ||
                         k == CXCursor_VarDecl || k == CXCursor_EnumDecl || k == CXCursor_MacroDefinition;
    if (!tracked) return;
    const CXCursor def = k == CXCursor_MacroDefinition ? d : cx::definition(d);
    // Only functions and variables can be defined in another translation unit; a class, enum or
    // alias without a definition here is not used for anything its definition could change.
    if (cx::null(def) && !cx::is_function_kind(k) && k != CXCursor_VarDecl) return;
    const CXCursor located = cx::null(def) ? d : def;
    if (!in_project(located)) return;
    if (!cx::null(def) && ctx.scope.contains(position_of(clang_getCursorLocation(def)))) return;
    if (!cx::null(def) && cx::is_function_kind(k) && is_implicit(def)) return;
    const std::string key = key_of(located);
    if (key == ctx.owner_key) return;
    ctx.owner->uses.insert(key);
    if (!m_out.declared.contains(key)) {
      m_out.declared.emplace(key, declaration{k == CXCursor_VarDecl ? node_kind::constant : node_kind::function,
                                              display_of(d), place_of(d)});
    }
    if (!cx::null(def)) ensure_node(def);
  }

  // An implicitly declared special member (a constructor, destructor or assignment the compiler
  // provides): its extent is the class name alone, no longer than the member's own name.
  static bool is_implicit(CXCursor fn) {
    const extent e = extent_of(fn);
    return e.end - e.begin <= cx::spelling(fn).size();
  }

  // ---- nodes ----

  // Indexes a definition in a project file (once per project) and returns its key.
  // `lambda_name` names a lambda (which has no name of its own).
  std::optional<std::string> ensure_node(CXCursor def, std::string lambda_name = {}) {
    if (!in_project(def)) return std::nullopt;
    const CXCursorKind k = cx::kind(def);
    const bool lambda = k == CXCursor_LambdaExpr;
    std::string key =
        lambda ? "lambda@" + place_of(def).file + ":" + std::to_string(position_of(clang_getCursorLocation(def)).offset)
               : key_of(def);
    if (m_out.nodes.contains(key)) return key;
    node& n = m_out.nodes[key];
    n.where = place_of(def);
    n.name = lambda ? std::move(lambda_name) : display_of(def);
    // Entities defined inside a function, lambda, variable, enum or alias are part of its tokens;
    // a class's hashed tokens are only its data, so its nested classes stay nodes of their own.
    context ctx{&n, key, cx::is_record_kind(k) ? extent{} : extent_of(def)};
    std::vector<hashed_range> ranges{{clang_getCursorExtent(def), ctx.scope}};
    bool canonical_locals = false;
    if (lambda || cx::is_function_kind(k)) {
      n.kind = lambda ? node_kind::lambda : node_kind::function;
      canonical_locals = true;
      visit(def, ctx);
      // Default arguments live on the first declaration (a header's), not on the definition. An
      // explicit specialization's first declaration is one clang makes from the primary template,
      // with the primary's extent around the specialization's location: not written, not hashed.
      const CXCursor first = clang_getCanonicalCursor(def);
      if (!lambda && clang_equalCursors(first, def) == 0 && in_project(first) &&
          extent_of(first).contains(position_of(clang_getCursorLocation(first)))) {
        ranges.push_back({clang_getCursorExtent(first), extent_of(first)});
        visit(first, ctx);
      }
    } else if (k == CXCursor_VarDecl) {
      n.kind = node_kind::constant;
      visit(def, ctx);
    } else if (k == CXCursor_EnumDecl) {
      n.kind = node_kind::enumeration;
      visit(def, ctx);
    } else if (cx::is_alias_kind(k)) {
      n.kind = node_kind::alias;
      visit(def, ctx);
    } else if (cx::is_record_kind(k)) {
      // A class is its data: bases, fields (with default member initializers) and template
      // parameters. Member functions are nodes of their own, hashed when something calls them.
      n.kind = node_kind::type;
      ranges.clear();
      for (const CXCursor c : cx::children(def)) {
        const CXCursorKind ck = cx::kind(c);
        if (ck == CXCursor_FieldDecl || ck == CXCursor_CXXBaseSpecifier || ck == CXCursor_TemplateTypeParameter ||
            ck == CXCursor_NonTypeTemplateParameter || ck == CXCursor_TemplateTemplateParameter) {
          ranges.push_back({clang_getCursorExtent(c), extent{}});
          visit(c, ctx);
        }
      }
    } else if (k == CXCursor_MacroDefinition) {
      n.kind = node_kind::macro;
    }
    n.hash = hash_tokens(ranges, ctx, canonical_locals, k == CXCursor_MacroDefinition);
    return key;
  }

  // A range of tokens to hash, and the text in which declared variables count as locals.
  struct hashed_range {
    CXSourceRange range;
    extent scope;
  };

  // XXH3-128 of the token stream: kinds and spellings, no comments, no whitespace. In functions
  // and lambdas, names of variables and parameters declared inside are replaced by their order of
  // first appearance, so that renaming a local is not a change (references are resolved by
  // libclang, so a rename that changes what a name refers to is one).
  std::string hash_tokens(const std::vector<hashed_range>& ranges, const context& ctx, bool canonical_locals,
                          bool macro) {
    std::string stream;
    for (const auto& [range, scope] : ranges) {
      std::map<unsigned, std::size_t> locals; // declaration offset -> index
      const cx::token_list tokens{m_tu, range};
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        const CXTokenKind tk = tokens.kind(i);
        if (tk == CXToken_Comment) continue;
        std::string text = tokens.spelling(i);
        if (tk == CXToken_Identifier) {
          const CXCursor c = tokens.cursor(i);
          const CXCursorKind ck = cx::kind(c);
          if (macro) {
            const auto other = m_macros.find(text);
            if (i > 0 && other != m_macros.end() && ctx.owner != nullptr) use(other->second, ctx);
          } else if (ck == CXCursor_MacroExpansion) {
            use(cx::referenced(c), ctx);
          } else if (canonical_locals) {
            const CXCursor d = clang_isDeclaration(ck) != 0 ? c : cx::referenced(c);
            const CXCursorKind dk = cx::kind(d);
            if ((dk == CXCursor_VarDecl || dk == CXCursor_ParmDecl) && cx::spelling(d) == text) {
              const position p = position_of(clang_getCursorLocation(d));
              if (scope.contains(p)) {
                const auto [it, fresh] = locals.emplace(p.offset, locals.size());
                text = "$" + std::to_string(it->second);
              }
            }
          }
        }
        stream += static_cast<char>('0' + static_cast<int>(tk));
        stream += text;
        stream += '\x1f';
      }
      stream += '\x1e';
    }
    return recall::detail::xxh3_128(stream.data(), stream.size()).hex();
  }

  // ---- roots ----

  void add_root(std::vector<std::string> names, std::string key, CXCursor site) {
    root r{std::move(names), std::move(key), place_of(site)};
    for (const root& existing : m_out.roots) {
      if (existing.key == r.key && existing.names == r.names && existing.site.file == r.site.file &&
          existing.site.line == r.site.line) {
        return;
      }
    }
    m_out.roots.push_back(std::move(r));
  }

  // A function used as a root: its node (indexed here, or in the translation unit defining it).
  std::optional<std::string> function_key(CXCursor fn, CXCursor site, const std::string& what) {
    const CXCursor target = pattern_of(fn);
    const CXCursor def = cx::definition(target);
    const CXCursor located = cx::null(def) ? target : def;
    if (!in_project(located)) {
      warn(place_of(site).text() + ": " + what + " is not defined under the project root; its body is not tracked");
      return std::nullopt;
    }
    const std::string key = key_of(located);
    m_out.declared.emplace(key, declaration{node_kind::function, display_of(target), place_of(target)});
    if (!cx::null(def)) ensure_node(def);
    return key;
  }

  // recall::memoize<&f, ...>: `arg` is the first template argument's expression.
  void memoize_root(CXCursor arg, CXCursor site) {
    const CXCursor ref = first_decl_ref(arg);
    if (cx::null(ref)) return;
    const CXCursor d = cx::referenced(ref);
    const CXCursorKind k = cx::kind(d);
    if (k == CXCursor_NonTypeTemplateParameter) {
      warn(place_of(site).text() +
           ": recall::memoize's function is a template parameter here; the functions it is instantiated with "
           "are tracked only where they are memoized by name");
      return;
    }
    if (!cx::is_function_kind(k)) return;
    std::vector<std::string> names = identity_names(d);
    if (auto key = function_key(d, site, names.front())) add_root(std::move(names), std::move(*key), site);
  }

  static CXCursor first_decl_ref(CXCursor c) {
    if (cx::kind(c) == CXCursor_DeclRefExpr) return c;
    for (const CXCursor child : cx::children(c)) {
      const CXCursor found = first_decl_ref(child);
      if (!cx::null(found)) return found;
    }
    return clang_getNullCursor();
  }

  static CXCursor find_kind(CXCursor c, CXCursorKind wanted) {
    if (cx::kind(c) == wanted) return c;
    for (const CXCursor child : cx::children(c)) {
      const CXCursor found = find_kind(child, wanted);
      if (!cx::null(found)) return found;
    }
    return clang_getNullCursor();
  }

  // Implicit conversions and temporaries around an argument, down to what was written.
  static CXCursor unwrap(CXCursor c) {
    for (;;) {
      const CXCursorKind k = cx::kind(c);
      const bool wrapper = k == CXCursor_UnexposedExpr || k == CXCursor_ParenExpr ||
                           (k == CXCursor_CallExpr && cx::kind(cx::referenced(c)) == CXCursor_Constructor);
      if (!wrapper) return c;
      const std::vector<CXCursor> kids = cx::children(c);
      if (kids.size() != 1 || clang_isExpression(cx::kind(kids.front())) == 0) return c;
      c = kids.front();
    }
  }

  // recall::memoize_as<"label">(callable): the label names the callable's body.
  void memoize_as_root(CXCursor call) {
    const std::vector<CXCursor> kids = cx::children(call);
    const CXCursor literal = kids.empty() ? clang_getNullCursor() : find_kind(kids.front(), CXCursor_StringLiteral);
    std::optional<std::string> label;
    if (!cx::null(literal)) {
      const cx::token_list tokens{m_tu, clang_getCursorExtent(literal)};
      std::string joined;
      for (std::size_t i = 0; i < tokens.size(); ++i) joined += tokens.spelling(i) + " ";
      label = decode_string_literal(joined);
    }
    if (!label) {
      warn(place_of(call).text() +
           ": recall::memoize_as's label is not a plain string literal; its body is not tracked");
      return;
    }
    if (clang_Cursor_getNumArguments(call) < 1) return;
    const CXCursor arg = unwrap(clang_Cursor_getArgument(call, 0));
    const std::string what = "memoize_as<\"" + *label + "\">";
    const std::optional<std::string> key =
        cx::kind(arg) == CXCursor_LambdaExpr ? ensure_node(arg, "(lambda) " + what) : callable_body(arg, what);
    if (!key) {
      warn(place_of(call).text() + ": " + what +
           ": the callable's body is not visible (a lambda, or an object of a class whose operator() is defined "
           "in the project); its body is not tracked");
      return;
    }
    add_root({*label}, *key, call);
  }

  // A variable initialized with a lambda, or an object of a class with an operator().
  std::optional<std::string> callable_body(CXCursor arg, const std::string& what) {
    if (cx::kind(arg) == CXCursor_DeclRefExpr) {
      const CXCursor var = cx::definition(cx::referenced(arg));
      if (!cx::null(var) && cx::kind(var) == CXCursor_VarDecl) {
        for (const CXCursor child : cx::children(var)) {
          const CXCursor init = unwrap(child);
          if (cx::kind(init) == CXCursor_LambdaExpr) return ensure_node(init, "(lambda) " + what);
        }
      }
    }
    const CXType type = clang_getCanonicalType(clang_getNonReferenceType(clang_getCursorType(arg)));
    const CXCursor decl = cx::definition(clang_getTypeDeclaration(type));
    if (cx::null(decl) || !cx::is_record_kind(cx::kind(pattern_of(decl)))) return std::nullopt;
    for (const CXCursor member : cx::children(pattern_of(decl))) {
      const CXCursorKind mk = cx::kind(member);
      if ((mk == CXCursor_CXXMethod || mk == CXCursor_FunctionTemplate) && cx::spelling(member) == "operator()") {
        const CXCursor def = cx::definition(member);
        if (!cx::null(def) && in_project(def)) return ensure_node(def);
      }
    }
    return std::nullopt;
  }

  CXTranslationUnit m_tu;
  fs::path m_root;
  fs::path m_directory;
  project& m_out;
  std::ostream& m_log;
  std::unordered_map<CXFile, std::optional<std::string>> m_files;
  std::map<std::string, CXCursor> m_macros;
};

// A compiler error, formatted with its location; `in_project`: located in a project file.
struct parse_error {
  std::string text;
  bool in_project = true;
  bool fatal = false; // the parse stopped there (a missing header): the rest of the file is not read
};

// Errors that stop recall-sign: located errors in the sources. Driver complaints about
// arguments clang does not know (g++-only flags) are not about the code and are ignored.
std::vector<parse_error> parse_errors(CXTranslationUnit tu, const fs::path& root, const fs::path& directory) {
  std::vector<parse_error> out;
  const unsigned n = clang_getNumDiagnostics(tu);
  for (unsigned i = 0; i < n; ++i) {
    const cx::diagnostic_handle d{clang_getDiagnostic(tu, i)};
    const CXDiagnosticSeverity severity = clang_getDiagnosticSeverity(d.get());
    if (severity < CXDiagnostic_Error) continue;
    const std::string text = cx::take(clang_getDiagnosticSpelling(d.get()));
    CXFile file = nullptr;
    clang_getExpansionLocation(clang_getDiagnosticLocation(d.get()), &file, nullptr, nullptr, nullptr);
    if (file == nullptr && text.starts_with("unknown argument")) continue;
    parse_error e;
    e.text = cx::take(clang_formatDiagnostic(d.get(), CXDiagnostic_DisplaySourceLocation | CXDiagnostic_DisplayColumn));
    e.fatal = severity == CXDiagnostic_Fatal;
    if (file != nullptr) {
      const std::string real = cx::take(clang_File_tryGetRealPathName(file));
      const fs::path path = canonical_path(real.empty() ? cx::take(clang_getFileName(file)) : real, directory);
      e.in_project = is_under(path, root) && !is_recall_file(path, root);
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Restores the working directory when a parse is done.
class directory_guard {
public:
  explicit directory_guard(const fs::path& to) : m_saved{fs::current_path()} { fs::current_path(to); }
  directory_guard(const directory_guard&) = delete;
  directory_guard& operator=(const directory_guard&) = delete;
  ~directory_guard() {
    std::error_code ec;
    fs::current_path(m_saved, ec);
  }

private:
  fs::path m_saved;
};

// The line of the first `recall::memoize` or `recall::memoize_as` in a file, read token by token
// (this works on a file that does not parse: lexing needs no headers).
std::optional<unsigned> memoize_line(CXTranslationUnit tu, const fs::path& path) {
  const CXFile file = clang_getFile(tu, path.c_str());
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (file == nullptr || ec) return std::nullopt;
  const CXSourceRange range = clang_getRange(clang_getLocationForOffset(tu, file, 0),
                                             clang_getLocationForOffset(tu, file, static_cast<unsigned>(size)));
  CXToken* tokens = nullptr;
  unsigned count = 0;
  clang_tokenize(tu, range, &tokens, &count);
  std::optional<unsigned> out;
  for (unsigned i = 0; i + 2 < count && !out; ++i) {
    if (clang_getTokenKind(tokens[i]) != CXToken_Identifier ||
        cx::take(clang_getTokenSpelling(tu, tokens[i])) != "recall" ||
        cx::take(clang_getTokenSpelling(tu, tokens[i + 1])) != "::") {
      continue;
    }
    const std::string name = cx::take(clang_getTokenSpelling(tu, tokens[i + 2]));
    if (name == "memoize" || name == "memoize_as") {
      unsigned line = 0;
      clang_getSpellingLocation(clang_getTokenLocation(tu, tokens[i]), nullptr, &line, nullptr, nullptr);
      out = line;
    }
  }
  clang_disposeTokens(tu, tokens, count);
  return out;
}

// libclang's resource directory (stddef.h, the intrinsics, and omp.h when LLVM's OpenMP is
// installed), found as clang finds its own: <directory of the library>/clang/<major version>.
// Empty when it is not there; libclang then uses its built-in guess.
fs::path libclang_resource_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(&clang_createIndex)), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  const fs::path library = fs::canonical(info.dli_fname, ec);
  if (ec) return {};
  const std::string version = cx::take(clang_getClangVersion()); // "Debian clang version 16.0.6 (...)"
  const std::size_t at = version.find("version ");
  if (at == std::string::npos) return {};
  const std::size_t start = at + 8;
  const std::string major = version.substr(start, version.find_first_not_of("0123456789", start) - start);
  const fs::path directory = library.parent_path() / "clang" / major;
  return fs::exists(directory / "include" / "stddef.h", ec) ? directory : fs::path{};
}

// The compiler a compile command runs (behind ccache or sccache), as a path if it is one.
std::string compiler_of(const std::vector<std::string>& command, const fs::path& directory) {
  if (command.empty()) return {};
  std::size_t i = 0;
  const std::string first = fs::path{command[0]}.filename().string();
  if ((first == "ccache" || first == "sccache" || first == "distcc") && command.size() > 1) i = 1;
  const std::string& program = command[i];
  return program.find('/') != std::string::npos ? canonical_path(program, directory).string() : program;
}

// The compiler's own `#include <...>` directories, as it lists them with -v: what clangd's
// --query-driver learns. g++'s own folder holds omp.h, which clang's resource directory lacks
// unless LLVM's OpenMP is installed. Empty when the compiler cannot be run.
std::vector<std::string> compiler_include_directories(const std::string& compiler) {
  std::vector<std::string> out;
  if (compiler.empty() || compiler.find('\'') != std::string::npos) return out;
  const std::string shell = "'" + compiler + "' -E -x c++ -v /dev/null 2>&1 >/dev/null </dev/null";
  const std::unique_ptr<FILE, int (*)(FILE*)> pipe{::popen(shell.c_str(), "r"), &::pclose};
  if (!pipe) return out;
  std::string text;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) text.append(buffer.data(), n);
  const std::size_t begin = text.find("#include <...> search starts here:\n");
  const std::size_t end = text.find("End of search list.", begin);
  if (begin == std::string::npos || end == std::string::npos) return out;
  std::size_t line = text.find('\n', begin) + 1;
  while (line < end) {
    const std::size_t next = text.find('\n', line);
    std::string dir = text.substr(line, next - line);
    dir.erase(0, dir.find_first_not_of(' '));
    if (const auto framework = dir.find(" (framework directory)"); framework != std::string::npos) dir.erase(framework);
    if (!dir.empty()) out.push_back(fs::path{dir}.lexically_normal().string());
    line = next + 1;
  }
  return out;
}

} // namespace

std::vector<std::string> clang_arguments(const std::vector<std::string>& command) {
  std::vector<std::string> out{"clang++"};
  for (std::size_t i = 1; i < command.size(); ++i) {
    const std::string& a = command[i];
    if (a == "-o" || a == "-MF" || a == "-MQ" || a == "-MT" || a == "-MJ") {
      ++i;
      continue;
    }
    if (a == "-c" || a == "-MD" || a == "-MMD" || a == "-MP" || a == "-M" || a == "-MM" ||
        a.starts_with("-fdiagnostics-color") || a == "-fcolor-diagnostics" || a.starts_with("-Werror")) {
      continue;
    }
    out.push_back(a);
  }
  out.emplace_back("-w");
  return out;
}

std::optional<std::string> decode_string_literal(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  bool any = false;
  auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto append_utf8 = [&out](std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (c == 'R' && i + 1 < text.size() && text[i + 1] == '"') {
      const std::size_t open = text.find('(', i + 2);
      if (open == std::string_view::npos) return std::nullopt;
      const std::string close = ")" + std::string{text.substr(i + 2, open - i - 2)} + "\"";
      const std::size_t end = text.find(close, open + 1);
      if (end == std::string_view::npos) return std::nullopt;
      out += text.substr(open + 1, end - open - 1);
      i = end + close.size();
      any = true;
      continue;
    }
    if (c != '"') return std::nullopt; // a prefix (u8, L, u, U) or not a literal
    ++i;
    for (;;) {
      if (i >= text.size()) return std::nullopt;
      const char d = text[i++];
      if (d == '"') break;
      if (d != '\\') {
        out += d;
        continue;
      }
      if (i >= text.size()) return std::nullopt;
      const char e = text[i++];
      switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        unsigned value = 0;
        std::size_t digits = 0;
        while (i < text.size() && hex_value(text[i]) >= 0) {
          value = value * 16 + static_cast<unsigned>(hex_value(text[i++]));
          ++digits;
        }
        if (digits == 0) return std::nullopt;
        out += static_cast<char>(value & 0xFF);
        break;
      }
      case 'u':
      case 'U': {
        const std::size_t digits = e == 'u' ? 4 : 8;
        std::uint32_t cp = 0;
        for (std::size_t k = 0; k < digits; ++k) {
          if (i >= text.size() || hex_value(text[i]) < 0) return std::nullopt;
          cp = cp * 16 + static_cast<std::uint32_t>(hex_value(text[i++]));
        }
        append_utf8(cp);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          unsigned value = static_cast<unsigned>(e - '0');
          for (int k = 0; k < 2 && i < text.size() && text[i] >= '0' && text[i] <= '7'; ++k) {
            value = value * 8 + static_cast<unsigned>(text[i++] - '0');
          }
          out += static_cast<char>(value & 0xFF);
        } else {
          out += e; // \\ \' \" \?
        }
        break;
      }
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return out;
}

project analyze(const analysis_options& options, std::ostream& log) {
  const fs::path cwd = fs::current_path();
  const fs::path root = canonical_path(options.root, cwd);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw failure("the project root " + options.root.string() + " is not a directory");
  const std::vector<compile_command> commands = load_database(canonical_path(options.database, cwd));

  std::set<fs::path> skip;
  for (const fs::path& s : options.skip) skip.insert(canonical_path(s, cwd));
  std::vector<const compile_command*> selected;
  std::set<fs::path> seen;
  if (options.sources.empty()) {
    // Every project entry but generated sources not generated yet (another target's recall-sign
    // output, for one): a missing file in the directory its compiler runs in.
    for (const compile_command& c : commands) {
      const bool pending = !fs::exists(c.file, ec) && is_under(c.file, canonical_path(c.directory, cwd));
      if (is_project_translation_unit(c.file, root) && !skip.contains(c.file) && !pending &&
          seen.insert(c.file).second) {
        selected.push_back(&c);
      }
    }
    if (selected.empty()) {
      throw failure("the compilation database " + options.database.string() + " lists no translation unit under " +
                    root.string() + " (" + std::to_string(commands.size()) +
                    (commands.size() == 1 ? " entry" : " entries") +
                    "; is --root the project's source root, and is the database this project's?)");
    }
  } else {
    for (const fs::path& source : options.sources) {
      const fs::path file = canonical_path(source, cwd);
      const auto found =
          std::find_if(commands.begin(), commands.end(), [&](const compile_command& c) { return c.file == file; });
      if (found == commands.end()) {
        throw failure(source.string() + " is not in the compilation database " + options.database.string());
      }
      // Another target's recall-sign output, named in its target's sources, exists only once built.
      const bool pending = !fs::exists(file, ec) && is_under(file, canonical_path(found->directory, cwd));
      if (!skip.contains(file) && !pending && seen.insert(file).second) selected.push_back(&*found);
    }
  }

  for (const compile_command* command : selected) {
    if (!fs::exists(command->file, ec)) {
      throw failure(command->file.string() + " does not exist (the compilation database is stale: reconfigure)");
    }
  }

  project out;
  const cx::index_handle index{clang_createIndex(0, 0)};
  const fs::path resource_directory = libclang_resource_directory();
  std::map<std::string, std::vector<std::string>> compiler_directories;
  std::vector<std::string> unparsed; // files that do not parse, relative to the root
  for (const compile_command* command : selected) {
    std::vector<std::string> arguments = clang_arguments(command->arguments);
    if (!resource_directory.empty()) {
      arguments.insert(arguments.begin() + 1, {"-resource-dir", resource_directory.string()});
    }
    // The build's compiler's own directories last: clang's headers win, and only what clang
    // lacks (g++'s omp.h, for one) comes from there.
    const std::string compiler = compiler_of(command->arguments, command->directory);
    auto directories = compiler_directories.find(compiler);
    if (directories == compiler_directories.end()) {
      directories = compiler_directories.emplace(compiler, compiler_include_directories(compiler)).first;
    }
    for (const std::string& d : directories->second) {
      arguments.emplace_back("-idirafter");
      arguments.push_back(d);
    }
    std::vector<const char*> argv;
    argv.reserve(arguments.size());
    for (const std::string& a : arguments) argv.push_back(a.c_str());
    CXTranslationUnit raw = nullptr;
    CXErrorCode error = CXError_Failure;
    {
      const directory_guard in{command->directory};
      error = clang_parseTranslationUnit2FullArgv(
          index.get(), nullptr, argv.data(), static_cast<int>(argv.size()), nullptr, 0,
          CXTranslationUnit_DetailedPreprocessingRecord | CXTranslationUnit_IgnoreNonErrorsFromIncludedFiles, &raw);
    }
    const cx::tu_handle tu{raw};
    if (error != CXError_Success || !tu) {
      throw failure(command->file.string() + ": libclang cannot parse it with its compile command (error " +
                    std::to_string(static_cast<int>(error)) + ")");
    }
    std::vector<parse_error> errors = parse_errors(tu.get(), root, command->directory);
    // Errors only in headers outside the project (g++'s omp.h uses attributes clang 16 rejects),
    // none fatal: clang recovered and the project's code is all there; read it, and say so once.
    if (!errors.empty() &&
        std::none_of(errors.begin(), errors.end(), [](const parse_error& e) { return e.in_project || e.fatal; })) {
      const std::string text = command->file.string() + ": " + std::to_string(errors.size()) +
                               (errors.size() == 1 ? " error" : " errors") +
                               " in headers outside the project, ignored (first: " + errors.front().text + ")";
      if (out.warnings.insert(text).second) log << "recall-sign: warning: " << text << "\n";
      errors.clear();
    }
    if (!errors.empty()) {
      // A file that does not parse is skipped, not fatal: an unrelated file the build compiles
      // with flags libclang cannot follow must not turn tracking off for the whole program.
      // Only a file that memoizes functions is fatal: those functions would go untracked.
      for (const parse_error& e : errors) log << "recall-sign: " << e.text << "\n";
      const std::string what = command->file.string() + " does not parse (" + std::to_string(errors.size()) +
                               (errors.size() == 1 ? " error" : " errors") + ")";
      if (const auto line = memoize_line(tu.get(), command->file)) {
        throw failure(what + " and memoizes functions (recall::memoize at line " + std::to_string(*line) +
                      "); body signatures are not generated");
      }
      const std::vector<std::string> functions = tu_indexer::functions_defined_in_main_file(tu.get());
      std::string names;
      for (std::size_t i = 0; i < functions.size() && i < 10; ++i) names += (i == 0 ? "" : ", ") + functions[i];
      if (functions.size() > 10) names += ", and " + std::to_string(functions.size() - 10) + " more";
      log << "recall-sign: warning: " << what << "; changes to the functions it defines are not tracked"
          << (functions.empty() ? std::string{} : ": " + names) << "\n";
      unparsed.push_back(is_under(command->file, root) ? command->file.lexically_relative(root).generic_string()
                                                       : command->file.string());
      out.files.insert(command->file.string());
      continue;
    }
    tu_indexer{tu.get(), root, command->directory, out, log}.run();
    out.files.insert(command->file.string());
    ++out.translation_units;
  }
  // A memoized function whose definition was in a file that does not parse cannot be followed.
  if (!unparsed.empty()) {
    for (const recall_sign::root& r : out.roots) {
      if (out.nodes.contains(r.key)) continue;
      std::string files;
      for (const std::string& f : unparsed) files += (files.empty() ? "" : ", ") + f;
      throw failure(r.names.front() + " (memoized at " + r.site.text() + ") is defined in no translation unit " +
                    "that parses (" + files + " does not parse); body signatures are not generated");
    }
  }
  return out;
}

} // namespace recall_sign
