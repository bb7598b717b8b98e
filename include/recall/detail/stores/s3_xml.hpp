// Reads the few fields recall needs from S3's XML replies (ListObjectsV2, InitiateMultipartUpload,
// Error): flat elements found by name, entities decoded. Not a general XML parser.
#pragma once

// The replies read, as S3 documents them (elements recall does not use are skipped):
//
//   list-result  ::= "<ListBucketResult ...>" { element } "</ListBucketResult>"
//   element      ::= "<IsTruncated>" ("true" | "false") "</IsTruncated>"
//                  | "<NextContinuationToken>" text "</NextContinuationToken>"
//                  | "<Contents>" { "<Key>" text "</Key>" | "<Size>" digits "</Size>"
//                                 | "<LastModified>" iso-8601 "</LastModified>" | other } "</Contents>"
//   initiate     ::= "<InitiateMultipartUploadResult ...>" ... "<UploadId>" text "</UploadId>" ...
//   error        ::= "<Error>" "<Code>" text "</Code>" "<Message>" text "</Message>" ... "</Error>"
//   iso-8601     ::= YYYY "-" MM "-" DD "T" hh ":" mm ":" ss [ "." fraction ] "Z"
//
// Replies are untrusted: a malformed one throws format_error, never reads out of bounds.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <recall/errors.hpp>

namespace recall::detail::s3 {

// The text of each <tag>...</tag> in `xml`, in order, raw (entities not decoded). Elements of
// that name must not nest, which holds for every tag read here.
[[nodiscard]] inline std::vector<std::string_view> elements(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string{tag} + ">";
  const std::string close = "</" + std::string{tag} + ">";
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    const std::size_t start = at + open.size();
    const std::size_t end = xml.find(close, start);
    if (end == std::string_view::npos) {
      throw format_error{"S3 reply has <" + std::string{tag} + "> without its end"};
    }
    out.push_back(xml.substr(start, end - start));
    at = end + close.size();
  }
  return out;
}

// The first <tag> element's raw text, or nullopt.
[[nodiscard]] inline std::optional<std::string_view> element(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string{tag} + ">";
  const std::size_t at = xml.find(open);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t start = at + open.size();
  const std::size_t end = xml.find("</" + std::string{tag} + ">", start);
  if (end == std::string_view::npos) {
    throw format_error{"S3 reply has <" + std::string{tag} + "> without its end"};
  }
  return xml.substr(start, end - start);
}

// `text` with XML's five named entities and numeric character references (ASCII only) decoded.
[[nodiscard]] inline std::string unescaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const std::size_t end = text.find(';', i);
    if (end == std::string_view::npos) {
      throw format_error{"S3 reply has an unterminated '&' entity"};
    }
    const std::string_view name = text.substr(i + 1, end - i - 1);
    if (name == "amp") out.push_back('&');
    else if (name == "lt") out.push_back('<');
    else if (name == "gt") out.push_back('>');
    else if (name == "quot") out.push_back('"');
    else if (name == "apos") out.push_back('\'');
    else if (name.size() >= 2 && name.front() == '#') {
      unsigned value = 0;
      const bool hex = name[1] == 'x';
      for (const char c : name.substr(hex ? 2 : 1)) {
        const int digit = c >= '0' && c <= '9'          ? c - '0'
                          : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                        : -1;
        if (digit < 0 || value > 0x10FFFF) {
          throw format_error{"S3 reply has a malformed character reference"};
        }
        value = value * (hex ? 16U : 10U) + static_cast<unsigned>(digit);
      }
      if (value == 0 || value > 0x7f) {
        throw format_error{"S3 reply has a character reference outside ASCII"};
      }
      out.push_back(static_cast<char>(value));
    } else {
      throw format_error{"S3 reply has an unknown entity &" + std::string{name} + ";"};
    }
    i = end;
  }
  return out;
}

// Parses "2026-12-06T03:43:15.000Z" (UTC). Throws format_error.
[[nodiscard]] inline std::chrono::system_clock::time_point parse_timestamp(std::string_view text) {
  const auto number = [&](std::size_t at, std::size_t width) {
    if (at + width > text.size()) {
      throw format_error{"S3 reply has a malformed time '" + std::string{text} + "'"};
    }
    int value = 0;
    for (std::size_t i = at; i < at + width; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        throw format_error{"S3 reply has a malformed time '" + std::string{text} + "'"};
      }
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    throw format_error{"S3 reply has a malformed time '" + std::string{text} + "'"};
  }
  const std::chrono::year_month_day day{std::chrono::year{number(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(number(5, 2))},
                                        std::chrono::day{static_cast<unsigned>(number(8, 2))}};
  if (!day.ok()) {
    throw format_error{"S3 reply has a malformed date '" + std::string{text} + "'"};
  }
  const auto seconds =
      std::chrono::hours{number(11, 2)} + std::chrono::minutes{number(14, 2)} + std::chrono::seconds{number(17, 2)};
  return std::chrono::system_clock::time_point{std::chrono::sys_days{day}.time_since_epoch() + seconds};
}

// One object of a listing.
struct object_info {
  std::string key;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified{};
};

// One page of ListObjectsV2.
struct listing_page {
  std::vector<object_info> objects;
  std::optional<std::string> next; // the continuation token, when the listing goes on
};

[[nodiscard]] inline listing_page parse_listing(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    throw format_error{"S3 reply is not a ListBucketResult"};
  }
  listing_page page;
  for (const std::string_view contents : elements(xml, "Contents")) {
    object_info o;
    const auto key = element(contents, "Key");
    const auto size = element(contents, "Size");
    const auto modified = element(contents, "LastModified");
    if (!key || !size || !modified) {
      throw format_error{"S3 listing has an object without Key, Size or LastModified"};
    }
    o.key = unescaped(*key);
    if (size->empty() || size->size() > 19) {
      throw format_error{"S3 listing has a malformed Size"};
    }
    for (const char c : *size) {
      if (c < '0' || c > '9') {
        throw format_error{"S3 listing has a malformed Size"};
      }
      o.size = o.size * 10 + static_cast<std::uint64_t>(c - '0');
    }
    o.last_modified = parse_timestamp(*modified);
    page.objects.push_back(std::move(o));
  }
  const auto truncated = element(xml, "IsTruncated");
  if (truncated && *truncated == "true") {
    const auto token = element(xml, "NextContinuationToken");
    if (!token || token->empty()) {
      throw format_error{"S3 listing is truncated but has no NextContinuationToken"};
    }
    page.next = unescaped(*token);
  }
  return page;
}

// "Code: Message" of an <Error> reply, or "" when the body is not one.
[[nodiscard]] inline std::string error_text(std::string_view xml) {
  try {
    const auto code = element(xml, "Code");
    if (!code) {
      return {};
    }
    const auto message = element(xml, "Message");
    std::string out = unescaped(*code);
    if (message && !message->empty()) {
      out += ": " + unescaped(*message);
    }
    return out.substr(0, 300);
  } catch (const format_error&) {
    return {};
  }
}

} // namespace recall::detail::s3
