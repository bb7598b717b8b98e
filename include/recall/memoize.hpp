// recall::memoize<&f> and recall::memoize_as<"name">(callable): a function whose results persist.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unistd.h>
#include <utility>

#include <recall/detail/identity/type_name.hpp>
#include <recall/detail/immortal.hpp>
#include <recall/detail/key/call_key.hpp>
#include <recall/detail/key/canonical_archive.hpp>
#include <recall/detail/key/label.hpp>
#include <recall/detail/memoize/miss_explanation.hpp>
#include <recall/detail/memoize/stats_batch.hpp>
#include <recall/detail/policy/callable_traits.hpp>
#include <recall/detail/policy/duration_text.hpp>
#include <recall/detail/policy/policy_set.hpp>
#include <recall/detail/policy/single_flight.hpp>
#include <recall/detail/policy/store_registry.hpp>
#include <recall/detail/policy/temp_cache.hpp>
#include <recall/detail/policy/warn_once.hpp>
#include <recall/detail/stores/entry_decode.hpp>
#include <recall/detail/stores/host_name.hpp>
#include <recall/errors.hpp>
#include <recall/identity/body_signatures.hpp>
#include <recall/identity/function_identity.hpp>
#include <recall/key/hashable.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/mapped.hpp>
#include <recall/policy/environment.hpp>
#include <recall/policy/options.hpp>
#include <recall/stores/memory_store.hpp>
#include <recall/stores/store.hpp>
#include <recall/stores/verification.hpp>

namespace recall {

namespace detail {

// Instantiated once per parameter: a failing assertion here names the argument's position and
// type in the compiler's "required from" note.
template <std::size_t Position, class Parameter>
struct argument_must_be_hashable {
  using type = std::remove_cvref_t<Parameter>;
  static_assert(!std::is_pointer_v<type>,
                "recall::memoize: an argument is a raw pointer (see argument_must_be_hashable<POSITION, TYPE> "
                "above; positions count from 0). A pointer's address means nothing in the next run, so it "
                "cannot be part of a key: take the value by const reference (const T&), or a std::span / "
                "std::string_view for arrays and strings.");
  static_assert(std::is_pointer_v<type> || hashable<type>,
                "recall::memoize: an argument type cannot be hashed (see argument_must_be_hashable<POSITION, "
                "TYPE> above; positions count from 0). Give the type a cereal serialize function: "
                "template <class Archive> void serialize(Archive& ar) { ar(member1, member2); } "
                "or define it with BOOST_HANA_DEFINE_STRUCT, or make it a plain aggregate of hashable members.");
  static constexpr bool value = true;
};

template <class Result>
struct result_must_be_storable {
  static_assert(!std::is_void_v<Result>,
                "recall::memoize: the function returns void, so there is nothing to cache. Return the "
                "result instead of writing it through an argument.");
  static_assert(std::is_void_v<Result> || !std::is_reference_v<Result>,
                "recall::memoize: the function returns a reference; return the value (T, not T&).");
  static_assert(std::is_void_v<Result> || std::is_reference_v<Result> || storable<Result>,
                "recall::memoize: the result type cannot be stored. It must own its data (no pointers, "
                "std::span or std::string_view), be default constructible, and be serializable: give it "
                "template <class Archive> void serialize(Archive& ar) { ar(member1, member2); } or define "
                "it with BOOST_HANA_DEFINE_STRUCT.");
  static constexpr bool value = true;
};

template <auto Global>
[[nodiscard]] key hash_global() {
  using type = std::remove_pointer_t<decltype(Global)>;
  static_assert(hashable<type>,
                "recall::globals<&g>: the global's type cannot be hashed. Give it a cereal serialize function "
                "or make it a plain aggregate of hashable members.");
  return detail::hash_value(*Global);
}

// How a key's parts came out, kept for the mutation check and log lines.
template <std::size_t Arguments>
struct call_parts {
  std::array<key, Arguments> arguments;
  key call;
};

// What memoize wraps: a function known at compile time...
template <auto F>
struct function_target {
  using traits = callable_traits<std::remove_cv_t<decltype(F)>>;
  static_assert(traits::known,
                "recall::memoize<&f>: f must be a free function or a static member function; for a lambda "
                "or a function object use recall::memoize_as<\"name\">(callable).");
  static constexpr identity_kind kind = identity_kind::function;

