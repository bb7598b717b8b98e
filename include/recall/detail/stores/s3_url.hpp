// Parses the URLs that name an S3 location (s3://bucket[/prefix][?endpoint=...&region=...]) and
// finds AWS credentials (environment, then the shared credentials file). Knows nothing of libcurl.
#pragma once

// URL grammar:
//
//   s3-url     ::= "s3://" bucket [ "/" prefix ] [ "?" parameter *( "&" parameter ) ]
//   bucket     ::= 3 to 63 of [a-z 0-9 . -], beginning and ending with a letter or a digit
//   prefix     ::= segment *( "/" segment )            (a trailing "/" is dropped)
//   segment    ::= 1 or more of [A-Z a-z 0-9 _ . -], not "." or ".."
//   parameter  ::= "endpoint=" ( "http://" | "https://" ) authority [ path ]
//                | "region=" 1 or more of [a-z 0-9 -]
//                | "access=" ( "read-write" | "read-only" )
//
// Values may be percent-encoded. Absent an endpoint, the store talks to AWS itself,
// https://<bucket>.s3.<region>.amazonaws.com (virtual-hosted style); with one, it uses path style,
// <endpoint>/<bucket>/<key>, which is what MinIO, Ceph, moto and most other servers expect.
// Absent a region: $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <recall/errors.hpp>

namespace recall::detail::s3 {

// A parsed s3:// URL, with the defaults filled in.
struct location {
  std::string bucket;
  std::string prefix;     // "" or "a/b", never with a leading or trailing '/'
  std::string endpoint;   // "" (AWS) or "http://127.0.0.1:9000" (no trailing '/')
  std::string region;     // e.g. "us-east-1"
  bool read_only = false; // access=read-only

  // The URL of the bucket, for requests: "<endpoint>/<bucket>" or AWS's virtual host.
  [[nodiscard]] std::string bucket_url() const {
    if (endpoint.empty()) {
      return "https://" + bucket + ".s3." + region + ".amazonaws.com";
    }
    return endpoint + "/" + bucket;
  }

  // "s3://bucket/prefix" for people (no secrets are ever part of a location).
  [[nodiscard]] std::string text() const {
    std::string out = "s3://" + bucket;
    if (!prefix.empty()) {
      out += "/" + prefix;
    }
    if (!endpoint.empty()) {
      out += " at " + endpoint;
    }
    return out;
  }
};

namespace url_detail {

[[noreturn]] inline void fail(std::string_view url, const std::string& what) {
  throw config_error{"s3 URL '" + std::string{url} + "': " + what};
}

[[nodiscard]] inline bool is_lower_or_digit(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

[[nodiscard]] inline bool is_segment_char(char c) noexcept {
  return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
}

// %XX decoding of a query value; '+' stays '+'.
[[nodiscard]] inline std::string percent_decoded(std::string_view url, std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const auto digit = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= text.size()) {
      fail(url, "a '%' escape needs two hex digits");
    }
    const int high = digit(text[i + 1]);
    const int low = digit(text[i + 2]);
    if (high < 0 || low < 0) {
      fail(url, "a '%' escape needs two hex digits");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

inline void check_bucket(std::string_view url, std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) {
    fail(url, "a bucket name has 3 to 63 characters");
  }
  for (const char c : bucket) {
    if (!is_lower_or_digit(c) && c != '.' && c != '-') {
      fail(url, "a bucket name may hold only lowercase letters, digits, '.' and '-'");
    }
  }
  if (!is_lower_or_digit(bucket.front()) || !is_lower_or_digit(bucket.back())) {
    fail(url, "a bucket name begins and ends with a letter or a digit");
  }
}

inline void check_prefix(std::string_view url, std::string_view prefix) {
  std::size_t start = 0;
  while (start <= prefix.size()) {
    const std::size_t end = std::min(prefix.find('/', start), prefix.size());
    const std::string_view segment = prefix.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      fail(url, "the key prefix may not have empty, '.' or '..' parts");
    }
    for (const char c : segment) {
      if (!is_segment_char(c)) {
        fail(url, "the key prefix may hold only letters, digits, '_', '.', '-' and '/'");
      }
    }
    start = end + 1;
  }
}

inline void check_endpoint(std::string_view url, std::string_view endpoint) {
  const bool http = endpoint.starts_with("http://");
  const bool https = endpoint.starts_with("https://");
  if (!http && !https) {
    fail(url, "endpoint must start with http:// or https://");
  }
  const std::string_view rest = endpoint.substr(http ? 7 : 8);
  if (rest.empty() || rest.front() == '/') {
    fail(url, "endpoint has no host");
  }
  for (const char c : endpoint) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '?' || c == '#' || c == '@' ||
        static_cast<unsigned char>(c) >= 0x7f) {
      fail(url, "endpoint may not hold spaces, control characters, '?', '#' or credentials ('@')");
    }
  }
}

[[nodiscard]] inline std::string environment(const char* name) {
  const char* value = std::getenv(name); // NOLINT(concurrency-mt-unsafe): read-only use
  return value == nullptr ? std::string{} : std::string{value};
}

} // namespace url_detail

