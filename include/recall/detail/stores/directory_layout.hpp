// The layout of a directory cache: how every path in it is spelled and parsed, and the one fast
// walk over it. directory_store, its size limiter, recall::scope and the management tools (scan,
// verify, prune, archive) all go through here; nothing else spells a cache path.
#pragma once

// Layout of a cache root. Names are bytes; "hex" is the lower-case digits 0-9 a-f only.
//
//   root               ::= CACHEDIR.TAG? function-folder* partition-folder*
//   CACHEDIR.TAG       ::= the cache directory tag (https://bford.info/cachedir/), for backup tools
//   partition-folder   ::= label "_" hex{8} "/" function-folder*
//                          recall::scope: label is safe-name{1,48}, the digits the first 8 of the
//                          configuration's digest; one level only (a partition holds no partition)
//   function-folder    ::= safe-name{1,64} "-" hex{8} "/" stats? locks? shard*
//                          the function's name made safe ("unnamed" if that leaves nothing), the
//                          digits the first 8 of its identity key: `ns::simulate` is
//                          ns_simulate-0123abcd. The name is for people; the digits keep overloads
//                          and versions of a function apart.
//   stats              ::= the function's statistics (detail/stores/stats_file.hpp)
//   locks              ::= its compute locks and lock records (directory_store::lock_for_compute)
//   shard              ::= hex{2} "/" (entry-file | temp-file)*
//                          the first two digits of the keys filed in it: 256 shards per function
//   entry-file         ::= hex{32} ".rce"
//                          the call key's 32 digits (key::hex()); content: detail/stores/entry_format.hpp
//   temp-file          ::= hex{32} ".rce" ".tmp." suffix
//                          a writer's file before its rename (detail/stores/atomic_file.hpp): a
//                          store in progress, or the leftover of a writer killed mid-store
//   safe-name          ::= ([A-Za-z0-9_.-] not starting with '.' or '-')+   (detail/stores/safe_name.hpp)
//
// Anything else in the tree is foreign: the walk below skips it (and no tool deletes it), except
// that for_each_shard_file() shows a shard's other regular files to the size limiter, which sweeps
// old lock files of earlier versions (<...>.lock). Nothing below the root is followed if it is a
// symbolic link (docs/RELIABILITY.md): the walk opens every folder with O_NOFOLLOW relative to
// its parent's descriptor and reports only regular files, from fstatat(AT_SYMLINK_NOFOLLOW).
//
// Why not std::filesystem::recursive_directory_iterator: on 1,000,000 entries its path objects
// and per-entry status calls cost several times what readdir + fstatat on the folder's
// descriptor do, and it resolves paths again at every step.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <recall/detail/stores/fsio.hpp>
#include <recall/detail/stores/safe_name.hpp>
#include <recall/key/key.hpp>

