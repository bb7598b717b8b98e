// recall::layered_store: stores stacked fastest first; a hit in a lower tier back-fills the tiers above.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <recall/detail/stores/entry_decode.hpp>
#include <recall/detail/stores/entry_format.hpp>
#include <recall/detail/stores/remote_health.hpp>
#include <recall/errors.hpp>
#include <recall/log.hpp>
#include <recall/stores/store.hpp>

namespace recall {

// How a tier takes part in a layered store.
enum class tier_access {
  read_write, // loaded from, saved to, back-filled
  read_only,  // loaded from only: a cache computed elsewhere (a cluster's Redis seen from a laptop)
};

namespace detail {

// Runs the saves of one tier on a thread of its own, in order, so that a caller waits for a save
// at most a budget (a remote tier's writes; sccache's multi-level chain does the same). At most
// `max_pending` saves wait or run at once: a save beyond that is dropped (the entry is still in
// the faster tiers, and the next process that computes it tries again), so a slow remote cannot
// make memory grow without bound. Destruction waits for the saves already queued: each is
// bounded by the tier's own deadline, and a remote skipped after a failure fails them at once.
class background_writer {
public:
  static constexpr std::size_t max_pending = 64;

  explicit background_writer(std::shared_ptr<store> target) : m_target{std::move(target)} {}
  background_writer(const background_writer&) = delete;
  background_writer& operator=(const background_writer&) = delete;
  ~background_writer() {
    {
      const std::lock_guard lock{m_mutex};
      m_stopping = true;
    }
    m_work.notify_all();
    if (m_thread.joinable()) {
      if (m_owner == ::getpid()) {
        m_thread.join();
      } else {
        m_thread.detach(); // inherited across fork(): the thread does not exist in this process
      }
    }
  }

  // What became of a save: done (it succeeded or threw within the budget: rethrown), still
  // running in the background, or dropped because too many were pending.
  enum class outcome { done, running, dropped };

  outcome save(const entry_address& address, const stored_entry& entry, std::chrono::milliseconds budget) {
    auto work = std::make_shared<job>(job{address, entry, false, nullptr});
    std::unique_lock lock{m_mutex};
    if (m_owner != ::getpid()) { // first save, or the first in a child after fork()
      if (m_thread.joinable()) {
        m_thread.detach();
      }
      m_queue.clear();
      m_owner = ::getpid();
      m_thread = std::thread{[this] { drain(); }};
    }
    if (m_queue.size() >= max_pending) {
      return outcome::dropped;
    }
    m_queue.push_back(work);
    m_work.notify_one();
    if (!m_done.wait_for(lock, budget, [&] { return work->done; })) {
      return outcome::running;
    }
    if (work->error) {
      std::rethrow_exception(work->error);
    }
    return outcome::done;
  }

private:
  struct job {
    entry_address address;
    stored_entry entry;
    bool done = false;
    std::exception_ptr error;
  };

  void drain() {
    std::unique_lock lock{m_mutex};
    while (true) {
      m_work.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
      if (m_queue.empty()) {
        return; // stopping, and nothing left to write
      }
      const std::shared_ptr<job> work = m_queue.front();
      lock.unlock();
      std::exception_ptr error;
      try {
        m_target->save(work->address, work->entry);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      m_queue.pop_front(); // counted as pending until written
      work->error = error;
      work->done = true;
      m_done.notify_all();
    }
  }

  std::shared_ptr<store> m_target;
  std::mutex m_mutex;
  std::condition_variable m_work;
  std::condition_variable m_done;
  std::deque<std::shared_ptr<job>> m_queue; // the save being written, then those waiting
  bool m_stopping = false;
  pid_t m_owner = 0;
  std::thread m_thread;
};

} // namespace detail

// Tiers are tried in order (put the fastest first). load() returns the first hit and copies it
// into the writable tiers above the one that had it; save() writes every writable tier. A tier
// that fails is skipped for that operation: the failure of one tier never hides the others, and
// a layered store throws only if every tier it tried failed.
//
// A tier with a write_budget (a remote one: memory -> local directory -> Redis or S3) is written
// by a thread of its own: save() waits for it at most that long, then returns while the write
// goes on (see detail::background_writer for the bound on pending writes).
class layered_store final : public store {
public:
  struct tier {
    std::shared_ptr<recall::store> store;
    tier_access access = tier_access::read_write;
    // Unset: save() writes this tier in the caller's thread. Set: the caller waits for the write
    // at most this long.
    std::optional<std::chrono::milliseconds> write_budget{};
  };

  explicit layered_store(std::vector<tier> tiers) : m_tiers{std::move(tiers)} {
    for (const auto& t : m_tiers) {
      if (!t.store) {
        throw config_error{"layered_store: a tier has no store"};
      }
      if (t.write_budget && t.write_budget->count() < 0) {
        throw config_error{"layered_store: a write budget must not be negative"};
      }
      m_writers.push_back(t.write_budget ? std::make_unique<detail::background_writer>(t.store) : nullptr);
    }
  }