// Parses `url`; throws config_error naming what is wrong.
[[nodiscard]] inline location parse_location(std::string_view url) {
  using namespace url_detail;
  constexpr std::string_view scheme = "s3://";
  if (!url.starts_with(scheme)) {
    fail(url, "must start with s3://");
  }
  std::string_view rest = url.substr(scheme.size());
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  location out;
  const auto slash = rest.find('/');
  out.bucket = std::string{rest.substr(0, slash)};
  check_bucket(url, out.bucket);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (prefix.ends_with('/')) {
      prefix.remove_suffix(1);
    }
    if (!prefix.empty()) {
      check_prefix(url, prefix);
      out.prefix = std::string{prefix};
    }
  }
  bool have_region = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view parameter = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (parameter.empty()) {
      continue;
    }
    const auto eq = parameter.find('=');
    if (eq == std::string_view::npos) {
      fail(url, "parameter '" + std::string{parameter} + "' has no value (name=value)");
    }
    const std::string_view name = parameter.substr(0, eq);
    std::string value = percent_decoded(url, parameter.substr(eq + 1));
    if (name == "endpoint") {
      while (value.ends_with('/')) {
        value.pop_back();
      }
      check_endpoint(url, value);
      out.endpoint = std::move(value);
    } else if (name == "region") {
      if (value.empty()) {
        fail(url, "region is empty");
      }
      for (const char c : value) {
        if (!is_lower_or_digit(c) && c != '-') {
          fail(url, "region may hold only lowercase letters, digits and '-'");
        }
      }
      out.region = std::move(value);
      have_region = true;
    } else if (name == "access") {
      if (value != "read-write" && value != "read-only") {
        fail(url, "access is read-write or read-only, not '" + value + "'");
      }
      out.read_only = value == "read-only";
    } else {
      fail(url, "unknown parameter '" + std::string{name} + "' (known: endpoint, region, access)");
    }
  }
  if (!have_region) {
    out.region = environment("AWS_REGION");
    if (out.region.empty()) {
      out.region = environment("AWS_DEFAULT_REGION");
    }
    if (out.region.empty()) {
      out.region = "us-east-1";
    }
  }
  return out;
}

// An access key pair, and a session token for temporary credentials. The secret is used to sign
// requests only; it never appears in a message.
struct credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // empty: none
  std::string source;        // where they came from, for messages: "environment", "profile default in ..."
};

namespace credentials_detail {

[[nodiscard]] inline std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

} // namespace credentials_detail

// Reads profile `profile` of an AWS shared credentials file (INI: "[name]" sections of
// "key = value" lines; '#' and ';' start comments). nullopt when the file or the profile is
// missing; throws config_error for a profile that names a key id without its secret.
[[nodiscard]] inline std::optional<credentials> read_credentials_file(const std::string& path,
                                                                      std::string_view profile) {
  using credentials_detail::trimmed;
  std::ifstream in{path};
  if (!in) {
    return std::nullopt;
  }
  std::string line;
  bool inside = false;
  bool found = false;
  credentials out;
  while (std::getline(in, line)) {
    const std::string_view text = trimmed(line);
    if (text.empty() || text.front() == '#' || text.front() == ';') {
      continue;
    }
    if (text.front() == '[') {
      inside = text.back() == ']' && trimmed(text.substr(1, text.size() - 2)) == profile;
      found = found || inside;
      continue;
    }
    if (!inside) {
      continue;
    }
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view name = trimmed(text.substr(0, eq));
    const std::string value{trimmed(text.substr(eq + 1))};
    if (name == "aws_access_key_id") {
      out.access_key_id = value;
    } else if (name == "aws_secret_access_key") {
      out.secret_access_key = value;
    } else if (name == "aws_session_token") {
      out.session_token = value;
    }
  }
  if (!found || (out.access_key_id.empty() && out.secret_access_key.empty())) {
    return std::nullopt;
  }
  if (out.access_key_id.empty() || out.secret_access_key.empty()) {
    throw config_error{"profile '" + std::string{profile} + "' of " + path +
                       " needs both aws_access_key_id and aws_secret_access_key"};
  }
  out.source = "profile " + std::string{profile} + " of " + path;
  return out;
}

// The credentials the AWS CLI would use, in its order: $AWS_ACCESS_KEY_ID and
// $AWS_SECRET_ACCESS_KEY (with $AWS_SESSION_TOKEN), else profile $AWS_PROFILE (default "default")
// of $AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials). nullopt: none anywhere, so
// requests go unsigned (a public bucket). Throws config_error for half a key pair, or for an
// $AWS_PROFILE that names a profile the file does not have.
[[nodiscard]] inline std::optional<credentials> find_credentials() {
  using url_detail::environment;
  credentials env{environment("AWS_ACCESS_KEY_ID"), environment("AWS_SECRET_ACCESS_KEY"),
                  environment("AWS_SESSION_TOKEN"), "environment"};
  if (!env.access_key_id.empty() || !env.secret_access_key.empty()) {
    if (env.access_key_id.empty() || env.secret_access_key.empty()) {
      throw config_error{"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"};
    }
    return env;
  }
  std::string file = environment("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    const std::string home = environment("HOME");
    if (home.empty()) {
      return std::nullopt;
    }
    file = home + "/.aws/credentials";
  }
  const std::string named = environment("AWS_PROFILE");
  const std::string profile = named.empty() ? "default" : named;
  auto found = read_credentials_file(file, profile);
  if (!found && !named.empty()) {
    throw config_error{"AWS_PROFILE names profile '" + named + "', which " + file + " does not have"};
  }
  return found;
}

} // namespace recall::detail::s3
