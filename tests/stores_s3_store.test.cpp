// recall::s3_store against moto's S3 server, and against a proxy that fails in each way a network can.

#include "catch.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <recall/recall.hpp>
#include <recall/stores/s3_store.hpp>

#include "s3_support.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace s3 = recall::detail::s3;

namespace {

recall::stored_entry entry_of(std::size_t size, char fill, std::string label = "label") {
  recall::stored_entry e;
  e.payload.assign(size, std::byte{static_cast<unsigned char>(fill)});
  e.metadata.created = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  e.metadata.compute_time = 1234ns;
  e.manifest.function = "s3_test::f";
  e.manifest.label = std::move(label);
  return e;
}

const recall::function_id test_function{"s3_test::f", recall::key{0x1234, 0x5678}};

struct bucket_fixture {
  bucket_fixture() {
    s3_test::use_test_credentials();
    name = s3_test::moto::instance().bucket();
  }
  [[nodiscard]] std::string url(const std::string& extra = {}) const {
    return "s3://" + name + "/cache?endpoint=" + s3_test::moto::instance().endpoint() + extra;
  }
  s3_test::admin admin{s3_test::moto::instance().endpoint(), s3_test::moto::instance().keys()};
  std::string name;
};

int g_calls = 0;
double square(double x) {
  ++g_calls;
  return x * x;
}

} // namespace

TEST_CASE("s3 URLs: bucket, prefix, endpoint, region and access, with AWS's defaults", "[stores_s3_store]") {
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  auto l = s3::parse_location("s3://my-bucket");
  CHECK(l.bucket == "my-bucket");
  CHECK(l.prefix.empty());
  CHECK(l.region == "us-east-1");
  CHECK(l.bucket_url() == "https://my-bucket.s3.us-east-1.amazonaws.com");
  CHECK_FALSE(l.read_only);

  l = s3::parse_location(
      "s3://my.bucket/team/cache/?endpoint=http%3A%2F%2F127.0.0.1:9000/&region=eu-west-3&access=read-only");
  CHECK(l.prefix == "team/cache");
  CHECK(l.endpoint == "http://127.0.0.1:9000");
  CHECK(l.region == "eu-west-3");
  CHECK(l.read_only);
  CHECK(l.bucket_url() == "http://127.0.0.1:9000/my.bucket");

  ::setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
  CHECK(s3::parse_location("s3://abc").region == "ap-south-1");
  ::setenv("AWS_REGION", "sa-east-1", 1);
  CHECK(s3::parse_location("s3://abc").region == "sa-east-1");
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");

  const auto rejects = [](const char* url, const char* fragment) {
    try {
      (void)s3::parse_location(url);
      FAIL("accepted " << url);
    } catch (const recall::config_error& e) {
      INFO(e.what());
      CHECK(std::string{e.what()}.find(fragment) != std::string::npos);
    }
  };
  rejects("https://bucket", "must start with s3://");
  rejects("s3://ab", "3 to 63");
  rejects("s3://Bucket", "lowercase");
  rejects("s3://-bucket", "begins and ends");
  rejects("s3://bucket/a//b", "empty");
  rejects("s3://bucket/a/../b", "'..'");
  rejects("s3://bucket/a b", "may hold only");
  rejects("s3://bucket?endpoint=ftp://x", "http:// or https://");
  rejects("s3://bucket?endpoint=http://user:pw@host", "credentials");
  rejects("s3://bucket?region=US", "region");
  rejects("s3://bucket?access=write", "read-write or read-only");
  rejects("s3://bucket?colour=blue", "unknown parameter 'colour'");
  rejects("s3://bucket?endpoint", "has no value");
  rejects("s3://bucket?region=%4", "two hex digits");
}

