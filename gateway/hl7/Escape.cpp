// SPDX-License-Identifier: Apache-2.0
#include "gateway/hl7/Escape.h"

#include <cstdint>
#include <cstring>

#include "gateway/hl7/Scan.h"

namespace gw::hl7::detail {
namespace {

void appendByte(unsigned char byte, Charset charset, std::string& out) {
  if (charset == Charset::Latin1 && byte >= 0x80) {
    // ISO 8859-1 maps byte b to code point U+00b, two bytes in UTF-8.
    out.push_back(static_cast<char>(0xC0 | (byte >> 6)));
    out.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
  } else {
    out.push_back(static_cast<char>(byte));
  }
}

void appendText(std::string_view text, Charset charset, std::string& out) {
  if (charset != Charset::Latin1) {
    out.append(text);
    return;
  }
  for (const char c : text) {
    appendByte(static_cast<unsigned char>(c), charset, out);
  }
}

bool hasHighByte(std::string_view text) {
  const char* p = text.data();
  std::size_t n = text.size();
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if ((word & 0x8080808080808080ULL) != 0) {
      return true;
    }
    p += 8;
    n -= 8;
  }
  for (; n > 0; --n, ++p) {
    if (static_cast<unsigned char>(*p) >= 0x80) {
      return true;
    }
  }
  return false;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

bool isDelimiter(char c, const Delimiters& d) {
  return c != '\0' && (c == d.field || c == d.component || c == d.repetition ||
                       c == d.subcomponent || c == d.escape || c == d.truncation);
}

// True when `seq` (the text between two escape characters) holds a delimiter: then the two
// escape characters do not form a sequence, since HL7 v2.5.1 ch. 2.7 sequences never span one.
bool spansDelimiter(std::string_view seq, const Delimiters& d) {
  for (const char c : seq) {
    if (c != '\0' &&
        (c == d.field || c == d.component || c == d.repetition || c == d.subcomponent)) {
      return true;
    }
  }
  return false;
}

void appendDelimiter(char delimiter, std::string& out) {
  if (delimiter != '\0') {
    out.push_back(delimiter);
  }
}

// HL7 v2.5.1 ch. 2.7, hexadecimal data (\Xdddd..\): pairs of hex digits, each one byte in the
// message charset. A malformed sequence (odd length, non-hex digit) is dropped as a whole.
void appendHex(std::string_view hex, Charset charset, std::string& out) {
  if (hex.empty() || hex.size() % 2 != 0) {
    return;
  }
  for (const char c : hex) {
    if (hexDigit(c) < 0) {
      return;
    }
  }
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int byte = hexDigit(hex[i]) * 16 + hexDigit(hex[i + 1]);
    appendByte(static_cast<unsigned char>(byte), charset, out);
  }
}

// HL7 v2.5.1 ch. 2.7, formatted text (FT) commands: \.br\ and \.sp\ (line break, skip a line)
// become a newline; the others (.fi .nf .in .ti .sk .ce) only affect layout and are dropped.
void appendFormatting(std::string_view command, std::string& out) {
  if (command == ".br" || command.substr(0, 3) == ".sp") {
    out.push_back('\n');
  }
}

void appendSequence(std::string_view seq, const Delimiters& d, Charset charset, std::string& out) {
  if (seq.size() == 1) {
    // HL7 v2.5.1 ch. 2.7 delimiter escapes; \P\ (truncation character) is new in HL7 v2.7.
    switch (seq[0]) {
      case 'F':
        appendDelimiter(d.field, out);
        return;
      case 'S':
        appendDelimiter(d.component, out);
        return;
      case 'T':
        appendDelimiter(d.subcomponent, out);
        return;
      case 'R':
        appendDelimiter(d.repetition, out);
        return;
      case 'E':
        appendDelimiter(d.escape, out);
        return;
      case 'P':
        appendDelimiter(d.truncation, out);
        return;
      default:
        return;  // \H\ \N\ highlighting and unknown codes carry no text
    }
  }
  if (!seq.empty() && seq[0] == 'X') {
    appendHex(seq.substr(1), charset, out);
    return;
  }
  if (!seq.empty() && seq[0] == '.') {
    appendFormatting(seq, out);
    return;
  }
  // \Cxxyy\ and \Mxxyyzz\ (ISO 2022 switching), \Zdddd\ (locally defined) and anything else are
  // dropped: the gateway does not switch character sets mid-value.
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') {
      x = static_cast<char>(x - 'a' + 'A');
    }
    if (y >= 'a' && y <= 'z') {
      y = static_cast<char>(y - 'a' + 'A');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool needsDecoding(std::string_view raw, const Delimiters& delimiters, Charset charset) {
  if (raw.empty()) {
    return false;
  }
  if (delimiters.escape != '\0' &&
      findByte(raw.data(), raw.data() + raw.size(), delimiters.escape) != raw.data() + raw.size()) {
    return true;
  }
  return charset == Charset::Latin1 && hasHighByte(raw);
}

void decodeValue(std::string_view raw, const Delimiters& delimiters, Charset charset,
                 std::string& out) {
  const char escape = delimiters.escape;
  if (escape == '\0') {
    appendText(raw, charset, out);
    return;
  }
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const void* hit = std::memchr(raw.data() + pos, escape, raw.size() - pos);
    if (hit == nullptr) {
      appendText(raw.substr(pos), charset, out);
      return;
    }
    const std::size_t start = static_cast<std::size_t>(static_cast<const char*>(hit) - raw.data());
    appendText(raw.substr(pos, start - pos), charset, out);
    const std::size_t end = raw.find(escape, start + 1);
    if (end == std::string_view::npos) {
      // Unterminated: not a sequence, keep the rest as sent.
      appendText(raw.substr(start), charset, out);
      return;
    }
    const std::string_view seq = raw.substr(start + 1, end - start - 1);
    if (spansDelimiter(seq, delimiters)) {
      out.push_back(escape);
      pos = start + 1;
      continue;
    }
    appendSequence(seq, delimiters, charset, out);
    pos = end + 1;
  }
}

void encodeValue(std::string_view text, const Delimiters& d, std::string& out) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (isDelimiter(c, d)) {
      if (d.escape == '\0') {
        out.push_back(' ');
        continue;
      }
      char code = 'E';
      if (c == d.field) {
        code = 'F';
      } else if (c == d.component) {
        code = 'S';
      } else if (c == d.repetition) {
        code = 'R';
      } else if (c == d.subcomponent) {
        code = 'T';
      } else if (c == d.truncation) {
        code = 'P';
      }
      out.push_back(d.escape);
      out.push_back(code);
      out.push_back(d.escape);
    } else if (byte < 0x20 || byte == 0x7F) {
      out.push_back(' ');  // a CR or LF would end the segment
    } else {
      out.push_back(c);
    }
  }
}

Charset charsetFromMsh18(std::string_view value) {
  value = trim(value);
  if (value.empty() || equalsIgnoreCase(value, "ASCII")) {
    return Charset::Ascii;
  }
  if (equalsIgnoreCase(value, "8859/1") || equalsIgnoreCase(value, "ISO-8859-1")) {
    return Charset::Latin1;
  }
  // "UNICODE UTF-8" (HL7 table 0211), "UTF-8" and unknown values: bytes pass through.
  return Charset::Utf8;
}

}  // namespace gw::hl7::detail
