// Tests for recall::redis_store against a real redis-server started on 127.0.0.1 for each case:
// URLs, layout and chunking, damage, TTL, listing, failures, compute locks, and two processes
// sharing results through Redis.
#include "catch.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <recall/management/redis_management.hpp>
#include <recall/recall.hpp>
#include <recall/stores/redis_store.hpp>

#include "support.hpp"

extern char** environ;

// Records the largest single allocation made through operator new while tracking is on, to
// prove that sizes read from Redis are checked before anything is allocated from them.
// The sanitizers' runtimes define operator new themselves, so sanitized builds go without the
// probe; the plain g++ and clang++ builds check allocation sizes.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RECALL_TEST_ALLOCATION_PROBE 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RECALL_TEST_ALLOCATION_PROBE 0
#endif
#endif
#ifndef RECALL_TEST_ALLOCATION_PROBE
#define RECALL_TEST_ALLOCATION_PROBE 1
#endif

namespace allocation_probe {
std::atomic<bool> g_tracking{false};
std::atomic<std::size_t> g_largest{0};
} // namespace allocation_probe

#if RECALL_TEST_ALLOCATION_PROBE

// Both operators use malloc/free, so they match; GCC 12 inlines them into their callers and then
// misreports the pair (-Wmismatched-new-delete), like the false positive entry_format.hpp avoids.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (allocation_probe::g_tracking.load(std::memory_order_relaxed)) {
    std::size_t seen = allocation_probe::g_largest.load(std::memory_order_relaxed);
    while (size > seen && !allocation_probe::g_largest.compare_exchange_weak(seen, size)) {
    }
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc{};
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif // RECALL_TEST_ALLOCATION_PROBE

namespace redis_test {

using namespace std::chrono_literals;
namespace rd = recall::detail::redis;

[[nodiscard]] std::optional<std::string> redis_server_binary() {
  if (const char* configured = std::getenv("RECALL_TEST_REDIS_SERVER"); configured != nullptr && *configured != '\0') {
    return std::string{configured};
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs{path != nullptr ? path : "/usr/bin:/usr/sbin"};
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = dir + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

// Skips the rest of a test case, saying why, when redis-server is not installed.
#define REDIS_TEST_REQUIRE_SERVER()                                                                                    \
  do {                                                                                                                 \
    if (!redis_test::redis_server_binary()) {                                                                          \
      WARN("redis-server is not installed: Redis test skipped (scripts/install-deps installs it)");                    \
      return;                                                                                                          \
    }                                                                                                                  \
  } while (false)

// A port nothing listens on right now (the kernel's choice for a socket bound to port 0).
[[nodiscard]] int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

[[nodiscard]] bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A redis-server on 127.0.0.1 and a unix socket, without persistence, in a temporary folder;
// stopped (by pid) when destroyed.
class server {
public:
  explicit server(std::vector<std::string> extra = {}) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (start(extra)) {
        return;
      }
    }
    std::ifstream log_file{m_dir.path() / "redis.log"};
    std::stringstream log_text;
    log_text << log_file.rdbuf();
    FAIL("redis-server did not start; its log:\n" << log_text.str());
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server() { stop(SIGTERM); }

  [[nodiscard]] std::string url(std::string_view userinfo = {}) const {
    return "redis://" + std::string{userinfo} + (userinfo.empty() ? "" : "@") + "127.0.0.1:" + std::to_string(m_port) +
           "/0";
  }
  [[nodiscard]] std::string unix_url() const { return "unix://" + socket_path(); }
  [[nodiscard]] std::string socket_path() const { return (m_dir.path() / "redis.sock").string(); }

  void kill() { stop(SIGKILL); }
  // Starts the server again on the same port (after kill()), empty.
  void restart() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (start(m_extra, m_port)) {
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL("redis-server did not restart on port " << m_port);
  }
  void pause() { ::kill(m_pid, SIGSTOP); }
  void resume() { ::kill(m_pid, SIGCONT); }

private:
  bool start(const std::vector<std::string>& extra, int port = 0) {
    m_extra = extra;
    m_port = port != 0 ? port : free_port();
    std::filesystem::remove(socket_path());
    std::vector<std::string> args{*redis_server_binary(),
                                  "--port",
                                  std::to_string(m_port),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--daemonize",
                                  "no",
                                  "--dir",
                                  m_dir.path().string(),
                                  "--unixsocket",
                                  socket_path(),
                                  "--unixsocketperm",
                                  "700",
                                  "--logfile",
                                  (m_dir.path() / "redis.log").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    if (::posix_spawn(&m_pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      return false;
    }
    for (int i = 0; i < 250; ++i) {
      int status = 0;
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1; // exited: the port was taken, or the configuration refused
        return false;
      }
      if (::access(socket_path().c_str(), F_OK) == 0) {
        try {
          // Any reply will do: a server started with a password answers NOAUTH.
          rd::connection probe{rd::parse_server_url(unix_url()), rd::timeouts{}, "probe"};
          static_cast<void>(probe.command({"PING"}));
          return true;
        } catch (const recall::store_error&) {
          // not accepting connections yet
        }
      }
      std::this_thread::sleep_for(20ms);
    }
    stop(SIGKILL);
    return false;
  }

  void stop(int signal) {
    if (m_pid <= 0) {
      return;
    }
    ::kill(m_pid, SIGCONT); // a paused server would not act on SIGTERM
    ::kill(m_pid, signal);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

  recall_test::temp_dir m_dir;
  std::vector<std::string> m_extra;
  int m_port = 0;
  pid_t m_pid = -1;
};

// A plain client for inspecting and damaging what the store wrote.
class admin {
public:
  explicit admin(const server& s) : m_connection{rd::parse_server_url(s.unix_url()), rd::timeouts{}, "admin"} {}

  rd::reply run(std::initializer_list<std::string_view> args) {
    rd::reply r = m_connection.command(args);
    REQUIRE(r->type != REDIS_REPLY_ERROR);
    return r;
  }
  long long integer(std::initializer_list<std::string_view> args) {
    const rd::reply r = run(args);
    REQUIRE(r->type == REDIS_REPLY_INTEGER);
    return r->integer;
  }
  std::string string(std::initializer_list<std::string_view> args) {
    const rd::reply r = run(args);
    return r->type == REDIS_REPLY_NIL ? std::string{} : std::string{rd::text_of(*r)};
  }
  // Every key, with SCAN.
  std::vector<std::string> keys(std::string_view pattern = "*") {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      const rd::reply r = run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      cursor = std::string{rd::text_of(*r->element[0])};
      for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
        out.emplace_back(rd::text_of(*r->element[1]->element[i]));
      }
    } while (cursor != "0");
    return out;
  }
  // The key of chunk `index` of the entry at `head`.
  std::string chunk(const std::string& head, int index) {
    const auto found = keys(head + ":c" + std::to_string(index) + ".*");
    REQUIRE(found.size() == 1);
    return found.front();
  }

private:
  rd::connection m_connection;
};

const recall::function_id g_simulate{"lab::simulate", recall::key{0xabc, 0xdef}};
const recall::function_id g_analyse{"lab::analyse", recall::key{0x123, 0x456}};

[[nodiscard]] recall::entry_address address_of(std::uint64_t n, const recall::function_id& f = g_simulate) {
  return {f, recall::key{n, n * 7919 + 1}};
}

[[nodiscard]] recall::stored_entry entry_of(std::size_t size, unsigned seed = 1) {
  recall::stored_entry e;
  e.payload.resize(size);
  std::uint32_t x = seed * 2654435761U + 1;
  for (auto& b : e.payload) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::byte>(x >> 24);
  }
  e.metadata.created = std::chrono::system_clock::time_point{std::chrono::seconds{1'800'000'000 + seed}};
  e.metadata.compute_time = std::chrono::nanoseconds{1234 + seed};
  e.manifest.function = "lab::simulate";
  e.manifest.signature = "(double,int)->std::vector<double>";
  e.manifest.label = "0.5 40";
  e.manifest.argument_types = {"double", "int"};
  e.manifest.argument_digests = {std::string(32, 'a'), std::string(32, 'b')};
  e.manifest.host = "node-7";
  return e;
}

// Bytes of the entry as a directory_store file (header, manifest, payload): what Redis holds.
[[nodiscard]] std::size_t entry_bytes(const recall::stored_entry& e) {
  return recall::detail::encode_entry(recall::key{}, recall::key{}, e).size();
}

// Bytes an entry adds to its payload: the header and the (fixed, in these tests) manifest.
[[nodiscard]] std::size_t overhead() { return entry_bytes(entry_of(0)); }

void check_same(const std::optional<recall::stored_entry>& loaded, const recall::stored_entry& saved) {
  REQUIRE(loaded);
  CHECK(loaded->payload == saved.payload);
  CHECK(loaded->metadata.created == saved.metadata.created);
  CHECK(loaded->metadata.compute_time == saved.metadata.compute_time);
  CHECK(loaded->manifest.function == saved.manifest.function);
  CHECK(loaded->manifest.label == saved.manifest.label);
  CHECK(loaded->manifest.argument_digests == saved.manifest.argument_digests);
  CHECK(loaded->manifest.host == saved.manifest.host);
}

[[nodiscard]] recall::redis_options options_for(const server& s, std::string prefix = "recall-test") {
  recall::redis_options o;
  o.url = s.url();
  o.prefix = std::move(prefix);
  return o;
}

// The what() of the config_error `make` throws, or "" if it throws none.
template <class Make>
[[nodiscard]] std::string config_error_of(Make&& make) {
  try {
    static_cast<void>(make());
  } catch (const recall::config_error& e) {
    return e.what();
  }
  return {};
}

// Runs a command, returning its standard output; `status` gets its exit status.
[[nodiscard]] std::string run_command(const std::string& command, int& status) {
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    out += buffer;
  }
  status = ::pclose(pipe);
  return out;
}

[[nodiscard]] std::string helper_binary() {
  const char* helper = std::getenv("RECALL_TEST_REDIS_HELPER");
  return helper != nullptr ? helper : "";
}

int g_square_calls = 0;
double square(double x) {
  ++g_square_calls;
  return x * x;
}

std::vector<double> big_result(int n) { return std::vector<double>(static_cast<std::size_t>(n), 0.5); }

// memory -> directory -> Redis, as one node of a cluster would stack them.
[[nodiscard]] std::shared_ptr<recall::layered_store> node(
    const std::filesystem::path& dir, std::shared_ptr<recall::redis_store> remote,
    recall::tier_access access = recall::tier_access::read_write) {
  return std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{
      {std::make_shared<recall::directory_store>(dir)}, {std::move(remote), access}});
}

[[nodiscard]] recall::options memoize_options(std::shared_ptr<recall::store> store) {
  recall::options o;
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none; // every call goes to the stores
  o.store = std::move(store);
  return o;
}

} // namespace redis_test