namespace recall::detail::directory_layout {

// --- spelling ------------------------------------------------------------------------------------

inline constexpr std::string_view entry_extension = ".rce";
inline constexpr std::string_view temp_infix = ".tmp."; // atomic_file's temp names: <file>.tmp.<suffix>
inline constexpr std::size_t key_digits = 32;
inline constexpr std::size_t entry_name_size = key_digits + entry_extension.size();
inline constexpr std::size_t folder_digits = 8; // of an identity or a scope digest, in a folder name
inline constexpr std::size_t max_function_name_length = 64;
inline constexpr std::size_t max_partition_label_length = 48;
inline constexpr std::size_t shard_count = 256;
inline constexpr std::string_view stats_file_name = "stats";
inline constexpr std::string_view lock_file_name = "locks";
inline constexpr std::string_view cachedir_tag_name = "CACHEDIR.TAG";
// The standard signature (https://bford.info/cachedir/) and a note for whoever finds it.
inline constexpr std::string_view cachedir_tag_content =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by recall.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n";

[[nodiscard]] constexpr bool is_hex_digit(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

[[nodiscard]] constexpr bool all_hex(std::string_view text) noexcept {
  for (const char c : text) {
    if (!is_hex_digit(c)) {
      return false;
    }
  }
  return true;
}

[[nodiscard]] constexpr bool is_safe_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Appends "<safe name>-<8 hex digits>", the function folder of the function `name` whose identity
// key is `identity`.
inline void append_function_folder_name(std::string& out, std::string_view name, const key& identity) {
  if (append_safe_name(out, name, max_function_name_length) == 0) {
    out.append("unnamed");
  }
  char hex[key_digits];
  identity.write_hex(hex);
  out.push_back('-');
  out.append(hex, folder_digits);
}

[[nodiscard]] inline std::string function_folder_name(std::string_view name, const key& identity) {
  std::string out;
  append_function_folder_name(out, name, identity);
  return out;
}

// A scope's label made safe for its folder: "scope" when nothing is left.
[[nodiscard]] inline std::string partition_label(std::string_view label) {
  std::string out;
  return append_safe_name(out, label, max_partition_label_length) == 0 ? std::string{"scope"} : out;
}

// "<label>_<8 hex digits>": the partition folder of a scope labelled `label` (already made safe
// by partition_label()) whose configuration digest is `digest`.
[[nodiscard]] inline std::string partition_folder_name(std::string_view label, const key& digest) {
  char hex[key_digits];
  digest.write_hex(hex);
  std::string out;
  out.reserve(label.size() + 1 + folder_digits);
  out.append(label).append(1, '_').append(hex, folder_digits);
  return out;
}

// True if `name` is spelled like a function folder: "<name>-<8 hex digits>".
[[nodiscard]] constexpr bool is_function_folder_name(std::string_view name) noexcept {
  return name.size() >= folder_digits + 2 && name[name.size() - folder_digits - 1] == '-' &&
         all_hex(name.substr(name.size() - folder_digits));
}

// True if `name` is spelled like a partition folder: "<label>_<8 hex digits>", the label 1 to 48
// characters of [A-Za-z0-9_.-], not starting with '.' or '-'. The character before the digits
// ('_', not '-') tells it from a function folder. Archive import trusts a partition name from a
// member path only through this check: it admits no '/', no "..", no hidden name.
[[nodiscard]] constexpr bool is_partition_folder_name(std::string_view name) noexcept {
  if (name.size() < folder_digits + 2 || name.size() > max_partition_label_length + folder_digits + 1 ||
      name[name.size() - folder_digits - 1] != '_') {
    return false;
  }
  const std::string_view label = name.substr(0, name.size() - folder_digits - 1);
  if (label.front() == '.' || label.front() == '-') {
    return false;
  }
  for (const char c : label) {
    if (!is_safe_name_char(c)) {
      return false;
    }
  }
  return all_hex(name.substr(name.size() - folder_digits));
}

// The shard a key is filed in: its first two hex digits, the top byte of its high word.
[[nodiscard]] constexpr std::size_t shard_of(const key& call) noexcept {
  return static_cast<std::size_t>(call.high() >> 56);
}

// The shard folder's name, "00" to "ff".
[[nodiscard]] constexpr std::array<char, 2> shard_name(std::size_t shard) noexcept {
  constexpr std::string_view digits = "0123456789abcdef";
  return {digits[(shard >> 4) & 0xF], digits[shard & 0xF]};
}

// The shard folder a name spells ("00" to "ff"), if it spells one.
[[nodiscard]] constexpr std::optional<std::size_t> parse_shard_name(std::string_view name) noexcept {
  if (name.size() != 2 || !all_hex(name)) {
    return std::nullopt;
  }
  const auto value = [](char c) { return static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  return value(name[0]) * 16 + value(name[1]);
}

// Appends "<kk>/<32 hex digits>.rce": an entry's path relative to its function folder. Returns the
// offset in `out` where the file name starts.
inline std::size_t append_entry_path(std::string& out, const key& call) {
  const std::size_t start = out.size();
  out.append(3 + entry_name_size, '/');
  char* at = out.data() + start;
  call.write_hex(at + 3);
  at[0] = at[3];
  at[1] = at[4];
  std::copy(entry_extension.begin(), entry_extension.end(), at + 3 + key_digits);
  return start + 3;
}

// "<32 hex digits>.rce"
[[nodiscard]] inline std::string entry_file_name(const key& call) {
  std::string out(key_digits, '0');
  call.write_hex(out.data());
  out.append(entry_extension);
  return out;
}

// The key an entry file's name spells: exactly 32 lower-case hex digits and ".rce" (a temp file,
// another extension, upper-case digits or another length spell none).
[[nodiscard]] constexpr std::optional<key> parse_entry_name(std::string_view name) noexcept {
  if (name.size() != entry_name_size || name.substr(key_digits) != entry_extension ||
      !all_hex(name.substr(0, key_digits))) {
    return std::nullopt;
  }
  return key::from_hex(name.substr(0, key_digits));
}

// True for a writer's temp file: "<32 hex digits>.rce.tmp.<suffix>", the suffix not empty.
[[nodiscard]] constexpr bool is_temp_entry_name(std::string_view name) noexcept {
  return name.size() > entry_name_size + temp_infix.size() && parse_entry_name(name.substr(0, entry_name_size)) &&
         name.substr(entry_name_size, temp_infix.size()) == temp_infix;
}

// --- the walk ------------------------------------------------------------------------------------

// A folder opened to be read (readdir), closed when it goes.
class folder_reader {
public:
  folder_reader() noexcept = default;
  // Takes `fd` (a folder open for reading); -1 makes an empty reader.
  explicit folder_reader(int fd) noexcept {
    if (fd >= 0) {
      m_dir.reset(::fdopendir(fd));
      if (!m_dir) {
        ::close(fd);
      }
    }
  }

  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(m_dir); }
  [[nodiscard]] int fd() const noexcept { return ::dirfd(m_dir.get()); }
  // The next name, or nullptr at the end; "." and ".." are skipped.
  [[nodiscard]] const ::dirent* next() noexcept {
    while (const ::dirent* d = ::readdir(m_dir.get())) {
      const std::string_view name = d->d_name;
      if (name != "." && name != "..") {
        return d;
      }
    }
    return nullptr;
  }

private:
  struct closer {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
  };
  std::unique_ptr<DIR, closer> m_dir;
};

// The folder `name` below the folder open as `parent`, opened for reading without following a
// link: -1 (errno ELOOP or ENOTDIR) when `name` is a link or not a folder.
[[nodiscard]] inline int open_folder_at(int parent, const char* name) noexcept {
  return fsio::openat_retrying(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

// A cache root (or any folder) by its path, opened for reading: links on the way to it and the
// root itself may be links (the symlink policy starts below the root). -1 with errno on failure.
[[nodiscard]] inline int open_root(const std::string& path) noexcept {
  return fsio::open_retrying(path.c_str(), O_RDONLY | O_DIRECTORY);
}

namespace walk_detail {

// Calls `visit`; true unless it returned false (a visitor returning void never stops the walk).
template <class Visit, class... Args>
[[nodiscard]] bool go_on(Visit& visit, Args&&... args) {
  if constexpr (std::is_void_v<std::invoke_result_t<Visit&, Args...>>) {
    visit(std::forward<Args>(args)...);
    return true;
  } else {
    return static_cast<bool>(visit(std::forward<Args>(args)...));
  }
}

// Whether a readdir record may be a folder (d_type DT_UNKNOWN on file systems that do not say).
[[nodiscard]] inline bool may_be_folder(const ::dirent& d) noexcept {
  return d.d_type == DT_DIR || d.d_type == DT_UNKNOWN;
}

// A new reader of the folder open as `folder` (its own file offset, so walks may nest).
[[nodiscard]] inline folder_reader reread(int folder) noexcept { return folder_reader{open_folder_at(folder, ".")}; }

} // namespace walk_detail

// A function folder met by the walk, open for the visitor's use while it runs.
struct function_folder {
  int fd = -1;                // the folder, open (O_RDONLY | O_DIRECTORY, no link followed)
  std::string_view partition; // the partition folder it is in; empty at the root
  std::string_view name;      // "ns_simulate-0123abcd"
};

// Calls visit(const function_folder&) for each function folder directly in the folder open as
// `folder` (a cache root, or the partition folder named `partition`). Folders that are links, or
// vanish or cannot be read meanwhile, are skipped. The visitor may return false to stop the walk:
// then so does this, else it returns true.
template <class Visit>
bool for_each_function_folder(int folder, std::string_view partition, Visit&& visit) {
  folder_reader reader = walk_detail::reread(folder);
  if (!reader) {
    return true;
  }
  while (const ::dirent* d = reader.next()) {
    if (!walk_detail::may_be_folder(*d) || !is_function_folder_name(d->d_name)) {
      continue;
    }
    const fsio::unique_fd fd{open_folder_at(reader.fd(), d->d_name)};
    if (fd && !walk_detail::go_on(visit, function_folder{fd.get(), partition, d->d_name})) {
      return false;
    }
  }
  return true;
}

// for_each_function_folder() over a whole cache: the function folders of the root open as `root`
// and those of each of its partition folders (one level). Each partition folder opened is told to
// on_partition(name) before its function folders are visited, even when it holds none.
template <class Visit, class OnPartition>
bool for_each_function_folder_in_tree(int root, Visit&& visit, OnPartition&& on_partition) {
  folder_reader reader = walk_detail::reread(root);
  if (!reader) {
    return true;
  }
  while (const ::dirent* d = reader.next()) {
    if (!walk_detail::may_be_folder(*d)) {
      continue;
    }
    const std::string_view name = d->d_name;
    const bool function = is_function_folder_name(name);
    if (!function && !is_partition_folder_name(name)) {
      continue;
    }
    const fsio::unique_fd fd{open_folder_at(reader.fd(), d->d_name)};
    if (!fd) {
      continue;
    }
    if (function) {
      if (!walk_detail::go_on(visit, function_folder{fd.get(), {}, name})) {
        return false;
      }
      continue;
    }
    on_partition(name);
    if (!for_each_function_folder(fd.get(), name, visit)) {
      return false;
    }
  }
  return true;
}

template <class Visit>
bool for_each_function_folder_in_tree(int root, Visit&& visit) {
  return for_each_function_folder_in_tree(root, visit, [](std::string_view) {});
}

// What a file in a shard folder is, by its name.
enum class file_kind {
  entry,    // <32 hex>.rce
  temp,     // <32 hex>.rce.tmp.<suffix>
  misnamed, // *.rce, but not a key's name: not recall's, though it claims to be an entry
  other,    // anything else
};

[[nodiscard]] constexpr file_kind kind_of(std::string_view name) noexcept {
  if (parse_entry_name(name)) {
    return file_kind::entry;
  }
  if (is_temp_entry_name(name)) {
    return file_kind::temp;
  }
  return name.ends_with(entry_extension) ? file_kind::misnamed : file_kind::other;
}

// A regular file in a shard folder, as the walk saw it; valid while the visitor runs.
struct shard_file {
  int shard_fd = -1;      // the shard folder, open: for openat / unlinkat relative to it
  std::string_view shard; // the shard folder's name, "00" to "ff"
  std::string_view name;  // the file's name
  file_kind kind = file_kind::other;
  key call;                              // the key its name spells (file_kind::entry only)
  const struct ::stat* status = nullptr; // fstatat(AT_SYMLINK_NOFOLLOW): always a regular file
};

// Calls visit(const shard_file&) for each regular file whose kind is in `kinds` in the shard
// folders of the function folder open as `function_folder`: in every shard, or in shard `only`.
// Links (to files or to shard folders) and anything but regular files are skipped, never
// followed; so are files and folders that vanish meanwhile. Each file costs one fstatat. The
// visitor may return false to stop the walk: then this returns false.
template <class Visit>
bool for_each_shard_file(int function_folder, Visit&& visit, std::initializer_list<file_kind> kinds,
                         std::optional<std::size_t> only = std::nullopt) {
  const auto wanted = [&](file_kind k) {
    for (const file_kind w : kinds) {
      if (w == k) {
        return true;
      }
    }
    return false;
  };
  const auto walk_shard = [&](std::string_view shard_text, folder_reader shard) {
    if (!shard) {
      return true;
    }
    while (const ::dirent* d = shard.next()) {
      if (d->d_type != DT_REG && d->d_type != DT_UNKNOWN) {
        continue;
      }
      const std::string_view name = d->d_name;
      const file_kind kind = kind_of(name);
      if (!wanted(kind)) {
        continue;
      }
      struct ::stat status {};
      if (::fstatat(shard.fd(), d->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(status.st_mode)) {
        continue;
      }
      const shard_file file{
          shard.fd(), shard_text, name, kind, kind == file_kind::entry ? *parse_entry_name(name) : key{}, &status};
      if (!walk_detail::go_on(visit, file)) {
        return false;
      }
    }
    return true;
  };
  if (only) {
    const std::array<char, 2> text = shard_name(*only);
    const std::string name{text.data(), text.size()};
    return walk_shard(std::string_view{text.data(), text.size()},
                      folder_reader{open_folder_at(function_folder, name.c_str())});
  }
  folder_reader reader = walk_detail::reread(function_folder);
  if (!reader) {
    return true;
  }
  while (const ::dirent* d = reader.next()) {
    if (!walk_detail::may_be_folder(*d) || !parse_shard_name(d->d_name)) {
      continue;
    }
    if (!walk_shard(std::string_view{d->d_name}, folder_reader{open_folder_at(reader.fd(), d->d_name)})) {
      return false;
    }
  }
  return true;
}

// Calls visit(const shard_file&) for each entry file (<32 hex>.rce, a regular file) of the
// function folder open as `function_folder`; temp files, foreign files and links are skipped.
template <class Visit>
bool for_each_entry(int function_folder, Visit&& visit) {
  return for_each_shard_file(function_folder, visit, {file_kind::entry});
}

} // namespace recall::detail::directory_layout