  static std::string name() { return canonical_function_name<F>(); }

  template <class... Args>
  decltype(auto) invoke(Args&&... args) const {
    return std::invoke(F, std::forward<Args>(args)...);
  }
};

// ...or a callable object named by the user.
template <fixed_string Name, class Callable>
struct named_target {
  using traits = object_traits<Callable>;
  static_assert(traits::known, "recall::memoize_as: the callable must have one call operator with concrete parameter "
                               "types (a lambda with `auto` parameters has none): write the types out.");
  static_assert(!Name.view().empty(), "recall::memoize_as: the name must not be empty");
  static constexpr identity_kind kind = identity_kind::named;

  static std::string name() { return std::string{Name.view()}; }

  template <class... Args>
  decltype(auto) invoke(Args&&... args) {
    return std::invoke(callable, std::forward<Args>(args)...);
  }

  Callable callable;
};

enum class call_kind { cached, refresh };

// How recall::sweep (recall/sweep.hpp) asks memoize for one point, and what it got.
enum class point_step {
  load,  // a cached result (memory tier or store), or nothing
  claim, // also: compute and store it unless another process is computing it (try-lock)
};
enum class point_source { loaded, computed, busy, missing };

template <class Result>
struct point_outcome {
  std::optional<Result> value;
  point_source source = point_source::missing;
  std::int64_t compute_ns = 0; // stored compute time when loaded, measured when computed
};

template <class Target, class Parameters, class Policies>
class basic_memoize;

template <class Target, class... Params, class... Policies>
class basic_memoize<Target, type_list<Params...>, policy_set<Policies...>> {
  using policies = policy_set<Policies...>;

public:
  using result_type = typename Target::traits::result_type;

private:
  static_assert(policies::checked);
  static_assert(result_must_be_storable<result_type>::value);
  static_assert([]<std::size_t... I>(std::index_sequence<I...>) {
    return (argument_must_be_hashable<I, Params>::value && ...);
  }(std::index_sequence_for<Params...>{}));

  static constexpr std::size_t argument_count = sizeof...(Params);

public:
  explicit basic_memoize(options opts = {}) : basic_memoize{Target{}, std::move(opts)} {}

  basic_memoize(Target target, options opts) : m_target{std::move(target)} { configure(std::move(opts)); }

  basic_memoize(basic_memoize&&) noexcept = default;
  basic_memoize& operator=(basic_memoize&&) noexcept = default;
  basic_memoize(const basic_memoize&) = delete;
  basic_memoize& operator=(const basic_memoize&) = delete;

  // Adds what this object counted to its store's statistics.
  ~basic_memoize() { flush_stats(); }

  // Adds the counters gathered since the last flush to the store's statistics now (they are
  // also added every few seconds of misses, and when the object is destroyed).
  void flush_stats() noexcept {
    if (!m_stats || !m_store) {
      return;
    }
    const function_stats delta = m_stats->take();
    if (delta.empty()) {
      return;
    }
    try {
      m_store->record_stats(identity().id, delta);
    } catch (...) {
      // Statistics are advisory: losing a batch never matters to a call.
    }
  }

  // Loads the cached result for these arguments, or calls the function and stores its result.
  result_type operator()(Params... params) { return call(call_kind::cached, std::forward<Params>(params)...); }

  // Calls the function whatever is cached and replaces the entry with its result.
  result_type refresh(Params... params) { return call(call_kind::refresh, std::forward<Params>(params)...); }

  // The result for these arguments as a read-only array (recall/mapped.hpp). When its store maps
  // it raw (a directory store, alone or as a tier of a layered store) the view is a memory map of
  // the entry: a 100 MB result is ready without being read or copied, checked as
  // options.mapped_verification says. Otherwise (compressed, a store that reads into memory,
  // mode::off) the view owns the decoded result. On a miss the result is
  // computed and stored first, as operator() does.
  [[nodiscard]] recall::mapped<result_type> mapped(Params... params)
    requires mappable_result<result_type>
  {
    using view = recall::mapped<result_type>;
    if (m_mode == mode::off) {
      return view::owning(m_target.invoke(std::forward<Params>(params)...));
    }
    const recall::key k = hash_call(std::as_const(params)...).call;
    if (m_mode != mode::refresh) {
      if (auto found = map_stored(k, hit_accounting::count)) {
        return std::move(*found);
      }
    }
    result_type value = call(call_kind::cached, std::forward<Params>(params)...);
    if (auto found = map_stored(k, hit_accounting::skip)) {
      return std::move(*found);
    }
    return view::owning(std::move(value));
  }