using namespace redis_test;

TEST_CASE("redis URLs: the accepted forms", "[stores_redis_store]") {
  auto u = rd::parse_server_url("redis://localhost");
  CHECK(u.kind == rd::transport::tcp);
  CHECK(u.host == "localhost");
  CHECK(u.port == 6379);
  CHECK(u.db == 0);
  CHECK_FALSE(u.has_password);
  CHECK(u.redacted() == "redis://localhost:6379/0");

  u = rd::parse_server_url("REDIS://127.0.0.1:6380/3");
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == 6380);
  CHECK(u.db == 3);

  u = rd::parse_server_url("redis://alice:s%40cret%2F1@cache.lab:7000/1");
  CHECK(u.user == "alice");
  CHECK(u.password == "s@cret/1");
  CHECK(u.redacted() == "redis://alice:********@cache.lab:7000/1");

  u = rd::parse_server_url("redis://just-a-password@cache.lab");
  CHECK(u.user.empty());
  CHECK(u.password == "just-a-password");
  CHECK(u.redacted() == "redis://:********@cache.lab:6379/0");

  u = rd::parse_server_url("redis://[::1]:6390/");
  CHECK(u.host == "::1");
  CHECK(u.port == 6390);
  CHECK(u.redacted() == "redis://[::1]:6390/0");

  u = rd::parse_server_url("unix:///run/redis/redis.sock");
  CHECK(u.kind == rd::transport::unix_socket);
  CHECK(u.socket_path == "/run/redis/redis.sock");
  CHECK(u.redacted() == "unix:///run/redis/redis.sock");

  u = rd::parse_server_url("unix://bob:pw@/run/redis.sock?db=2");
  CHECK(u.user == "bob");
  CHECK(u.password == "pw");
  CHECK(u.socket_path == "/run/redis.sock");
  CHECK(u.db == 2);
  CHECK(u.redacted() == "unix://bob:********@/run/redis.sock?db=2");
}

TEST_CASE("redis URLs: malformed ones are config errors that say what is wrong", "[stores_redis_store]") {
  const auto error = [](std::string_view url) { return config_error_of([&] { return rd::parse_server_url(url); }); };
  CHECK(contains(error("http://cache.lab"), "unsupported scheme 'http'"));
  CHECK(contains(error("rediss://cache.lab"), "TLS"));
  CHECK(contains(error("cache.lab:6379"), "no scheme"));
  CHECK(contains(error(""), "empty"));
  CHECK(contains(error("redis://cache.lab:0"), "bad port '0'"));
  CHECK(contains(error("redis://cache.lab:65536"), "bad port '65536'"));
  CHECK(contains(error("redis://cache.lab:http"), "bad port 'http'"));
  CHECK(contains(error("redis://cache.lab:"), "bad port ''"));
  CHECK(contains(error("redis://:pw@"), "no host"));
  CHECK(contains(error("redis://cache.lab/zero"), "bad database number"));
  CHECK(contains(error("redis://cache.lab/0?timeout=1"), "not supported"));
  CHECK(contains(error("redis://[::1:6379"), "IPv6"));
  CHECK(contains(error("redis://a:b%zz@cache.lab"), "percent-escape"));
  CHECK(contains(error("unix://run/redis.sock"), "absolute"));
  CHECK(contains(error("unix:///run/redis.sock?timeout=1"), "db=N"));
  // Every message shows the expected forms, and never the password.
  const std::string message = error("redis://alice:topsecret@cache.lab:99999/0");
  CHECK(contains(message, "bad port '99999'"));
  CHECK(contains(message, "redis://alice:********@cache.lab:99999/0"));
  CHECK(contains(message, "redis://[user:password@]host[:port][/db]"));
  CHECK_FALSE(contains(message, "topsecret"));
  CHECK_FALSE(contains(error("ftp://bob:topsecret@host"), "topsecret"));
  CHECK_FALSE(contains(error("redis://bob:top@secret@host:x"), "top@secret"));
}

TEST_CASE("redis_store options are checked when the store is made; none connects", "[stores_redis_store]") {
  const auto error = [](recall::redis_options o) {
    return config_error_of([&] { return std::make_unique<recall::redis_store>(std::move(o)); });
  };
  recall::redis_options o;
  o.url = "redis://127.0.0.1:1/0"; // nothing listens there: construction must not connect
  CHECK(error(o).empty());
  CHECK(contains(error(recall::redis_options{.url = "redis://h:x"}), "bad port"));
  auto bad = o;
  bad.prefix = "my cache";
  CHECK(contains(error(bad), "key prefix"));
  bad.prefix = "{tag}";
  CHECK(contains(error(bad), "key prefix"));
  bad.prefix = "";
  CHECK(contains(error(bad), "key prefix"));
  bad = o;
  bad.chunk_size = 100;
  CHECK(contains(error(bad), "chunk_size 100 is outside"));
  bad = o;
  bad.max_entry_size = std::uint64_t{1} << 50;
  bad.chunk_size = 1024;
  CHECK(contains(error(bad), "2^20 chunks"));
  bad = o;
  bad.ttl = 0ms;
  CHECK(contains(error(bad), "ttl"));
  bad = o;
  bad.operation_timeout = 0ms;
  CHECK(contains(error(bad), "timeouts"));
  bad = o;
  bad.lock_lease = 1ms;
  CHECK(contains(error(bad), "lock_lease"));
  bad = o;
  bad.max_connections = 0;
  CHECK(contains(error(bad), "max_connections"));
}

TEST_CASE("redis_store::from_environment reads RECALL_REDIS_URL", "[stores_redis_store]") {
  const char* saved = std::getenv(recall::redis_url_variable);
  const std::optional<std::string> previous = saved != nullptr ? std::optional<std::string>{saved} : std::nullopt;
  ::unsetenv(recall::redis_url_variable);
  CHECK(recall::redis_store::from_environment() == nullptr);
  ::setenv(recall::redis_url_variable, "", 1);
  CHECK(recall::redis_store::from_environment() == nullptr);
  ::setenv(recall::redis_url_variable, "redis://carol:pw@cache.lab:7001/4", 1);
  recall::redis_options defaults;
  defaults.prefix = "sweep";
  const auto store = recall::redis_store::from_environment(defaults);
  REQUIRE(store != nullptr);
  CHECK(store->redacted_url() == "redis://carol:********@cache.lab:7001/4");
  CHECK(store->description() == "redis redis://carol:********@cache.lab:7001/4 prefix sweep");
  ::setenv(recall::redis_url_variable, "http://cache.lab", 1);
  CHECK_THROWS_AS(recall::redis_store::from_environment(), recall::config_error);
  if (previous) {
    ::setenv(recall::redis_url_variable, previous->c_str(), 1);
  } else {
    ::unsetenv(recall::redis_url_variable);
  }
}

TEST_CASE("redis_store saves, loads, checks and erases entries, over TCP and a unix socket", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  for (const std::string& url : {s.url(), s.unix_url()}) {
    auto o = options_for(s);
    o.url = url;
    recall::redis_store store{o};
    const auto address = address_of(url.size());
    CHECK_FALSE(store.load(address));
    CHECK_FALSE(store.contains(address));
    const auto saved = entry_of(100, 3);
    store.save(address, saved);
    check_same(store.load(address), saved);
    CHECK(store.contains(address));
    CHECK_FALSE(store.contains(address_of(999)));
    // The head key is the call key in a hash tag, and the locate() string names it.
    const std::string head = "{recall-test:" + address.call.hex() + "}";
    CHECK(store.head_of(address) == head);
    CHECK(a.integer({"EXISTS", head}) == 1);
    CHECK(store.locate(address) == "redis " + store.redacted_url() + " " + head);
    // An empty payload is an entry too.
    store.save(address_of(5), entry_of(0));
    check_same(store.load(address_of(5)), entry_of(0));
    CHECK(store.erase(address));
    CHECK_FALSE(store.erase(address));
    CHECK_FALSE(store.load(address));
    CHECK(store.erase(address_of(5)));
  }
  CHECK(a.integer({"DBSIZE"}) == 0);
}

TEST_CASE("redis_store chunks a large entry on one hash tag and reassembles it", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  auto o = options_for(s);
  o.chunk_size = std::size_t{1} << 20;
  recall::redis_store store{o};
  const auto address = address_of(42);
  const auto big = entry_of(10 << 20, 7);
  store.save(address, big);
  const std::string head = store.head_of(address);
  const auto keys = a.keys();
  // 10 MiB and the header and manifest: 11 chunks, and the head.
  CHECK(keys.size() == 12);
  for (const auto& k : keys) {
    CHECK(k.starts_with(head));
  }
  CHECK(a.integer({"STRLEN", a.chunk(head, 0)}) == 1 << 20);
  CHECK(a.integer({"STRLEN", a.chunk(head, 10)}) == static_cast<long long>(overhead()));
  check_same(store.load(address), big);

  // Saving again replaces the chunks (new generation) and deletes the old ones.
  const auto bigger = entry_of((10 << 20) + 5, 8);
  store.save(address, bigger);
  CHECK(a.keys().size() == 12);
  check_same(store.load(address), bigger);
  // A small entry replacing a chunked one leaves only the head.
  const auto small = entry_of(10, 9);
  store.save(address, small);
  CHECK(a.keys().size() == 1);
  check_same(store.load(address), small);
  // An entry of exactly one chunk stays inline; one byte more is two chunks.
  store.save(address, entry_of((1 << 20) - overhead(), 10));
  CHECK(a.keys().size() == 1);
  store.save(address, entry_of((1 << 20) - overhead() + 1, 11));
  CHECK(a.keys().size() == 3);
  CHECK(a.integer({"STRLEN", a.chunk(head, 1)}) == 1);
  check_same(store.load(address), entry_of((1 << 20) - overhead() + 1, 11));
  CHECK(store.erase(address));
  CHECK(a.integer({"DBSIZE"}) == 0);

  // Entries over max_entry_size are refused without disabling the store.
  o.max_entry_size = overhead() + 1000;
  recall::redis_store limited{o};
  CHECK_THROWS_AS(limited.save(address, entry_of(1001)), recall::store_error);
  CHECK_FALSE(limited.disabled());
  limited.save(address, entry_of(1000));
  CHECK(limited.load(address));
}

