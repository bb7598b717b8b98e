// Progress reports of long management operations (scans, prunes, exports, imports) to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace recall {

// Told what an operation is doing: a phase ("scanning", "reading headers", "removing",
// "exporting", "importing"), how many items are done and, when known, how many there are
// (0: unknown). Called from the thread that runs the operation, a few times a second at most,
// and once at the end of each phase with done == total. Must not throw.
using progress_function = std::function<void(std::string_view phase, std::uint64_t done, std::uint64_t total)>;

} // namespace recall