  // A plain call: reads nothing, writes nothing.
  result_type bypass(Params... params) { return m_target.invoke(std::forward<Params>(params)...); }

  // Whether a result for these arguments is cached (in memory or in the store). Computes nothing.
  [[nodiscard]] bool contains(const std::remove_cvref_t<Params>&... params) {
    const recall::key k = hash_call(params...).call;
    if (m_memory != nullptr && m_memory->template holds<result_type>(k)) {
      return true;
    }
    if (!m_store) {
      return false;
    }
    const entry_address address{identity().id, k};
    return guarded("contains", [&] { return m_store->contains(address); }).value_or(false);
  }

  // Removes the cached result for these arguments; true if one was removed. In mode::readonly only
  // this process's in-memory copy goes and the answer is false: the entry stays for everyone else.
  bool forget(const std::remove_cvref_t<Params>&... params) {
    const recall::key k = hash_call(params...).call;
    const bool removed_from_memory = m_memory != nullptr && m_memory->erase(k);
    if (!m_store) {
      return removed_from_memory;
    }
    if (m_mode == mode::readonly) {
      // The entry stays in the cache for every other process: say so.
      return false;
    }
    const entry_address address{identity().id, k};
    return guarded("erase", [&] { return m_store->erase(address); }).value_or(false) || removed_from_memory;
  }

  // One point of recall::sweep (recall/sweep.hpp), never waiting for another process: a cached
  // result, or (point_step::claim) the result computed and stored here under the store's
  // try_lock_for_compute(), or point_source::busy when another process holds that lock. The
  // function's exceptions propagate, and nothing is cached for them.
  detail::point_outcome<result_type> sweep_point(detail::point_step step, Params... params) {
    using outcome = detail::point_outcome<result_type>;
    using detail::point_source;
    if (m_mode == mode::off) {
      if (step == detail::point_step::load) {
        return {};
      }
      const auto started = std::chrono::steady_clock::now();
      result_type value = m_target.invoke(std::forward<Params>(params)...);
      return {std::move(value), point_source::computed, elapsed_ns(started)};
    }
    const auto parts = hash_call(std::as_const(params)...);
    const entry_address address{identity().id, parts.call};
    const bool may_load = m_mode != mode::refresh;
    if (may_load && m_memory != nullptr) {
      std::int64_t compute_ns = 0;
      if (auto value = m_memory->template find<result_type>(parts.call, &compute_ns)) {
        m_stats->hit(compute_ns);
        return {std::move(*value), point_source::loaded, compute_ns};
      }
    }
    while (true) {
      auto ticket = process_single_flight().join(parts.call);
      if (!ticket.leader()) {
        if (auto shared = ticket.wait()) {
          m_stats->hit(0);
          return {*static_cast<const result_type*>(shared.get()), point_source::loaded, 0};
        }
        continue; // the leader failed or found nothing: look again
      }
      const bool may_load_store = may_load && m_store;
      if (may_load_store) {
        if (auto loaded = load(address)) {
          const std::int64_t compute_ns = loaded->compute_ns;
          return {serve_loaded(ticket, address.call, std::move(*loaded)), point_source::loaded, compute_ns};
        }
      }
      if (step == detail::point_step::load) {
        return {};
      }
      std::unique_ptr<compute_lock> lock;
      if (m_store && m_mode != mode::readonly) {
        auto attempt = guarded(
            "lock", [&] { return m_store->try_lock_for_compute(address, call_label(std::as_const(params)...)); });
        if (attempt && attempt->outcome == lock_outcome::busy) {
          return outcome{std::nullopt, point_source::busy, 0};
        }
        lock = attempt ? std::move(attempt->lock) : nullptr;
        if (lock && may_load_store) {
          if (auto loaded = load(address)) {
            const std::int64_t compute_ns = loaded->compute_ns;
            return {serve_loaded(ticket, address.call, std::move(*loaded)), point_source::loaded, compute_ns};
          }
        }
      }
      const auto started = std::chrono::steady_clock::now();
      result_type value = compute_and_store(ticket, address, parts, std::forward<Params>(params)...);
      return {std::move(value), point_source::computed, elapsed_ns(started)};
    }
  }

