// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

// Internet message building (RFC 5322, MIME RFC 2045-2049, RFC 2047 header words). Every line
// ends in CRLF; bodies are UTF-8 in base64, so no line is longer than 78 characters and no body
// line can start with "." or contain a boundary.
namespace gw::email {

// True for a plain addr-spec: one '@' with a non-empty local part and domain, printable ASCII
// only, none of the characters that would break a header or a path ("<>,;:\"\\/()[] ").
bool isValidAddress(std::string_view address);

// "<32 hex chars of SHA-256(idempotency key)@domain>": the same message always gets the same id,
// so a retried delivery is recognisable as a duplicate by the receiver.
Result<std::string> messageId(std::string_view idempotency_key, std::string_view domain);

// RFC 5322 section 3.3 date in UTC, e.g. "Mon, 23 Nov 2026 14:05:09 +0000".
std::string rfc5322Date(SystemTime time);

// Header text: unchanged when it is printable ASCII, else RFC 2047 "=?UTF-8?B?...?=" words
// (folded so no line passes 78 characters). CR and LF are replaced by spaces first.
std::string encodeHeaderText(std::string_view text);

// Base64 in lines of 76 characters, each ending in CRLF.
std::string base64Lines(std::string_view data);

// Text with every line ending (LF, CR, CRLF) made CRLF.
std::string toCrlf(std::string_view text);

// A MIME entity (its Content-* headers, an empty line, the body) for a UTF-8 text and an
// optional HTML alternative: multipart/alternative with both, text/plain alone otherwise.
// `boundary_seed` (hex) makes the boundary unique; base64 bodies cannot contain it.
std::string buildBodyEntity(std::string_view text, std::string_view html,
                            std::string_view boundary_seed);

struct MailHeaders {
  std::string from;
  std::string to;
  std::string subject;     // encoded by encodeHeaderText()
  std::string message_id;  // with angle brackets
  std::string date;
  std::string language;  // Content-Language when it is a plausible BCP 47 tag
};

// The whole message: From, To, Subject, Date, Message-ID, MIME-Version, Content-Language, then
// `entity` (which starts with its own Content-Type header).
std::string buildMessage(const MailHeaders& headers, std::string_view entity);

}  // namespace gw::email
