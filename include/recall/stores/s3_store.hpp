// recall::s3_store: a cache shared through an S3-compatible object store (AWS S3, MinIO, Ceph...), over libcurl.
#pragma once

// Needs libcurl at build and link time: with meson, `dependency('recall-s3')` (recall's `s3`
// feature option, on when libcurl is found); with CMake, recall::s3; otherwise
// `pkg-config --cflags --libs libcurl`. Deployment, costs and semantics: docs/S3.md.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/stores/entry_format.hpp>
// For entry_assembler only (an entry checked and assembled from pieces); nothing of Redis.
#include <recall/detail/stores/redis_layout.hpp>
#include <recall/detail/stores/remote_health.hpp>
#include <recall/detail/stores/s3_client.hpp>
#include <recall/detail/stores/s3_url.hpp>
#include <recall/detail/stores/s3_xml.hpp>
#include <recall/detail/stores/safe_name.hpp>
#include <recall/errors.hpp>
#include <recall/key/key.hpp>
#include <recall/log.hpp>
#include <recall/stores/directory_store.hpp>
#include <recall/stores/layered_store.hpp>
#include <recall/stores/remote.hpp>
#include <recall/stores/store.hpp>

namespace recall {

struct s3_options {
  // s3://bucket[/prefix][?endpoint=http://host:port&region=us-east-1&access=read-only]
  // (grammar: detail/stores/s3_url.hpp). Credentials come from the environment or the AWS
  // shared credentials file, never from the URL.
  std::string url;
  // read_only: never writes (save and erase do nothing; damaged objects are skipped, not
  // deleted): for consumers of a bucket that others fill. "access=read-only" in the URL sets it too.
  tier_access access = tier_access::read_write;
  // Entries (96-byte header + manifest + payload) larger than this go up as a multipart upload
  // in parts of this size. S3 wants parts of 5 MiB to 5 GiB (the last may be smaller).
  std::size_t part_size = std::size_t{8} << 20;
  // Larger entries are neither saved nor loaded: bounds what a damaged or forged object can make
  // a reader download and allocate.
  std::uint64_t max_entry_size = std::uint64_t{512} << 20;
  std::chrono::milliseconds connect_timeout{1000};
  // A whole operation (every request it makes, connect to last byte) ends within this, plus the
  // time its bytes take at min_transfer_rate: a server that stops answering, or drips, costs at
  // most this much once; then the circuit breaker takes over.
  std::chrono::milliseconds timeout{3000};
  std::uint64_t min_transfer_rate = std::uint64_t{8} << 20; // bytes per second
  // After a failure the store is skipped (no I/O) for backoff.first, doubling up to
  // backoff.longest while it keeps failing; then one call runs its operation as a probe, with
  // detail::remote_health::probe_budget (50 ms) instead of `timeout` as its budget, so a call
  // never waits longer than that on a server still down (detail/stores/remote_health.hpp).
  retry_backoff backoff{};
  // Idle handles (each with its open connection) kept for reuse.
  std::size_t max_connections = 4;
};

// A store keeping each entry as one object, <prefix>/<function folder>/<call key>.rce, holding
// exactly the bytes of a directory_store file (detail/stores/entry_format.hpp): a damaged,
// truncated or foreign object is detected by the same header and checksum checks, read as a
// miss, deleted (unless read-only) and logged, never returned.
//
// Concurrency across machines: S3 has no locks. A save is a conditional put (If-None-Match: *),
// so the first writer of an entry wins and later ones leave it alone; two machines missing the
// same call at once may both compute it (lock_for_compute returns null). Entries are immutable
// once written.
//
// Failures: a failure of the server or the network (refused, timed out, reset, not HTTP,
// truncated, 403, 5xx, a missing bucket) throws store_error, and opens the circuit breaker of
// detail/stores/remote_health.hpp: one warning, then every call skips the store without I/O for
// s3_options::backoff (doubling while it keeps failing), then one call runs its operation as a
// probe within remote_health::probe_budget; a note is logged when it answers again. Damaged or
// oversized entries are not failures of the server. Secrets never appear in messages.
//
// Thread safety: every method may be called from several threads at once; each request takes a
// libcurl handle of its own from a small pool, which keeps connections open for reuse.
class s3_store final : public store {
public:
  // What list() reports for one object. S3 keeps no access time: `modified` is when the object
  // was written (its Last-Modified), which for an immutable entry is when it was saved.
  struct entry_info {
    key call;
    std::string folder;     // the function's folder name: "<safe name>-<8 hex of identity>"
    std::string object;     // the object's key
    std::uint64_t size = 0; // bytes, as in a .rce file
    std::chrono::system_clock::time_point modified{};
  };

