// recall-cache: inspect and manage a recall cache directory (info, ls, show, clear, verify).
//
// Exit codes: 0 success; 1 the operation failed or verify found damaged entries; 2 a bad
// command line (one line on stderr says what is wrong).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <recall/management/cache_inspection.hpp>
#include <recall/policy/environment.hpp>

namespace {

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string human_duration(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  if (s < 1e-3) {
    return fmt::format("{:.0f} us", s * 1e6);
  }
  if (s < 1) {
    return fmt::format("{:.0f} ms", s * 1e3);
  }
  if (s < 120) {
    return fmt::format("{:.1f} s", s);
  }
  if (s < 7200) {
    return fmt::format("{:.0f} min", s / 60);
  }
  return fmt::format("{:.1f} h", s / 3600);
}

std::string age(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) {
    return "-";
  }
  return human_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now() - t)) +
         " ago";
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

nlohmann::json to_json(const recall::entry_record& r) {
  return {{"key", r.call.hex()},
          {"function", r.manifest.function},
          {"folder", r.folder},
          {"label", r.manifest.label},
          {"size", r.size},
          {"created", unix_seconds(r.created)},
          {"last_use", unix_seconds(r.last_use)},
          {"compute_ns", r.compute_time.count()},
          {"path", r.path.string()}};
}