  [[nodiscard]] std::string description() const override {
    std::string out = "layered(";
    for (std::size_t i = 0; i < m_tiers.size(); ++i) {
      out += (i == 0 ? "" : " -> ") + m_tiers[i].store->description();
      if (m_tiers[i].access == tier_access::read_only) {
        out += " [read-only]";
      }
    }
    return out + ")";
  }

  [[nodiscard]] std::string locate(const entry_address& address) const override {
    return m_tiers.empty() ? description() : m_tiers.front().store->locate(address);
  }

  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    failure_list failures;
    for (std::size_t i = 0; i < m_tiers.size(); ++i) {
      std::optional<stored_entry> entry;
      try {
        entry = m_tiers[i].store->load(address);
      } catch (const std::exception& e) {
        failures.add(e);
        continue;
      }
      if (entry) {
        back_fill(address, *entry, i);
        return entry;
      }
    }
    failures.throw_if_all_of(m_tiers.size());
    return std::nullopt;
  }

  // load() as views: the first tier's view, read as `hint` asks (so a directory tier maps large
  // and mapped entries). Back-filling the tiers above needs the whole entry: a view whose
  // checksum its tier left to the reader is checked first (and returned as checked), and a
  // damaged one is discarded from its tier and read as a miss there.
  [[nodiscard]] std::optional<entry_view> read(const entry_address& address, read_hint hint) override {
    failure_list failures;
    for (std::size_t i = 0; i < m_tiers.size(); ++i) {
      std::optional<entry_view> view;
      try {
        view = m_tiers[i].store->read(address, hint);
      } catch (const std::exception& e) {
        failures.add(e);
        continue;
      }
      if (!view) {
        continue;
      }
      if (!has_writable_tier_before(i)) {
        return view;
      }
      try {
        back_fill(address, whole_entry(*view), i);
        view->checks = entry_checks::complete;
        return view;
      } catch (const damaged_entry_error& e) {
        m_tiers[i].store->discard(address, e.reason());
      } catch (const std::exception& e) {
        failures.add(e); // intact but unreadable here (a compressed entry without libzstd): next tier
      }
    }
    failures.throw_if_all_of(m_tiers.size());
    return std::nullopt;
  }

  // Discards the entry from every writable tier that holds it: the reader does not know which
  // tier its view came from, and a copy in another tier is at worst recomputed.
  void discard(const entry_address& address, std::string_view why) override {
    for (auto& t : m_tiers) {
      if (t.access == tier_access::read_only) {
        continue;
      }
      try {
        if (t.store->contains(address)) {
          t.store->discard(address, why);
        }
      } catch (const std::exception&) {
        // Best effort per tier, like erase().
      }
    }
  }

  void save(const entry_address& address, const stored_entry& entry) override {
    failure_list failures;
    std::size_t attempted = 0;
    for (std::size_t i = 0; i < m_tiers.size(); ++i) {
      if (m_tiers[i].access == tier_access::read_only) {
        continue;
      }
      ++attempted;
      try {
        save_to(i, address, entry);
      } catch (const std::exception& e) {
        failures.add(e);
      }
    }
    failures.throw_if_all_of(attempted);
  }

  [[nodiscard]] bool contains(const entry_address& address) override {
    for (auto& t : m_tiers) {
      try {
        if (t.store->contains(address)) {
          return true;
        }
      } catch (const std::exception&) {
        // A tier that cannot answer does not know the entry; the next tier may.
      }
    }
    return false;
  }

  bool erase(const entry_address& address) override {
    bool removed = false;
    for (auto& t : m_tiers) {
      if (t.access == tier_access::read_only) {
        continue;
      }
      try {
        removed = t.store->erase(address) || removed;
      } catch (const std::exception&) {
        // Erasing is best effort per tier.
      }
    }
    return removed;
  }