  // Throws config_error for a malformed URL or options, or unusable credentials. Does not
  // connect: the first operation does, so a program starts even when S3 is unreachable.
  explicit s3_store(s3_options options)
      : m_location{detail::s3::parse_location(options.url)}, m_options{validated(std::move(options))},
        m_client{detail::s3::find_credentials(), m_location.region, m_options.connect_timeout,
                 m_options.max_connections},
        m_health{"s3 cache " + m_location.text(), m_options.backoff} {
    if (m_location.read_only) {
      m_options.access = tier_access::read_only;
    }
  }

  explicit s3_store(std::string_view url) : s3_store{s3_options{.url = std::string{url}}} {}

  // "s3 s3://bucket/prefix at http://127.0.0.1:9000 [read-only]".
  [[nodiscard]] std::string description() const override {
    return "s3 " + m_location.text() + (read_only() ? " [read-only]" : "");
  }

  [[nodiscard]] std::string locate(const entry_address& address) const override {
    return "s3 s3://" + m_location.bucket + "/" + object_key(address);
  }

  // One GET. The object's announced length is checked against max_entry_size before anything is
  // allocated; its bytes go from libcurl's buffer straight into the header, manifest and payload
  // they are (one copy), and are verified like a local file.
  [[nodiscard]] std::optional<stored_entry> load(const entry_address& address) override {
    const std::string object = object_key(address);
    return run("load", [&](const deadline_of& until) -> std::optional<stored_entry> {
      assembling_sink sink;
      detail::s3::request r;
      r.url = url_of(object);
      r.max_response = m_options.max_entry_size;
      r.sink = &sink;
      until(r, 0);
      const detail::s3::response got = checked(r, {200, 404});
      if (got.status == 404) {
        if (got.body.find("<Code>NoSuchBucket</Code>") != std::string::npos) {
          throw store_error{"GET answered HTTP 404 (NoSuchBucket: the bucket does not exist)"};
        }
        return std::nullopt;
      }
      if (got.too_large) {
        // Another machine with a larger limit may have saved it on purpose: left in place.
        log(log_level::debug, description() + ": skipping " + object + ", over max_entry_size (" +
                                  std::to_string(m_options.max_entry_size) + ")");
        return std::nullopt;
      }
      try {
        if (!sink.assembler) { // no announced length (a server that streams its replies)
          return detail::decode_entry(std::as_bytes(std::span{got.body}), address.call);
        }
        if (sink.defect) {
          throw format_error{*sink.defect};
        }
        return sink.assembler->finish(address.call);
      } catch (const format_error& error) {
        remove_damaged(object, error);
        return std::nullopt;
      }
    });
  }

  // A conditional put: when the object exists already (another machine saved it first), S3
  // answers 412 and the existing entry stays, which is not an error. Entries over part_size go
  // up in parts, completed with the same condition. A read-only store does nothing. Throws
  // store_error, without opening the breaker, for an entry over max_entry_size.
  void save(const entry_address& address, const stored_entry& entry) override {
    if (read_only()) {
      return;
    }
    const auto manifest = detail::encode_manifest(entry.manifest);
    const auto header =
        detail::encode_entry_header(address.call, address.function.identity, entry.metadata, manifest, entry.payload);
    const std::array<std::string_view, 3> parts{text_of(header), text_of(manifest), text_of(entry.payload)};
    const std::uint64_t size = std::uint64_t{header.size()} + manifest.size() + entry.payload.size();
    if (size > m_options.max_entry_size) {
      throw store_error{description() + ": not saving a " + std::to_string(size) +
                        "-byte entry, over max_entry_size (" + std::to_string(m_options.max_entry_size) + ")"};
    }
    const std::string object = object_key(address);
    run("save", [&](const deadline_of& until) {
      if (size <= m_options.part_size) {
        put_whole(object, parts, size, until);
      } else {
        put_in_parts(object, parts, size, until);
      }
    });
  }

