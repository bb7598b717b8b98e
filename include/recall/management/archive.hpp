// recall::export_cache / import_cache: move a directory cache's entries between machines in one
// zstd-compressed tar archive; import verifies every entry and trusts nothing in the archive.
// Needs libarchive (with zstd) at link time: Debian's libarchive-dev, `-larchive`.
#pragma once

// Archive layout (tar, pax format, compressed with zstd):
//
//   RECALL-ARCHIVE                         first member, text: "recall cache archive 1\n"
//                                          "key-format <N>\nentry-format <N>\n"
//   entries/<function folder>/<kk>/<key>.rce  one member per entry: the entry file's bytes
//   entries/<partition>/<function folder>/<kk>/<key>.rce  the same, for an entry of a partition
//
// Import uses a member path for one thing only: its partition, the component after "entries/"
// when the path has the partitioned shape above (a function folder name, "<name>-<8 hex>", in
// the second place). That component must pass is_partition_folder_name() (a "<label>_<8 hex>"
// name: no '/', no "..", no leading '.'), else the member is rejected; paths of any other
// shape go to the root.
// A partition cannot be checked against the entry (its key folds in the scope's digest, which
// cannot be recovered), and need not be: an entry filed under the wrong partition is never asked
// for there. Everything else comes from the verified entry: import places each entry where the
// store itself would, under the (partition and) function folder derived from the verified
// header's identity and the verified manifest's function name, at the verified header's call
// key, written through directory_store::save (temp file and rename).
//
// What import does with each member:
//   - absolute path, a ".." component, not a regular file, or not named *.rce: rejected;
//   - the partitioned shape with a partition that is not a partition folder name: rejected;
//   - declared size over import_options::max_entry_size: rejected before any byte is read;
//     other sizes are allocated only as the data arrives (a forged size costs nothing);
//   - its first 96 bytes are checked as an entry header (magic, version, header checksum, and
//     the sizes it declares against the member's size) as soon as they arrive: a member that
//     fails is rejected (or skipped as incompatible) before the rest of it is read;
//   - members of import_options::stream_from bytes or more go to an unnamed temp file and are
//     verified through a memory map, not read into memory;
//   - entry format version not this build's, or an archive whose key format is not: skipped as
//     incompatible (the keys would never be asked for);
//   - header, size, checksum or manifest damaged: rejected;
//   - already in the cache: counted, left as it is;
//   - otherwise imported.
// A truncated or unreadable archive stops the import (entries imported before stay: each was
// whole and verified) and says why in import_report::stopped.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/key/call_key.hpp>
#include <recall/detail/management/entry_scan.hpp>
#include <recall/detail/management/progress_throttle.hpp>
#include <recall/detail/management/tar_zstd.hpp>
#include <recall/detail/stores/directory_layout.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/file_mapping.hpp>
#include <recall/detail/stores/fsio.hpp>
#include <recall/errors.hpp>
#include <recall/management/pack_management.hpp>
#include <recall/management/progress.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/pack_store.hpp>
#include <recall/stores/store_layout.hpp>

