// One HTTP request at a time to an S3 server over libcurl, signed with libcurl's own SigV4
// (CURLOPT_AWS_SIGV4), bounded by a deadline for the whole request, on reused connections.
#pragma once

// Needs libcurl at build and link time (Debian: libcurl4-openssl-dev): meson's
// dependency('recall-s3'), or `pkg-config --cflags --libs libcurl`.

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <recall/detail/stores/s3_url.hpp>
#include <recall/errors.hpp>

namespace recall::detail::s3 {

// Receives the body of a 200 reply whose length was announced, as it arrives, instead of
// response::body (so a large entry is copied once, from libcurl's buffer to where it ends up).
// Must not throw: a consumer that finds the bytes bad records it and ignores the rest.
class body_sink {
public:
  virtual ~body_sink() = default;
  virtual void begin(std::uint64_t length) noexcept = 0;
  virtual void feed(std::span<const std::byte> bytes) noexcept = 0;
};

// What to send. The body is the concatenation of `body` (sent from the caller's buffers, never
// copied); `upload` says a body is sent even when it is empty.
struct request {
  std::string_view method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;                  // complete, already escaped
  std::vector<std::string> headers; // "Name: value", signed along with the request
  std::span<const std::string_view> body{};
  bool upload = false;
  body_sink* sink = nullptr;
  // Replies with longer bodies fail (store_error): bounds what a hostile or damaged server can
  // make this process allocate.
  std::uint64_t max_response = std::uint64_t{1} << 20;
  // The whole request (connect, send, wait, receive) ends by then, or fails as timed out. A reply
  // announcing N body bytes moves it to at least (time of its headers) + slack + N / rate.
  std::chrono::steady_clock::time_point deadline{};
  std::chrono::milliseconds slack{0};
  std::uint64_t bytes_per_second = std::uint64_t{8} << 20;
};

struct response {
  long status = 0;  // the HTTP status
  std::string body; // at most max_response bytes
  std::string etag; // the ETag header, quotes included
  // The body was longer than max_response: not read (body is empty), the connection dropped.
  bool too_large = false;
};

namespace client_detail {

inline void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw store_error{"s3: libcurl failed to initialize"};
    }
  });
}

// A reusable easy handle inside its own multi handle: the multi handle keeps the connection
// cache (so reuse survives between requests) and lets the caller wait with its own deadline.
struct slot {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  slot() : easy{curl_easy_init()}, multi{curl_multi_init()} {
    if (easy == nullptr || multi == nullptr) {
      release();
      throw store_error{"s3: libcurl could not create a handle"};
    }
  }
  slot(const slot&) = delete;
  slot& operator=(const slot&) = delete;
  ~slot() { release(); }
  void release() noexcept {
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
    if (multi != nullptr) {
      curl_multi_cleanup(multi);
    }
    easy = nullptr;
    multi = nullptr;
  }
};

// State the callbacks share during one request.
struct transfer {
  const request* sent = nullptr;
  response* got = nullptr;
  CURL* easy = nullptr;
  std::size_t part = 0;        // body part being sent
  std::size_t part_offset = 0; // bytes of it sent
  bool too_large = false;
  bool length_seen = false;
  bool to_sink = false;
  std::chrono::steady_clock::time_point deadline{};
};

inline std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::size_t room = size * count;
  std::size_t written = 0;
  while (written < room && t.part < t.sent->body.size()) {
    const std::string_view part = t.sent->body[t.part];
    const std::size_t n = std::min(room - written, part.size() - t.part_offset);
    if (n > 0) {
      std::memcpy(buffer + written, part.data() + t.part_offset, n);
    }
    written += n;
    t.part_offset += n;
    if (t.part_offset == part.size()) {
      ++t.part;
      t.part_offset = 0;
    }
  }
  return written;
}

