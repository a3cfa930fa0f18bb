// SPDX-License-Identifier: Apache-2.0
#include "gateway/hl7/Message.h"

#include <algorithm>
#include <cstring>

#include "gateway/hl7/Escape.h"
#include "gateway/hl7/Path.h"
#include "gateway/hl7/Scan.h"

namespace gw::hl7 {
namespace {

using detail::PathSpec;
using detail::RepetitionMode;

// Piece `index` (0-based) of `text` split at `delimiter`. A '\0' delimiter is unused in this
// message, so the text is a single piece. False when there are fewer pieces.
bool piece(std::string_view text, char delimiter, std::uint32_t index, std::string_view& out) {
  if (delimiter == '\0') {
    if (index != 0) {
      return false;
    }
    out = text;
    return true;
  }
  const char* p = text.data();
  const char* const end = p + text.size();
  for (; index > 0; --index) {
    p = detail::findByte(p, end, delimiter);
    if (p == end) {
      return false;
    }
    ++p;
  }
  const char* const stop = detail::findByte(p, end, delimiter);
  out = std::string_view(p, static_cast<std::size_t>(stop - p));
  return true;
}

std::string_view pieceOrEmpty(std::string_view text, char delimiter, std::uint32_t index) {
  std::string_view out;
  return piece(text, delimiter, index, out) ? out : std::string_view();
}

// Component / sub-component `component`.`subcomponent` of one repetition (0 = whole).
std::string_view select(std::string_view repetition, const Delimiters& d, std::uint32_t component,
                        std::uint32_t subcomponent) {
  if (component == 0) {
    return repetition;
  }
  const std::string_view c = pieceOrEmpty(repetition, d.component, component - 1);
  if (subcomponent == 0) {
    return c;
  }
  return pieceOrEmpty(c, d.subcomponent, subcomponent - 1);
}

bool isBlank(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return detail::isBlankByte(c); });
}

}  // namespace

Result<Message> Message::parse(std::string_view bytes) {
  if (static_cast<std::uint64_t>(bytes.size()) > kMaxMessageBytes) {
    return Status::parseError("message is too large (4 GiB or more)");
  }
  Message m;
  m.bytes_ = bytes;
  const std::size_t start = bytes.substr(0, 3) == detail::kUtf8Bom ? 3 : 0;
  // About one segment per 64 bytes avoids most regrowth without holding much unused memory.
  m.segments_.reserve(std::min<std::size_t>(bytes.size() / 64 + 4, 4096));
  detail::LineScanner lines(bytes, start);
  std::string_view line;
  std::size_t offset = 0;
  while (lines.next(line, offset)) {
    if (!detail::isBlankLine(line)) {
      m.segments_.push_back(
          Segment{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(line.size())});
    }
  }
  if (m.segments_.empty()) {
    return Status::parseError("message is empty");
  }
  const std::string_view msh = m.rawSegment(0);
  if (msh.substr(0, 3) != "MSH") {
    return Status::parseError("message does not start with an MSH segment");
  }
  std::size_t msh2_end = 0;
  if (const char* error = detail::readDelimiters(msh, m.delimiters_, msh2_end)) {
    return Status::parseError(error);
  }

  // Locate MSH-1 .. MSH-21 once; the header accessors and most routing paths read only these.
  const std::uint32_t base = m.segments_[0].offset;
  m.msh_fields_[1] = Segment{base + 3, 1};
  m.msh_fields_[2] = Segment{base + 4, static_cast<std::uint32_t>(msh2_end - 4)};
  std::size_t pos = msh2_end;
  for (std::size_t n = 3; n <= kCachedMshFields && pos < msh.size(); ++n) {
    ++pos;  // the field separator
    std::size_t end = msh.find(m.delimiters_.field, pos);
    if (end == std::string_view::npos) {
      end = msh.size();
    }
    m.msh_fields_[n] =
        Segment{base + static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(end - pos)};
    pos = end;
  }

  const std::string_view type = m.messageTypeField();
  if (isBlank(type)) {
    return Status::parseError("MSH-9 (message type) is missing");
  }
  const std::string_view code =
      pieceOrEmpty(pieceOrEmpty(type, m.delimiters_.repetition, 0), m.delimiters_.component, 0);
  if (isBlank(code)) {
    return Status::parseError("MSH-9.1 (message code) is missing");
  }
  if (isBlank(m.controlId())) {
    return Status::parseError("MSH-10 (message control id) is missing");
  }
  const std::string_view msh18 = m.mshField(18);
  m.charset_ = detail::charsetFromMsh18(
      pieceOrEmpty(pieceOrEmpty(msh18, m.delimiters_.repetition, 0), m.delimiters_.component, 0));
  return m;
}

