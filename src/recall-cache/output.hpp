// recall-cache's output helpers: human sizes, durations and ages, terminal progress, confirmation, failure lists.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <recall/management/cache_inspection.hpp>
#include <recall/management/progress.hpp>

namespace recall_cache {

// "512 B", "1.5 MiB".
[[nodiscard]] std::string human_size(std::uint64_t bytes);

// "1 entry", "3 entries".
[[nodiscard]] std::string entry_count(std::uint64_t n);

// "250 us", "12 ms", "3.5 s", "15 min", "2.5 h".
[[nodiscard]] std::string human_duration(std::chrono::nanoseconds d);

// "3.5 s ago"; "-" for the epoch (a time not recorded).
[[nodiscard]] std::string age(std::chrono::system_clock::time_point t);

[[nodiscard]] std::int64_t unix_seconds(std::chrono::system_clock::time_point t);

// Progress on stderr, only when stderr is a terminal: logs and pipes get the results alone (an
// empty function then).
[[nodiscard]] recall::progress_function terminal_progress();

// Asks on the terminal before removing `entries` (`bytes`) of `what` from `where`; without a
// terminal, refuses unless `force`. Returns whether to go on; when not, `exit_code` is set (2:
// no terminal to ask, 0: the answer was no).
bool confirmed(std::uint64_t entries, std::uint64_t bytes, const std::string& what, const std::string& where,
               bool force, int& exit_code);

// Says on stderr which files could not be removed, and why; 1 if any, else 0.
int report_failures(const recall::removal_report& report);

} // namespace recall_cache
