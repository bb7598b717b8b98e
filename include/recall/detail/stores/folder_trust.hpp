// Whom a cache folder or file may belong to before recall reads or writes it (docs/RELIABILITY.md,
// Trust model): whoever can write to a cache can make it return any value.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <recall/stores/sharing.hpp>

namespace recall::detail::fsio {

// Whether `group` is this process's effective group or one of its supplementary groups.
[[nodiscard]] inline bool is_my_group(::gid_t group) {
  if (group == ::getegid()) {
    return true;
  }
  const int count = ::getgroups(0, nullptr);
  if (count <= 0) {
    return false;
  }
  std::vector<::gid_t> groups(static_cast<std::size_t>(count));
  const int got = ::getgroups(count, groups.data());
  return got > 0 && std::find(groups.begin(), groups.begin() + got, group) != groups.begin() + got;
}

// Why the folder or file whose status is `status` must not be trusted under `who`, or "" when it
// may be. private_to_user: it must be this user's (effective uid) and writable by nobody else.
// sharing::group: it must be this user's or belong to one of this user's groups, and not be
// writable by others: the group's members are trusted, as that contract says.
// `me` is the effective uid to judge by: a store passes the one it took when it was made (as it
// judges entry files), which spares a geteuid() per check, two per save.
[[nodiscard]] inline std::string trust_problem(const struct ::stat& status, sharing who, ::uid_t me) {
  if (who == sharing::private_to_user && status.st_uid == me && (status.st_mode & (S_IWGRP | S_IWOTH)) == 0) {
    return {}; // the common case, without formatting the mode
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777U));
  if (who == sharing::private_to_user) {
    if (status.st_uid != me) {
      return "it is owned by user " + std::to_string(status.st_uid) + ", not by this user (" + std::to_string(me) + ")";
    }
    if ((status.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return std::string{"other users can write to it (mode "} + mode + ")";
    }
    return {};
  }
  if ((status.st_mode & S_IWOTH) != 0) {
    return std::string{"users outside its group can write to it (mode "} + mode + ")";
  }
  if (status.st_uid != me && !is_my_group(status.st_gid)) {
    return "it is owned by user " + std::to_string(status.st_uid) + " and group " + std::to_string(status.st_gid) +
           ", neither of them this user's";
  }
  return {};
}

[[nodiscard]] inline std::string trust_problem(const struct ::stat& status, sharing who) {
  return trust_problem(status, who, ::geteuid());
}

// The warning for a refused folder: what, why, and what happens now.
[[nodiscard]] inline std::string refusal_message(const std::string& folder, const std::string& problem) {
  return "refusing cache folder " + folder + ": " + problem +
         ". Whoever can write to a cache can make it return wrong values, so caching is off for it in this "
         "process (see docs/RELIABILITY.md, Trust model; recall::sharing::group trusts the folder's group)";
}

} // namespace recall::detail::fsio
