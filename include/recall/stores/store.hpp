// recall::store: the one interface every tier implements (memory, directory, Redis), and what
// flows through it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/key/key.hpp>
#include <recall/log.hpp>

namespace recall {

// Which memoized function an entry belongs to. `name` is the readable, normalized name (the
// qualified C++ name, or the memoize_as label); `identity` is the hash of the whole function
// identity (name, parameter and result types, version tag, body signature when known).
struct function_id {
  std::string name;
  key identity;
};

// Where an entry lives: the function it belongs to and the full key of the call.
struct entry_address {
  const function_id& function;
  key call;
};

// What the caller knows about an entry besides its bytes.
struct entry_metadata {
  std::chrono::system_clock::time_point created{};
  std::chrono::nanoseconds compute_time{0};
};

// What an entry says about the call that made it, for people and tools (recall-cache ls/show,
// miss explanations): never needed to serve a hit. Digests are 32-hex-digit XXH3-128 values of
// the canonical encodings, the same parts the key was combined from.
struct entry_manifest {
  std::string function;                      // identity name
  std::string signature;                     // "(const ns::params&,int)->double"
  std::string version;                       // the recall::version tag
  std::string label;                         // short readable arguments, e.g. "{dt=0.01 steps=100} 1000"
  std::vector<std::string> argument_types;   // canonical parameter types
  std::vector<std::string> argument_digests; // one per argument
  std::vector<std::string> global_names;     // declared globals
  std::vector<std::string> global_digests;   // one per global
  std::string host;                          // the machine and process that computed it: "<host>:<pid>"
  std::string body; // the build-time body signature (recall-sign) of the code that computed it;
                    // empty when that code was not tracked, or the entry predates this field
};

// How tools show a body signature: its first 12 hex digits, or "untracked".
[[nodiscard]] inline std::string body_short_form(const std::string& body) {
  return body.empty() ? std::string{"untracked"} : body.substr(0, 12);
}

// One cached result as bytes: the canonical encoding of the function's result.
struct stored_entry {
  std::vector<std::byte> payload;
  entry_metadata metadata;
  entry_manifest manifest;
};

// From this size on an entry is "large" to read_hint::large: mapping it beats one read(), and
// checking its checksum while decoding saves two passes over its bytes.
inline constexpr std::uint64_t large_entry_size = std::uint64_t{1} << 20;

// How a caller of store::read() will use the entry, so a store can pick how to read it.
enum class read_hint {
  small,          // read it into memory and check it whole: what load() does
  large,          // decode it now, whatever its size: a store may map a large entry and leave its
                  // body checksum to the decoder (entry_checks::deferred), which then passes over
                  // the bytes once instead of three times (read, checksum, decode)
  mapped,         // keep a view of it (recall::mapped): map it if the store can; the body checksum
                  // is not checked (verification::header)
  mapped_checked, // the same, with the checksum checked before the view is returned
                  // (verification::checksum)
};

// How an entry_view's payload is stored.
enum class payload_encoding {
  raw,  // the result's canonical encoding itself
  zstd, // a zstd frame of it (detail/stores/zstd_codec.hpp)
};

// What a store checked before returning an entry_view.
enum class entry_checks {
  complete, // header, call key, sizes and checksum: the bytes are exactly those save() was given
  deferred, // header, call key and sizes only: the reader checks body_checksum over manifest and
            // payload (detail/stores/entry_decode.hpp does, while decoding) or serves the bytes
            // unchecked as verification::header allows
};

// What keeps an entry_view's bytes alive.
enum class entry_backing {
  buffer,  // memory the store read the entry into
  mapping, // a memory mapping of the file the entry is kept in
};

// One stored entry as read(): views of its bytes and the object that owns them. The spans stay
// valid as long as `owner` lives, even if the entry is replaced, evicted or erased meanwhile.
struct entry_view {
  std::shared_ptr<const void> owner;
  std::span<const std::byte> manifest; // encoded (entry_format.hpp); empty when the store keeps it decoded
  std::span<const std::byte> payload;  // as stored: see encoding
  payload_encoding encoding = payload_encoding::raw;
  entry_checks checks = entry_checks::complete;
  entry_backing backing = entry_backing::buffer;
  key body_checksum; // XXH3-128 of manifest then payload: what a deferred check compares
  entry_metadata metadata;

  // A view of an entry load() returned: raw, checked, owning it.
  [[nodiscard]] static entry_view of(stored_entry entry) {
    auto held = std::make_shared<const stored_entry>(std::move(entry));
    entry_view view;
    view.payload = held->payload;
    view.metadata = held->metadata;
    view.owner = std::move(held);
    return view;
  }
};

// Counters of one function's calls, summed over processes by the store that keeps them.
struct function_stats {
  std::uint64_t hits = 0;         // calls served from the cache (memory or store)
  std::uint64_t misses = 0;       // calls that computed
  std::uint64_t stores = 0;       // entries written
  std::uint64_t bytes_stored = 0; // payload bytes written
  std::uint64_t saved_ns = 0;     // compute time of the entries served from the store
  std::uint64_t compute_ns = 0;   // compute time of the calls that computed (misses): what
                                  // recall::plan_sweep predicts from

  function_stats& operator+=(const function_stats& other) noexcept {
    hits += other.hits;
    misses += other.misses;
    stores += other.stores;
    bytes_stored += other.bytes_stored;
    saved_ns += other.saved_ns;
    compute_ns += other.compute_ns;
    return *this;
  }