TEST_CASE("s3 credentials: environment first, then the profile of the shared credentials file", "[stores_s3_store]") {
  recall_test::temp_dir dir;
  const std::string file = (dir.path() / "credentials").string();
  {
    std::ofstream out{file};
    out << "# comment\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = secret1\n\n"
           "[ci]\r\naws_access_key_id=AKCI\r\naws_secret_access_key=secret2\r\naws_session_token = tok\r\n"
           "[half]\naws_access_key_id = AKHALF\n";
  }
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
  auto c = s3::find_credentials();
  REQUIRE(c);
  CHECK(c->access_key_id == "AKDEFAULT");
  CHECK(c->secret_access_key == "secret1");
  CHECK(c->session_token.empty());

  ::setenv("AWS_PROFILE", "ci", 1);
  c = s3::find_credentials();
  REQUIRE(c);
  CHECK(c->access_key_id == "AKCI");
  CHECK(c->secret_access_key == "secret2");
  CHECK(c->session_token == "tok");
  CHECK(c->source.find("profile ci") != std::string::npos);

  ::setenv("AWS_PROFILE", "half", 1);
  CHECK_THROWS_AS(s3::find_credentials(), recall::config_error);
  ::setenv("AWS_PROFILE", "missing", 1);
  CHECK_THROWS_WITH(s3::find_credentials(), Catch::Contains("does not have"));

  ::setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
  ::setenv("AWS_SESSION_TOKEN", "envtok", 1);
  c = s3::find_credentials();
  REQUIRE(c);
  CHECK(c->access_key_id == "AKENV");
  CHECK(c->session_token == "envtok");
  CHECK(c->source == "environment");

  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  CHECK_THROWS_AS(s3::find_credentials(), recall::config_error);

  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", (dir.path() / "none").c_str(), 1);
  CHECK_FALSE(s3::find_credentials()); // unsigned requests, for public buckets
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

TEST_CASE("s3 replies: listings, entities, times and errors; malformed ones are refused", "[stores_s3_store]") {
  const std::string xml =
      "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/a&amp;b.rce</Key><LastModified>2026-12-06T03:43:15.000Z</LastModified><Size>42</Size></Contents>"
      "<Contents><Key>p/c</Key><LastModified>1970-01-02T00:00:01Z</LastModified><Size>0</Size></Contents>"
      "<NextContinuationToken>tok&#61;</NextContinuationToken></ListBucketResult>";
  const auto page = s3::parse_listing(xml);
  REQUIRE(page.objects.size() == 2);
  CHECK(page.objects[0].key == "p/a&b.rce");
  CHECK(page.objects[0].size == 42);
  CHECK(page.objects[1].last_modified == std::chrono::system_clock::time_point{std::chrono::seconds{86401}});
  CHECK(page.next == "tok=");
  CHECK(s3::error_text("<Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>") ==
        "SlowDown: Please reduce");
  CHECK(s3::error_text("not xml").empty());
  CHECK_THROWS_AS(s3::parse_listing("<Error/>"), recall::format_error);
  CHECK_THROWS_AS(s3::parse_listing("<ListBucketResult><Contents><Key>k</Key></Contents>"), recall::format_error);
  CHECK_THROWS_AS(s3::parse_listing("<ListBucketResult><Contents><Key>k</Key><Size>1x</Size>"
                                    "<LastModified>2026-12-06T03:43:15Z</LastModified></Contents></ListBucketResult>"),
                  recall::format_error);
  CHECK_THROWS_AS(s3::parse_listing("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
                  recall::format_error);
  CHECK_THROWS_AS(s3::parse_timestamp("2026-13-06T03:43:15Z"), recall::format_error);
  CHECK_THROWS_AS(s3::unescaped("&bogus;"), recall::format_error);
  CHECK_THROWS_AS(s3::unescaped("&#300;"), recall::format_error);
}

TEST_CASE("s3 options are checked and construction does not connect", "[stores_s3_store]") {
  s3_test::use_test_credentials();
  recall::s3_options o;
  o.url = "s3://bucket?endpoint=http://127.0.0.1:1";
  recall::s3_store nowhere{o};
  CHECK(nowhere.description() == "s3 s3://bucket at http://127.0.0.1:1");
  o.part_size = 1 << 20;
  CHECK_THROWS_AS(recall::s3_store{o}, recall::config_error);
  o.part_size = 8 << 20;
  o.timeout = 0ms;
  CHECK_THROWS_AS(recall::s3_store{o}, recall::config_error);
  CHECK_THROWS_AS(recall::s3_store{"s3://x"}, recall::config_error);
}

TEST_CASE("s3 entries round-trip as the exact bytes of a directory_store file", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_store store{b.url()};
  const recall::entry_address address{test_function, recall::key{1, 2}};
  CHECK_FALSE(store.load(address));
  CHECK_FALSE(store.contains(address));
  const auto entry = entry_of(100, 'a');
  store.save(address, entry);
  CHECK(store.contains(address));
  const auto loaded = store.load(address);
  REQUIRE(loaded);
  CHECK(loaded->payload == entry.payload);
  CHECK(loaded->metadata.created == entry.metadata.created);
  CHECK(loaded->metadata.compute_time == entry.metadata.compute_time);
  CHECK(loaded->manifest.label == "label");

  const std::string object = store.object_key(address);
  CHECK(object == "cache/" + recall::directory_store::folder_name(test_function) + "/" + address.call.hex() + ".rce");
  const auto raw = b.admin.get(b.name, object);
  REQUIRE(raw);
  const auto expected = recall::detail::encode_entry(address.call, test_function.identity, entry);
  CHECK(*raw == std::string(reinterpret_cast<const char*>(expected.data()), expected.size()));

  CHECK(store.erase(address));
  CHECK_FALSE(store.erase(address));
  CHECK_FALSE(store.load(address));
}

TEST_CASE("s3 saves are conditional: the first writer wins", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_store first{b.url()};
  recall::s3_store second{b.url()};
  const recall::entry_address address{test_function, recall::key{3, 4}};
  first.save(address, entry_of(64, 'f'));
  second.save(address, entry_of(64, 's')); // 412 from the server: not an error
  const auto loaded = second.load(address);
  REQUIRE(loaded);
  CHECK(loaded->payload == entry_of(64, 'f').payload);
  CHECK_FALSE(second.down());
}

TEST_CASE("s3 large entries go up in parts and come back whole", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_options o;
  o.url = b.url();
  o.part_size = 5 << 20;
  recall::s3_store store{o};
  const recall::entry_address address{test_function, recall::key{5, 6}};
  auto entry = entry_of(std::size_t{11} << 20, 'x');
  for (std::size_t i = 0; i < entry.payload.size(); i += 4099) {
    entry.payload[i] = std::byte{static_cast<unsigned char>(i / 4099)};
  }
  store.save(address, entry);
  const auto loaded = store.load(address);
  REQUIRE(loaded);
  CHECK(loaded->payload == entry.payload);
  // A second multipart save of the same key leaves the first entry.
  store.save(address, entry_of(std::size_t{11} << 20, 'y'));
  CHECK(store.load(address)->payload == entry.payload);

  o.max_entry_size = 1 << 20;
  recall::s3_store small{o};
  CHECK_FALSE(small.load(address)); // over this reader's limit: refused before allocating
  CHECK_THROWS_AS(small.save(recall::entry_address{test_function, recall::key{5, 7}}, entry), recall::store_error);
}

TEST_CASE("s3 damaged objects are misses, removed and logged; a read-only store leaves them", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_store store{b.url()};
  recall::s3_store reader{b.url("&access=read-only")};
  CHECK(reader.read_only());
  const recall::entry_address address{test_function, recall::key{7, 8}};
  store.save(address, entry_of(300, 'd'));
  auto bytes = *b.admin.get(b.name, store.object_key(address));
  bytes[bytes.size() - 1] ^= 1;
  b.admin.put(b.name, store.object_key(address), bytes);

  recall_test::log_capture capture;
  CHECK_FALSE(reader.load(address));
  CHECK(capture.count(recall::log_level::warning, "damaged cache entry") == 1);
  CHECK(capture.count(recall::log_level::warning, "checksum mismatch") == 1);
  CHECK(b.admin.get(b.name, store.object_key(address))); // read-only: left in place

  CHECK_FALSE(store.load(address));
  CHECK(capture.count(recall::log_level::warning, "removed damaged cache entry") == 1);
  CHECK_FALSE(b.admin.get(b.name, store.object_key(address)));

  // An object holding another call's entry (copied or renamed) is damaged too.
  const recall::entry_address other{test_function, recall::key{7, 9}};
  store.save(other, entry_of(10, 'o'));
  b.admin.put(b.name, store.object_key(address), *b.admin.get(b.name, store.object_key(other)));
  CHECK_FALSE(store.load(address));
  CHECK(capture.count(recall::log_level::warning, "expected " + address.call.hex()) == 1);
  CHECK_FALSE(store.down()); // damage is not an outage
}

TEST_CASE("s3 read-only stores never write", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_options o;
  o.url = b.url();
  o.access = recall::tier_access::read_only;
  recall::s3_store reader{o};
  recall::s3_store writer{b.url()};
  const recall::entry_address address{test_function, recall::key{9, 10}};
  reader.save(address, entry_of(10, 'r'));
  CHECK_FALSE(writer.contains(address));
  writer.save(address, entry_of(10, 'w'));
  CHECK(reader.load(address));
  CHECK_FALSE(reader.erase(address));
  CHECK(writer.contains(address));
  CHECK_THROWS_AS(reader.clear(), recall::store_error);
  CHECK(reader.description().find("[read-only]") != std::string::npos);
}

TEST_CASE("s3 list and clear, by function, across listing pages", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_store store{b.url()};
  const recall::function_id other{"other::g", recall::key{9, 9}};
  for (std::uint64_t i = 0; i < 3; ++i) {
    store.save(recall::entry_address{test_function, recall::key{11, i}}, entry_of(10 + i, 'l'));
  }
  store.save(recall::entry_address{other, recall::key{12, 0}}, entry_of(5, 'g'));
  b.admin.put(b.name, "cache/not-an-entry.txt", "x"); // ignored
  b.admin.put(b.name,
              "elsewhere/" + recall::directory_store::folder_name(other) + "/" + recall::key{1, 1}.hex() + ".rce", "x");

  auto all = store.list();
  CHECK(all.size() == 4);
  auto mine = store.list("s3_test::f");
  REQUIRE(mine.size() == 3);
  for (const auto& e : mine) {
    CHECK(e.folder == recall::directory_store::folder_name(test_function));
    CHECK(e.size == recall::detail::entry_header_size +
                        recall::detail::encode_manifest(entry_of(0, 'l').manifest).size() + 10 + (e.call.low()));
    CHECK(std::chrono::system_clock::now() - e.modified < 5min);
  }
  CHECK(store.clear("other") == 1);
  CHECK(store.list().size() == 3);
  CHECK(store.clear() == 3);
  CHECK(store.list().empty());
  CHECK(b.admin.get(b.name, "cache/not-an-entry.txt")); // not an entry: never touched
}

TEST_CASE("s3 behind a local directory: memoize computes once, then hits locally and remotely", "[stores_s3_store]") {
  bucket_fixture b;
  recall_test::temp_dir one;
  recall_test::temp_dir two;
  const auto node = [&](const recall_test::temp_dir& dir) {
    recall::options o;
    o.mode = recall::mode::reuse;
    o.memory = recall::memory_tier::none;
    o.store = std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{
        {std::make_shared<recall::directory_store>(dir.path())}, {recall::make_s3_store(b.url())}});
    return o;
  };
  g_calls = 0;
  {
    recall::memoize<&square> f{node(one)};
    CHECK(f(3.0) == 9.0);
  }
  {
    recall::memoize<&square> f{node(two)};
    CHECK(f(3.0) == 9.0); // from S3, back-filled into the second directory
  }
  CHECK(g_calls == 1);
  {
    recall::options o = node(two);
    o.store = std::make_shared<recall::directory_store>(two.path());
    recall::memoize<&square> f{o};
    CHECK(f.contains(3.0));
  }
}

namespace {

int g_twice_calls = 0;
double twice(int i) {
  ++g_twice_calls;
  return 2.0 * i;
}

// A memoize object of one machine: local directory in front of `remote`, no memory tier (every
// call goes to the stores).
recall::options node_options(const recall_test::temp_dir& dir, std::shared_ptr<recall::store> remote) {
  recall::options o;
  o.mode = recall::mode::reuse;
  o.memory = recall::memory_tier::none;
  o.store = std::make_shared<recall::layered_store>(std::vector<recall::layered_store::tier>{
      {std::make_shared<recall::directory_store>(dir.path())}, {std::move(remote)}});
  return o;
}

std::string run_command(const std::string& command, int& status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    out += buffer;
  }
  status = ::pclose(pipe);
  return out;
}

} // namespace