namespace recall {

struct export_report {
  std::uint64_t entries = 0;                                          // entries written to the archive
  std::uint64_t bytes = 0;                                            // their bytes, uncompressed
  std::vector<std::pair<std::filesystem::path, std::string>> skipped; // damaged entries left out, and why
};

struct import_options {
  // Members declaring more bytes than this are rejected unread. Raise it for caches of larger
  // results; it bounds what one member can make import allocate.
  std::uint64_t max_entry_size = std::uint64_t{1} << 30;
  // Members of this size or more are copied to an unnamed temp file (in the cache's root when
  // it exists, so on its filesystem) and verified through a memory map, instead of being read
  // into memory: the archive's bytes of a large entry then cost page cache, not heap.
  std::uint64_t stream_from = std::uint64_t{64} << 20;
  progress_function progress{}; // phase "importing": compressed bytes read out of the total
  // The store to import into: unset, what the root holds (a new root: directory). Importing a
  // directory cache's archive into a pack root (or the reverse) converts it.
  std::optional<store_layout> layout{};
};

struct import_report {
  std::uint64_t imported = 0;
  std::uint64_t already_present = 0;
  std::uint64_t skipped_incompatible = 0;                    // another key-format or entry-format version
  std::uint64_t rejected = 0;                                // corrupt entries and unsafe or foreign members
  std::vector<std::pair<std::string, std::string>> problems; // member name, why it was rejected or skipped
  // Why the import ended before the archive did (truncated, not an archive, ...); empty when
  // every member was read.
  std::string stopped;
};

namespace detail::management {

inline constexpr std::string_view archive_marker_name = "RECALL-ARCHIVE";
inline constexpr std::string_view archive_entries_folder = "entries/";
inline constexpr std::uint32_t archive_format_version = 1;

[[nodiscard]] inline std::string archive_marker_text() {
  return "recall cache archive " + std::to_string(archive_format_version) + "\nkey-format " +
         std::to_string(key_format_version) + "\nentry-format " + std::to_string(entry_format_version) + "\n";
}

// Why a member's path is unsafe to have in an archive, or empty when it is fine.
[[nodiscard]] inline std::string unsafe_path_reason(std::string_view path) {
  if (path.empty()) {
    return "empty path";
  }
  if (path.front() == '/') {
    return "absolute path";
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (path.substr(start, end - start) == "..") {
      return "path escapes with '..'";
    }
    start = end + 1;
  }
  return {};
}

// The partition an entry member goes to, from its path. A path of the partitioned shape,
// "entries/<partition>/<function folder>/<kk>/<file>" (the function folder named
// "<name>-<8 hex digits>"), names its partition, which must be a partition folder name: else
// nullopt, with `why` set. Any other path goes to the root: "" (member paths are otherwise for
// people, as they always were). Call after unsafe_path_reason().
[[nodiscard]] inline std::optional<std::string> partition_of_member(std::string_view path, std::string& why) {
  if (!path.starts_with(archive_entries_folder)) {
    return std::string{};
  }
  path.remove_prefix(archive_entries_folder.size());
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() != 4 || !is_function_folder_name(parts[1])) {
    return std::string{};
  }
  if (!is_partition_folder_name(parts[0])) {
    why = "bad partition folder name '" + std::string{parts[0]} +
          "' (expected <label>_<8 hex digits>, the label of A-Z a-z 0-9 _ . -)";
    return std::nullopt;
  }
  return std::string{parts[0]};
}

// The value after "<name> " on a line of the marker text, if present and numeric.
[[nodiscard]] inline std::optional<std::uint32_t> marker_field(std::string_view text, std::string_view name) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (line.size() > name.size() + 1 && line.starts_with(name) && line[name.size()] == ' ') {
      std::uint32_t value = 0;
      const std::string_view digits = line.substr(name.size() + 1);
      if (digits.size() > 9) {
        return std::nullopt;
      }
      for (const char c : digits) {
        if (c < '0' || c > '9') {
          return std::nullopt;
        }
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
      }
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

// What became of one entry member's bytes.
enum class entry_verdict { imported, already_present, incompatible, rejected };

// Verifies `bytes` as a whole entry file and saves it through `store` unless it is there
// already. `why` receives the reason for anything but imported / already_present. Throws
// store_error only when the destination cannot be written.
[[nodiscard]] inline entry_verdict import_entry(recall::store& store, std::span<const std::byte> bytes,
                                                std::string& why) {
  if (bytes.size() >= 6 && std::equal(entry_magic.begin(), entry_magic.end(), bytes.begin())) {
    const auto version =
        static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[4]) | (std::to_integer<unsigned>(bytes[5]) << 8));
    if (version != entry_format_version) {
      why = "entry format version " + std::to_string(version) + " (this build reads " +
            std::to_string(entry_format_version) + ")";
      return entry_verdict::incompatible;
    }
  }
  try {
    const entry_header header = decode_header(bytes);
    // Every check a load makes (size, call, checksum), then the manifest's and the payload's
    // decoding: what is saved below is the entry's content, not the archive's bytes.
    stored_entry content = decode_entry(bytes, header.call);
    if (content.manifest.function.empty()) {
      why = "the manifest names no function, so the entry has no place in the cache";
      return entry_verdict::rejected;
    }
    const function_id function{content.manifest.function, header.identity};
    const entry_address address{function, header.call};
    if (store.contains(address)) {
      return entry_verdict::already_present;
    }
    // The store encodes it again (its own compression settings apply); the manifest's encoding
    // is canonical, so the key, identity, times and manifest are the archived ones.
    store.save(address, content);
    return entry_verdict::imported;
  } catch (const format_error& e) {
    why = error::reason_of(e);
    return entry_verdict::rejected;
  }
}