  [[nodiscard]] bool empty() const noexcept {
    return hits == 0 && misses == 0 && stores == 0 && bytes_stored == 0 && saved_ns == 0 && compute_ns == 0;
  }
};

// One entry as tools and miss explanations see it: its identity and manifest, not its result.
struct entry_description {
  key call;
  key identity;
  entry_manifest manifest;
};

// Held while this process computes an entry that other processes may want too; released when
// destroyed. Implementations keep it alive (renew a lease, refresh a heartbeat) for as long as
// it exists.
class compute_lock {
public:
  compute_lock() = default;
  compute_lock(const compute_lock&) = delete;
  compute_lock& operator=(const compute_lock&) = delete;
  virtual ~compute_lock() = default;
};

// What one try_lock_for_compute() found.
enum class lock_outcome {
  acquired,    // `lock` is held (or the entry appeared meanwhile): load again, else compute and store
  busy,        // another process, here or on another host, is computing the entry: come back later
  unsupported, // the store cannot lock: compute without a lock
};

struct lock_attempt {
  lock_outcome outcome = lock_outcome::unsupported;
  std::unique_ptr<compute_lock> lock; // set when acquired; may hold nothing (see above)
};

// A place entries are kept. Contracts, for every implementation:
// - load() returns the payload and metadata; its manifest may be left empty (a hit does not
//   need it; similar_entries and store-specific listing read manifests).
// - load() returns an entry only if its bytes are exactly those save() was given (checksummed
//   where the medium can corrupt them); a damaged entry is removed, logged, and reads as a miss.
// - read() is load() as views (entry_view), the one way memoize reads: a store that can map
//   entries or leave their checksum to the decoder says so in the view; the default wraps load().
//   When a deferred check fails, the reader calls discard(), and the store removes and logs the
//   entry as it would have had it found the damage itself.
// - save() is atomic: a concurrent or later load() sees the whole entry or none of it.
// - Failures of the medium (I/O, network) throw recall::store_error; memoize catches them and
//   the call still returns its computed result.
// - Implementations are safe to call from several threads at once.
class store {
public:
  store() = default;
  store(const store&) = delete;
  store& operator=(const store&) = delete;
  virtual ~store() = default;

  // A short human-readable description for logs, e.g. "directory /home/u/.cache/recall".
  [[nodiscard]] virtual std::string description() const = 0;

  // Where one entry is (or would be) kept, for logs: a file path, a Redis key.
  [[nodiscard]] virtual std::string locate(const entry_address& /*address*/) const { return description(); }

  [[nodiscard]] virtual std::optional<stored_entry> load(const entry_address& address) = 0;

  // The entry at `address` as views of its bytes, read as `hint` suits; nullopt on a miss.
  [[nodiscard]] virtual std::optional<entry_view> read(const entry_address& address, read_hint /*hint*/) {
    auto entry = load(address);
    if (!entry) {
      return std::nullopt;
    }
    return entry_view::of(std::move(*entry));
  }

  // Removes the entry at `address`, which a check outside the store (a deferred checksum) found
  // damaged for the reason `why`; logged as a warning. The default erases it through erase().
  virtual void discard(const entry_address& address, std::string_view why) {
    const bool removed = erase(address);
    log(log_level::warning, (removed ? "removed damaged cache entry " : "damaged cache entry ") + locate(address) +
                                ": " + std::string{why});
  }

  virtual void save(const entry_address& address, const stored_entry& entry) = 0;
  [[nodiscard]] virtual bool contains(const entry_address& address) = 0;
  // True if an entry was removed.
  virtual bool erase(const entry_address& address) = 0;

  // Up to `limit` entries of functions with `function.name`, whatever their identity (an entry
  // of an older version of the function counts): what a miss is compared with to explain it.
  // Stores that cannot enumerate return nothing, which is the default.
  [[nodiscard]] virtual std::vector<entry_description> similar_entries(const function_id& /*function*/,
                                                                       std::size_t /*limit*/) {
    return {};
  }

  // Adds a batch of a function's counters to the store's statistics (a stats file beside its
  // entries, a Redis hash). Advisory: stores that keep none ignore it, which is the default.
  virtual void record_stats(const function_id& /*function*/, const function_stats& /*delta*/) {}

  // The counters record_stats() has added up for `function`, summed over processes; nullopt when
  // the store keeps none, which is the default. recall::plan_sweep predicts times from them.
  [[nodiscard]] virtual std::optional<function_stats> recorded_stats(const function_id& /*function*/) {
    return std::nullopt;
  }

  // Cross-process single flight. Blocks until this process may compute `address` (returns the
  // lock to hold while computing and storing), or until `wait_limit` has passed (returns null:
  // the caller computes anyway, so a stuck holder delays a call but never blocks it forever).
  // The holder of a lock that died is detected and its lock recovered. After acquiring, the
  // caller loads again: the previous holder has usually stored the entry by then. Stores that
  // cannot lock return null at once, which is the default.
  [[nodiscard]] virtual std::unique_ptr<compute_lock> lock_for_compute(const entry_address& /*address*/,
                                                                       std::chrono::milliseconds /*wait_limit*/) {
    return nullptr;
  }

  // One attempt at the lock lock_for_compute() waits for, never waiting: recall::sweep works on
  // other points while another process computes this one, and comes back to it at the end.
  // `label` (the call's arguments, short; see detail/key/label.hpp) is recorded with this host,
  // process id and the time, for people listing the computations under way (recall-cache
  // running). Stores that cannot lock return lock_outcome::unsupported, which is the default.
  [[nodiscard]] virtual lock_attempt try_lock_for_compute(const entry_address& /*address*/,
                                                          std::string_view /*label*/) {
    return {};
  }
};

} // namespace recall
