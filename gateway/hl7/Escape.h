// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/hl7/Message.h"

// Private to gw_hl7: escape sequences and character sets (HL7 v2.5.1 ch. 2.7).
namespace gw::hl7::detail {

// True when `raw` must go through decodeValue(): it holds the escape character, or it holds
// bytes >= 0x80 that need Latin-1 -> UTF-8 conversion. False means `raw` is already the value.
bool needsDecoding(std::string_view raw, const Delimiters& delimiters, Charset charset);

// Appends the decoded form of `raw` to `out`: escape sequences resolved, then converted from
// `charset` to UTF-8. Unknown or malformed sequences are dropped; an escape character without a
// closing one (or whose sequence would span a delimiter) is kept literally.
void decodeValue(std::string_view raw, const Delimiters& delimiters, Charset charset,
                 std::string& out);

// Appends `text` to `out` so that it reads back as `text` within one sub-component: delimiters
// become \F\ \S\ \R\ \T\ \E\ \P\, control characters (CR, LF, ...) become spaces. When the message
// has no escape character, delimiters are replaced by spaces instead.
void encodeValue(std::string_view text, const Delimiters& delimiters, std::string& out);

// MSH-18 (first repetition, first component) to a Charset: "ASCII" or empty -> Ascii, "8859/1" ->
// Latin1, "UNICODE UTF-8" / "UTF-8" -> Utf8, anything else -> Utf8 (bytes passed through).
Charset charsetFromMsh18(std::string_view value);

}  // namespace gw::hl7::detail