  // One HEAD: true when the object exists (its bytes are not checked).
  [[nodiscard]] bool contains(const entry_address& address) override {
    const std::string object = object_key(address);
    return run("contains", [&](const deadline_of& until) {
      detail::s3::request r;
      r.method = "HEAD";
      r.url = url_of(object);
      until(r, 0);
      return checked(r, {200, 404}).status == 200;
    });
  }

  // HEAD then DELETE (S3's DELETE says nothing about whether the object existed). A read-only
  // store removes nothing.
  bool erase(const entry_address& address) override {
    if (read_only()) {
      return false;
    }
    const std::string object = object_key(address);
    return run("erase", [&](const deadline_of& until) { return remove(object, until); });
  }

  // Every entry object under the prefix whose function folder contains `function_filter` (or
  // its folder-safe spelling); all of them when it is empty. ListObjectsV2, 1,000 per page.
  [[nodiscard]] std::vector<entry_info> list(std::string_view function_filter = {}) {
    std::string safe_filter;
    detail::append_safe_name(safe_filter, function_filter, 4096);
    return run("list", [&](const deadline_of& until) {
      std::vector<entry_info> out;
      std::optional<std::string> token;
      do {
        detail::s3::request r;
        r.url = m_location.bucket_url() + "?";
        if (token) {
          r.url += "continuation-token=" + escaped(*token) + "&";
        }
        r.url += "list-type=2&prefix=" + escaped(root_prefix());
        r.max_response = std::uint64_t{16} << 20;
        until(r, 0);
        const detail::s3::response got = checked(r, {200});
        detail::s3::listing_page page;
        try {
          page = detail::s3::parse_listing(got.body);
        } catch (const format_error& e) {
          throw store_error{"malformed listing: " + std::string{e.what()}};
        }
        for (auto& o : page.objects) {
          auto info = parse_object_key(o);
          if (info && (function_filter.empty() || info->folder.find(function_filter) != std::string::npos ||
                       (!safe_filter.empty() && info->folder.find(safe_filter) != std::string::npos))) {
            out.push_back(std::move(*info));
          }
        }
        token = std::move(page.next);
      } while (token);
      return out;
    });
  }

  // Removes the entries list(function_filter) reports; returns how many. Throws store_error for
  // a read-only store.
  std::size_t clear(std::string_view function_filter = {}) {
    if (read_only()) {
      throw store_error{description() + " is read-only: clear removes nothing"};
    }
    std::size_t removed = 0;
    for (const auto& e : list(function_filter)) {
      removed += remove_object(e.object) ? 1 : 0;
    }
    return removed;
  }

  // Deletes one object by key (as list() reports it). True if it existed.
  bool remove_object(const std::string& object) {
    if (read_only()) {
      throw store_error{description() + " is read-only"};
    }
    return run("remove", [&](const deadline_of& until) { return remove(object, until); });
  }

  [[nodiscard]] bool read_only() const noexcept { return m_options.access == tier_access::read_only; }
  // True while the circuit breaker is open (the server failed and has not answered since).
  [[nodiscard]] bool down() const noexcept { return m_health.down(); }
  [[nodiscard]] const detail::s3::location& where() const noexcept { return m_location; }
  [[nodiscard]] std::string credential_source() const { return m_client.credential_source(); }

  // The object key of an entry: "<prefix>/<function folder>/<32 hex>.rce".
  [[nodiscard]] std::string object_key(const entry_address& address) const {
    std::string out = root_prefix();
    out += directory_store::folder_name(address.function);
    out += '/';
    out += address.call.hex();
    out += ".rce";
    return out;
  }

private:
  // Checks and assembles an entry as its bytes arrive; keeps the first defect found.
  struct assembling_sink final : detail::s3::body_sink {
    std::optional<detail::redis::entry_assembler> assembler;
    std::optional<std::string> defect;
    void begin(std::uint64_t length) noexcept override { assembler.emplace(length); }
    void feed(std::span<const std::byte> bytes) noexcept override {
      if (defect) {
        return;
      }
      try {
        assembler->feed(bytes);
      } catch (const std::exception& e) { // format_error, or bad_alloc
        defect = e.what();
      }
    }
  };