std::string_view Message::segmentName(std::size_t index) const {
  const std::string_view segment = rawSegment(index);
  const std::size_t end = segment.find(delimiters_.field);
  return segment.substr(0, end);
}

std::string_view Message::rawSegment(std::size_t index) const {
  if (index >= segments_.size()) {
    return {};
  }
  return bytes_.substr(segments_[index].offset, segments_[index].length);
}

bool Message::segmentIs(std::size_t index, std::string_view name) const {
  const Segment& s = segments_[index];
  if (s.length < name.size()) {
    return false;
  }
  const char* const text = bytes_.data() + s.offset;
  for (std::size_t i = 0; i < name.size(); ++i) {  // names are 3 bytes: no memcmp call
    if (text[i] != name[i]) {
      return false;
    }
  }
  return s.length == name.size() || text[name.size()] == delimiters_.field;
}

std::size_t Message::countSegments(std::string_view name) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    n += segmentIs(i, name) ? 1 : 0;
  }
  return n;
}

std::string_view Message::mshField(std::size_t number) const {
  if (number == 0 || number > kCachedMshFields) {
    return {};
  }
  return bytes_.substr(msh_fields_[number].offset, msh_fields_[number].length);
}

std::string_view Message::field(std::size_t index, std::uint32_t number, bool& atomic) const {
  atomic = false;
  if (index == 0 && number <= kCachedMshFields && !segments_.empty()) {
    atomic = number <= 2;
    return mshField(number);
  }
  const std::string_view segment = rawSegment(index);
  const char fs = delimiters_.field;
  if (segmentIs(index, "MSH")) {
    // HL7 v2.5.1 ch. 2.5.4: in MSH the field separator itself is MSH-1, so splitting at the
    // separator gives MSH-2 as piece 1 and MSH-n as piece n-1.
    if (number == 1) {
      atomic = true;
      return segment.substr(3, 1);
    }
    atomic = number == 2;
    return pieceOrEmpty(segment, fs, number - 1);
  }
  return pieceOrEmpty(segment, fs, number);
}

template <typename Visit>
void Message::visitRaw(const PathSpec& spec, bool all_repetitions, Visit&& visit) const {
  std::uint32_t seen = 0;
  std::string filter_scratch;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (!segmentIs(i, spec.segment)) {
      continue;
    }
    ++seen;
    if (spec.segment_index != 0 && seen != spec.segment_index) {
      continue;
    }
    bool atomic = false;
    const std::string_view value = field(i, spec.field, atomic);
    Delimiters d = delimiters_;
    if (atomic) {
      d.repetition = d.component = d.subcomponent = '\0';
    }
    RepetitionMode mode = spec.repetition_mode;
    if (mode == RepetitionMode::Default && all_repetitions) {
      mode = RepetitionMode::All;
    }
    if (mode == RepetitionMode::Default) {
      const std::string_view rep = pieceOrEmpty(value, d.repetition, 0);
      if (!visit(select(rep, d, spec.component, spec.subcomponent), !atomic)) {
        return;
      }
    } else if (mode == RepetitionMode::Index) {
      std::string_view rep;
      if (piece(value, d.repetition, spec.repetition - 1, rep) &&
          !visit(select(rep, d, spec.component, spec.subcomponent), !atomic)) {
        return;
      }
    } else if (!value.empty()) {
      std::string_view rep;
      for (std::uint32_t r = 0; piece(value, d.repetition, r, rep); ++r) {
        if (mode == RepetitionMode::Filter) {
          std::string_view key = select(rep, d, spec.filter_component, spec.filter_subcomponent);
          if (!atomic && detail::needsDecoding(key, d, charset_)) {
            filter_scratch.clear();
            detail::decodeValue(key, d, charset_, filter_scratch);
            key = filter_scratch;
          }
          if (key != spec.filter_value) {
            continue;
          }
        }
        if (!visit(select(rep, d, spec.component, spec.subcomponent), !atomic)) {
          return;
        }
      }
    }
    if (spec.segment_index != 0) {
      return;
    }
  }
}

std::size_t Message::forEachValue(std::string_view path, ValueVisitor visitor,
                                  void* context) const {
  PathSpec spec;
  if (!detail::parsePath(path, spec)) {
    return 0;
  }
  std::size_t n = 0;
  std::string scratch;
  visitRaw(spec, false, [&](std::string_view raw_value, bool decodable) {
    ++n;
    if (decodable && detail::needsDecoding(raw_value, delimiters_, charset_)) {
      scratch.clear();
      detail::decodeValue(raw_value, delimiters_, charset_, scratch);
      visitor(context, scratch);
    } else {
      visitor(context, raw_value);
    }
    return true;
  });
  return n;
}

