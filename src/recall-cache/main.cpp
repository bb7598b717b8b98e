// recall-cache: inspect and manage a recall cache (info, ls, show, running, prune, clear, verify,
// export, import), a directory or, for info, ls, clear and prune (and running, for Redis), a Redis
// server (--redis URL) or an S3 bucket (--s3 URL). This file builds the command line and its
// global flags; each verb lives in its own file (verbs.hpp), and cache_target.cpp picks the store.
//
// Exit codes (also in --help and docs/CLI.md): 0 success; 1 the operation failed, verify found
// damaged entries, or import rejected entries or stopped early; 2 a bad command line (one line
// on stderr says what is wrong).
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "verbs.hpp"

namespace {

constexpr std::string_view exit_codes_footer =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation failed (unreadable cache, unreachable Redis or S3, unwritable file), verify found\n"
    "     damaged entries, or import rejected entries or stopped on a damaged or truncated archive\n"
    "  2  a bad command line: unknown verb or flag, bad value (size, duration, policy), or clear\n"
    "     without a terminal to ask and no --force\n"
    "\n"
    "Sizes: bytes, or K, M, G, T (powers of 1024): 500M, 5G, 1.5G. Durations: 90s, 30m, 12h, 7d, 2w.\n"
    "Details and examples: docs/CLI.md\n";

} // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "recall-cache: inspect and manage a recall cache directory (or, with --redis or --s3, a Redis or S3 store)"};
  app.set_version_flag("--version", "recall-cache 0.1.0");
  app.footer(std::string{exit_codes_footer});
  app.require_subcommand(1);
  recall_cache::cli_context context;
  auto& flags = context.flags;
  app.add_option("--cache-root", flags.cache_root,
                 "cache directory (default: $RECALL_CACHE_DIR, else ~/.cache/recall)");
  app.add_option("--redis", flags.redis_url,
                 "work on the Redis store at URL (redis://[user:password@]host:port/db or unix:///path) instead of the "
                 "directory; for info, ls, running, clear and prune");
  app.add_option("--redis-prefix", flags.redis_prefix, "the Redis store's key prefix (default: recall)");
  app.add_option("--s3", flags.s3_url,
                 "work on the S3 store at URL (s3://bucket[/prefix][?endpoint=http://host:port&region=R]; credentials "
                 "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials) instead of the directory; for "
                 "info, ls, clear and prune");

  recall_cache::add_info_verb(app, context);
  recall_cache::add_entry_verbs(app, context);
  recall_cache::add_running_verb(app, context);
  recall_cache::add_prune_verb(app, context);
  recall_cache::add_clear_verb(app, context);
  recall_cache::add_verify_verb(app, context);
  recall_cache::add_archive_verbs(app, context);

  // Parsing runs the callback of the verb given, which sets context.exit_code.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e); // --help, --version
    }
    fmt::print(stderr, "recall-cache: {} (see recall-cache --help)\n", e.what());
    return 2;
  }
  return context.exit_code;
}
