// libFuzzer target: recall::import_cache_from_memory, the export-archive reader (libarchive's
// tar and zstd parsers, then recall's member checks, entry verification and saves) into a
// scratch cache that is emptied after every input.
//
// Input: the archive bytes as given (zstd-compressed or plain tar: the reader takes both; the
// seeds hold plain tars so mutations reach the tar headers and members rather than zstd).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

#include <recall/management/archive.hpp>

namespace {

std::string g_scratch; // the folder scratch_root() made, removed at exit

void remove_scratch() {
  std::error_code ignored;
  std::filesystem::remove_all(g_scratch, ignored);
}

// A scratch cache root under the system temp folder, made once per fuzzing process.
const std::filesystem::path& scratch_root() {
  static const std::filesystem::path root = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "recall-fuzz-archive-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::abort();
    }
    g_scratch = pattern;
    std::atexit(remove_scratch);
    return std::filesystem::path{pattern} / "cache";
  }();
  return root;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& root = scratch_root();
  recall::import_options options;
  options.max_entry_size = std::uint64_t{1} << 20;
  try {
    const recall::import_report report =
        recall::import_cache_from_memory(root, std::as_bytes(std::span{data, size}), options);
    // Whatever was imported was verified; nothing may have been written outside the root.
    if (report.imported > 0 && !std::filesystem::exists(root)) {
      __builtin_trap();
    }
  } catch (const recall::store_error&) {
    // The scratch cache cannot be written (a full disk): not the archive's fault.
  }
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  return 0;
}