std::string_view Message::getView(std::string_view path, std::string& scratch) const {
  PathSpec spec;
  if (!detail::parsePath(path, spec)) {
    return {};
  }
  std::string_view result;
  visitRaw(spec, false, [&](std::string_view raw_value, bool decodable) {
    if (decodable && detail::needsDecoding(raw_value, delimiters_, charset_)) {
      scratch.clear();
      detail::decodeValue(raw_value, delimiters_, charset_, scratch);
      result = scratch;
    } else {
      result = raw_value;
    }
    return false;
  });
  return result;
}

std::string Message::get(std::string_view path) const {
  std::string scratch;
  const std::string_view value = getView(path, scratch);
  if (value.data() == scratch.data()) {
    return scratch;
  }
  return std::string(value);
}

std::vector<std::string> Message::getAll(std::string_view path) const {
  std::vector<std::string> values;
  forEach(path, [&values](std::string_view value) { values.emplace_back(value); });
  return values;
}

std::size_t Message::count(std::string_view path) const {
  PathSpec spec;
  if (!detail::parsePath(path, spec)) {
    return 0;
  }
  std::size_t n = 0;
  visitRaw(spec, true, [&n](std::string_view, bool) {
    ++n;
    return true;
  });
  return n;
}

std::string_view Message::raw(std::string_view path) const {
  PathSpec spec;
  if (!detail::parsePath(path, spec)) {
    return {};
  }
  std::string_view result;
  visitRaw(spec, false, [&result](std::string_view raw_value, bool) {
    result = raw_value;
    return false;
  });
  return result;
}

std::string Message::decode(std::string_view raw_value) const {
  std::string out;
  detail::decodeValue(raw_value, delimiters_, charset_, out);
  return out;
}

std::string_view Message::sendingApplication() const {
  return mshField(3);
}
std::string_view Message::sendingFacility() const {
  return mshField(4);
}
std::string_view Message::receivingApplication() const {
  return mshField(5);
}
std::string_view Message::receivingFacility() const {
  return mshField(6);
}
std::string_view Message::messageTypeField() const {
  return mshField(9);
}
std::string_view Message::controlId() const {
  return mshField(10);
}
std::string_view Message::processingId() const {
  return mshField(11);
}
std::string_view Message::acceptAckType() const {
  return mshField(15);
}
std::string_view Message::applicationAckType() const {
  return mshField(16);
}

std::string_view Message::version() const {
  return pieceOrEmpty(pieceOrEmpty(mshField(12), delimiters_.repetition, 0), delimiters_.component,
                      0);
}

std::string Message::messageType() const {
  const std::string_view type = pieceOrEmpty(messageTypeField(), delimiters_.repetition, 0);
  const std::string_view code = pieceOrEmpty(type, delimiters_.component, 0);
  const std::string_view trigger = pieceOrEmpty(type, delimiters_.component, 1);
  std::string out(code);
  if (!trigger.empty()) {
    out += '^';
    out += trigger;
  }
  return out;
}

std::vector<std::string_view> splitMessages(std::string_view bytes) {
  std::vector<std::string_view> messages;
  const std::size_t start = bytes.substr(0, 3) == detail::kUtf8Bom ? 3 : 0;
  detail::LineScanner lines(bytes, start);
  std::string_view line;
  std::size_t offset = 0;
  std::size_t open = std::string_view::npos;  // start of the message being collected
  while (lines.next(line, offset)) {
    if (detail::isBlankLine(line)) {
      continue;
    }
    const bool is_msh = detail::isSegment(line, "MSH");
    // HL7 v2.5.1 ch. 2.10, batch protocol: FHS/BHS open and BTS/FTS close a batch; none belongs to
    // a message.
    const bool is_batch = detail::isSegment(line, "FHS") || detail::isSegment(line, "BHS") ||
                          detail::isSegment(line, "BTS") || detail::isSegment(line, "FTS");
    if ((is_msh || is_batch) && open != std::string_view::npos) {
      messages.push_back(bytes.substr(open, offset - open));
      open = std::string_view::npos;
    }
    if (is_msh) {
      open = offset;
    }
  }
  if (open != std::string_view::npos) {
    messages.push_back(bytes.substr(open));
  }
  return messages;
}

}  // namespace gw::hl7
