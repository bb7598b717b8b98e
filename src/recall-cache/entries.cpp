// recall-cache ls and show: the entries one by one (key, size, age, compute time, label), and one entry's manifest.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <recall/identity/function_identity.hpp>

#include "management.hpp"
#include "output.hpp"
#include "validators.hpp"
#include "verbs.hpp"

namespace recall_cache {
namespace {

struct ls_options {
  std::string function; // only this function (name or folder)
  bool json = false;
  std::string scope; // one partition only
};

struct show_options {
  std::string key_prefix; // the key, or its first digits
};

nlohmann::json to_json(const recall::entry_record& r) {
  return {{"key", r.call.hex()},
          {"function", r.manifest.function},
          {"folder", r.folder},
          {"partition", r.partition.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.partition)},
          {"label", r.manifest.label},
          {"size", r.size},
          {"created", unix_seconds(r.created)},
          {"last_use", unix_seconds(r.last_use)},
          {"compute_ns", r.compute_time.count()},
          {"superseded", r.superseded},
          {"body", r.manifest.body.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.manifest.body)},
          {"path", r.path.string()}};
}

int run(const directory_target& d, const ls_options& o) {
  const auto entries = d.pack ? recall::pack_list_entries(d.root, o.function)
                              : recall::list_entries(d.root, o.function, terminal_progress(), o.scope);
  if (o.json) {
    auto out = nlohmann::json::array();
    for (const auto& r : entries) {
      out.push_back(to_json(r));
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  // The partition column is there only when some entry has one: a cache without partitions
  // lists as it always did.
  const bool partitioned =
      std::any_of(entries.begin(), entries.end(), [](const auto& r) { return !r.partition.empty(); });
  if (!entries.empty()) {
    fmt::print("{:<32}  {:>10}  {:>14}  {:>14}  {:>9}  {:<12}  {}{}  {}\n", "key", "size", "created", "last use",
               "compute", "code", partitioned ? fmt::format("{:<{}}  ", "partition", 17) : std::string{}, "function",
               "arguments");
  }
  for (const auto& r : entries) {
    fmt::print("{}  {:>10}  {:>14}  {:>14}  {:>9}  {:<12}  {}{}{}  {}\n", r.call.hex(), human_size(r.size),
               age(r.created), age(r.last_use), human_duration(r.compute_time),
               recall::body_short_form(r.manifest.body),
               partitioned ? fmt::format("{:<{}}  ", r.partition.empty() ? "-" : r.partition, 17) : std::string{},
               r.manifest.function, r.superseded ? " (superseded)" : "", r.manifest.label);
  }
  return 0;
}

#if RECALL_CACHE_WITH_REDIS
// Key, size, age since the save and function of each entry (marked when its identity is
// superseded), oldest first.
int run(const redis_target& r, const ls_options& o) {
  const auto entries = recall::redis_list_entries(*r.store, o.function);
  if (o.json) {
    auto out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"key", e.call.hex()},
                     {"function", e.function.name},
                     {"folder", e.folder},
                     {"size", e.size},
                     {"created", unix_seconds(e.created)},
                     {"superseded", e.superseded}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  for (const auto& e : entries) {
    fmt::print("{}  {:>10}  {:>14}  {}{}\n", e.call.hex(), human_size(e.size), age(e.created), e.function.name,
               e.superseded ? " (superseded)" : "");
  }
  return 0;
}
#endif

#if RECALL_CACHE_WITH_S3
// Key, size, age since the save and function folder of each entry, oldest first.
int run(const s3_target& s, const ls_options& o) {
  auto entries = s.store->list(o.function);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.modified < b.modified; });
  if (o.json) {
    auto out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"key", e.call.hex()},
                     {"folder", e.folder},
                     {"object", e.object},
                     {"size", e.size},
                     {"saved", unix_seconds(e.modified)}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  for (const auto& e : entries) {
    fmt::print("{}  {:>10}  {:>14}  {}\n", e.call.hex(), human_size(e.size), age(e.modified), e.folder);
  }
  return 0;
}
#endif

