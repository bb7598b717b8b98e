// Thin C++ helpers over libclang's C API: owned handles, strings, children, tokens.
#pragma once

#include <clang-c/CXCompilationDatabase.h>
#include <clang-c/Index.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace recall_sign::cx {

// Takes ownership of a CXString and returns its text.
[[nodiscard]] inline std::string take(CXString s) {
  const char* text = clang_getCString(s);
  std::string out = text != nullptr ? text : "";
  clang_disposeString(s);
  return out;
}

[[nodiscard]] inline std::string spelling(CXCursor c) { return take(clang_getCursorSpelling(c)); }
[[nodiscard]] inline std::string display_name(CXCursor c) { return take(clang_getCursorDisplayName(c)); }
[[nodiscard]] inline std::string usr(CXCursor c) { return take(clang_getCursorUSR(c)); }
[[nodiscard]] inline CXCursorKind kind(CXCursor c) { return clang_getCursorKind(c); }
[[nodiscard]] inline bool null(CXCursor c) { return clang_Cursor_isNull(c) != 0; }
[[nodiscard]] inline CXCursor referenced(CXCursor c) { return clang_getCursorReferenced(c); }
[[nodiscard]] inline CXCursor definition(CXCursor c) { return clang_getCursorDefinition(c); }
[[nodiscard]] inline CXCursor semantic_parent(CXCursor c) { return clang_getCursorSemanticParent(c); }
[[nodiscard]] inline CXCursor specialized_template(CXCursor c) { return clang_getSpecializedCursorTemplate(c); }

// The direct children of a cursor, in source order.
[[nodiscard]] inline std::vector<CXCursor> children(CXCursor parent) {
  std::vector<CXCursor> out;
  clang_visitChildren(
      parent,
      [](CXCursor c, CXCursor, CXClientData data) {
        static_cast<std::vector<CXCursor>*>(data)->push_back(c);
        return CXChildVisit_Continue;
      },
      &out);
  return out;
}

[[nodiscard]] inline bool is_function_kind(CXCursorKind k) {
  return k == CXCursor_FunctionDecl || k == CXCursor_CXXMethod || k == CXCursor_Constructor ||
         k == CXCursor_Destructor || k == CXCursor_ConversionFunction || k == CXCursor_FunctionTemplate;
}

[[nodiscard]] inline bool is_record_kind(CXCursorKind k) {
  return k == CXCursor_StructDecl || k == CXCursor_ClassDecl || k == CXCursor_UnionDecl ||
         k == CXCursor_ClassTemplate || k == CXCursor_ClassTemplatePartialSpecialization;
}

[[nodiscard]] inline bool is_alias_kind(CXCursorKind k) {
  return k == CXCursor_TypedefDecl || k == CXCursor_TypeAliasDecl || k == CXCursor_TypeAliasTemplateDecl;
}

struct index_deleter {
  void operator()(void* index) const { clang_disposeIndex(index); }
};
using index_handle = std::unique_ptr<void, index_deleter>;

struct tu_deleter {
  void operator()(CXTranslationUnitImpl* tu) const { clang_disposeTranslationUnit(tu); }
};
using tu_handle = std::unique_ptr<CXTranslationUnitImpl, tu_deleter>;

struct database_deleter {
  void operator()(void* db) const { clang_CompilationDatabase_dispose(db); }
};
using database_handle = std::unique_ptr<void, database_deleter>;

struct commands_deleter {
  void operator()(void* commands) const { clang_CompileCommands_dispose(commands); }
};
using commands_handle = std::unique_ptr<void, commands_deleter>;

struct diagnostic_deleter {
  void operator()(void* d) const { clang_disposeDiagnostic(d); }
};
using diagnostic_handle = std::unique_ptr<void, diagnostic_deleter>;

// The tokens of a source range, each with the cursor libclang annotates it with.
class token_list {
public:
  token_list(CXTranslationUnit tu, CXSourceRange range) : m_tu{tu} {
    CXToken* tokens = nullptr;
    unsigned count = 0;
    clang_tokenize(tu, range, &tokens, &count);
    m_tokens = tokens;
    m_count = count;
    m_cursors.resize(count);
    if (count > 0) clang_annotateTokens(tu, m_tokens, m_count, m_cursors.data());
  }
  token_list(const token_list&) = delete;
  token_list& operator=(const token_list&) = delete;
  ~token_list() {
    if (m_tokens != nullptr) clang_disposeTokens(m_tu, m_tokens, m_count);
  }

  [[nodiscard]] std::size_t size() const { return m_count; }
  [[nodiscard]] CXTokenKind kind(std::size_t i) const { return clang_getTokenKind(m_tokens[i]); }
  [[nodiscard]] std::string spelling(std::size_t i) const { return take(clang_getTokenSpelling(m_tu, m_tokens[i])); }
  [[nodiscard]] CXCursor cursor(std::size_t i) const { return m_cursors[i]; }

private:
  CXTranslationUnit m_tu;
  CXToken* m_tokens = nullptr;
  unsigned m_count = 0;
  std::vector<CXCursor> m_cursors;
};

} // namespace recall_sign::cx