inline std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::size_t n = size * count;
  if (!t.length_seen) {
    t.length_seen = true;
    curl_off_t announced = -1;
    if (curl_easy_getinfo(t.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) == CURLE_OK && announced >= 0) {
      if (static_cast<std::uint64_t>(announced) > t.sent->max_response) {
        t.too_large = true;
        return 0;
      }
      // Allocated only once the server has sent its headers and is under the limit.
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      if (status == 200 && t.sent->sink != nullptr) {
        t.to_sink = true;
        t.sent->sink->begin(static_cast<std::uint64_t>(announced));
      } else {
        t.got->body.reserve(static_cast<std::size_t>(announced));
      }
      const auto transfer_time = std::chrono::milliseconds{static_cast<std::int64_t>(
          static_cast<std::uint64_t>(announced) * 1000 / std::max<std::uint64_t>(1, t.sent->bytes_per_second))};
      t.deadline = std::max(t.deadline, std::chrono::steady_clock::now() + t.sent->slack + transfer_time);
    }
  }
  if (t.to_sink) {
    t.sent->sink->feed(std::as_bytes(std::span{data, n})); // libcurl enforces the announced length
    return n;
  }
  if (t.got->body.size() + n > t.sent->max_response) {
    t.too_large = true;
    return 0;
  }
  t.got->body.append(data, n);
  return n;
}

inline std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line{data, n};
  constexpr std::string_view etag = "etag:";
  if (line.size() > etag.size()) {
    std::string name{line.substr(0, etag.size())};
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
    if (name == etag) {
      line.remove_prefix(etag.size());
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        line.remove_prefix(1);
      }
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) {
        line.remove_suffix(1);
      }
      t.got->etag = std::string{line};
    }
  }
  return n;
}

struct header_list {
  curl_slist* list = nullptr;
  header_list() = default;
  header_list(const header_list&) = delete;
  header_list& operator=(const header_list&) = delete;
  ~header_list() { curl_slist_free_all(list); }
  void add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) {
      throw store_error{"s3: out of memory building request headers"};
    }
    list = next;
  }
};

} // namespace client_detail

// Sends requests for one store: signs them with `creds` (unsigned when there are none), keeps up
// to `max_idle` handles (and their open connections) for reuse. Thread-safe: each request takes
// a handle of its own.
class client {
public:
  client(std::optional<credentials> creds, std::string region, std::chrono::milliseconds connect_timeout,
         std::size_t max_idle)
      : m_credentials{std::move(creds)}, m_sigv4{"aws:amz:" + region + ":s3"}, m_connect_timeout{connect_timeout},
        m_max_idle{max_idle} {
    client_detail::global_init();
  }