// Checks the first bytes of an entry member, `head` (a whole entry header), against the
// member's `declared` size: nullopt when the rest is worth reading, else the verdict
// (incompatible or rejected) with `why` set, as import_entry() would give it for the whole member.
[[nodiscard]] inline std::optional<entry_verdict> check_member_header(std::span<const std::byte> head,
                                                                      std::uint64_t declared, std::string& why) {
  if (std::equal(entry_magic.begin(), entry_magic.end(), head.begin())) {
    const auto version =
        static_cast<std::uint16_t>(std::to_integer<unsigned>(head[4]) | (std::to_integer<unsigned>(head[5]) << 8));
    if (version != entry_format_version) {
      why = "entry format version " + std::to_string(version) + " (this build reads " +
            std::to_string(entry_format_version) + ")";
      return entry_verdict::incompatible;
    }
  }
  try {
    check_entry_size(decode_header(head), declared);
    return std::nullopt;
  } catch (const format_error& e) {
    why = error::reason_of(e);
    return entry_verdict::rejected;
  }
}

// An unnamed file for a large member, gone when closed: in `root` when it exists (the cache's
// filesystem: the system's temporary directory may be a tmpfs, in memory), else in the system's
// temporary directory. O_TMPFILE, or a named file unlinked at once where that is unsupported.
[[nodiscard]] inline fsio::unique_fd unnamed_temp_file(const std::filesystem::path& root) {
  std::error_code error;
  const std::filesystem::path folder =
      std::filesystem::is_directory(root, error) ? root : std::filesystem::temp_directory_path();
  int fd = fsio::open_retrying(folder.c_str(), O_TMPFILE | O_RDWR, 0600);
  if (fd < 0) {
    std::string pattern = (folder / "recall-import-XXXXXX").string();
    fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd >= 0) {
      ::unlink(pattern.c_str());
    }
  }
  if (fd < 0) {
    fsio::throw_io_error("cannot create a temp file in", folder.string(), errno);
  }
  return fsio::unique_fd{fd};
}