  // The key these arguments are cached under.
  [[nodiscard]] recall::key key(const std::remove_cvref_t<Params>&... params) const {
    return hash_call(params...).call;
  }

  // The function's identity, as hashed into every key.
  [[nodiscard]] static const function_identity& identity_parts() { return identity().parts; }
  [[nodiscard]] static const function_id& function() { return identity().id; }

  [[nodiscard]] recall::mode mode() const noexcept { return m_mode; }
  [[nodiscard]] const std::shared_ptr<recall::store>& store() const noexcept { return m_store; }

private:
  struct resolved_identity {
    function_identity parts;
    function_id id;
  };

  // Resolved on first use rather than at construction: body signatures generated by recall-sign
  // register during static initialization, possibly after a global memoize object is built.
  // Never destroyed: a memoize object with static storage duration is destroyed after main
  // returns, possibly after this function-local static would have been, and its destructor adds
  // its counters under this identity.
  static const resolved_identity& identity() {
    static immortal<const resolved_identity> resolved{[] {
      resolved_identity r;
      r.parts.kind = Target::kind;
      r.parts.name = Target::name();
      r.parts.signature = "(";
      std::size_t i = 0;
      ((r.parts.signature += (i++ == 0 ? "" : ","), r.parts.signature += canonical_type_name<Params>()), ...);
      r.parts.signature += ")->" + canonical_type_name<result_type>();
      r.parts.version = std::string{policies::version_tag};
      r.parts.body = find_body_signature(r.parts.name).value_or("");
      r.id.name = r.parts.name;
      r.id.identity = r.parts.hash();
      return r;
    }()};
    return resolved.get();
  }

  enum class hit_accounting { count, skip };

  // A result read from the store, with the compute time it saves.
  struct loaded_value {
    result_type value;
    std::int64_t compute_ns = 0;
  };

  // The stored entry for `k` as a view: in place when the store mapped it raw and aligned,
  // decoded into an owning view otherwise.
  template <class Result = result_type>
  std::optional<recall::mapped<Result>> map_stored(const recall::key& k, hit_accounting accounting) {
    const entry_address address{identity().id, k};
    const read_hint hint =
        m_mapped_verification == verification::checksum ? read_hint::mapped_checked : read_hint::mapped;
    auto found = guarded("map", [&] { return m_store->read(address, hint); });
    if (!found || !*found) {
      return std::nullopt;
    }
    entry_view& entry = **found;
    std::optional<recall::mapped<Result>> view;
    try {
      if (entry.encoding == payload_encoding::raw && entry.backing == entry_backing::mapping) {
        if (hint == read_hint::mapped_checked) {
          detail::check_entry_view(entry); // a store that could not check it whole
        }
        view = recall::mapped<Result>::in_place(entry.owner, entry.payload);
      }
      if (!view) {
        view = recall::mapped<Result>::owning(detail::decode_stored_result<Result>(entry));
      }
    } catch (const damaged_entry_error& error) {
      discard_damaged(address, error);
      return std::nullopt;
    } catch (const std::exception& error) {
      warn_undecodable(error);
      return std::nullopt;
    }
    if (accounting == hit_accounting::count) {
      m_stats->hit(entry.metadata.compute_time.count());
    }
    return view;
  }

  // An entry whose deferred checksum failed: the store removes and logs it; the call recomputes.
  void discard_damaged(const entry_address& address, const damaged_entry_error& error) {
    guarded("discard", [&] {
      m_store->discard(address, error.reason());
      return true;
    });
  }

