// Parses and redacts the URLs that name a Redis server: redis://[user:password@]host[:port][/db]
// and unix://[user:password@]/path/to/socket[?db=N]. Knows nothing of hiredis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <recall/errors.hpp>

namespace recall::detail::redis {

enum class transport {
  tcp,         // redis://host:port
  unix_socket, // unix:///path/to/socket
};

// A parsed server URL. The password is kept for AUTH only: every text meant for people
// (redacted(), error messages) shows it as ********.
struct server_url {
  transport kind = transport::tcp;
  std::string host; // tcp: a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 6379;
  std::string socket_path; // unix_socket: an absolute path
  std::string user;        // empty: the default user (AUTH with the password alone)
  std::string password;    // meaningful only when has_password
  bool has_password = false;
  unsigned db = 0;

  // The URL with the password replaced by ********, and the defaults spelled out:
  // redis://alice:********@cache.lab:6379/0, unix:///run/redis.sock?db=2.
  [[nodiscard]] std::string redacted() const {
    std::string out = kind == transport::tcp ? "redis://" : "unix://";
    if (has_password || !user.empty()) {
      out += user;
      if (has_password) {
        out += ":********";
      }
      out += '@';
    }
    if (kind == transport::tcp) {
      out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
      out += ':' + std::to_string(port) + '/' + std::to_string(db);
    } else {
      out += socket_path;
      if (db != 0) {
        out += "?db=" + std::to_string(db);
      }
    }
    return out;
  }
};

namespace url_detail {

inline constexpr std::string_view redaction = "********";

// `text` with whatever sits between "://" and the last '@' of the authority reduced to
// "user:********" (or "********"), for messages about a URL that may not even parse.
[[nodiscard]] inline std::string redact_raw(std::string_view text) {
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    // No authority to find: a password cannot be told apart from the rest, so show nothing.
    return text.find('@') == std::string_view::npos ? std::string{text} : std::string{redaction};
  }
  const std::size_t start = scheme_end + 3;
  // unix://user:pw@/path has its authority end at the '@' before the path, so look for the
  // last '@' before the first '/' that follows an '@', or before the first '/' at all.
  std::size_t at = std::string_view::npos;
  for (std::size_t i = start; i < text.size(); ++i) {
    if (text[i] == '@') {
      at = i;
    } else if ((text[i] == '/' || text[i] == '?' || text[i] == '#') && (at != std::string_view::npos || i > start)) {
      break;
    }
  }
  if (at == std::string_view::npos) {
    return std::string{text};
  }
  const std::string_view userinfo = text.substr(start, at - start);
  const std::size_t colon = userinfo.find(':');
  std::string out{text.substr(0, start)};
  if (colon != std::string_view::npos) {
    out.append(userinfo.substr(0, colon)).append(":");
  }
  out.append(redaction).append(text.substr(at));
  return out;
}

[[noreturn]] inline void fail(std::string_view raw, const std::string& what) {
  throw config_error{
      "redis URL '" + redact_raw(raw) + "': " + what +
      " (expected redis://[user:password@]host[:port][/db] or unix://[user:password@]/path/to/socket[?db=N])"};
}

[[nodiscard]] inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// RFC 3986 percent-decoding, so a password may hold '@', ':' or '/' as %40, %3A, %2F.
[[nodiscard]] inline std::string percent_decode(std::string_view raw, std::string_view part, std::string_view what) {
  std::string out;
  out.reserve(part.size());
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out.push_back(part[i]);
      continue;
    }
    const int high = i + 2 < part.size() ? hex_digit(part[i + 1]) : -1;
    const int low = i + 2 < part.size() ? hex_digit(part[i + 2]) : -1;
    if (high < 0 || low < 0) {
      fail(raw, "bad percent-escape in the " + std::string{what});
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

[[nodiscard]] inline bool all_digits(std::string_view text) noexcept {
  if (text.empty()) {
    return false;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// A decimal number in [low, high], or -1 for anything else (signs, spaces, overflow).
[[nodiscard]] inline long long parse_number(std::string_view text, long long low, long long high) noexcept {
  if (!all_digits(text) || text.size() > 10) {
    return -1;
  }
  long long value = 0;
  for (const char c : text) {
    value = value * 10 + (c - '0');
  }
  return value < low || value > high ? -1 : value;
}

inline void parse_userinfo(std::string_view raw, std::string_view userinfo, server_url& out) {
  // As ccache and redis-cli read it: "user:password", ":password", or a lone "password".
  const std::size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    out.password = percent_decode(raw, userinfo, "password");
  } else {
    out.user = percent_decode(raw, userinfo.substr(0, colon), "user name");
    out.password = percent_decode(raw, userinfo.substr(colon + 1), "password");
  }
  out.has_password = true;
}

inline unsigned parse_db(std::string_view raw, std::string_view text) {
  const long long db = parse_number(text, 0, 1'000'000);
  if (db < 0) {
    fail(raw, "bad database number '" + std::string{text} + "' (a number from 0)");
  }
  return static_cast<unsigned>(db);
}

inline void parse_tcp(std::string_view raw, std::string_view rest, server_url& out) {
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  const std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    parse_userinfo(raw, authority.substr(0, at), out);
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(raw, "unterminated IPv6 address");
    }
    out.host = std::string{authority.substr(1, close - 1)};
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) {
        fail(raw, "unexpected text after the IPv6 address");
      }
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) {
    fail(raw, "no host name");
  }
  if (has_port) {
    const long long port = parse_number(port_text, 1, 65535);
    if (port < 0) {
      fail(raw, "bad port '" + std::string{port_text} + "' (a number from 1 to 65535)");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (tail.find_first_of("?#") != std::string_view::npos) {
    fail(raw, "query strings and fragments are not supported");
  }
  if (tail.empty() || tail == "/") {
    return;
  }
  out.db = parse_db(raw, tail.substr(1));
}

inline void parse_unix(std::string_view raw, std::string_view rest, server_url& out) {
  out.kind = transport::unix_socket;
  if (!rest.starts_with('/')) {
    // unix://user:password@/path: the user information ends at the '@' before the path.
    const std::size_t at = rest.find("@/");
    if (at == std::string_view::npos) {
      fail(raw, "the socket path must be absolute (unix:///path/to/socket)");
    }
    parse_userinfo(raw, rest.substr(0, at), out);
    rest.remove_prefix(at + 1);
  }
  const std::size_t query = rest.find('?');
  out.socket_path = std::string{rest.substr(0, query)};
  if (out.socket_path.size() < 2) {
    fail(raw, "no socket path");
  }
  if (query != std::string_view::npos) {
    const std::string_view parameter = rest.substr(query + 1);
    if (!parameter.starts_with("db=")) {
      fail(raw, "the only query parameter is db=N");
    }
    out.db = parse_db(raw, parameter.substr(3));
  }
}

} // namespace url_detail

// Parses `text`; throws config_error, naming the problem and quoting the URL without its
// password, for anything else than the two forms above.
[[nodiscard]] inline server_url parse_server_url(std::string_view text) {
  namespace u = url_detail;
  const std::size_t scheme_end = text.find("://");
  if (text.empty()) {
    u::fail(text, "empty");
  }
  if (scheme_end == std::string_view::npos) {
    u::fail(text, "no scheme");
  }
  std::string scheme{text.substr(0, scheme_end)};
  for (char& c : scheme) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  const std::string_view rest = text.substr(scheme_end + 3);
  server_url out;
  if (scheme == "redis") {
    u::parse_tcp(text, rest, out);
  } else if (scheme == "unix") {
    u::parse_unix(text, rest, out);
  } else if (scheme == "rediss") {
    u::fail(text, "TLS (rediss://) is not supported by hiredis 0.14; reach the server through a TLS tunnel "
                  "(stunnel, spiped) with a redis:// URL");
  } else {
    u::fail(text, "unsupported scheme '" + scheme + "'");
  }
  return out;
}

} // namespace recall::detail::redis