// Reads a whole archive from `a` (opened by the caller) into the cache at `root`.
inline import_report import_from(::archive* a, const std::filesystem::path& root, std::uint64_t total_bytes,
                                 const import_options& options) {
  import_report report;
  // One store per destination: the root's, and one per partition folder met, made on first use
  // (the partition folder is created only when an entry goes there).
  std::map<std::string, std::unique_ptr<recall::store>> stores;
  const auto store_for = [&](const std::string& partition) -> recall::store& {
    auto& store = stores[partition];
    if (!store) {
      const std::filesystem::path where = partition.empty() ? root : root / partition;
      if (options.layout.value_or(detect_store_layout(where)) == store_layout::pack) {
        store = std::make_unique<pack_store>(where);
      } else {
        store = std::make_unique<directory_store>(where);
      }
    }
    return *store;
  };
  static_cast<void>(store_for({})); // the root's store exists even for an archive with no entries
  progress_throttle progress{options.progress, "importing", total_bytes};
  std::vector<std::byte> data;
  bool marker_seen = false;
  bool keys_compatible = true;
  std::string key_format_text;
  for (std::uint64_t member = 0;; ++member) {
    ::archive_entry* entry = nullptr;
    const int status = ::archive_read_next_header(a, &entry);
    if (status == ARCHIVE_EOF) {
      break;
    }
    if (status < ARCHIVE_WARN) {
      report.stopped = member == 0 ? "not a recall cache archive (zstd-compressed tar): " + archive_message(a)
                                   : "the archive is damaged or truncated after " + std::to_string(member) +
                                         " members: " + archive_message(a);
      return report;
    }
    const char* raw_name = ::archive_entry_pathname(entry);
    const std::string name = raw_name != nullptr ? raw_name : "";
    const auto reject = [&](std::string why) {
      report.rejected += 1;
      report.problems.emplace_back(name, std::move(why));
    };
    if (!marker_seen) {
      // The marker comes first: anything else is some other tar, refused before it writes a file.
      if (name != archive_marker_name || ::archive_entry_filetype(entry) != AE_IFREG ||
          ::archive_entry_size(entry) > 4096) {
        report.stopped =
            "not a recall cache archive: its first member is '" + name + "', not " + std::string{archive_marker_name};
        return report;
      }
      if (read_member(a, static_cast<std::uint64_t>(std::max<la_int64_t>(0, ::archive_entry_size(entry))), data) !=
          member_read::complete) {
        report.stopped = "the archive is truncated in its first member: " + archive_message(a, "unexpected end");
        return report;
      }
      const std::string_view text{reinterpret_cast<const char*>(data.data()), data.size()};
      const auto keys = marker_field(text, "key-format");
      if (!text.starts_with("recall cache archive ") || !keys) {
        report.stopped = "not a recall cache archive: its " + std::string{archive_marker_name} + " member is malformed";
        return report;
      }
      keys_compatible = *keys == key_format_version;
      key_format_text = std::to_string(*keys);
      marker_seen = true;
      continue;
    }
    const auto type = ::archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      continue; // tar tools add folders; they carry nothing
    }
    if (std::string why = unsafe_path_reason(name); !why.empty()) {
      reject(std::move(why));
      continue;
    }
    if (type != AE_IFREG || ::archive_entry_hardlink(entry) != nullptr) {
      reject("not a regular file");
      continue;
    }
    if (!name.ends_with(directory_store::entry_extension)) {
      reject("not a cache entry (*.rce)");
      continue;
    }
    std::string partition_problem;
    const auto partition = partition_of_member(name, partition_problem);
    if (!partition) {
      reject(std::move(partition_problem));
      continue;
    }
    if (!::archive_entry_size_is_set(entry) || ::archive_entry_size(entry) < 0) {
      reject("no size in its tar header");
      continue;
    }
    const auto declared = static_cast<std::uint64_t>(::archive_entry_size(entry));
    if (declared > options.max_entry_size) {
      reject("declares " + std::to_string(declared) + " bytes, over the limit of " +
             std::to_string(options.max_entry_size));
      continue; // libarchive skips the unread data on the next header
    }
    if (!keys_compatible) {
      report.skipped_incompatible += 1;
      report.problems.emplace_back(name, "key format " + key_format_text + " (this build uses " +
                                             std::to_string(key_format_version) + ")");
      continue; // unread: libarchive skips it
    }
    const auto truncated = [&] {
      report.stopped = "the archive is truncated in member '" + name + "': " + archive_message(a, "unexpected end");
      return report;
    };
    // The header as soon as its bytes arrive: a member that is not an entry of its size is
    // judged before anything more of it is read or kept.
    const auto head = static_cast<std::size_t>(std::min<std::uint64_t>(declared, entry_header_size));
    if (read_member(a, head, data) != member_read::complete) {
      return truncated();
    }
    std::string why;
    std::optional<entry_verdict> verdict;
    if (head == entry_header_size) {
      verdict = check_member_header(data, declared, why);
    }
    fsio::unique_fd spill;
    std::unique_ptr<const file_mapping> mapping;
    std::span<const std::byte> bytes;
    if (!verdict && declared >= options.stream_from) {
      spill = unnamed_temp_file(root);
      const std::span<const std::byte> first{data};
      if (const int error = fsio::write_all(spill.get(), std::span<const std::span<const std::byte>>{&first, 1});
          error != 0) {
        fsio::throw_io_error("cannot write", "a temp file for " + name, error);
      }
      if (stream_member(a, declared - head, spill.get(), "a temp file for " + name) != member_read::complete) {
        return truncated();
      }
      mapping = std::make_unique<const file_mapping>(spill.get(), static_cast<std::size_t>(declared),
                                                     "a temp file for " + name);
      bytes = mapping->bytes();
    } else if (!verdict) {
      if (read_member(a, declared, data, head) != member_read::complete) {
        return truncated();
      }
      bytes = data;
    }
    switch (verdict ? *verdict : import_entry(store_for(*partition), bytes, why)) {
    case entry_verdict::imported: report.imported += 1; break;
    case entry_verdict::already_present: report.already_present += 1; break;
    case entry_verdict::incompatible:
      report.skipped_incompatible += 1;
      report.problems.emplace_back(name, std::move(why));
      break;
    case entry_verdict::rejected: reject(std::move(why)); break;
    }
    progress.advance(static_cast<std::uint64_t>(std::max<la_int64_t>(0, ::archive_filter_bytes(a, -1))));
  }
  if (!marker_seen) {
    report.stopped = "not a recall cache archive: it is empty";
  }
  progress.finish(total_bytes);
  return report;
}