TEST_CASE("s3 faults: right values, one warning per outage, at most 50 ms a call after it, one note on recovery",
          "[stores_s3_store][faults]") {
  s3_test::use_test_credentials();
  const std::string bucket = s3_test::moto::instance().bucket();
  s3_test::fault_proxy& proxy = s3_test::fault_proxy::instance();
  const std::vector<std::string> modes{"refused", "blackhole",  "drip",       "garbage",    "truncate",
                                       "reset",   "status:403", "status:404", "status:500", "status:503"};
  int base = 0;
  for (const auto& mode : modes) {
    DYNAMIC_SECTION(mode) {
      recall_test::temp_dir dir;
      recall::s3_options o;
      const std::string endpoint =
          mode == "refused" ? "http://127.0.0.1:" + std::to_string(s3_test::free_port()) : proxy.endpoint();
      o.url = "s3://" + bucket + "/faults?endpoint=" + endpoint;
      o.connect_timeout = 300ms;
      o.timeout = 300ms;
      o.backoff = {100ms, 200ms};
      auto remote = std::make_shared<recall::s3_store>(o);
      recall::memoize<&twice> f{node_options(dir, remote)};
      proxy.set(mode == "refused" ? "pass" : mode);
      recall_test::log_capture capture;
      base += 1000;
      int next = base;

      // The first failure costs at most the operation's deadline, however the server misbehaves
      // (the drip would take 40 s to send its reply).
      auto started = std::chrono::steady_clock::now();
      CHECK(f(next) == 2.0 * next);
      ++next;
      CHECK(std::chrono::steady_clock::now() - started < 1500ms);

      // Then: every call returns its value and pays at most a probe's bound for the store.
      std::chrono::steady_clock::duration worst{};
      std::chrono::steady_clock::duration total{};
      int calls = 0;
      const auto until = std::chrono::steady_clock::now() + 300ms;
      while (std::chrono::steady_clock::now() < until) {
        started = std::chrono::steady_clock::now();
        const double got = f(next);
        const auto took = std::chrono::steady_clock::now() - started;
        CHECK(got == 2.0 * next);
        ++next;
        worst = std::max(worst, took);
        total += took;
        ++calls;
      }
      INFO(mode << ": " << calls << " calls, worst "
                << std::chrono::duration_cast<std::chrono::microseconds>(worst).count() << " us, mean "
                << std::chrono::duration_cast<std::chrono::microseconds>(total).count() / calls << " us");
      CHECK(total / calls < 50ms);
      CHECK(worst < 150ms); // a probe is bounded by 50 ms; the rest is slack for a busy 2-core machine
      CHECK(capture.count(recall::log_level::warning, "s3 cache") == 1);
      CHECK(capture.warnings() == 1);

      if (mode != "refused") {
        proxy.set("pass");
        const auto give_up = std::chrono::steady_clock::now() + 3s;
        while ((remote->down() || capture.count(recall::log_level::info, "reachable again") == 0) &&
               std::chrono::steady_clock::now() < give_up) {
          CHECK(f(next) == 2.0 * next);
          ++next;
          std::this_thread::sleep_for(10ms);
        }
        CHECK(capture.count(recall::log_level::info, "reachable again") == 1);
        CHECK_FALSE(remote->down());
        // Saving works again: the next miss reaches the bucket.
        const int fresh = next++;
        CHECK(f(fresh) == 2.0 * fresh);
        recall::memoize<&twice> probe{node_options(dir, remote)};
        CHECK(remote->contains(recall::entry_address{recall::memoize<&twice>::function(), probe.key(fresh)}));
        CHECK(capture.warnings() == 1);
      }
    }
  }
}