  // Sets a request's deadline: the operation's, stretched by `bytes` at min_transfer_rate.
  class deadline_of {
  public:
    deadline_of(std::chrono::steady_clock::time_point started, std::chrono::milliseconds budget, std::uint64_t rate)
        : m_started{started}, m_budget{budget}, m_rate{rate} {}
    void operator()(detail::s3::request& r, std::uint64_t bytes) const {
      const auto transfer =
          std::chrono::milliseconds{static_cast<std::int64_t>(bytes * 1000 / std::max<std::uint64_t>(1, m_rate))};
      r.deadline = m_started + m_budget + transfer;
      r.slack = m_budget;
      r.bytes_per_second = m_rate;
    }

  private:
    std::chrono::steady_clock::time_point m_started;
    std::chrono::milliseconds m_budget;
    std::uint64_t m_rate;
  };

  // Runs `operation` under the circuit breaker. A store_error from it is a failure of the
  // server: it opens the breaker (or keeps it open) and is rethrown, naming the store. When the
  // breaker is open the call throws at once, or (one caller, once the back-off has passed) runs
  // the operation as a probe: with remote_health::probe_budget instead of timeout as its budget,
  // so that a server still down costs that call no more than that (plus, once the server has
  // answered, its bytes' transfer time at min_transfer_rate).
  template <class Operation>
  auto run(std::string_view what, Operation&& operation) -> decltype(operation(std::declval<const deadline_of&>())) {
    const detail::remote_attempt attempt = m_health.admit();
    if (attempt == detail::remote_attempt::skip) {
      throw store_error{m_health.unavailable_message()};
    }
    const bool probing = attempt == detail::remote_attempt::probe;
    const deadline_of until{std::chrono::steady_clock::now(),
                            probing ? detail::remote_health::probe_budget : m_options.timeout,
                            m_options.min_transfer_rate};
    try {
      if constexpr (std::is_void_v<decltype(operation(until))>) {
        operation(until);
        m_health.succeeded(attempt);
      } else {
        auto result = operation(until);
        m_health.succeeded(attempt);
        return result;
      }
    } catch (const store_error& e) {
      const std::string reason{error::reason_of(e)};
      m_health.failed(attempt, what, reason);
      throw store_error{description() + ": " + reason + " (during " + std::string{what} + ")"};
    }
  }

  // Performs `r`; a reply with a status outside `expected` throws store_error (naming S3's error
  // code), as does a failure to get any reply. Messages name the request, not the store: run()
  // adds that.
  detail::s3::response checked(const detail::s3::request& r, std::initializer_list<long> expected) {
    detail::s3::response got;
    got = m_client.perform(r);
    if (std::find(expected.begin(), expected.end(), got.status) == expected.end()) {
      std::string detail = detail::s3::error_text(got.body);
      throw store_error{std::string{r.method} + " answered HTTP " + std::to_string(got.status) +
                        (detail.empty() ? std::string{} : " (" + detail + ")")};
    }
    return got;
  }

  void put_whole(const std::string& object, std::span<const std::string_view> parts, std::uint64_t size,
                 const deadline_of& until) {
    detail::s3::request r;
    r.method = "PUT";
    r.url = url_of(object);
    r.headers = {"If-None-Match: *"};
    r.body = parts;
    r.upload = true;
    until(r, size);
    // 412: the object exists (first writer wins); 409: a concurrent conditional write of the
    // same key is in flight, which will leave an equivalent entry.
    const long status = checked(r, {200, 409, 412}).status;
    if (status != 200) {
      log(log_level::debug, description() + ": " + object + " was saved by another writer first");
    }
  }

