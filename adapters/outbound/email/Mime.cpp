// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/email/Mime.h"

#include <openssl/evp.h>

#include <ctime>

#include "gateway/crypto/Digest.h"

namespace gw::email {
namespace {

bool isPrintableAscii(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) {
      return false;
    }
  }
  return true;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool plausibleLanguageTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 35) {
    return false;
  }
  for (const char c : tag) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

// Length of the longest prefix of `text` of at most `max` bytes that does not split a UTF-8
// sequence (a lead byte starts a character; continuation bytes are 10xxxxxx).
std::size_t utf8Prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return text.size();
  }
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return end == 0 ? max : end;
}

}  // namespace

bool isValidAddress(std::string_view address) {
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= address.size() ||
      address.find('@', at + 1) != std::string_view::npos || address.size() > 254) {
    return false;
  }
  if (!isPrintableAscii(address)) {
    return false;
  }
  constexpr std::string_view kForbidden = "<>,;:\"\\/()[] ";
  if (address.find_first_of(kForbidden) != std::string_view::npos) {
    return false;
  }
  const std::string_view domain = address.substr(at + 1);
  return domain.front() != '.' && domain.back() != '.' && address.front() != '.';
}

Result<std::string> messageId(std::string_view idempotency_key, std::string_view domain) {
  if (idempotency_key.empty()) {
    return Status::invalidArgument("message has no idempotency key");
  }
  GW_ASSIGN_OR_RETURN(const std::string digest, sha256Hex(idempotency_key));
  return "<" + digest.substr(0, 32) + "@" + std::string(domain) + ">";
}

std::string rfc5322Date(SystemTime time) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return out;
}

std::string encodeHeaderText(std::string_view text) {
  std::string clean(text);
  for (char& c : clean) {
    if (c == '\r' || c == '\n') {
      c = ' ';
    }
  }
  if (isPrintableAscii(clean) && clean.size() <= 900) {
    return clean;
  }
  // RFC 2047 section 2: an encoded word is at most 75 characters; 45 bytes give 60 base64
  // characters plus the 12 of "=?UTF-8?B?" and "?=".
  std::string out;
  std::string_view rest = clean;
  while (!rest.empty()) {
    const std::size_t take = utf8Prefix(rest, 45);
    if (!out.empty()) {
      out += "\r\n ";
    }
    out += "=?UTF-8?B?" + base64(rest.substr(0, take)) + "?=";
    rest.remove_prefix(take);
  }
  return out;
}

std::string base64Lines(std::string_view data) {
  std::string out;
  out.reserve(data.size() * 4 / 3 + data.size() / 57 * 2 + 8);
  // 57 input bytes make one 76-character line (RFC 2045 section 6.8).
  for (std::size_t offset = 0; offset < data.size(); offset += 57) {
    out += base64(data.substr(offset, 57));
    out += "\r\n";
  }
  return out;
}

std::string toCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string buildBodyEntity(std::string_view text, std::string_view html,
                            std::string_view boundary_seed) {
  const std::string text_part =
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      base64Lines(toCrlf(text));
  if (html.empty()) {
    return text_part;
  }
  // '=' and '_' are outside the base64 alphabet inside a line, so the boundary cannot occur in a
  // part (RFC 2046 section 5.1.1).
  const std::string boundary = "=_gw_" + std::string(boundary_seed.substr(0, 32)) + "_alt";
  std::string out = "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "--" + boundary + "\r\n" + text_part;
  out += "--" + boundary + "\r\n";
  out +=
      "Content-Type: text/html; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      base64Lines(toCrlf(html));
  out += "--" + boundary + "--\r\n";
  return out;
}

std::string buildMessage(const MailHeaders& headers, std::string_view entity) {
  std::string out;
  out.reserve(entity.size() + 512);
  out += "From: " + headers.from + "\r\n";
  out += "To: " + headers.to + "\r\n";
  out += "Subject: " + encodeHeaderText(headers.subject) + "\r\n";
  out += "Date: " + headers.date + "\r\n";
  out += "Message-ID: " + headers.message_id + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  if (plausibleLanguageTag(headers.language)) {
    out += "Content-Language: " + headers.language + "\r\n";
  }
  out += entity;
  return out;
}

}  // namespace gw::email