TEST_CASE("s3 stores serve several threads at once", "[stores_s3_store]") {
  bucket_fixture b;
  recall::s3_store store{b.url()};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; i < 8; ++i) {
        const recall::entry_address address{test_function, recall::key{20 + t, i}};
        const auto entry = entry_of(64 + i, static_cast<char>('a' + t));
        store.save(address, entry);
        const auto loaded = store.load(address);
        wrong += !loaded || loaded->payload != entry.payload ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(wrong == 0);
  CHECK(store.list().size() == 32);
  CHECK_FALSE(store.down());
}

TEST_CASE("s3 requests reuse their connections", "[stores_s3_store]") {
  s3_test::use_test_credentials();
  s3_test::fault_proxy& proxy = s3_test::fault_proxy::instance();
  proxy.set("keepalive"); // an empty 404 to every request, on a connection kept open
  recall::s3_store store{"s3://keepalive/x?endpoint=" + proxy.endpoint()};
  const int before = proxy.connections();
  for (std::uint64_t i = 0; i < 20; ++i) {
    CHECK_FALSE(store.contains(recall::entry_address{test_function, recall::key{99, i}}));
  }
  CHECK(proxy.connections() - before == 1);
  proxy.set("pass");
}

TEST_CASE("s3 shared by two processes with separate local caches: the second one hits", "[stores_s3_store]") {
  const char* helper_path = std::getenv("RECALL_TEST_S3_HELPER");
  if (helper_path == nullptr) {
    WARN("RECALL_TEST_S3_HELPER is not set (run through meson test): skipped");
    return;
  }
  bucket_fixture b;
  recall_test::temp_dir dir_a;
  recall_test::temp_dir dir_b;
  const std::string helper = helper_path;
  int status = 0;
  const std::string first = run_command(helper + " share '" + b.url() + "' '" + dir_a.path().string() + "'", status);
  CHECK(status == 0);
  const std::string second = run_command(helper + " share '" + b.url() + "' '" + dir_b.path().string() + "'", status);
  CHECK(status == 0);
  INFO(first << second);
  CHECK(first.starts_with("computed 40 "));
  CHECK(second.starts_with("loaded 40 "));
  CHECK(first.substr(9) == second.substr(7)); // same value and key
  // Without S3 the second machine's directory alone has it now (back-filled).
  const std::string third = run_command(helper + " share 's3://" + b.name + "?endpoint=http://127.0.0.1:1' '" +
                                            dir_b.path().string() + "' 2>/dev/null",
                                        status);
  CHECK(third.starts_with("loaded 40 "));
}
