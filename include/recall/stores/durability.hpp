// recall::durability: how hard a store works to keep a saved entry through a crash or power loss.
#pragma once

namespace recall {

// Every level writes atomically (temp file, then rename): a reader never sees a partial entry,
// and a process crash never leaves one. The levels differ only after a power loss or OS crash.
enum class durability {
  // Atomic but not durable: entries written just before a power loss may be missing, or may
  // survive as empty or garbled files. Checksums turn those into misses; nothing wrong is ever
  // returned. The right choice for a cache, and much faster on most filesystems.
  none,
  // Durable: the entry file is fsynced before the rename, and its folder (and any folder the
  // store had to create) after it, so an entry save() returned from survives a power loss.
  // Costs one or more disk flushes per save.
  fsync,
};

} // namespace recall