// The file's bytes, whole, when they form an entry that verifies under `call`; else nullopt
// with `why` set.
[[nodiscard]] inline std::optional<std::vector<std::byte>> read_verified_entry(const std::string& path, const key& call,
                                                                               std::string& why) {
  const fsio::unique_fd fd{fsio::open_retrying(path.c_str(), O_RDONLY | O_NONBLOCK)};
  if (!fd) {
    why = "cannot open: " + fsio::errno_message(errno);
    return std::nullopt;
  }
  struct ::stat status {};
  if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
    why = "not a regular file";
    return std::nullopt;
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(status.st_size));
  try {
    ::iovec iov[1] = {{bytes.data(), bytes.size()}};
    bytes.resize(fsio::read_all(fd.get(), iov, 1, path));
    const entry_header header = decode_header(bytes);
    check_entry_size(header, bytes.size());
    verify_entry(header, call, std::span<const std::byte>{bytes}.subspan(entry_header_size, header.manifest_size),
                 std::span<const std::byte>{bytes}.subspan(entry_header_size + header.manifest_size));
    return bytes;
  } catch (const std::exception& e) {
    why = error::reason_of(e);
    return std::nullopt;
  }
}

inline void write_member(::archive* a, const std::string& name, std::span<const std::byte> bytes, std::int64_t mtime_ns,
                         const std::string& file) {
  const archive_entry_handle e{::archive_entry_new()};
  if (!e) {
    throw store_error{"cannot write " + file + ": out of memory"};
  }
  ::archive_entry_set_pathname(e.get(), name.c_str());
  ::archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size()));
  ::archive_entry_set_filetype(e.get(), AE_IFREG);
  ::archive_entry_set_perm(e.get(), 0600);
  ::archive_entry_set_mtime(e.get(), static_cast<time_t>(mtime_ns / 1'000'000'000),
                            static_cast<long>(mtime_ns % 1'000'000'000));
  if (::archive_write_header(a, e.get()) != ARCHIVE_OK) {
    throw store_error{"cannot write " + file + ": " + archive_message(a)};
  }
  if (!bytes.empty() && ::archive_write_data(a, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size())) {
    throw store_error{"cannot write " + file + ": " + archive_message(a)};
  }
}

} // namespace detail::management

// Writes the entries of the cache at `root` (those of `function`, a readable name or folder
// name, when it is not empty; in every partition, or in partition `scope` when it is not empty)
// to `file`, a zstd-compressed tar archive. Each entry is verified
// first; damaged ones are left out and listed in the report. The archive is written to a temp
// file beside `file` and renamed over it at the end, so a failed export leaves no partial
// archive. Throws store_error when the cache cannot be read or the archive written.
inline export_report export_cache(const std::filesystem::path& root, const std::filesystem::path& file,
                                  std::string_view function = {}, const progress_function& progress = {},
                                  std::string_view scope = {}) {
  namespace dm = detail::management;
  const dm::scan_result scan = dm::scan_entries(root, function, progress, scope);
  const std::string target = file.string();
  std::string temp = target + ".tmp.XXXXXX";
  const detail::fsio::unique_fd fd{::mkstemp(temp.data())};
  if (!fd) {
    detail::fsio::throw_io_error("cannot create the archive", target, errno);
  }
  // Removes the temp file unless the export completes.
  struct temp_guard {
    std::string path;
    bool keep = false;
    explicit temp_guard(std::string p) : path{std::move(p)} {}
    temp_guard(const temp_guard&) = delete;
    temp_guard& operator=(const temp_guard&) = delete;
    ~temp_guard() {
      if (!keep) {
        static_cast<void>(::unlink(path.c_str()));
      }
    }
  } guard{temp};
  const dm::archive_writer a{::archive_write_new()};
  if (!a) {
    throw store_error{"cannot write " + target + ": out of memory"};
  }
  if (::archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK) {
    throw store_error{"cannot write " + target + ": this libarchive cannot compress with zstd (" +
                      dm::archive_message(a.get()) + ")"};
  }
  if (::archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      ::archive_write_open_fd(a.get(), fd.get()) != ARCHIVE_OK) {
    throw store_error{"cannot write " + target + ": " + dm::archive_message(a.get())};
  }
  export_report report;
  const std::string marker = dm::archive_marker_text();
  const auto now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  dm::write_member(a.get(), std::string{dm::archive_marker_name}, std::as_bytes(std::span{marker}), now_ns, target);
  if (is_pack_root(root)) {
    // A pack root's entries go out under the names a directory store gives them, so the archive
    // imports into either store.
    pack_store store{root};
    std::vector<pack_store::listed_entry> listed;
    store.for_each_entry([&](const pack_store::listed_entry& e) {
      if (dm::pack_entry_matches(e, function)) {
        listed.push_back(e);
      }
      return true;
    });
    dm::progress_throttle exporting{progress, "exporting", listed.size()};
    std::uint64_t done = 0;
    for (const auto& e : listed) {
      exporting.advance(++done);
      std::string why;
      const auto bytes = store.entry_file(e.description.call, why);
      if (!bytes) {
        report.skipped.emplace_back(store.where(e.description.call), std::move(why));
        continue;
      }
      std::string name =
          std::string{dm::archive_entries_folder} +
          directory_store::folder_name(function_id{e.description.manifest.function, e.description.identity}) + "/";
      static_cast<void>(detail::directory_layout::append_entry_path(name, e.description.call));
      dm::write_member(a.get(), name, *bytes, e.created_ns, target);
      report.entries += 1;
      report.bytes += bytes->size();
    }
    exporting.finish(done);
  }
  dm::progress_throttle exporting{progress, "exporting", scan.entries.size()};
  std::uint64_t done = 0;
  for (const auto& e : scan.entries) {
    exporting.advance(++done);
    const std::string path = scan.entry_path(e);
    std::string why;
    const auto bytes = dm::read_verified_entry(path, e.call, why);
    if (!bytes) {
      report.skipped.emplace_back(path, std::move(why));
      continue;
    }
    const std::string name = std::string{dm::archive_entries_folder} + path.substr(scan.root.string().size() + 1);
    dm::write_member(a.get(), name, *bytes, e.last_use_ns, target);
    report.entries += 1;
    report.bytes += bytes->size();
  }
  exporting.finish(done);
  if (::archive_write_close(a.get()) != ARCHIVE_OK) {
    throw store_error{"cannot write " + target + ": " + dm::archive_message(a.get())};
  }
  if (::fsync(fd.get()) != 0) {
    detail::fsio::throw_io_error("cannot write", target, errno);
  }
  // The archive keeps mkstemp's mode, 0600, like the cache's own files: results may be private.
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    detail::fsio::throw_io_error("cannot write", target, errno);
  }
  guard.keep = true;
  return report;
}

