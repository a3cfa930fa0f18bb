// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

#include "gateway/hl7/Message.h"

// Private to gw_hl7: line splitting and MSH-1/MSH-2 reading shared by the parser, the batch
// splitter and the ACK salvager.
namespace gw::hl7::detail {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// First `c` in [p, end), or `end`; p may equal end (then nothing is read).
inline const char* findByte(const char* p, const char* end, char c) {
  if (p >= end) {
    return end;
  }
  const void* hit = std::memchr(p, c, static_cast<std::size_t>(end - p));
  return hit == nullptr ? end : static_cast<const char*>(hit);
}

// Iterates the lines of `bytes` split at CR, LF or CRLF (mixed allowed); a CRLF pair yields an
// empty line between CR and LF, which callers skip like any blank line. Each terminator kind
// is found with memchr, so the whole buffer costs two vectorised scans.
class LineScanner {
 public:
  LineScanner(std::string_view bytes, std::size_t start)
      : data_(bytes.data()), size_(bytes.size()), pos_(start) {
    next_cr_ = find('\r', pos_);
    next_lf_ = find('\n', pos_);
  }

  // The next line without its terminator, and its offset; false at the end.
  bool next(std::string_view& line, std::size_t& offset) {
    if (pos_ >= size_) {
      return false;
    }
    if (next_cr_ < pos_) {
      next_cr_ = find('\r', pos_);
    }
    if (next_lf_ < pos_) {
      next_lf_ = find('\n', pos_);
    }
    const std::size_t end = next_cr_ < next_lf_ ? next_cr_ : next_lf_;
    line = std::string_view(data_ + pos_, end - pos_);
    offset = pos_;
    pos_ = end < size_ ? end + 1 : size_;
    return true;
  }

 private:
  std::size_t find(char c, std::size_t from) const {
    if (from >= size_) {
      return size_;
    }
    const void* hit = std::memchr(data_ + from, c, size_ - from);
    return hit == nullptr ? size_ : static_cast<std::size_t>(static_cast<const char*>(hit) - data_);
  }

  const char* data_;
  std::size_t size_;
  std::size_t pos_;
  std::size_t next_cr_;
  std::size_t next_lf_;
};

inline bool isAsciiAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

inline bool isBlankByte(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

// Empty or only spaces/tabs: such lines are not segments.
inline bool isBlankLine(std::string_view line) {
  if (line.empty()) {
    return true;
  }
  if (!isBlankByte(line[0])) {
    return false;
  }
  for (const char c : line) {
    if (!isBlankByte(c)) {
      return false;
    }
  }
  return true;
}

// True when `line` is a segment called `name` (3 characters): "MSH|..." but not "MSHX|...".
inline bool isSegment(std::string_view line, std::string_view name) {
  return line.size() >= name.size() && std::memcmp(line.data(), name.data(), name.size()) == 0 &&
         (line.size() == name.size() || !isAsciiAlnum(line[name.size()]));
}

// Reads MSH-1 and MSH-2 from an MSH line (HL7 v2.5.1 ch. 2.5.4, v2.7 ch. 2.5.4 for the 5th
// character). On success fills `delimiters` and `msh2_end` (offset in `line` just past MSH-2,
// i.e. at the field separator before MSH-3 or at the end of the line) and returns nullptr;
// otherwise returns the error text (never containing values).
const char* readDelimiters(std::string_view line, Delimiters& delimiters, std::size_t& msh2_end);

}  // namespace gw::hl7::detail
