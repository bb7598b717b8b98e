// This machine's host name, looked up once per process: entries and locks record it for people.
#pragma once

#include <unistd.h>

#include <array>
#include <string>

#include <recall/detail/immortal.hpp>

namespace recall::detail {

// gethostname(2)'s answer at first use, or "" if it failed. Cached because every miss records
// it (in the manifest, and in the compute lock's holder record) and it costs a system call; a
// host renamed while a process runs keeps the old name in that process's records.
[[nodiscard]] inline const std::string& host_name() {
  static immortal<const std::string> name{[] {
    std::array<char, 256> host{};
    return ::gethostname(host.data(), host.size() - 1) == 0 ? std::string{host.data()} : std::string{};
  }()};
  return name.get();
}

} // namespace recall::detail