  void put_in_parts(const std::string& object, std::span<const std::string_view> parts, std::uint64_t size,
                    const deadline_of& until) {
    if (contains_object(object, until)) {
      return; // saved first by another writer: no upload at all
    }
    detail::s3::request start;
    start.method = "POST";
    start.url = url_of(object) + "?uploads="; // "uploads=": the canonical form SigV4 signs
    start.upload = true;
    until(start, 0);
    const detail::s3::response started = checked(start, {200});
    std::string upload_id;
    try {
      const auto id = detail::s3::element(started.body, "UploadId");
      if (!id || id->empty()) {
        throw format_error{"no UploadId"};
      }
      upload_id = detail::s3::unescaped(*id);
    } catch (const format_error& e) {
      throw store_error{"malformed reply to a multipart upload's start: " + std::string{e.what()}};
    }
    const std::string upload = url_of(object) + "?uploadId=" + escaped(upload_id);
    try {
      std::string completion = "<CompleteMultipartUpload>";
      std::string scratch;
      const std::uint64_t count = (size + m_options.part_size - 1) / m_options.part_size;
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t offset = i * m_options.part_size;
        const std::uint64_t length = std::min<std::uint64_t>(m_options.part_size, size - offset);
        const std::vector<std::string_view> pieces = slice(parts, offset, length);
        detail::s3::request part;
        part.method = "PUT";
        part.url = url_of(object) + "?partNumber=" + std::to_string(i + 1) + "&uploadId=" + escaped(upload_id);
        part.body = pieces;
        part.upload = true;
        until(part, size);
        const detail::s3::response sent = checked(part, {200});
        if (sent.etag.empty()) {
          throw store_error{"a part upload's reply has no ETag"};
        }
        completion += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escaped(sent.etag) +
                      "</ETag></Part>";
      }
      completion += "</CompleteMultipartUpload>";
      const std::array<std::string_view, 1> body{completion};
      detail::s3::request finish;
      finish.method = "POST";
      finish.url = upload;
      finish.headers = {"If-None-Match: *"};
      finish.body = body;
      finish.upload = true;
      until(finish, size);
      const detail::s3::response done = checked(finish, {200, 409, 412});
      // S3 may report a failed completion as 200 with an <Error> body.
      if (done.status == 200 && done.body.find("<Error>") != std::string::npos) {
        throw store_error{"completing a multipart upload failed (" + detail::s3::error_text(done.body) + ")"};
      }
      if (done.status != 200) {
        abort_upload(upload, until);
      }
    } catch (const store_error&) {
      try {
        abort_upload(upload, until);
      } catch (const store_error&) {
        // Left for the bucket's lifecycle rule (docs/S3.md); the first failure is the one reported.
      }
      throw;
    }
  }

  void abort_upload(const std::string& upload, const deadline_of& until) {
    detail::s3::request r;
    r.method = "DELETE";
    r.url = upload;
    until(r, 0);
    (void)checked(r, {200, 204, 404});
  }

  bool contains_object(const std::string& object, const deadline_of& until) {
    detail::s3::request r;
    r.method = "HEAD";
    r.url = url_of(object);
    until(r, 0);
    return checked(r, {200, 404}).status == 200;
  }

  bool remove(const std::string& object, const deadline_of& until) {
    if (!contains_object(object, until)) {
      return false;
    }
    detail::s3::request r;
    r.method = "DELETE";
    r.url = url_of(object);
    until(r, 0);
    (void)checked(r, {200, 204, 404});
    return true;
  }

  // Logs a damaged object and deletes it (unless read-only; a failure to delete is logged too,
  // and does not fail the load).
  void remove_damaged(const std::string& object, const format_error& error) {
    const std::string_view reason = error.reason();
    std::string line = "damaged cache entry s3://" + m_location.bucket + "/" + object;
    if (!read_only()) {
      try {
        detail::s3::request r;
        r.method = "DELETE";
        r.url = url_of(object);
        r.deadline = std::chrono::steady_clock::now() + m_options.timeout;
        (void)checked(r, {200, 204, 404});
        line = "removed " + line;
      } catch (const store_error& e) {
        line += " (could not remove it: " + std::string{error::reason_of(e)} + ")";
      }
    }
    log(log_level::warning, line + ": " + std::string{reason});
  }

  // An object key back into an entry, or nullopt for objects that are not entries.
  std::optional<entry_info> parse_object_key(detail::s3::object_info& o) const {
    const std::string_view rest = std::string_view{o.key}.substr(root_prefix().size());
    const auto slash = rest.find('/');
    constexpr std::string_view extension = ".rce";
    if (slash == std::string_view::npos || rest.size() != slash + 1 + 32 + extension.size() ||
        !rest.ends_with(extension)) {
      return std::nullopt;
    }
    const auto call = key::from_hex(rest.substr(slash + 1, 32));
    if (!call) {
      return std::nullopt;
    }
    entry_info info;
    info.call = *call;
    info.folder = std::string{rest.substr(0, slash)};
    info.size = o.size;
    info.modified = o.last_modified;
    info.object = std::move(o.key);
    return info;
  }