int run_info(const std::filesystem::path& root, bool json, bool verbose) {
  const auto info = recall::cache_info(root);
  if (json) {
    nlohmann::json out{{"root", root.string()}, {"entries", info.entries}, {"bytes", info.bytes}};
    if (info.free_bytes) {
      out["free_bytes"] = *info.free_bytes;
    }
    out["functions"] = nlohmann::json::array();
    for (const auto& f : info.functions) {
      out["functions"].push_back({{"name", f.name},
                                  {"folder", f.folder},
                                  {"entries", f.entries},
                                  {"bytes", f.bytes},
                                  {"hits", f.stats.hits},
                                  {"misses", f.stats.misses},
                                  {"stores", f.stats.stores},
                                  {"saved_ns", f.stats.saved_ns},
                                  {"oldest", unix_seconds(f.oldest)},
                                  {"newest", unix_seconds(f.newest)}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("cache root   {}\nentries      {}\nsize         {}\n", root.string(), info.entries, human_size(info.bytes));
  if (info.free_bytes) {
    fmt::print("free disk    {}\n", human_size(*info.free_bytes));
  }
  if (info.functions.empty()) {
    return 0;
  }
  fmt::print("\n{:<40} {:>8} {:>10} {:>8} {:>8} {:>10} {:>14} {:>14}\n", "function", "entries", "size", "hits", "misses",
             "saved", "oldest", "newest");
  for (const auto& f : info.functions) {
    fmt::print("{:<40} {:>8} {:>10} {:>8} {:>8} {:>10} {:>14} {:>14}\n", f.name.substr(0, 40), f.entries,
               human_size(f.bytes), f.stats.hits, f.stats.misses,
               human_duration(std::chrono::nanoseconds{static_cast<std::int64_t>(f.stats.saved_ns)}), age(f.oldest),
               age(f.newest));
    if (verbose) {
      fmt::print("  folder {}\n", f.folder);
    }
  }
  return 0;
}

int run_ls(const std::filesystem::path& root, const std::string& function, bool json) {
  const auto entries = recall::list_entries(root, function);
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& r : entries) {
      out.push_back(to_json(r));
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  for (const auto& r : entries) {
    fmt::print("{}  {:>10}  {:>14}  {:>14}  {:>9}  {}  {}\n", r.call.hex(), human_size(r.size), age(r.created),
               age(r.last_use), human_duration(r.compute_time), r.manifest.function, r.manifest.label);
  }
  return 0;
}

int run_show(const std::filesystem::path& root, const std::string& key_prefix) {
  const auto found = recall::find_entries(root, key_prefix);
  if (found.empty()) {
    fmt::print(stderr, "recall-cache: no entry with a key starting with '{}'\n", key_prefix);
    return 1;
  }
  if (found.size() > 1) {
    fmt::print(stderr, "recall-cache: '{}' matches {} entries; give more digits\n", key_prefix, found.size());
    return 1;
  }
  const auto& r = found.front();
  const auto& m = r.manifest;
  fmt::print("key          {}\nfunction     {}\nsignature    {}\nversion      {}\nidentity     {}\nlabel        {}\n",
             r.call.hex(), m.function, m.signature, m.version.empty() ? "(none)" : m.version, r.identity.hex(),
             m.label);
  fmt::print("size         {}\ncreated      {}\nlast use     {}\ncompute time {}\nhost         {}\npath         {}\n",
             human_size(r.size), age(r.created), age(r.last_use), human_duration(r.compute_time), m.host,
             r.path.string());
  for (std::size_t i = 0; i < m.argument_digests.size(); ++i) {
    fmt::print("argument {}   {}  {}\n", i, m.argument_digests[i], i < m.argument_types.size() ? m.argument_types[i] : "");
  }
  for (std::size_t i = 0; i < m.global_digests.size(); ++i) {
    fmt::print("global       {}  {}\n", m.global_digests[i], i < m.global_names.size() ? m.global_names[i] : "");
  }
  return 0;
}

int run_clear(const std::filesystem::path& root, const std::string& function, bool force, bool dry) {
  const auto preview = recall::clear(root, function, recall::dry_run::yes);
  const std::string what = function.empty() ? "every function" : "'" + function + "'";
  if (dry) {
    fmt::print("would remove {} entries ({}) of {}\n", preview.entries, human_size(preview.bytes), what);
    return 0;
  }
  if (preview.entries == 0) {
    fmt::print("nothing to remove\n");
    return 0;
  }
  if (!force) {
    if (::isatty(STDIN_FILENO) == 0) {
      fmt::print(stderr, "recall-cache: clear would remove {} entries of {}; without a terminal to ask, pass --force\n",
                 preview.entries, what);
      return 2;
    }
    fmt::print("remove {} entries ({}) of {} from {}? [y/N] ", preview.entries, human_size(preview.bytes), what,
               root.string());
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "yes") {
      fmt::print("nothing removed\n");
      return 0;
    }
  }
  const auto done = recall::clear(root, function);
  fmt::print("removed {} entries ({})\n", done.entries, human_size(done.bytes));
  return 0;
}

int run_verify(const std::filesystem::path& root, bool fix) {
  const auto report = recall::verify(root, fix ? recall::repair::yes : recall::repair::no);
  for (const auto& [path, reason] : report.problems) {
    fmt::print("{}{}: {}\n", fix ? "removed " : "damaged ", path.string(), reason);
  }
  fmt::print("{} damaged entries{}\n", report.entries, fix && report.entries > 0 ? " removed" : "");
  return report.entries == 0 || fix ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"recall-cache: inspect and manage a recall cache directory"};
  app.set_version_flag("--version", "recall-cache 0.1.0");
  app.require_subcommand(1);
  std::string root_option;
  app.add_option("--cache-root", root_option, "cache directory (default: $RECALL_CACHE_DIR, else ~/.cache/recall)");

  bool json = false;
  bool verbose = false;
  auto* info = app.add_subcommand("info", "totals per function: entries, size, hits, misses, time saved");
  info->add_flag("--json", json, "machine-readable output");
  info->add_flag("--verbose", verbose, "also show each function's folder");

  std::string function;
  auto* ls = app.add_subcommand("ls", "entries with key, size, age, last use, compute time and label");
  ls->add_option("function", function, "only this function (name or folder)");
  ls->add_flag("--json", json, "machine-readable output");

  std::string key_prefix;
  auto* show = app.add_subcommand("show", "one entry's manifest");
  show->add_option("key", key_prefix, "the entry's key, or its first digits (at least 4)")->required();

  bool force = false;
  bool dry = false;
  auto* clear = app.add_subcommand("clear", "remove entries (all, or one function's)");
  clear->add_option("function", function, "only this function (name or folder)");
  clear->add_flag("--force", force, "do not ask");
  clear->add_flag("--dry-run", dry, "say what would be removed; remove nothing");

  bool fix = false;
  auto* verify = app.add_subcommand("verify", "check every entry's header and checksums");
  verify->add_flag("--repair", fix, "remove damaged entries");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e); // --help, --version
    }
    fmt::print(stderr, "recall-cache: {} (see recall-cache --help)\n", e.what());
    return 2;
  }

  const std::filesystem::path root = root_option.empty() ? recall::default_cache_directory() : std::filesystem::path{root_option};
  if (!std::filesystem::is_directory(root)) {
    fmt::print(stderr, "recall-cache: no cache directory at {}\n", root.string());
    return 1;
  }
  try {
    if (*info) {
      return run_info(root, json, verbose);
    }
    if (*ls) {
      return run_ls(root, function, json);
    }
    if (*show) {
      return run_show(root, key_prefix);
    }
    if (*clear) {
      return run_clear(root, function, force, dry);
    }
    return run_verify(root, fix);
  } catch (const std::exception& e) {
    fmt::print(stderr, "recall-cache: {}\n", e.what());
    return 1;
  }
}
