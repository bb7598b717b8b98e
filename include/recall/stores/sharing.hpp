// recall::sharing: who may use a cache directory: its owner alone, or the members of its group.
#pragma once

namespace recall {

// Permissions of what a directory_store creates. The cache trusts whoever can write to it (a
// cache directory is trusted like a library on disk: docs/RELIABILITY.md), so the default keeps
// everyone else out.
enum class sharing {
  // Folders 0700, entry, lock and stats files 0600: only the owner reads or writes.
  private_to_user,
  // Folders 2770 (setgid: what is created inside belongs to the folder's group, whoever creates
  // it), files 0660: every member of the group reads and writes; others nothing. Give the root
  // the group first (chgrp GROUP ROOT; chmod 2770 ROOT); a root recall creates gets the
  // creating user's primary group.
  group,
};

} // namespace recall