  // An intact entry that does not decode as this result type was written by an incompatible
  // build: said once, and the new result replaces it.
  static void warn_undecodable(const std::exception& error) {
    warn_once("decode " + identity().id.name, identity().id.name + ": a cached entry does not decode (" +
                                                  std::string{error::reason_of(error)} + "); recomputing");
  }

  void configure(options opts) {
    m_mode = opts.mode.value_or(mode_from_environment());
    m_verbose = opts.verbosity ? *opts.verbosity == verbosity::verbose : verbose_from_environment();
    m_on_mutation = opts.on_mutation;
    m_explain = opts.explain ? *opts.explain == miss_explanations::on : explain_from_environment();
    m_warn_untracked =
        opts.untracked ? *opts.untracked == untracked_bodies::warn : untracked_warnings_from_environment();
    m_lock_wait = opts.lock_wait;
    m_mapped_verification = opts.mapped_verification;
    if (opts.scope) {
      m_scope_digest = opts.scope->digest();
    }
    if (m_mode == mode::off) {
      return;
    }
    if (opts.memory == memory_tier::shared) {
      m_memory = &process_memory_tier();
      if (opts.memory_limit) {
        m_memory->set_byte_limit(*opts.memory_limit);
      }
    }
    try {
      m_store = m_mode == mode::temp ? process_temp_cache().store() : store_for(std::move(opts));
    } catch (const std::exception& e) {
      warn_once("configure", "no persistent cache for this process: " + std::string{error::reason_of(e)});
    }
  }

  template <class... Args>
  call_parts<argument_count> hash_call(const Args&... args) const {
    call_parts<argument_count> parts{{detail::hash_value(args)...}, {}};
    parts.call =
        combine_call_key(identity().id.identity, parts.arguments, hash_globals(typename policies::globals_type{}));
    if (m_scope_digest) {
      parts.call = scoped_call_key(*m_scope_digest, parts.call);
    }
    return parts;
  }

  template <auto... Gs>
  static std::array<recall::key, sizeof...(Gs)> hash_globals(globals<Gs...>) {
    return {hash_global<Gs>()...};
  }

  result_type call(call_kind kind, Params&&... params) {
    if (m_mode == mode::off) {
      return m_target.invoke(std::forward<Params>(params)...);
    }
    if (m_warn_untracked && !s_untracked_checked.load(std::memory_order_relaxed)) [[unlikely]] {
      warn_if_untracked();
    }
    const auto parts = hash_call(std::as_const(params)...);
    const entry_address address{identity().id, parts.call};
    const bool may_load = kind == call_kind::cached;

    if (may_load && m_memory != nullptr) {
      const auto started = m_verbose ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      std::int64_t compute_ns = 0;
      if (auto value = m_memory->template find<result_type>(parts.call, &compute_ns)) {
        m_stats->hit(compute_ns);
        if (m_verbose) {
          log_event("hit", address, "memory", std::chrono::steady_clock::now() - started);
        }
        if (m_explain) {
          explain_hit(address);
        }
        return std::move(*value);
      }
    }

    // Threads missing the same key queue behind one leader instead of all computing it.
    while (true) {
      auto ticket = process_single_flight().join(parts.call);
      if (!ticket.leader()) {
        if (auto shared = ticket.wait()) {
          m_stats->hit(0); // the leader's result, not a cached one: it saved only the wait
          return *static_cast<const result_type*>(shared.get());
        }
        if (may_load && m_memory != nullptr) {
          if (auto value = m_memory->template find<result_type>(parts.call)) {
            return std::move(*value);
          }
        }
        continue; // the leader failed: take the lead, or follow the next leader
      }

      const bool may_load_store = may_load && m_store && m_mode != mode::refresh;
      if (may_load_store) {
        if (auto loaded = load(address)) {
          if (m_explain) {
            explain_hit(address);
          }
          return serve_loaded(ticket, address.call, std::move(*loaded));
        }
      }
      // Other processes may be computing this key too: wait for theirs, then look again.
      std::unique_ptr<compute_lock> lock;
      if (m_store && m_mode != mode::readonly) {
        lock = guarded("lock", [&] { return m_store->lock_for_compute(address, m_lock_wait); }).value_or(nullptr);
        if (lock && may_load_store) {
          if (auto loaded = load(address)) {
            if (m_explain) {
              explain_hit(address);
            }
            return serve_loaded(ticket, address.call, std::move(*loaded));
          }
        }
      }
      if (m_explain && may_load_store) {
        explain_miss(parts);
      }
      return compute_and_store(ticket, address, parts, std::forward<Params>(params)...);
    }
  }

