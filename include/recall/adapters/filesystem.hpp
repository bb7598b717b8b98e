// std::filesystem::path as a memoized argument or result, and recall::file_content: a file's bytes as an argument.
#pragma once

// Include this header before the code that memoizes functions taking these types: recall
// decides once per type whether it can be hashed.
//
// std::filesystem::path is hashed (and stored) as its generic string, "data/run 1/input.csv":
// the same on every platform, and independent of the file it names. A function that reads the
// file should take recall::file_content instead, whose key is the file's bytes: editing the
// input file invalidates the cached result, moving or renaming it does not.

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include <recall/detail/key/canonical_archive.hpp>
#include <recall/errors.hpp>
#include <recall/key/hashable.hpp>

namespace recall {

// A file that recall::file_content could not read to hash it: missing, unreadable, not a
// regular file, or changing size while it was read. The call does not happen.
class file_content_error : public error {
public:
  using error::error;
};

// An argument that stands for a file's current content. Keyed by the bytes (u64 size, then the
// bytes), not the path: two copies of one input hit the same entry. The file is read once per
// call to hash it, and once more after the call when the parameter is a reference (the mutation
// check), so take it by value: `double fit(recall::file_content data)`. The function reads the
// file itself through path(); a file edited between the hash and that read is not detected.
//
// An argument only: it is not default constructible, so it cannot be a result.
class file_content {
public:
  explicit file_content(std::filesystem::path path) : m_path{std::move(path)} {}

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

  // Streams the file's bytes into a canonical archive, 64 KiB at a time.
  template <class Archive>
  void CEREAL_SAVE_FUNCTION_NAME(Archive& ar) const {
    std::error_code error;
    const auto status = std::filesystem::status(m_path, error);
    if (error || !std::filesystem::is_regular_file(status)) {
      throw file_content_error{"file_content: " + describe_problem(error, status)};
    }
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen(m_path.c_str(), "rb"), &std::fclose};
    if (!file) {
      throw file_content_error{"file_content: cannot open '" + m_path.string() +
                               "': " + std::generic_category().message(errno)};
    }
    const std::uint64_t size = std::filesystem::file_size(m_path, error);
    if (error) {
      throw file_content_error{"file_content: cannot size '" + m_path.string() + "': " + error.message()};
    }
    ar(cereal::make_size_tag(size));
    std::array<unsigned char, 1 << 16> buffer{};
    std::uint64_t total = 0;
    while (total <= size) {
      const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
      if (got == 0) {
        break;
      }
      total += got;
      if (total > size) {
        break;
      }
      ar(cereal::binary_data(buffer.data(), got));
    }
    if (std::ferror(file.get()) != 0 || total != size) {
      throw file_content_error{"file_content: '" + m_path.string() +
                               "' changed size or could not be read while hashing it (" + std::to_string(size) +
                               " bytes expected, " + std::to_string(total) + " read)"};
    }
  }

private:
  [[nodiscard]] std::string describe_problem(const std::error_code& error,
                                             const std::filesystem::file_status& status) const {
    if (error || status.type() == std::filesystem::file_type::not_found) {
      return "cannot read '" + m_path.string() +
             "': " + (error ? error.message() : std::string{"No such file or directory"});
    }
    return "'" + m_path.string() + "' is not a regular file";
  }

  std::filesystem::path m_path;
};

} // namespace recall

// cereal finds these through the archive's base class namespace (argument-dependent lookup).
namespace cereal {

template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& ar, const std::filesystem::path& path) {
  ar(path.generic_string());
}

template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& ar, std::filesystem::path& path) {
  std::string generic;
  ar(generic);
  path = std::filesystem::path{std::move(generic)};
}

} // namespace cereal