  // Performs `r`. Any HTTP reply is returned, whatever its status (one over max_response with
  // too_large set and no body); a failure to get one (refused, reset, timed out, not HTTP,
  // truncated) throws store_error with curl's reason.
  [[nodiscard]] response perform(const request& r) {
    std::unique_ptr<client_detail::slot> s = take();
    response out;
    client_detail::transfer t;
    t.sent = &r;
    t.got = &out;
    t.easy = s->easy;
    t.deadline = r.deadline;
    client_detail::header_list headers;
    for (const auto& h : r.headers) {
      headers.add(h);
    }
    // SigV4 over S3 needs the payload's hash; UNSIGNED-PAYLOAD lets a body stream from the
    // caller's buffers (entries carry their own checksums; HTTPS protects them in transit).
    headers.add("x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (m_credentials && !m_credentials->session_token.empty()) {
      headers.add("x-amz-security-token: " + m_credentials->session_token);
    }
    std::uint64_t body_size = 0;
    for (const auto part : r.body) {
      body_size += part.size();
    }
    if (r.upload) {
      headers.add("Content-Type: application/octet-stream");
    }

    char error[CURL_ERROR_SIZE] = {};
    CURL* e = s->easy;
    curl_easy_reset(e); // keeps the handle's connections; clears the previous request's options
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &client_detail::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &client_detail::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    // A large body goes without waiting for "100 Continue" (servers that never send one would
    // otherwise cost a second per request); an early error reply still ends the request.
    curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 1L);
    if (m_credentials) {
      curl_easy_setopt(e, CURLOPT_AWS_SIGV4, m_sigv4.c_str());
      curl_easy_setopt(e, CURLOPT_USERNAME, m_credentials->access_key_id.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, m_credentials->secret_access_key.c_str());
    }
    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    if (r.upload) {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &client_detail::on_read);
      curl_easy_setopt(e, CURLOPT_READDATA, &t);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    }
    const std::string method{r.method}; // CUSTOMREQUEST keeps a pointer until the transfer ends
    if (r.method != "GET" && r.method != "HEAD") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    const CURLcode code = run(*s, t);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out.status);
    // The options point into this frame (headers, error buffer, callbacks' state): cleared before
    // the handle is kept or destroyed. Its connection stays in the multi handle's cache.
    const std::string reason = code == CURLE_OPERATION_TIMEDOUT ? std::string{"timed out"}
                               : error[0] != '\0'               ? std::string{error}
                                                                : std::string{curl_easy_strerror(code)};
    curl_easy_reset(e);
    if (t.too_large) {
      out.body.clear();
      out.too_large = true;
      return out; // the handle is dropped: its connection still holds the unread body
    }
    if (code != CURLE_OK) {
      // The handle's connection may be stuck (a black hole) or half-read: it is not reused.
      throw store_error{std::string{r.method} + " " + redacted(r.url) + ": " + reason};
    }
    give_back(std::move(s));
    return out;
  }

  [[nodiscard]] bool signs() const noexcept { return m_credentials.has_value(); }
  [[nodiscard]] std::string credential_source() const {
    return m_credentials ? m_credentials->source : "none (unsigned)";
  }

private:
  // The URL without its query (upload ids, continuation tokens), for messages.
  static std::string redacted(const std::string& url) { return url.substr(0, url.find('?')); }

  // Drives the transfer in the slot's multi handle until it ends or t.deadline passes.
  static CURLcode run(client_detail::slot& s, client_detail::transfer& t) {
    if (curl_multi_add_handle(s.multi, s.easy) != CURLM_OK) {
      return CURLE_FAILED_INIT;
    }
    CURLcode result = CURLE_OK;
    while (true) {
      int running = 0;
      if (curl_multi_perform(s.multi, &running) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
      if (running == 0) {
        int left = 0;
        result = CURLE_GOT_NOTHING;
        while (CURLMsg* m = curl_multi_info_read(s.multi, &left)) {
          if (m->msg == CURLMSG_DONE) {
            result = m->data.result;
          }
        }
        break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= t.deadline) {
        result = CURLE_OPERATION_TIMEDOUT;
        break;
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(t.deadline - now).count() + 1;
      curl_multi_poll(s.multi, nullptr, 0, static_cast<int>(std::min<std::int64_t>(wait, 1000)), nullptr);
    }
    curl_multi_remove_handle(s.multi, s.easy);
    return result;
  }

  std::unique_ptr<client_detail::slot> take() {
    {
      const std::lock_guard lock{m_mutex};
      if (!m_idle.empty()) {
        auto s = std::move(m_idle.back());
        m_idle.pop_back();
        return s;
      }
    }
    return std::make_unique<client_detail::slot>();
  }

  void give_back(std::unique_ptr<client_detail::slot> s) {
    const std::lock_guard lock{m_mutex};
    if (m_idle.size() < m_max_idle) {
      m_idle.push_back(std::move(s));
    }
  }

  std::optional<credentials> m_credentials;
  std::string m_sigv4;
  std::chrono::milliseconds m_connect_timeout;
  std::size_t m_max_idle;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<client_detail::slot>> m_idle;
};

} // namespace recall::detail::s3