  // Hands a loaded value to the memory tier (if it will keep it), to waiting threads (if any)
  // and to the caller. A value too large for the memory tier is moved to the caller, not
  // copied: a 100 MB result costs no copy beyond its decoding.
  result_type serve_loaded(single_flight::ticket& ticket, const recall::key& k, loaded_value loaded) {
    result_type& value = loaded.value;
    const std::size_t bytes = m_memory != nullptr ? encoded_size(value) : 0;
    if (m_memory != nullptr && m_memory->would_keep(bytes)) {
      auto shared = std::make_shared<const result_type>(value);
      m_memory->insert(k, shared, bytes, loaded.compute_ns);
      ticket.publish([&] { return shared; });
    } else {
      ticket.publish([&] { return std::make_shared<const result_type>(value); });
    }
    return std::move(loaded.value); // a reference names it: without std::move this would copy
  }

  // Reads and decodes an entry: memoize -> store::read -> entry decode, and back with a value.
  // Any failure (store error, damaged or undecodable entry) is a miss.
  std::optional<loaded_value> load(const entry_address& address) {
    const auto started = std::chrono::steady_clock::now();
    auto found = guarded("load", [&] { return m_store->read(address, read_hint::large); });
    if (!found || !*found) {
      return std::nullopt;
    }
    const entry_view& entry = **found;
    try {
      loaded_value value{detail::decode_stored_result<result_type>(entry), entry.metadata.compute_time.count()};
      m_stats->hit(value.compute_ns);
      if (m_verbose) {
        log_event("hit", address, m_store->locate(address), std::chrono::steady_clock::now() - started);
      }
      return value;
    } catch (const damaged_entry_error& error) {
      discard_damaged(address, error);
      return std::nullopt;
    } catch (const std::exception& error) {
      warn_undecodable(error);
      return std::nullopt;
    }
  }

  result_type compute_and_store(single_flight::ticket& ticket, const entry_address& address,
                                const call_parts<argument_count>& parts, Params&&... params) {
    const auto started = std::chrono::steady_clock::now();
    result_type result = m_target.invoke(std::forward<Params>(params)...);
    const auto compute_time = std::chrono::steady_clock::now() - started;

    if (m_on_mutation != mutation_policy::ignore) {
      check_mutation(parts, std::as_const(params)...);
    }

    std::vector<std::byte> payload;
    if (m_store && m_mode != mode::readonly) {
      payload = encode_payload(result);
      stored_entry entry{std::move(payload),
                         entry_metadata{std::chrono::system_clock::now(),
                                        std::chrono::duration_cast<std::chrono::nanoseconds>(compute_time)},
                         make_manifest(parts, std::as_const(params)...)};
      if (guarded("save", [&] {
            m_store->save(address, entry);
            return true;
          })) {
        m_stats->stores.fetch_add(1, std::memory_order_relaxed);
        m_stats->bytes_stored.fetch_add(entry.payload.size(), std::memory_order_relaxed);
      }
      payload = std::move(entry.payload);
    }
    m_stats->misses.fetch_add(1, std::memory_order_relaxed);
    m_stats->compute_ns.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(compute_time).count()),
        std::memory_order_relaxed);
    flush_stats_if_due();
    if (m_verbose) {
      log_event("miss", address, m_store ? m_store->locate(address) : std::string{"memory"}, compute_time);
    }

    const std::size_t bytes = m_memory == nullptr ? 0 : payload.empty() ? encoded_size(result) : payload.size();
    if (m_memory != nullptr && m_memory->would_keep(bytes)) {
      auto shared = std::make_shared<const result_type>(result);
      m_memory->insert(address.call, shared, bytes,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(compute_time).count());
      ticket.publish([&] { return shared; });
    } else {
      ticket.publish([&] { return std::make_shared<const result_type>(result); });
    }
    return result;
  }