// The entries whose key starts with `key_prefix` (a pack root is searched from 4 digits on).
std::vector<recall::entry_record> find_entries(const directory_target& d, const std::string& key_prefix) {
  if (!d.pack) {
    return recall::find_entries(d.root, key_prefix);
  }
  std::vector<recall::entry_record> found;
  for (auto& r : key_prefix.size() >= 4 ? recall::pack_list_entries(d.root) : std::vector<recall::entry_record>{}) {
    if (r.call.hex().compare(0, key_prefix.size(), key_prefix) == 0) {
      found.push_back(std::move(r));
    }
  }
  return found;
}

// One entry's manifest: 1 when the prefix matches no entry or several.
int run(const directory_target& d, const show_options& o) {
  const std::string& key_prefix = o.key_prefix;
  const auto found = find_entries(d, key_prefix);
  if (found.empty()) {
    fmt::print(stderr, "recall-cache: no entry with a key starting with '{}'\n", key_prefix);
    return 1;
  }
  if (found.size() > 1) {
    fmt::print(stderr, "recall-cache: '{}' matches {}; give more digits\n", key_prefix, entry_count(found.size()));
    return 1;
  }
  const auto& r = found.front();
  const auto& m = r.manifest;
  fmt::print("key          {}\nfunction     {}\nsignature    {}\nversion      {}\nidentity     {}\nlabel        {}\n",
             r.call.hex(), m.function, m.signature, m.version.empty() ? "(none)" : m.version, r.identity.hex(),
             m.label);
  // Entries record their body signature; those written before the manifest had one are told
  // apart by their identity: one that hashes as "body untracked" with the manifest's parts had none.
  const auto untracked = [&](recall::identity_kind kind) {
    return recall::function_identity{kind, m.function, m.signature, m.version, {}}.hash() == r.identity;
  };
  fmt::print("body         {}\n",
             !m.body.empty() ? m.body
             : untracked(recall::identity_kind::function) || untracked(recall::identity_kind::named)
                 ? std::string{"untracked (no recall-sign signature: older code's results are reused)"}
                 : std::string{"tracked (written by a recall that did not record the signature)"});
  if (!r.partition.empty()) {
    fmt::print("partition    {}\n", r.partition);
  }
  // "<host>:<pid>" since sweeps; older entries name the host only.
  const auto colon = m.host.rfind(':');
  const std::string host = colon == std::string::npos ? m.host : m.host.substr(0, colon);
  const std::string process = colon == std::string::npos ? std::string{"(not recorded)"} : m.host.substr(colon + 1);
  fmt::print("size         {}\ncreated      {}\nlast use     {}\ncompute time {}\nhost         {}\nprocess      {}\n"
             "path         {}\n",
             human_size(r.size), age(r.created), age(r.last_use), human_duration(r.compute_time), host, process,
             r.path.string());
  for (std::size_t i = 0; i < m.argument_digests.size(); ++i) {
    fmt::print("argument {}   {}  {}\n", i, m.argument_digests[i],
               i < m.argument_types.size() ? m.argument_types[i] : "");
  }
  for (std::size_t i = 0; i < m.global_digests.size(); ++i) {
    fmt::print("global       {}  {}\n", m.global_digests[i], i < m.global_names.size() ? m.global_names[i] : "");
  }
  return 0;
}

} // namespace

void add_entry_verbs(CLI::App& app, cli_context& context) {
  auto o = std::make_shared<ls_options>();
  auto* ls = app.add_subcommand("ls", "entries with key, size, age, last use, compute time and label");
  ls->add_option("function", o->function, "only this function (name or folder)");
  ls->add_flag("--json", o->json, "machine-readable output");
  add_scope_option(*ls, o->scope);
  ls->callback([o, &context] {
    context.exit_code = run_verb(context.flags, {.redis = true, .s3 = true, .scope = o->scope}, *o);
  });

  auto s = std::make_shared<show_options>();
  auto* show_verb = app.add_subcommand("show", "one entry's manifest");
  show_verb->add_option("key", s->key_prefix, "the entry's key, or its first digits (at least 4)")->required();
  show_verb->callback([s, &context] { context.exit_code = run_verb(context.flags, {}, *s); });
}

} // namespace recall_cache
