// recall::verification: how much of a memory-mapped entry is checked before it is served.
#pragma once

namespace recall {

enum class verification {
  // Header, size and the XXH3-128 checksum of the whole entry: a damaged entry is never served.
  // Reads every byte once (about 10 ms per 100 MB from the page cache).
  checksum,
  // Header and size only: the view is ready in microseconds, and pages are read as they are
  // touched. Bit rot inside the payload goes unnoticed; truncation and torn writes do not (entries
  // are renamed into place whole). For multi-gigabyte results read in part.
  header,
};

} // namespace recall