  static std::int64_t elapsed_ns(std::chrono::steady_clock::time_point started) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
  }

  // What the entry tells tools and miss explanations about this call.
  template <class... Args>
  static entry_manifest make_manifest(const call_parts<argument_count>& parts, const Args&... args) {
    entry_manifest m;
    const auto& id = identity();
    m.function = id.parts.name;
    m.signature = id.parts.signature;
    m.version = id.parts.version;
    m.label = call_label(args...);
    m.argument_types = {canonical_type_name<Params>()...};
    for (const auto& digest : parts.arguments) {
      m.argument_digests.push_back(digest.hex());
    }
    m.global_names = global_names(typename policies::globals_type{});
    for (const auto& digest : hash_globals(typename policies::globals_type{})) {
      m.global_digests.push_back(digest.hex());
    }
    m.host = host_name() + ":" + std::to_string(::getpid());
    m.body = id.parts.body;
    return m;
  }

  template <auto... Gs>
  static std::vector<std::string> global_names(globals<Gs...>) {
    return {normalize_name(raw_value_name<Gs>())...};
  }

  // The first call of a function without a build-time body signature in this process says so,
  // once per function name (warn_once), at the default verbosity: its cached results outlive
  // changes to its code.
  void warn_if_untracked() {
    s_untracked_checked.store(true, std::memory_order_relaxed);
    const auto& id = identity();
    if (!id.parts.body.empty()) {
      return;
    }
    warn_once("untracked " + id.id.name,
              id.id.name + ": its code is not tracked (no body signature from recall-sign), so results computed "
                           "by older code are reused after it changes; fix: recall_add_signatures(<target>) in "
                           "CMake or the recall-sign custom_target in meson (docs/SIGNATURES.md); silence: "
                           "RECALL_UNTRACKED=quiet");
  }

  // RECALL_EXPLAIN on a hit: only a hit on a function whose code is not tracked needs explaining.
  static void explain_hit(const entry_address& address) {
    const auto& id = identity();
    if (id.parts.body.empty()) {
      log(log_level::info, "hit " + id.id.name + " " + address.call.hex() +
                               ": body untracked (no recall-sign "
                               "signature); this result may have been computed by older code of " +
                               id.id.name);
    }
  }

  // Logs which part of the key differs from the nearest cached entry of this function.
  void explain_miss(const call_parts<argument_count>& parts) {
    const auto& id = identity();
    const auto entries = guarded("explain", [&] {
                           return m_store->similar_entries(id.id, 10000);
                         }).value_or(std::vector<entry_description>{});
    const auto globals_now = hash_globals(typename policies::globals_type{});
    const auto names = global_names(typename policies::globals_type{});
    const call_description call{id.parts, id.id, parts.arguments, argument_types(), globals_now, names};
    log(log_level::info, "miss " + id.id.name + " " + parts.call.hex() + ": " + explain_miss_against(call, entries));
  }

  static const std::array<std::string, argument_count>& argument_types() {
    static immortal<const std::array<std::string, argument_count>> types{
        std::array<std::string, argument_count>{canonical_type_name<Params>()...}};
    return types.get();
  }

  // Misses are slow anyway: the place to add counters to the store every couple of seconds.
  void flush_stats_if_due() noexcept {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    std::int64_t last = m_stats->last_flush_ns.load(std::memory_order_relaxed);
    if (now - last >= std::chrono::nanoseconds{std::chrono::seconds{2}}.count() &&
        m_stats->last_flush_ns.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      flush_stats();
    }
  }

  static std::size_t encoded_size(const result_type& value) {
    counting_sink sink;
    canonical_writer<counting_sink, encoding_purpose::payload> writer{sink};
    writer(value);
    return sink.size();
  }

  // Re-hashes the arguments taken by lvalue reference: by-value and rvalue-reference parameters
  // belong to the callee, which may legitimately consume them.
  template <class... Args>
  void check_mutation(const call_parts<argument_count>& parts, const Args&... args) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (check_argument<I, Params>(parts, args), ...);
    }(std::index_sequence_for<Params...>{});
  }

  template <std::size_t Position, class Parameter, class Arg>
  void check_argument(const call_parts<argument_count>& parts, const Arg& arg) {
    const recall::key& before = parts.arguments[Position];
    if constexpr (std::is_lvalue_reference_v<Parameter>) {
      const recall::key after = detail::hash_value(arg);
      if (after == before) {
        return;
      }
      const std::string message = identity().id.name + " changed argument " + std::to_string(Position) + " (" +
                                  canonical_type_name<Parameter>() + ") during the call: hash " + before.hex() +
                                  " before, " + after.hex() + " after";
      if (m_on_mutation == mutation_policy::error) {
        throw mutation_error{message + "; nothing was stored"};
      }
      log(log_level::warning, message + "; the result is stored under the pre-call key " + parts.call.hex());
    }
  }

  // Runs a store operation; a failure is logged once per store and operation, and reads as empty.
  template <class Operation>
  auto guarded(const char* what, Operation&& operation) -> std::optional<decltype(operation())> {
    try {
      return operation();
    } catch (const untrusted_cache_error& e) {
      // Every operation on a refused folder fails the same way: one warning per folder.
      warn_once("untrusted " + e.folder(), std::string{e.reason()});
      return std::nullopt;
    } catch (const std::exception& e) {
      const std::string where = m_store ? m_store->description() : std::string{"memory"};
      const std::string message = "cache " + std::string{what} + " failed (" + e.what() +
                                  "); the call goes on uncached. Further failures of this kind are not logged.";
      if (!warn_once(where + "|" + what, message) && m_verbose) {
        log(log_level::warning, message);
      }
      return std::nullopt;
    }
  }

  void log_event(const char* event, const entry_address& address, const std::string& where,
                 std::chrono::steady_clock::duration elapsed) const {
    log(log_level::info, std::string{event} + " " + address.function.name + " " + address.call.hex() + " " + where +
                             " " + format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed)));
  }

  Target m_target;
  recall::mode m_mode = mode::reuse;
  bool m_verbose = false;
  bool m_explain = false;
  bool m_warn_untracked = true;
  // Whether this function's first call (by any memoize object of this type) looked for its
  // body signature; relaxed: a second warn_if_untracked is harmless, warn_once dedups.
  static inline std::atomic<bool> s_untracked_checked{false};
  std::chrono::milliseconds m_lock_wait{0};
  verification m_mapped_verification = verification::checksum;
  std::optional<recall::key> m_scope_digest;
  mutation_policy m_on_mutation = mutation_policy::warn;
  memory_store* m_memory = nullptr;
  std::shared_ptr<recall::store> m_store;
  std::unique_ptr<stats_batch> m_stats = std::make_unique<stats_batch>();
};