TEST_CASE("a damaged, truncated or partly missing entry is a miss, removed and logged", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  auto o = options_for(s);
  o.chunk_size = 4096;
  recall::redis_store store{o};
  const auto saved = entry_of(20'000, 4); // 5 chunks of 4 KiB
  const auto address = address_of(7);
  const std::string head = store.head_of(address);

  const auto expect_discarded = [&](const char* why) {
    INFO(why);
    recall_test::log_capture capture;
    CHECK_FALSE(store.load(address));
    CHECK(capture.count(recall::log_level::warning, "removed damaged cache entry") == 1);
    CHECK(a.integer({"DBSIZE"}) == 0); // the head and every chunk of that save are gone
    CHECK_FALSE(store.disabled());
  };

  store.save(address, saved);
  const std::string third = a.chunk(head, 2);
  const std::string original = a.string({"GETRANGE", third, "100", "100"});
  a.run({"SETRANGE", third, "100", original == "x" ? "y" : "x"});
  expect_discarded("a flipped byte in a chunk");

  store.save(address, saved);
  const std::string fourth = a.chunk(head, 3);
  a.run({"SET", fourth, a.string({"GETRANGE", fourth, "0", "9"})});
  expect_discarded("a truncated chunk");

  store.save(address, saved);
  a.run({"APPEND", a.chunk(head, 4), "tail"});
  expect_discarded("a chunk with bytes appended");

  store.save(address, saved);
  a.integer({"DEL", a.chunk(head, 1)});
  expect_discarded("a missing chunk");

  store.save(address, saved);
  a.run({"SETRANGE", head, "60", "\xff"});
  {
    recall_test::log_capture capture;
    CHECK_FALSE(store.contains(address));
    CHECK(capture.count(recall::log_level::warning, "head record checksum mismatch") == 1);
  }
  CHECK(a.integer({"EXISTS", head}) == 0);
  // A damaged head record cannot name its chunks...
  REQUIRE(a.integer({"DBSIZE"}) == static_cast<long long>(rd::chunk_count_for(entry_bytes(saved), 4096)));
  CHECK(store.clear() == 0); // ...clear() finds them
  CHECK(a.integer({"DBSIZE"}) == 0);

  const auto small = entry_of(300, 5);
  store.save(address, small);
  const std::string inline_head = a.string({"GET", head});
  a.run({"SETRANGE", head, std::to_string(inline_head.size() - 3), "zzz"});
  expect_discarded("a damaged inline payload");

  store.save(address, small);
  a.run({"SET", head, inline_head.substr(0, inline_head.size() - 1)});
  expect_discarded("a truncated inline entry");

  // An entry copied under another call's key answers the wrong call.
  store.save(address_of(8), small);
  a.run({"SET", head, a.string({"GET", store.head_of(address_of(8))})});
  {
    recall_test::log_capture capture;
    CHECK_FALSE(store.load(address));
    CHECK(capture.count(recall::log_level::warning, "expected " + address.call.hex()) == 1);
  }
  CHECK(store.erase(address_of(8)));

  a.run({"SET", head, "not an entry at all, but long enough to hold the head record of recall's redis layout"});
  expect_discarded("a foreign value");
}

TEST_CASE("forged sizes in a head record cause no large allocation", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  recall::redis_store store{options_for(s)};
  const auto address = address_of(9);
  const std::string head = store.head_of(address);
  const auto forge = [&](std::uint64_t entry_size, std::uint64_t chunk_size) {
    rd::head_record m;
    m.layout = rd::layout::chunked;
    m.call = address.call;
    m.identity = g_simulate.identity;
    m.entry_size = entry_size;
    m.chunk_size = chunk_size;
    m.chunk_count = static_cast<std::uint32_t>(rd::chunk_count_for(entry_size, chunk_size));
    m.generation = 77;
    m.name = "forged";
    std::string value;
    rd::encode_head_record(value, m);
    a.run({"SET", head, value});
  };
  if (!RECALL_TEST_ALLOCATION_PROBE) {
    WARN("no allocation probe in a sanitized build: allocation sizes are not checked here");
  }
  // 0 in a build without the probe, so the size checks below pass vacuously there only.
  const auto largest_allocation_of_a_load = [&] {
    allocation_probe::g_largest = 0;
    allocation_probe::g_tracking = true;
    const bool hit = store.load(address).has_value();
    allocation_probe::g_tracking = false;
    CHECK_FALSE(hit);
    return allocation_probe::g_largest.load();
  };
  recall_test::log_capture capture;
  // Within max_entry_size (512 MiB) and self-consistent, but its chunks do not exist.
  forge(std::uint64_t{400} << 20, 1 << 20);
  CHECK(largest_allocation_of_a_load() < (std::size_t{1} << 20));
  CHECK(a.integer({"EXISTS", head}) == 0); // damaged: removed
  // A first chunk whose entry header is valid and agrees with the head record, announcing
  // 400 MiB of payload that was never written: the chunk lengths are checked on the server
  // before anything is sized from that header.
  {
    namespace fmt = recall::detail::entry_format_detail;
    const auto small = entry_of(10);
    const auto manifest = recall::detail::encode_manifest(small.manifest);
    auto header =
        recall::detail::encode_entry_header(address.call, g_simulate.identity, small.metadata, manifest, small.payload);
    const std::uint64_t payload_size = std::uint64_t{400} << 20;
    fmt::store_le(header.data() + recall::detail::entry_offset::payload_size, payload_size, 8);
    fmt::store_le(header.data() + recall::detail::entry_offset::header_checksum,
                  recall::detail::entry_header_checksum(header.data()), 8);
    forge(recall::detail::entry_header_size + manifest.size() + payload_size, 1 << 20);
    std::string first{reinterpret_cast<const char*>(header.data()), header.size()};
    first.append(reinterpret_cast<const char*>(manifest.data()), manifest.size());
    first.resize(1 << 20, '\0');
    a.run({"SET", rd::chunk_key(head, 77, 0), first});
    CHECK(largest_allocation_of_a_load() < (std::size_t{2} << 20));
    CHECK(a.integer({"DBSIZE"}) == 0); // damaged: the head and the chunk that was there removed
  }
  // Over max_entry_size: skipped (another node may allow more), left in place.
  forge(std::uint64_t{1} << 40, std::size_t{64} << 20);
  CHECK(largest_allocation_of_a_load() < (std::size_t{1} << 20));
  CHECK(a.integer({"EXISTS", head}) == 1);
  // A chunk size over the format's limit, or a count that does not match: damaged.
  forge(std::uint64_t{100} << 20, std::uint64_t{1} << 30);
  CHECK(largest_allocation_of_a_load() < (std::size_t{1} << 20));
  CHECK(a.integer({"EXISTS", head}) == 0);
  CHECK(capture.count(recall::log_level::warning, "inconsistent chunking") == 1);
  // Found while modelling load() for fuzz/redis_fuzzer.cpp: a head answering another call is removed with its
  // chunks, whose names were all built first, with no max_entry_size check on that path; a count
  // near 2^32 reserved over 100 GiB. Counts over max_chunk_count are now refused when decoding.
  {
    rd::head_record m;
    m.layout = rd::layout::chunked;
    m.call = address_of(10).call;
    m.identity = g_simulate.identity;
    m.chunk_size = rd::min_chunk_size;
    m.chunk_count = 0xFFFF'FFFFU;
    m.entry_size = std::uint64_t{m.chunk_count} * m.chunk_size;
    m.generation = 78;
    m.name = "forged";
    std::string value;
    rd::encode_head_record(value, m);
    a.run({"SET", head, value});
    CHECK(largest_allocation_of_a_load() < (std::size_t{1} << 20));
    CHECK(a.integer({"EXISTS", head}) == 0);
    CHECK(capture.count(recall::log_level::warning, "inconsistent chunking") == 2);
  }
}

TEST_CASE("entries expire after the configured TTL; the head never outlives its chunks", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  auto o = options_for(s);
  o.chunk_size = 4096;
  o.ttl = 60'000ms;
  recall::redis_store store{o};
  store.save(address_of(1), entry_of(10'000));
  const std::string head = store.head_of(address_of(1));
  const long long head_ttl = a.integer({"PTTL", head});
  CHECK(head_ttl > 50'000);
  CHECK(head_ttl <= 60'000);
  for (int i = 0; i < 3; ++i) {
    const long long chunk_ttl = a.integer({"PTTL", a.chunk(head, i)});
    CHECK(chunk_ttl > 50'000);
    CHECK(chunk_ttl <= 60'000);
  }
  o.ttl = 150ms;
  recall::redis_store short_lived{o};
  short_lived.save(address_of(2), entry_of(10));
  CHECK(short_lived.load(address_of(2)));
  std::this_thread::sleep_for(400ms);
  CHECK_FALSE(short_lived.load(address_of(2)));
  // Without a TTL, nothing expires.
  recall::redis_store lasting{options_for(s)};
  lasting.save(address_of(3), entry_of(10));
  CHECK(a.integer({"PTTL", lasting.head_of(address_of(3))}) == -1);
}

TEST_CASE("list, total_size and clear walk the prefix with SCAN", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  auto o = options_for(s, "lab");
  o.chunk_size = 4096;
  recall::redis_store store{o};
  recall::redis_store neighbour{options_for(s, "lab:2")}; // a prefix that extends ours
  store.save(address_of(1), entry_of(100, 1));
  store.save(address_of(2), entry_of(10'000, 2)); // chunked
  store.save(address_of(3, g_analyse), entry_of(50, 3));
  neighbour.save(address_of(1), entry_of(100, 1));

  auto all = store.list();
  REQUIRE(all.size() == 3);
  CHECK(store.list("simulate").size() == 2);
  CHECK(store.list(recall::directory_store::folder_name(g_analyse)).size() == 1);
  CHECK(store.list("nothing-like-it").empty());
  const auto analysed = store.list("analyse");
  REQUIRE(analysed.size() == 1);
  CHECK(analysed[0].call == address_of(3, g_analyse).call);
  CHECK(analysed[0].function.name == "lab::analyse");
  CHECK(analysed[0].function.identity == g_analyse.identity);
  CHECK(analysed[0].folder == recall::directory_store::folder_name(g_analyse));
  CHECK(analysed[0].size == overhead() + 50);
  CHECK(analysed[0].created == entry_of(50, 3).metadata.created);
  CHECK(store.total_size() == 3 * overhead() + 100 + 10'000 + 50);
  CHECK(store.total_size("simulate") == 2 * overhead() + 100 + 10'000);

  CHECK(store.clear("simulate") == 2);
  CHECK(store.list().size() == 1);
  CHECK(a.keys(rd::all_keys_pattern("lab")).size() == 1); // the chunks went with their head

  // clear() with no filter also takes stray keys and compute locks; strays() counts them first.
  const std::string stray = "{lab:" + std::string(32, 'a') + "}:c0.0123456789abcdef";
  a.run({"SET", stray, "left by an interrupted save"});
  const auto lock = store.lock_for_compute(address_of(4), 0ms);
  REQUIRE(lock != nullptr);
  const auto strays = store.strays();
  CHECK(strays.orphan_chunks == 1);
  CHECK(strays.orphan_bytes == 27);
  CHECK(strays.locks == 1);
  CHECK(store.clear() == 1);
  CHECK(a.integer({"EXISTS", stray}) == 0);
  CHECK(a.keys(rd::all_keys_pattern("lab")).empty()); // the lock went too
  CHECK(neighbour.list().size() == 1);                // another prefix is untouched
  CHECK(neighbour.load(address_of(1)));
}

TEST_CASE("passwords authenticate and are never shown", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s{{"--requirepass", "default-hunter2", "--user", "alice", "on", ">wonder-hunter2", "~*", "&*", "+@all",
            "--user", "reader", "on", ">reader-hunter2", "~*", "&*", "+@read", "+eval"}};
  recall_test::log_capture capture;
  {
    recall::redis_store store{recall::redis_options{.url = s.url("alice:wonder-hunter2")}};
    store.save(address_of(1), entry_of(10));
    CHECK(store.load(address_of(1)));
    CHECK(store.description() == "redis redis://alice:********@127.0.0.1:" + s.url().substr(18) + " prefix recall");
    CHECK_FALSE(contains(store.locate(address_of(1)), "hunter2"));
    recall::redis_store by_default_user{recall::redis_options{.url = s.url(":default-hunter2")}};
    CHECK(by_default_user.load(address_of(1)));
  }
  for (const std::string& userinfo : {std::string{"alice:wrong-hunter2"}, std::string{}}) {
    recall::redis_store store{recall::redis_options{.url = s.url(userinfo)}};
    try {
      static_cast<void>(store.load(address_of(1)));
      FAIL("a load with bad credentials succeeded");
    } catch (const recall::store_error& e) {
      CHECK_FALSE(contains(e.what(), "hunter2"));
      CHECK((contains(e.what(), "WRONGPASS") || contains(e.what(), "NOAUTH")));
    }
    CHECK(store.disabled());
  }
  CHECK(capture.count(recall::log_level::warning, "is skipped for 1 s, then retried") == 2);

  // A read-only user (a laptop's) cannot delete a damaged entry: a miss, logged, and the store
  // goes on reading.
  {
    recall::redis_store writer{recall::redis_options{.url = s.url("alice:wonder-hunter2")}};
    writer.save(address_of(2), entry_of(10));
    rd::connection alice{rd::parse_server_url(s.url("alice:wonder-hunter2")), rd::timeouts{}, "alice"};
    const rd::reply r = alice.command({"SETRANGE", writer.head_of(address_of(2)), "60", "\xff"});
    REQUIRE(r->type == REDIS_REPLY_INTEGER);
    recall::redis_store reader{recall::redis_options{.url = s.url("reader:reader-hunter2")}};
    CHECK_FALSE(reader.load(address_of(2)));
    CHECK(capture.count(recall::log_level::warning,
                        "could not remove it: ERR The user executing the script can't run this command") == 1);
    CHECK_FALSE(reader.disabled());
    CHECK(reader.load(address_of(1)));
    CHECK(writer.contains(address_of(1)));
  }
  for (const auto& line : capture.lines()) {
    CHECK_FALSE(contains(line.text, "hunter2"));
  }
}

TEST_CASE("two nodes share results through Redis; a Redis hit back-fills the local directory", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  recall_test::temp_dir dir_a;
  recall_test::temp_dir dir_b;
  recall_test::temp_dir dir_laptop;
  // One redis_store per node, as on separate machines.
  recall::memoize<&square> node_a{
      memoize_options(node(dir_a.path(), std::make_shared<recall::redis_store>(options_for(s))))};
  recall::memoize<&square> node_b{
      memoize_options(node(dir_b.path(), std::make_shared<recall::redis_store>(options_for(s))))};
  auto laptop_remote = std::make_shared<recall::redis_store>(options_for(s));
  recall::memoize<&square> laptop{
      memoize_options(node(dir_laptop.path(), laptop_remote, recall::tier_access::read_only))};

  g_square_calls = 0;
  CHECK(node_a(3.0) == 9.0);
  CHECK(g_square_calls == 1);
  const recall::entry_address address{recall::memoize<&square>::function(), node_a.key(3.0)};
  recall::directory_store local_b{dir_b.path()};
  CHECK_FALSE(local_b.contains(address));
  CHECK(node_b(3.0) == 9.0);
  CHECK(g_square_calls == 1);       // node B hit Redis...
  CHECK(local_b.contains(address)); // ...and kept a local copy

  // The laptop reads the cluster's results but never writes Redis.
  CHECK(laptop(3.0) == 9.0);
  CHECK(g_square_calls == 1);
  CHECK(laptop(4.0) == 16.0);
  CHECK(g_square_calls == 2);
  const recall::entry_address new_address{recall::memoize<&square>::function(), laptop.key(4.0)};
  CHECK(recall::directory_store{dir_laptop.path()}.contains(new_address));
  CHECK_FALSE(laptop_remote->contains(new_address));
  CHECK(node_b(4.0) == 16.0);
  CHECK(g_square_calls == 3);
  // Nor does the laptop lock in Redis: no one there waits for a result it will not share.
  const auto lock = recall::layered_store{{{std::make_shared<recall::directory_store>(dir_laptop.path())},
                                           {laptop_remote, recall::tier_access::read_only}}}
                        .lock_for_compute(address_of(5), 0ms);
  CHECK(admin{s}.integer({"EXISTS", rd::lock_key(laptop_remote->head_of(address_of(5)))}) == 0);
}

TEST_CASE("two processes with their own directories share a result through Redis", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  const std::string helper = helper_binary();
  if (helper.empty()) {
    WARN("RECALL_TEST_REDIS_HELPER is not set (run through meson test): skipped");
    return;
  }
  server s;
  recall_test::temp_dir dir_a;
  recall_test::temp_dir dir_b;
  int status = 0;
  const std::string first = run_command(helper + " share '" + s.url() + "' '" + dir_a.path().string() + "'", status);
  CHECK(status == 0);
  const std::string second = run_command(helper + " share '" + s.url() + "' '" + dir_b.path().string() + "'", status);
  CHECK(status == 0);
  INFO("first: " << first << "second: " << second);
  REQUIRE(first.starts_with("computed "));
  REQUIRE(second.starts_with("loaded "));
  CHECK(first.substr(9) == second.substr(7));
  // The second node's directory now holds the entry: a third run there needs no Redis.
  s.kill();
  const std::string third =
      run_command(helper + " share 'redis://127.0.0.1:1/0' '" + dir_b.path().string() + "'", status);
  CHECK(status == 0);
  CHECK(third == second);
}

TEST_CASE("RECALL_REMOTE puts Redis behind the default store, with no code change; read-only consumers",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  const std::string helper = helper_binary();
  if (helper.empty()) {
    WARN("RECALL_TEST_REDIS_HELPER is not set (run through meson test): skipped");
    return;
  }
  server s;
  recall_test::temp_dir dir_a;
  recall_test::temp_dir dir_b;
  recall_test::temp_dir dir_c;
  recall_test::temp_dir dir_d;
  const std::string remote = "RECALL_UNTRACKED=quiet RECALL_REMOTE='" + s.url() + "' ";
  int status = 0;
  // A consumer first: read-only, it computes and saves nothing to Redis.
  const std::string consumer = run_command(
      remote + "RECALL_REMOTE_MODE=read-only " + helper + " remote '" + dir_c.path().string() + "'", status);
  CHECK(status == 0);
  CHECK(consumer.starts_with("computed "));
  CHECK(admin{s}.integer({"DBSIZE"}) == 0);
  const std::string first = run_command(remote + helper + " remote '" + dir_a.path().string() + "'", status);
  CHECK(status == 0);
  INFO("first: " << first);
  REQUIRE(first.starts_with("computed "));
  CHECK(contains(first, "layered(directory " + dir_a.path().string()));
  CHECK(contains(first, "127.0.0.1:"));
  // Another host's process, another local cache: the result comes from Redis.
  const std::string second = run_command(remote + helper + " remote '" + dir_b.path().string() + "'", status);
  CHECK(status == 0);
  INFO("second: " << second);
  CHECK(second.starts_with("loaded "));
  // A read-only consumer loads it too, and its local cache is back-filled.
  const std::string reader = run_command(
      remote + "RECALL_REMOTE_MODE=read-only " + helper + " remote '" + dir_d.path().string() + "'", status);
  CHECK(reader.starts_with("loaded "));
  s.kill();
  const std::string offline = run_command(helper + " remote '" + dir_d.path().string() + "'", status);
  CHECK(status == 0);
  CHECK(offline.starts_with("loaded "));
  CHECK(contains(offline, "directory " + dir_d.path().string()));
  CHECK_FALSE(contains(offline, "layered"));
}

TEST_CASE("a server killed mid-run: calls still return, with one warning, then no more network I/O",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  auto s = std::make_unique<server>();
  recall_test::temp_dir dir;
  auto remote = std::make_shared<recall::redis_store>(options_for(*s));
  recall::memoize<&square> f{memoize_options(node(dir.path(), remote))};
  // Over a unix socket, the first write after the server is gone raises SIGPIPE, which would
  // end the process if the store let it through.
  auto o = options_for(*s);
  o.url = s->unix_url();
  recall::redis_store local_socket{o};
  local_socket.save(address_of(1), entry_of(10));
  recall_test::log_capture capture;
  g_square_calls = 0;
  CHECK(f(1.0) == 1.0);
  CHECK(f(1.0) == 1.0);
  CHECK(g_square_calls == 1);
  s->kill();
  for (int i = 2; i < 8; ++i) {
    CHECK(f(i) == i * i);
  }
  CHECK(f(1.0) == 1.0); // still a hit, from the directory
  CHECK(g_square_calls == 7);
  CHECK(remote->disabled());
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::warning, "is skipped for 1 s, then retried") == 1);
  CHECK_THROWS_AS(local_socket.save(address_of(2), entry_of(100'000)), recall::store_error);
  CHECK(capture.warnings() == 2);
  // Skipped: every operation fails at once (until the 1 s back-off ends), naming the cause.
  try {
    static_cast<void>(remote->load(address_of(1)));
    FAIL("a disabled store loaded");
  } catch (const recall::store_error& e) {
    CHECK(contains(e.what(), "is skipped after a failure"));
  }
  CHECK_THROWS_AS(remote->lock_for_compute(address_of(1), 0ms), recall::store_error);
}

TEST_CASE("a connection dropped in the middle of large transfers never yields a wrong value or kills the process",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  auto s = std::make_unique<server>();
  auto o = options_for(*s);
  o.chunk_size = std::size_t{1} << 16;
  recall::redis_store store{o};
  recall_test::log_capture capture;
  const auto big = entry_of(std::size_t{4} << 20, 12);
  std::atomic<int> round_trips{0};
  std::atomic<bool> wrong{false};
  std::thread worker{[&] {
    try {
      for (int i = 0;; ++i) {
        store.save(address_of(static_cast<std::uint64_t>(i % 3)), big); // writes to a dead socket raise SIGPIPE
        if (const auto loaded = store.load(address_of(static_cast<std::uint64_t>(i % 3)));
            !loaded || loaded->payload != big.payload) {
          wrong = true;
        }
        ++round_trips;
      }
    } catch (const recall::store_error&) {
    }
  }};
  while (round_trips < 2) {
    std::this_thread::sleep_for(5ms);
  }
  s->kill();
  worker.join();
  CHECK_FALSE(wrong);
  CHECK(store.disabled());
  CHECK(capture.warnings() == 1);
}

TEST_CASE("a server that stops answering costs one operation timeout, then the store is skipped",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  recall_test::temp_dir dir;
  auto o = options_for(s);
  o.operation_timeout = 200ms;
  o.retry = recall::retry_backoff{100ms, 200ms};
  auto remote = std::make_shared<recall::redis_store>(o);
  recall::memoize<&square> f{memoize_options(node(dir.path(), remote))};
  recall_test::log_capture capture;
  CHECK(f(1.0) == 1.0); // connected and working
  s.pause();
  auto started = std::chrono::steady_clock::now();
  CHECK(f(2.0) == 4.0);
  const auto first = std::chrono::steady_clock::now() - started;
  CHECK(first >= 190ms);
  CHECK(first < 1500ms);
  // After the first failure: the back-off windows pass (100 ms, then 200 ms) and a call probes
  // the server in each; no call takes more than the 50 ms probe budget (plus the call's own cost).
  started = std::chrono::steady_clock::now();
  auto slowest = std::chrono::steady_clock::duration{};
  int calls = 0;
  for (int i = 3; std::chrono::steady_clock::now() - started < 700ms; ++i, ++calls) {
    const auto call_started = std::chrono::steady_clock::now();
    CHECK(f(i) == static_cast<double>(i) * i);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - call_started);
    std::this_thread::sleep_for(2ms);
  }
  CHECK(calls > 50);
  // 50 ms of probe plus the call's own work on a loaded 2-core CI machine; an unbounded probe
  // would take the 200 ms operation timeout.
  CHECK(slowest < 150ms);
  CHECK(slowest >= 45ms); // some call did probe, and waited out its budget
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::warning, "timed out") == 1);
  CHECK(capture.count(recall::log_level::debug, "") == 0);
  s.resume();
  std::this_thread::sleep_for(250ms);
  CHECK(f(1000.0) == 1e6);
  CHECK(capture.count(recall::log_level::info, "reachable again") == 1);
  CHECK_FALSE(remote->disabled());

  // A server that is not there at all: refused at once.
  recall::redis_store nowhere{recall::redis_options{.url = "redis://127.0.0.1:" + std::to_string(free_port()) + "/0"}};
  started = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(nowhere.save(address_of(1), entry_of(1)), recall::store_error);
  CHECK(std::chrono::steady_clock::now() - started < 500ms);
  CHECK(nowhere.disabled());
  CHECK(capture.count(recall::log_level::warning, "cannot connect") == 1);
}

TEST_CASE("compute locks: one holder, renewed while held, released, recovered from a dead holder",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  auto o = options_for(s);
  o.lock_lease = 300ms;
  recall::redis_store node_a{o};
  recall::redis_store node_b{o};
  const auto address = address_of(11);
  const std::string lock_name = rd::lock_key(node_a.head_of(address));

  auto held = node_a.lock_for_compute(address, 0ms);
  REQUIRE(held != nullptr);
  const std::string token = a.string({"GET", lock_name});
  CHECK(contains(token, " " + std::to_string(::getpid()) + " ")); // token folder host pid since label
  // Renewed every 100 ms: a waiter gives up after its limit although the lease is 300 ms.
  auto started = std::chrono::steady_clock::now();
  CHECK(node_b.lock_for_compute(address, 900ms) == nullptr);
  CHECK(std::chrono::steady_clock::now() - started >= 890ms);
  CHECK(a.string({"GET", lock_name}) == token);

  // Released when destroyed: a waiter gets it at its next poll.
  std::thread release{[&] {
    std::this_thread::sleep_for(150ms);
    held.reset();
  }};
  started = std::chrono::steady_clock::now();
  auto taken = node_b.lock_for_compute(address, 5s);
  release.join();
  CHECK(taken != nullptr);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(a.string({"GET", lock_name}) != token);
  taken.reset();
  CHECK(a.integer({"EXISTS", lock_name}) == 0);

  // The entry appearing while waiting ends the wait, with nothing held: the next load hits.
  held = node_a.lock_for_compute(address, 0ms);
  REQUIRE(held != nullptr);
  const std::string holder = a.string({"GET", lock_name});
  std::thread compute{[&] {
    std::this_thread::sleep_for(150ms);
    node_a.save(address, entry_of(10));
  }};
  started = std::chrono::steady_clock::now();
  auto ready = node_b.lock_for_compute(address, 5s);
  compute.join();
  CHECK(ready != nullptr);
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(node_b.load(address));
  ready.reset();
  CHECK(a.string({"GET", lock_name}) == holder); // still node A's
  held.reset();
  CHECK(node_b.erase(address));

  // A holder that died: its lease runs out and the lock is taken over.
  a.run({"SET", lock_name, "ghost-host:4242:0123456789abcdef", "PX", "300"});
  started = std::chrono::steady_clock::now();
  taken = node_b.lock_for_compute(address, 5s);
  CHECK(taken != nullptr);
  CHECK(std::chrono::steady_clock::now() - started >= 200ms);
  CHECK(a.string({"GET", lock_name}) != "ghost-host:4242:0123456789abcdef");
  taken.reset();

  // A lock lost to another holder is neither renewed nor released by the one that lost it.
  {
    recall_test::log_capture capture;
    held = node_a.lock_for_compute(address, 0ms);
    REQUIRE(held != nullptr);
    a.run({"SET", lock_name, "thief"});
    std::this_thread::sleep_for(250ms); // past a renewal
    held.reset();
    CHECK(a.string({"GET", lock_name}) == "thief");
    CHECK(a.integer({"PTTL", lock_name}) == -1);
    CHECK(capture.count(recall::log_level::info, "lost the compute lock") == 1);
  }
  a.integer({"DEL", lock_name});

  // A layered store locks its Redis tier (and keeps the lock until the set is released).
  recall_test::temp_dir dir;
  auto layered = node(dir.path(), std::make_shared<recall::redis_store>(o));
  auto both = layered->lock_for_compute(address, 0ms);
  REQUIRE(both != nullptr);
  CHECK(a.integer({"EXISTS", lock_name}) == 1);
  CHECK(node_b.lock_for_compute(address, 0ms) == nullptr);
  both.reset();
  CHECK(a.integer({"EXISTS", lock_name}) == 0);
}

TEST_CASE("try-lock: busy while another node holds the lock; the lock names function, host, pid and label",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  const auto o = options_for(s);
  recall::redis_store node_a{o};
  recall::redis_store node_b{o};
  const auto address = address_of(12);

  auto held = node_a.try_lock_for_compute(address, "{dt=0.01} 1000");
  REQUIRE(held.outcome == recall::lock_outcome::acquired);
  CHECK(node_b.try_lock_for_compute(address, "x").outcome == recall::lock_outcome::busy);
  CHECK(node_b.lock_for_compute(address, 0ms) == nullptr);

  const auto running = node_b.running_computations();
  REQUIRE(running.size() == 1);
  CHECK(running[0].call == address.call);
  CHECK(running[0].folder == recall::directory_store::folder_name(address.function));
  CHECK(running[0].holder.host == recall::detail::host_name());
  CHECK(running[0].holder.pid == ::getpid());
  CHECK(running[0].holder.label == "{dt=0.01} 1000");

  held.lock.reset();
  CHECK(node_b.running_computations().empty());
  auto taken = node_b.try_lock_for_compute(address, "x");
  CHECK(taken.outcome == recall::lock_outcome::acquired);
  taken.lock.reset();

  // Once the entry is there, a held lock does not make others wait: they get a lock that holds
  // nothing, and their next load hits.
  node_a.save(address, entry_of(12));
  auto holder = node_a.try_lock_for_compute(address, "x");
  REQUIRE(holder.outcome == recall::lock_outcome::acquired);
  auto ready = node_b.try_lock_for_compute(address, "x");
  CHECK(ready.outcome == recall::lock_outcome::acquired);
  ready.lock.reset();
  CHECK(a.integer({"EXISTS", rd::lock_key(node_a.head_of(address))}) == 1);
  holder.lock.reset();

  // A layered store is busy when its Redis tier is.
  recall_test::temp_dir dir;
  auto layered = node(dir.path(), std::make_shared<recall::redis_store>(o));
  const auto other = address_of(13);
  auto remote = node_a.try_lock_for_compute(other, "");
  REQUIRE(remote.outcome == recall::lock_outcome::acquired);
  CHECK(layered->try_lock_for_compute(other, "").outcome == recall::lock_outcome::busy);
  remote.lock.reset();
  auto local_and_remote = layered->try_lock_for_compute(other, "");
  CHECK(local_and_remote.outcome == recall::lock_outcome::acquired);
  CHECK(node_a.try_lock_for_compute(other, "").outcome == recall::lock_outcome::busy);
}

TEST_CASE("processes contending for one key compute it once", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  const std::string helper = helper_binary();
  if (helper.empty()) {
    WARN("RECALL_TEST_REDIS_HELPER is not set (run through meson test): skipped");
    return;
  }
  server s;
  recall_test::temp_dir scratch;
  const std::string count_file = (scratch.path() / "computations").string();
  constexpr int processes = 4;
  std::vector<FILE*> pipes;
  for (int i = 0; i < processes; ++i) {
    const auto dir = scratch.path() / ("node" + std::to_string(i));
    std::filesystem::create_directory(dir);
    const std::string command = helper + " lock '" + s.url() + "' '" + dir.string() + "' '" + count_file + "' 600";
    pipes.push_back(::popen(command.c_str(), "r"));
    REQUIRE(pipes.back() != nullptr);
  }
  std::vector<std::string> outputs;
  for (FILE* pipe : pipes) {
    std::string out;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
      out += buffer;
    }
    CHECK(::pclose(pipe) == 0);
    outputs.push_back(out);
  }
  std::ifstream counted{count_file};
  int computations = 0;
  for (std::string line; std::getline(counted, line);) {
    ++computations;
  }
  CHECK(computations == 1);
  int computed = 0;
  for (const auto& out : outputs) {
    INFO(out);
    computed += out.starts_with("computed ") ? 1 : 0;
    REQUIRE(out.find("result-of-") != std::string::npos);
    CHECK(out.substr(out.find("result-of-")) == outputs.front().substr(outputs.front().find("result-of-")));
  }
  CHECK(computed == 1);
}

TEST_CASE("one store serves many threads through its connection pool", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  auto o = options_for(s);
  o.chunk_size = 4096;
  o.max_connections = 2;
  recall::redis_store store{o};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (unsigned i = 0; i < 30; ++i) {
        const auto address = address_of(t * 1000 + i);
        const auto saved = entry_of(100 + (i * 997) % 12'000, t * 100 + i);
        store.save(address, saved);
        const auto loaded = store.load(address);
        if (!loaded || loaded->payload != saved.payload) {
          ++mismatches;
        }
        if (i % 5 == 0) {
          const auto lock = store.lock_for_compute(address_of(t * 1000 + 999), 0ms);
          if (!lock) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(mismatches == 0);
  CHECK(store.list().size() == 180);
  CHECK_FALSE(store.disabled());
}

TEST_CASE("memoize through memory -> directory -> Redis returns large results intact", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  recall_test::temp_dir dir_a;
  recall_test::temp_dir dir_b;
  auto o = options_for(s);
  o.chunk_size = std::size_t{1} << 20;
  recall::memoize<&big_result> a{memoize_options(node(dir_a.path(), std::make_shared<recall::redis_store>(o)))};
  auto b_remote = std::make_shared<recall::redis_store>(o);
  recall::options b_options = memoize_options(node(dir_b.path(), b_remote));
  b_options.memory = recall::memory_tier::shared;
  recall::memoize<&big_result> b{b_options};
  const auto computed = a(1'500'000); // 12 MB of doubles: 12 chunks
  const auto loaded = b(1'500'000);
  CHECK(loaded == computed);
  CHECK(b_remote->list().front().size > (std::size_t{12} << 20) - (std::size_t{1} << 20));
}

TEST_CASE("a lock key holding garbage or without expiry is stale at once, with one warning", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  admin a{s};
  recall::redis_store store{options_for(s)};
  const auto address = address_of(21);
  const std::string lock_name = rd::lock_key(store.head_of(address));
  recall_test::log_capture capture;
  for (const auto& [value, why] :
       {std::pair{"garbage", "holds no recall lock token"}, std::pair{"node-3:77:0123456789abcdef", "has no expiry"},
        std::pair{"node-3:7x:0123456789abcdef", "holds no recall lock token"}}) {
    a.run({"SET", lock_name, value}); // no expiry: without the check, a wait of the whole limit
    const auto started = std::chrono::steady_clock::now();
    auto held = store.lock_for_compute(address, 5s);
    CHECK(held != nullptr);
    CHECK(std::chrono::steady_clock::now() - started < 500ms);
    CHECK(a.string({"GET", lock_name}) != value);
    CHECK(capture.count(recall::log_level::warning, why) >= 1);
  }
  CHECK(capture.warnings() == 3); // one per stale lock
  // A well-formed lock with an expiry is a holder's: waited for.
  a.run({"SET", lock_name, "node-3:77:0123456789abcdef", "PX", "60000"});
  CHECK(store.lock_for_compute(address, 100ms) == nullptr);
  CHECK(capture.warnings() == 3);
  // clear() removes an entry's lock with the entry, and with no filter every lock.
  store.save(address, entry_of(10));
  CHECK(store.clear("simulate") == 1);
  CHECK(a.integer({"EXISTS", lock_name}) == 0);
  a.run({"SET", lock_name, "garbage"});
  CHECK(store.strays().locks == 1);
  static_cast<void>(store.clear());
  CHECK(a.integer({"EXISTS", lock_name}) == 0);
}

namespace redis_test {

// A server that answers every command, one byte per `pause`: a reply that never completes in time
// although each read gets something before a per-read timeout would fire.
class dripping_server {
public:
  explicit dripping_server(std::chrono::milliseconds pause) : m_pause{pause} {
    m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(m_listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(m_listener, 8) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    m_port = ntohs(address.sin_port);
    m_thread = std::thread{[this] { serve(); }};
  }
  dripping_server(const dripping_server&) = delete;
  dripping_server& operator=(const dripping_server&) = delete;
  ~dripping_server() {
    m_stop = true;
    ::shutdown(m_listener, SHUT_RDWR);
    m_thread.join();
    ::close(m_listener);
  }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port) + "/0"; }

private:
  void serve() {
    while (!m_stop) {
      const int client = ::accept(m_listener, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      char request[4096];
      if (::recv(client, request, sizeof request, 0) > 0) {
        const std::string reply = "$40\r\n" + std::string(40, 'x') + "\r\n";
        for (const char c : reply) {
          if (m_stop || ::send(client, &c, 1, MSG_NOSIGNAL) != 1) {
            break;
          }
          std::this_thread::sleep_for(m_pause);
        }
      }
      ::close(client);
    }
  }

  std::chrono::milliseconds m_pause;
  int m_listener = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

} // namespace redis_test

TEST_CASE("operation_timeout is a deadline for the whole operation, not for each read", "[stores_redis_store]") {
  dripping_server drip{50ms};
  recall::redis_options o;
  o.url = drip.url();
  o.operation_timeout = 300ms;
  recall::redis_store store{o};
  recall_test::log_capture capture;
  const auto started = std::chrono::steady_clock::now();
  try {
    static_cast<void>(store.load(address_of(1)));
    FAIL("a load from a dripping server succeeded");
  } catch (const recall::store_error& e) {
    CHECK(contains(e.what(), "timed out"));
  }
  const auto took = std::chrono::steady_clock::now() - started;
  // Byte by byte, the 47-byte reply takes 2.3 s; each read alone gets a byte within 50 ms.
  CHECK(took >= 290ms);
  CHECK(took < 600ms);
  CHECK(store.disabled());
  CHECK(capture.warnings() == 1);
}

TEST_CASE("a dead Redis: one warning per outage, no line per miss, used again when it is back, with a note",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  recall_test::temp_dir dir;
  auto o = options_for(s);
  o.retry = recall::retry_backoff{50ms, 100ms};
  auto remote = std::make_shared<recall::redis_store>(o);
  recall::memoize<&square> f{memoize_options(node(dir.path(), remote))};
  recall_test::log_capture capture;
  g_square_calls = 0;
  CHECK(f(1.0) == 1.0);
  s.kill();
  for (int i = 2; i < 40; ++i) { // misses, each asking Redis for a lock (while it is not skipped)
    CHECK(f(i) == i * i);
    std::this_thread::sleep_for(5ms);
  }
  CHECK(capture.warnings() == 1);
  CHECK(capture.count(recall::log_level::debug, "") == 0);
  CHECK(remote->disabled());
  s.restart();
  admin a{s};
  std::this_thread::sleep_for(120ms); // past the longest back-off
  for (int i = 100; i < 103; ++i) {
    CHECK(f(i) == i * i);
  }
  CHECK_FALSE(remote->disabled());
  CHECK(capture.count(recall::log_level::info, "reachable again") == 1);
  CHECK(a.keys(rd::all_keys_pattern("recall-test")).size() >= 2); // saved to the new server
  // A second outage is a second warning.
  s.kill();
  CHECK(f(200.0) == 40000.0);
  CHECK(capture.warnings() == 2);
}

namespace redis_test {

// A loopback server that speaks no Redis: on each connection it answers every request with
// `reply` and, when `close_after_reply`, hangs up after the first one (a reply cut short). Each
// connection has its own thread; reads wait at most 50 ms at a time, so the destructor stops
// everything within that.
class scripted_server {
public:
  scripted_server(std::string reply, bool close_after_reply)
      : m_reply{std::move(reply)}, m_close_after_reply{close_after_reply} {
    m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(m_listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(m_listener, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    m_port = ntohs(address.sin_port);
    m_thread = std::thread{[this] { accept_loop(); }};
  }
  scripted_server(const scripted_server&) = delete;
  scripted_server& operator=(const scripted_server&) = delete;
  ~scripted_server() {
    m_stop = true;
    ::shutdown(m_listener, SHUT_RDWR);
    m_thread.join();
    for (auto& t : m_connections) {
      t.join();
    }
    ::close(m_listener);
  }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port) + "/0"; }
  [[nodiscard]] int connections() const { return m_accepted; }

private:
  void accept_loop() {
    while (!m_stop) {
      const int client = ::accept(m_listener, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      ++m_accepted;
      const timeval wait{0, 50'000};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      m_connections.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(int client) {
    char request[4096];
    while (!m_stop) {
      const auto got = ::recv(client, request, sizeof request, 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        continue;
      }
      if (got <= 0 || ::send(client, m_reply.data(), m_reply.size(), MSG_NOSIGNAL) < 0 || m_close_after_reply) {
        break;
      }
    }
    ::close(client);
  }

  std::string m_reply;
  bool m_close_after_reply;
  int m_listener = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_accepted{0};
  std::thread m_thread;
  std::vector<std::thread> m_connections; // touched by the accept thread only, until it is joined
};

// Memoize through a local directory and a redis_store on `faulty`: every call returns the right
// value, the outage is one warning, and after the first failure no call waits more than the
// 50 ms probe budget (with the slack of the timing checks above for a loaded 2-core CI).
void check_degrades_to_local(const scripted_server& faulty) {
  recall_test::temp_dir dir;
  recall::redis_options o;
  o.url = faulty.url();
  o.prefix = "recall-test";
  o.operation_timeout = 300ms;
  o.retry = recall::retry_backoff{100ms, 200ms};
  auto remote = std::make_shared<recall::redis_store>(o);
  recall::memoize<&square> f{memoize_options(node(dir.path(), remote))};
  recall_test::log_capture capture;
  g_square_calls = 0;
  auto started = std::chrono::steady_clock::now();
  CHECK(f(1.0) == 1.0);
  CHECK(std::chrono::steady_clock::now() - started < 1500ms); // bounded by the operation deadline
  CHECK(faulty.connections() >= 1);
  CHECK(remote->disabled());
  started = std::chrono::steady_clock::now();
  auto slowest = std::chrono::steady_clock::duration{};
  int calls = 0;
  for (int i = 2; std::chrono::steady_clock::now() - started < 700ms; ++i, ++calls) {
    const auto call_started = std::chrono::steady_clock::now();
    CHECK(f(i) == static_cast<double>(i) * i);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - call_started);
    std::this_thread::sleep_for(2ms);
  }
  CHECK(calls > 50);
  CHECK(slowest < 150ms);
  CHECK(faulty.connections() >= 2); // the back-off ended and a call probed the server again
  CHECK(f(1.0) == 1.0);             // a hit, from the directory
  CHECK(g_square_calls == calls + 1);
  std::string logged;
  for (const auto& line : capture.lines()) {
    logged += line.text + "\n";
  }
  INFO("logged:\n" << logged);
  // (square's "not tracked" warning comes once per process, in whichever test calls it first.)
  CHECK(capture.warnings() - capture.count(recall::log_level::warning, "is not tracked") == 1);
  CHECK(capture.count(recall::log_level::warning, faulty.url()) == 1);
  CHECK(capture.count(recall::log_level::info, "reachable again") == 0);
}

} // namespace redis_test

TEST_CASE("a server that answers with bytes that are not RESP: the local tiers answer, one warning",
          "[stores_redis_store]") {
  const auto reply = GENERATE(std::string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}, [] {
    std::string bytes(256, '\0'); // reproducible noise; a first byte that begins no RESP type
    std::uint32_t state = 12345;
    for (auto& c : bytes) {
      state = state * 1103515245U + 12345U;
      c = static_cast<char>(state >> 24);
    }
    bytes[0] = '\x01';
    return bytes;
  }());
  CAPTURE(reply.substr(0, 16));
  scripted_server garbage{reply, false};
  check_degrades_to_local(garbage);
}

TEST_CASE("a server that sends part of a reply, then hangs up: the local tiers answer, one warning",
          "[stores_redis_store]") {
  const auto reply =
      GENERATE(std::string{"$40\r\nxxxxxxxxxxxxxxxxxxxx"}, std::string{"*3\r\n$5\r\nhello\r\n:1"}, std::string{"+O"});
  CAPTURE(reply);
  scripted_server truncated{reply, true};
  check_degrades_to_local(truncated);
}

TEST_CASE("a failed chunked save leaves chunks that expire; strays() counts them", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s{{"--maxmemory", "4mb", "--maxmemory-policy", "noeviction"}};
  admin a{s};
  auto o = options_for(s);
  o.chunk_size = std::size_t{1} << 16;
  recall::redis_store store{o};
  recall_test::log_capture capture;
  // Fits: its chunks are persistent once the head is written.
  store.save(address_of(1), entry_of(300'000, 1));
  for (const auto& chunk : a.keys(store.head_of(address_of(1)) + ":c*")) {
    CHECK(a.integer({"PTTL", chunk}) == -1);
  }
  CHECK(store.strays().orphan_chunks == 0);
  // Does not fit: the server refuses a chunk (OOM) and the head is never written.
  CHECK_THROWS_AS(store.save(address_of(2), entry_of(std::size_t{8} << 20, 2)), recall::store_error);
  const auto left = a.keys(store.head_of(address_of(2)) + ":c*");
  REQUIRE_FALSE(left.empty());
  for (const auto& chunk : left) {
    const long long ttl = a.integer({"PTTL", chunk});
    CHECK(ttl > 0);
    CHECK(ttl <= 70'000); // the save's deadline plus a minute
  }
  CHECK(a.integer({"EXISTS", store.head_of(address_of(2))}) == 0);
  const auto strays = recall::redis_store{options_for(s)}.strays();
  CHECK(strays.orphan_chunks == left.size());
  CHECK(strays.orphan_bytes == left.size() * (std::size_t{1} << 16));
}

TEST_CASE("redis cluster: hash slots honour {...} tags; redis+cluster:// URLs", "[stores_redis_store]") {
  CHECK(rd::crc16("123456789") == 0x31C3); // the specification's check value
  CHECK(rd::hash_slot("{user1000}.following") == rd::hash_slot("user1000"));
  CHECK(rd::hash_slot("foo{}{bar}") == rd::crc16("foo{}{bar}") % 16384); // an empty tag is no tag
  CHECK(rd::hash_slot("foo") == 12182);                                  // as CLUSTER KEYSLOT foo
  const std::string head = rd::head_key("recall", recall::key{1, 2});
  CHECK(rd::hash_slot(head) == rd::hash_slot(rd::lock_key(head)));
  CHECK(rd::hash_slot(head) == rd::hash_slot(rd::chunk_key(head, 7, 3)));
  const auto u = rd::parse_cluster_url("redis+cluster://alice:s%40cret@10.0.0.1:7000,10.0.0.2:7001,node3");
  REQUIRE(u.seeds.size() == 3);
  CHECK(u.seeds[1].host == "10.0.0.2");
  CHECK(u.seeds[1].port == 7001);
  CHECK(u.seeds[2].port == 6379);
  CHECK(u.seeds[2].user == "alice");
  CHECK(u.seeds[2].password == "s@cret");
  CHECK(u.redacted() == "redis+cluster://alice:********@10.0.0.1:7000,10.0.0.2:7001,node3:6379");
  const auto error = [](std::string_view url) { return config_error_of([&] { return rd::parse_cluster_url(url); }); };
  CHECK(contains(error("redis+cluster://a:1,,b:2"), "an empty seed node"));
  CHECK(contains(error("redis+cluster://a:1/2"), "no database"));
  CHECK(contains(error("redis+cluster://pw@a:99999"), "bad port"));
  CHECK_FALSE(contains(error("redis+cluster://user:hunter2@a:99999"), "hunter2"));
}

namespace redis_test {

// Three redis-server --cluster-enabled yes on free loopback ports, joined with redis-cli --cluster
// create (all 16384 slots, no replicas), stopped by pid when destroyed. ok() is false (and the
// test skips) only when they cannot be started.
class cluster {
public:
  cluster() {
    const auto binary = redis_server_binary();
    const std::string cli = std::filesystem::path{*binary}.parent_path() / "redis-cli";
    if (::access(cli.c_str(), X_OK) != 0) {
      return;
    }
    std::string nodes;
    for (int i = 0; i < 3; ++i) {
      m_ports[i] = free_port();
      const std::string port = std::to_string(m_ports[i]);
      std::vector<std::string> args{*binary,
                                    "--port",
                                    port,
                                    "--bind",
                                    "127.0.0.1",
                                    "--save",
                                    "",
                                    "--appendonly",
                                    "no",
                                    "--daemonize",
                                    "no",
                                    "--cluster-enabled",
                                    "yes",
                                    "--cluster-config-file",
                                    (m_dir.path() / ("nodes-" + port + ".conf")).string(),
                                    "--cluster-node-timeout",
                                    "1000",
                                    "--dir",
                                    m_dir.path().string(),
                                    "--logfile",
                                    (m_dir.path() / (port + ".log")).string()};
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      if (::posix_spawn(&m_pids[i], argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
        return;
      }
      nodes += " 127.0.0.1:" + port;
    }
    for (int i = 0; i < 3; ++i) {
      if (!wait_for(i, "PONG", {"PING"})) {
        return;
      }
    }
    int status = 0;
    static_cast<void>(run_command("timeout 20 " + cli + " --cluster create" + nodes + " --cluster-yes 2>&1", status));
    if (status != 0) {
      return;
    }
    for (int i = 0; i < 3; ++i) {
      if (!wait_for(i, "cluster_state:ok", {"CLUSTER", "INFO"})) {
        return;
      }
    }
    m_ok = true;
  }
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;
  ~cluster() {
    for (int i = 0; i < 3; ++i) {
      kill(i);
    }
  }

  [[nodiscard]] bool ok() const noexcept { return m_ok; }
  [[nodiscard]] std::string url() const { return "redis+cluster://127.0.0.1:" + std::to_string(m_ports[0]); }
  [[nodiscard]] int port(int i) const { return m_ports[i]; }
  void kill(int i) {
    if (m_pids[i] > 0) {
      ::kill(m_pids[i], SIGKILL);
      int status = 0;
      ::waitpid(m_pids[i], &status, 0);
      m_pids[i] = -1;
    }
  }
  // Keys node i holds.
  long long keys_on(int i) {
    rd::connection c{rd::parse_server_url("redis://127.0.0.1:" + std::to_string(m_ports[i])), rd::timeouts{}, "admin"};
    return c.command({"DBSIZE"})->integer;
  }

private:
  bool wait_for(int i, std::string_view expected, std::initializer_list<std::string_view> command) {
    for (int attempt = 0; attempt < 500; ++attempt) { // 10 s at most
      try {
        rd::connection c{rd::parse_server_url("redis://127.0.0.1:" + std::to_string(m_ports[i])), rd::timeouts{},
                         "probe"};
        const rd::reply r = c.command(command);
        if ((r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && contains(rd::text_of(*r), expected)) {
          return true;
        }
      } catch (const recall::store_error&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  recall_test::temp_dir m_dir;
  std::array<int, 3> m_ports{};
  std::array<pid_t, 3> m_pids{-1, -1, -1};
  bool m_ok = false;
};

} // namespace redis_test

TEST_CASE("redis cluster: entries spread over the masters, MOVED followed, a master killed mid-run, two processes",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  cluster c;
  if (!c.ok()) {
    WARN("a Redis Cluster could not be started: cluster test skipped");
    return;
  }
  recall::redis_options o;
  o.url = c.url(); // one seed: the others are learnt from CLUSTER SLOTS
  o.prefix = "recall-test";
  o.chunk_size = std::size_t{1} << 12;
  recall::redis_store store{o};
  CHECK(contains(store.description(), "redis+cluster://127.0.0.1:"));
  // Entries, small and chunked, land on all three masters and read back.
  for (std::uint64_t i = 0; i < 30; ++i) {
    store.save(address_of(i), entry_of(i % 3 == 0 ? 20'000 : 100, static_cast<unsigned>(i)));
  }
  for (std::uint64_t i = 0; i < 30; ++i) {
    check_same(store.load(address_of(i)), entry_of(i % 3 == 0 ? 20'000 : 100, static_cast<unsigned>(i)));
  }
  for (int i = 0; i < 3; ++i) {
    CHECK(c.keys_on(i) > 0);
  }
  CHECK(store.list().size() == 30);
  const auto lock = store.lock_for_compute(address_of(40), 0ms);
  CHECK(lock != nullptr);
  CHECK(store.strays().locks == 1);

  // A plain redis:// store pointed at one node is told to use the cluster form.
  recall_test::log_capture capture;
  {
    recall::redis_store single{
        recall::redis_options{.url = "redis://127.0.0.1:" + std::to_string(c.port(0)) + "/0", .prefix = "recall-test"}};
    int moved = 0;
    for (std::uint64_t i = 0; i < 6; ++i) {
      try {
        static_cast<void>(single.load(address_of(i)));
      } catch (const recall::store_error& e) {
        moved += contains(e.what(), "MOVED") && contains(e.what(), "use a redis+cluster:// URL") ? 1 : 0;
        break;
      }
    }
    CHECK(moved == 1);
  }

  // Two processes with their own directories share a result through the cluster.
  const std::string helper = helper_binary();
  if (!helper.empty()) {
    recall_test::temp_dir dir_a;
    recall_test::temp_dir dir_b;
    int status = 0;
    const std::string first = run_command(helper + " share '" + c.url() + "' '" + dir_a.path().string() + "'", status);
    CHECK(status == 0);
    const std::string second = run_command(helper + " share '" + c.url() + "' '" + dir_b.path().string() + "'", status);
    CHECK(status == 0);
    INFO("first: " << first << "second: " << second);
    CHECK(first.starts_with("computed "));
    CHECK(second.starts_with("loaded "));
  }

  // A master killed mid-run: every call still returns the right value.
  recall_test::temp_dir dir;
  auto remote = std::make_shared<recall::redis_store>(o);
  recall::memoize<&square> f{memoize_options(node(dir.path(), remote))};
  for (int i = 0; i < 20; ++i) {
    CHECK(f(i) == i * i);
  }
  c.kill(1);
  for (int i = 0; i < 40; ++i) {
    CHECK(f(i) == i * i);
  }
}

TEST_CASE("with redis_store.hpp included, RECALL_REMOTE's redis URLs make redis stores", "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  const auto made = recall::make_remote_store(s.url());
  REQUIRE(dynamic_cast<recall::redis_store*>(made.get()) != nullptr);
  made->save(address_of(1), entry_of(10));
  CHECK(recall::redis_store{s.url()}.load(address_of(1)));
  CHECK(contains(recall::make_remote_store("redis+cluster://127.0.0.1:1,127.0.0.1:2")->description(),
                 "redis+cluster://127.0.0.1:1,127.0.0.1:2"));
  CHECK(contains(recall::make_remote_store("unix:///tmp/x.sock")->description(), "unix:///tmp/x.sock"));
}

TEST_CASE("a pooled connection's next operation gets its whole timeout, not what the last one left",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  server s;
  auto o = options_for(s);
  o.operation_timeout = 1000ms;
  o.max_connections = 1; // one connection, reused
  recall::redis_store store{o};
  store.save(address_of(1), entry_of(10));
  // The first load ends about 100 ms before its deadline; the second needs 400 ms of its own.
  for (const auto pause : {850ms, 400ms}) {
    s.pause();
    std::thread resume{[&] {
      std::this_thread::sleep_for(pause);
      s.resume();
    }};
    CHECK(store.load(address_of(1)));
    resume.join();
  }
  CHECK_FALSE(store.disabled());
}

namespace redis_test {

// Three identities of lab::versioned, saved v1, v3, then v2 (by creation time: entry_of's seed),
// small and chunked entries, and lab::simulate alone under its name; then the superseded marks
// and prune_superseded (recall/management/redis_management.hpp) on `store`.
void check_superseded_versions(recall::redis_store& store) {
  const recall::function_id v1{"lab::versioned", recall::key{0x1111111111111111ULL, 1}};
  const recall::function_id v2{"lab::versioned", recall::key{0x2222222222222222ULL, 2}};
  const recall::function_id v3{"lab::versioned", recall::key{0x3333333333333333ULL, 3}};
  store.save(address_of(1, v1), entry_of(100, 1));
  store.save(address_of(2, v1), entry_of(10'000, 2)); // chunked
  store.save(address_of(3, v3), entry_of(10'000, 3));
  store.save(address_of(4, v2), entry_of(10'000, 4)); // current: saved last
  store.save(address_of(5), entry_of(100, 0));        // alone under its name: current however old

  const auto info = recall::redis_cache_info(store);
  CHECK(info.entries == 5);
  int superseded = 0;
  for (const auto& f : info.functions) {
    superseded += f.superseded ? 1 : 0;
    CHECK(f.superseded == (f.name == "lab::versioned" && f.folder != recall::directory_store::folder_name(v2)));
  }
  CHECK(superseded == 2);
  const auto listed = recall::redis_list_entries(store, "versioned");
  REQUIRE(listed.size() == 4);
  CHECK(std::count_if(listed.begin(), listed.end(), [](const auto& e) { return e.superseded; }) == 3);
  // A folder name selects one identity; it is still compared with the others.
  const auto one = recall::redis_list_entries(store, recall::directory_store::folder_name(v3));
  REQUIRE(one.size() == 1);
  CHECK(one.front().superseded);

  const auto dry = recall::prune_superseded(store, recall::dry_run::yes);
  CHECK(dry.entries == 3);
  CHECK(store.list().size() == 5);
  const auto done = recall::prune_superseded(store);
  CHECK(done.entries == 3);
  CHECK(done.bytes == dry.bytes);
  const auto left = store.list();
  REQUIRE(left.size() == 2);
  for (const auto& e : left) {
    CHECK((e.function.identity == v2.identity || e.function.identity == g_simulate.identity));
  }
  CHECK(store.strays().orphan_chunks == 0); // the chunks went with their heads
  CHECK(recall::prune_superseded(store).entries == 0);
  CHECK(store.load(address_of(4, v2)));
}

} // namespace redis_test

TEST_CASE("prune_superseded on Redis and on a Redis Cluster keeps, of three identities, the one saved last",
          "[stores_redis_store]") {
  REDIS_TEST_REQUIRE_SERVER();
  {
    server s;
    auto o = options_for(s);
    o.chunk_size = 4096;
    recall::redis_store store{o};
    check_superseded_versions(store);
  }
  cluster c;
  if (!c.ok()) {
    WARN("a Redis Cluster could not be started: its part of the test skipped");
    return;
  }
  recall::redis_options o;
  o.url = c.url();
  o.prefix = "recall-test";
  o.chunk_size = 4096;
  recall::redis_store store{o};
  check_superseded_versions(store);
}
