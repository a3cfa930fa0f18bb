// SPDX-License-Identifier: Apache-2.0
#include "gateway/hl7/Path.h"

namespace gw::hl7::detail {
namespace {

bool isAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A small cursor over the path text; every read is bounds-checked.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }

  bool consume(char c) {
    if (peek() == c && !atEnd()) {
      ++pos_;
      return true;
    }
    return false;
  }

  // A positive decimal number up to kMaxPathNumber.
  bool number(std::uint32_t& out) {
    std::uint32_t value = 0;
    std::size_t digits = 0;
    while (!atEnd() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + static_cast<std::uint32_t>(text_[pos_] - '0');
      if (value > kMaxPathNumber) {
        return false;
      }
      ++pos_;
      ++digits;
    }
    if (digits == 0 || value == 0) {
      return false;
    }
    out = value;
    return true;
  }

  // A positive number, or '*' giving 0.
  bool numberOrStar(std::uint32_t& out) {
    if (consume('*')) {
      out = 0;
      return true;
    }
    return number(out);
  }

  std::string_view name() {
    const std::size_t start = pos_;
    while (!atEnd() && isAlnum(text_[pos_])) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  // Text up to (not including) `stop`; false when `stop` never comes.
  bool until(char stop, std::string_view& out) {
    const std::size_t end = text_.find(stop, pos_);
    if (end == std::string_view::npos) {
      return false;
    }
    out = text_.substr(pos_, end - pos_);
    pos_ = end;
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// An optional ".C" or ".C.S" suffix.
bool componentSuffix(Cursor& cursor, std::uint32_t& component, std::uint32_t& subcomponent) {
  if (!cursor.consume('.')) {
    return true;
  }
  if (!cursor.number(component)) {
    return false;
  }
  if (cursor.consume('.')) {
    return cursor.number(subcomponent);
  }
  return true;
}

}  // namespace

bool parsePath(std::string_view path, PathSpec& out) {
  out = PathSpec{};
  Cursor cursor(path);
  out.segment = cursor.name();
  if (out.segment.empty() || out.segment.size() > 8) {
    return false;
  }
  if (cursor.consume('[')) {
    if (!cursor.numberOrStar(out.segment_index) || !cursor.consume(']')) {
      return false;
    }
  }
  if (!cursor.consume('-') || !cursor.number(out.field)) {
    return false;
  }
  if (cursor.consume('(')) {
    if (!cursor.numberOrStar(out.repetition) || !cursor.consume(')')) {
      return false;
    }
    out.repetition_mode = out.repetition == 0 ? RepetitionMode::All : RepetitionMode::Index;
  } else if (cursor.consume('[')) {
    out.repetition_mode = RepetitionMode::Filter;
    if (cursor.peek() != '.' ||
        !componentSuffix(cursor, out.filter_component, out.filter_subcomponent) ||
        !cursor.consume('=') || !cursor.until(']', out.filter_value) || !cursor.consume(']')) {
      return false;
    }
  }
  if (!componentSuffix(cursor, out.component, out.subcomponent)) {
    return false;
  }
  return cursor.atEnd();
}

}  // namespace gw::hl7::detail