template <auto F, class... Policies>
using memoize_base =
    basic_memoize<function_target<F>, typename callable_traits<std::remove_cv_t<decltype(F)>>::parameters,
                  policy_set<Policies...>>;

template <fixed_string Name, class Callable, class... Policies>
using memoize_as_base =
    basic_memoize<named_target<Name, Callable>, typename object_traits<Callable>::parameters, policy_set<Policies...>>;

} // namespace detail

// A function whose results persist across calls and processes:
//   double simulate(const Params& p, int steps);
//   recall::memoize<&simulate> sim;
//   double r = sim(p, 1000); // computed once, then loaded
// Policies: recall::globals<&g...> (globals read by the function), recall::version<"tag">.
template <auto F, class... Policies>
class memoize : public detail::memoize_base<F, Policies...> {
public:
  using detail::memoize_base<F, Policies...>::memoize_base;
};

// A memoized lambda or function object, named by a label that stands in for a function name:
//   auto lorenz = recall::memoize_as<"lorenz">([](double sigma, double rho) { ... });
template <fixed_string Name, class Callable, class... Policies>
class memoized_callable : public detail::memoize_as_base<Name, Callable, Policies...> {
public:
  using detail::memoize_as_base<Name, Callable, Policies...>::memoize_as_base;
};

template <fixed_string Name, class... Policies, class Callable>
[[nodiscard]] auto memoize_as(Callable&& callable, options opts = {}) {
  using callable_type = std::remove_cvref_t<Callable>;
  return memoized_callable<Name, callable_type, Policies...>{
      detail::named_target<Name, callable_type>{std::forward<Callable>(callable)}, std::move(opts)};
}

} // namespace recall