// Imports the entries of the archive `file` (written by export_cache) into the cache at
// `root`, verifying each one fully first (see the layout comment above for what is imported,
// skipped or rejected). Throws store_error when `file` cannot be opened or an entry cannot be
// written; a damaged, truncated or foreign archive is reported in import_report::stopped.
inline import_report import_cache(const std::filesystem::path& root, const std::filesystem::path& file,
                                  const import_options& options = {}) {
  namespace dm = detail::management;
  const std::string path = file.string();
  // O_NONBLOCK: a FIFO is refused below, not waited on.
  const detail::fsio::unique_fd fd{detail::fsio::open_retrying(path.c_str(), O_RDONLY | O_NONBLOCK)};
  struct ::stat status {};
  if (!fd || ::fstat(fd.get(), &status) != 0) {
    detail::fsio::throw_io_error("cannot open the archive", path, errno);
  }
  if (!S_ISREG(status.st_mode)) {
    throw store_error{"cannot import " + path + ": not a regular file"};
  }
  const dm::archive_reader a = dm::new_cache_archive_reader();
  if (!a) {
    throw store_error{"cannot read " + path + ": out of memory"};
  }
  if (::archive_read_open_fd(a.get(), fd.get(), 64 * 1024) != ARCHIVE_OK) {
    import_report report;
    report.stopped = "not a recall cache archive (zstd-compressed tar): " + dm::archive_message(a.get());
    return report;
  }
  return dm::import_from(a.get(), root, static_cast<std::uint64_t>(status.st_size), options);
}

// import_cache() for an archive held in memory: the entry point of the import fuzz target.
// Same checks, same report; writes only verified entries under `root`.
inline import_report import_cache_from_memory(const std::filesystem::path& root, std::span<const std::byte> archive,
                                              const import_options& options = {}) {
  namespace dm = detail::management;
  const dm::archive_reader a = dm::new_cache_archive_reader();
  if (!a) {
    throw store_error{"cannot read an archive: out of memory"};
  }
  if (::archive_read_open_memory(a.get(), archive.data(), archive.size()) != ARCHIVE_OK) {
    import_report report;
    report.stopped = "not a recall cache archive (zstd-compressed tar): " + dm::archive_message(a.get());
    return report;
  }
  return dm::import_from(a.get(), root, archive.size(), options);
}

} // namespace recall