  // "<prefix>/" or "".
  [[nodiscard]] std::string root_prefix() const {
    return m_location.prefix.empty() ? std::string{} : m_location.prefix + "/";
  }

  // Object keys hold only [A-Za-z0-9_.-/] (folder names are made safe), so they go into URLs as
  // they are.
  [[nodiscard]] std::string url_of(const std::string& object) const { return m_location.bucket_url() + "/" + object; }

  // Query values: everything but unreserved characters and '/' percent-encoded. libcurl 7.88's
  // SigV4 signs the query as sent and sends "%2F" as '/', so '/' stays as it is (a verifying
  // server then computes the same signature); query parameters are written in sorted order,
  // which SigV4's canonical form requires and libcurl 7.88 does not do itself.
  static std::string escaped(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                         c == '_' || c == '.' || c == '~' || c == '/';
      if (plain) {
        out.push_back(c);
      } else {
        const auto b = static_cast<unsigned char>(c);
        out += '%';
        out += digits[b >> 4];
        out += digits[b & 15];
      }
    }
    return out;
  }

  static std::string xml_escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
      switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
      }
    }
    return out;
  }

  template <class Bytes>
  static std::string_view text_of(const Bytes& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }

  // The bytes [offset, offset + length) of the concatenation of `parts`, as views into them.
  static std::vector<std::string_view> slice(std::span<const std::string_view> parts, std::uint64_t offset,
                                             std::uint64_t length) {
    std::vector<std::string_view> out;
    for (const auto part : parts) {
      if (length == 0) {
        break;
      }
      if (offset >= part.size()) {
        offset -= part.size();
        continue;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, part.size() - offset));
      out.push_back(part.substr(static_cast<std::size_t>(offset), n));
      length -= n;
      offset = 0;
    }
    return out;
  }

  static s3_options validated(s3_options o) {
    const auto fail = [](const std::string& what) { throw config_error{"s3_store: " + what}; };
    if (o.part_size < (std::size_t{5} << 20) || o.part_size > (std::size_t{5} << 30)) {
      fail("part_size " + std::to_string(o.part_size) + " is outside S3's [5 MiB, 5 GiB]");
    }
    if (o.max_entry_size < detail::entry_header_size) {
      fail("max_entry_size must hold at least an entry header (" + std::to_string(detail::entry_header_size) +
           " bytes)");
    }
    if ((o.max_entry_size + o.part_size - 1) / o.part_size > 10'000) {
      fail("max_entry_size / part_size exceeds the 10,000 parts an S3 upload may have");
    }
    if (o.connect_timeout.count() <= 0 || o.timeout.count() <= 0) {
      fail("timeouts must be positive");
    }
    if (o.backoff.first.count() <= 0 || o.backoff.longest < o.backoff.first) {
      fail("backoff.first must be positive and at most backoff.longest");
    }
    if (o.min_transfer_rate == 0) {
      fail("min_transfer_rate must be positive");
    }
    return o;
  }

  detail::s3::location m_location;
  s3_options m_options;
  detail::s3::client m_client;
  detail::remote_health m_health;
};

// A store for an s3:// URL with the other fields of `options` (its url is replaced): what
// RECALL_REMOTE=s3://... builds. Throws config_error for a malformed URL.
[[nodiscard]] inline std::shared_ptr<s3_store> make_s3_store(std::string_view url, s3_options options = {}) {
  options.url = std::string{url};
  return std::make_shared<s3_store>(std::move(options));
}

namespace detail::s3 {

// RECALL_REMOTE's s3:// URLs (stores/remote.hpp), registered by every program that includes
// this header.
inline const bool remote_scheme_registered =
    register_remote_scheme("s3", [](const std::string& url) -> std::shared_ptr<store> { return make_s3_store(url); });

} // namespace detail::s3

} // namespace recall
