// recall-cache clear: remove entries (all, or one function's) of a cache directory, a pack root, Redis or S3, after asking.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "management.hpp"
#include "output.hpp"
#include "validators.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

struct clear_options {
  std::string function; // only this function (name or folder)
  bool force = false;   // do not ask
  bool dry = false;
  std::string scope; // one partition only
};

// What clear would remove from one store, and how to remove it.
struct clear_plan {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::string what;               // "every function", "'f'", "'f' in partition p"
  std::string where;              // the store, for the question
  bool clears_when_empty = false; // removing goes on without entries (Redis: stray keys), unasked
  std::function<int()> remove;    // removes, prints "removed ...", returns the exit code
};

// The one course of clear on every store: say (--dry-run), or ask and remove.
int carry_out(const clear_options& o, const clear_plan& plan) {
  if (o.dry) {
    fmt::print("would remove {} ({}) of {}\n", entry_count(plan.entries), human_size(plan.bytes), plan.what);
    return 0;
  }
  if (plan.entries == 0 && !plan.clears_when_empty) {
    fmt::print("nothing to remove\n");
    return 0;
  }
  int code = 0;
  if (plan.entries != 0 && !confirmed(plan.entries, plan.bytes, plan.what, plan.where, o.force, code)) {
    return code;
  }
  return plan.remove();
}

std::string function_text(const std::string& function) {
  return function.empty() ? "every function" : "'" + function + "'";
}

int run(const directory_target& d, const clear_options& o) {
  const auto run = [&](recall::dry_run dry) {
    return d.pack ? recall::pack_clear(d.root, o.function, dry)
                  : recall::clear(d.root, o.function, dry, terminal_progress(), o.scope);
  };
  const auto preview = run(recall::dry_run::yes);
  return carry_out(o, {preview.entries, preview.bytes,
                       function_text(o.function) + (o.scope.empty() ? std::string{} : " in partition " + o.scope),
                       d.root.string(), false, [&] {
                         const auto done = run(recall::dry_run::no);
                         fmt::print("removed {} ({})\n", entry_count(done.entries), human_size(done.bytes));
                         return report_failures(done);
                       }});
}

// Entries and bytes of a remote store's listing.
template <class Entries>
std::uint64_t total_bytes(const Entries& entries) {
  std::uint64_t bytes = 0;
  for (const auto& e : entries) {
    bytes += e.size;
  }
  return bytes;
}

#if RECALL_CACHE_WITH_REDIS
// redis_store::clear: with no function, it also removes the keys that belong to no entry.
int run(const redis_target& r, const clear_options& o) {
  const auto entries = r.store->list(o.function);
  return carry_out(o,
                   {entries.size(), total_bytes(entries), function_text(o.function), r.where, o.function.empty(), [&] {
                      fmt::print("removed {}\n", entry_count(r.store->clear(o.function)));
                      return 0;
                    }});
}
#endif

#if RECALL_CACHE_WITH_S3
// Object by object; a read-only store (access=read-only) is refused: exit 1.
int run(const s3_target& s, const clear_options& o) {
  if (s.store->read_only() && !o.dry) {
    fmt::print(stderr, "recall-cache: {} is read-only (access=read-only): clear removes nothing\n",
               s.store->description());
    return 1;
  }
  const auto entries = s.store->list(o.function);
  return carry_out(
      o, {entries.size(), total_bytes(entries), function_text(o.function), s.store->description(), false, [&] {
            std::size_t removed = 0;
            for (const auto& e : entries) {
              removed += s.store->remove_object(e.object) ? 1 : 0;
            }
            fmt::print("removed {}\n", entry_count(removed));
            return 0;
          }});
}
#endif

} // namespace

void add_clear_verb(CLI::App& app, cli_context& context) {
  auto o = std::make_shared<clear_options>();
  auto* verb = app.add_subcommand("clear", "remove entries (all, or one function's)");
  verb->add_option("function", o->function, "only this function (name or folder)");
  verb->add_flag("--force", o->force, "do not ask");
  verb->add_flag("--dry-run", o->dry, "say what would be removed; remove nothing");
  add_scope_option(*verb, o->scope);
  verb->callback([o, &context] {
    context.exit_code = run_verb(context.flags, {.redis = true, .s3 = true, .scope = o->scope}, *o);
  });
}

} // namespace recall_cache