  // Cross-process single flight through every writable tier that can lock, in order, each
  // given what is left of `wait_limit`; the locks obtained are held together and released in
  // reverse order. So a directory tier's lock can serialize the processes of one machine and a
  // Redis tier's those of a cluster. Read-only tiers are not locked: this process will not save
  // there, so no one there should wait for it. A tier that fails is skipped. Null when no tier
  // gave a lock (none can lock, or every wait ran out): the caller computes anyway.
  [[nodiscard]] std::unique_ptr<compute_lock> lock_for_compute(const entry_address& address,
                                                               std::chrono::milliseconds wait_limit) override {
    const auto deadline = std::chrono::steady_clock::now() + wait_limit;
    auto held = std::make_unique<lock_set>();
    for (auto& t : m_tiers) {
      if (t.access == tier_access::read_only) {
        continue;
      }
      const auto left =
          std::max(std::chrono::milliseconds{0},
                   std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      try {
        if (auto lock = t.store->lock_for_compute(address, left)) {
          held->locks.push_back(std::move(lock));
        }
      } catch (const std::exception& e) {
        // The tier warned about its own outage; a line per miss only for those who ask.
        if (detail::verbose_logging()) {
          log(log_level::debug, "compute lock in " + t.store->description() + " failed: " + e.what());
        }
      }
    }
    if (held->locks.empty()) {
      return nullptr;
    }
    if (held->locks.size() == 1) {
      return std::move(held->locks.front());
    }
    return held;
  }

  // One attempt at every writable tier that can lock, in order: busy as soon as one tier is
  // (the locks already taken are released), acquired when at least one tier gave its lock and
  // none was busy, unsupported when no tier can lock. A tier that fails is skipped.
  [[nodiscard]] lock_attempt try_lock_for_compute(const entry_address& address, std::string_view label) override {
    auto held = std::make_unique<lock_set>();
    for (auto& t : m_tiers) {
      if (t.access == tier_access::read_only) {
        continue;
      }
      try {
        lock_attempt attempt = t.store->try_lock_for_compute(address, label);
        if (attempt.outcome == lock_outcome::busy) {
          return {lock_outcome::busy, nullptr};
        }
        if (attempt.outcome == lock_outcome::acquired) {
          held->locks.push_back(std::move(attempt.lock));
        }
      } catch (const std::exception& e) {
        log(log_level::debug, "compute lock in " + t.store->description() + " failed: " + e.what());
      }
    }
    if (held->locks.empty()) {
      return {};
    }
    return {lock_outcome::acquired, std::move(held)};
  }

  [[nodiscard]] std::vector<entry_description> similar_entries(const function_id& function,
                                                               std::size_t limit) override {
    for (auto& t : m_tiers) {
      try {
        auto found = t.store->similar_entries(function, limit);
        if (!found.empty()) {
          return found;
        }
      } catch (const std::exception&) {
        // Explanations are best effort: ask the next tier.
      }
    }
    return {};
  }

  void record_stats(const function_id& function, const function_stats& delta) override {
    for (auto& t : m_tiers) {
      if (t.access == tier_access::read_write) {
        try {
          t.store->record_stats(function, delta);
        } catch (const std::exception&) {
          // Statistics are advisory.
        }
      }
    }
  }

  // The first tier's statistics that keeps any.
  [[nodiscard]] std::optional<function_stats> recorded_stats(const function_id& function) override {
    for (auto& t : m_tiers) {
      try {
        if (auto found = t.store->recorded_stats(function)) {
          return found;
        }
      } catch (const std::exception&) {
        // Advisory: ask the next tier.
      }
    }
    return std::nullopt;
  }

  [[nodiscard]] const std::vector<tier>& tiers() const noexcept { return m_tiers; }

private:
  // The locks of several tiers, released last-acquired first.
  struct lock_set final : compute_lock {
    std::vector<std::unique_ptr<compute_lock>> locks;
    ~lock_set() override {
      while (!locks.empty()) {
        locks.pop_back();
      }
    }
  };

  [[nodiscard]] bool has_writable_tier_before(std::size_t i) const noexcept {
    return std::any_of(m_tiers.begin(), m_tiers.begin() + static_cast<std::ptrdiff_t>(i),
                       [](const tier& t) { return t.access != tier_access::read_only; });
  }

  // The entry a view shows, as save() takes it: checked, decompressed, its manifest decoded.
  // Throws damaged_entry_error or format_error.
  [[nodiscard]] static stored_entry whole_entry(const entry_view& view) {
    stored_entry entry{detail::checked_payload(view), view.metadata, {}};
    if (!view.manifest.empty()) {
      entry.manifest = detail::decode_manifest(view.manifest);
    }
    return entry;
  }

  void back_fill(const entry_address& address, const stored_entry& entry, std::size_t found_at) {
    for (std::size_t i = 0; i < found_at; ++i) {
      if (m_tiers[i].access == tier_access::read_only) {
        continue;
      }
      try {
        save_to(i, address, entry);
      } catch (const std::exception& e) {
        if (detail::verbose_logging()) {
          log(log_level::debug, "back-fill of " + m_tiers[i].store->description() + " failed: " + e.what());
        }
      }
    }
  }

  // Every tier failing is a store failure (memoize warns); some failing is routine degradation.
  struct failure_list {
    std::string messages;
    std::size_t count = 0;

    void add(const std::exception& e) { messages += (count++ == 0 ? "" : "; ") + std::string{e.what()}; }
    void throw_if_all_of(std::size_t attempted) const {
      if (attempted > 0 && count == attempted) {
        throw store_error{"every tier failed: " + messages};
      }
    }
  };

  // Saves to tier i, through its background writer when it has a write budget. A write dropped
  // because too many are pending is logged (when verbose) like a failed back-fill, not thrown:
  // the faster tiers hold the entry.
  void save_to(std::size_t i, const entry_address& address, const stored_entry& entry) {
    if (!m_writers[i]) {
      m_tiers[i].store->save(address, entry);
      return;
    }
    if (m_writers[i]->save(address, entry, *m_tiers[i].write_budget) == detail::background_writer::outcome::dropped &&
        detail::verbose_logging()) {
      log(log_level::debug, "save to " + m_tiers[i].store->description() + " dropped: " +
                                std::to_string(detail::background_writer::max_pending) + " writes already pending");
    }
  }

  std::vector<tier> m_tiers;
  std::vector<std::unique_ptr<detail::background_writer>> m_writers; // per tier; null: no write budget
};

} // namespace recall
