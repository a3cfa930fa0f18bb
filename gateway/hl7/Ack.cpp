// SPDX-License-Identifier: Apache-2.0
#include "gateway/hl7/Ack.h"

#include <cctype>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "gateway/hl7/Escape.h"
#include "gateway/hl7/Scan.h"

namespace gw::hl7 {
namespace {

// HL7 table 0357 (message error condition codes), used in ERR-3 (HL7 v2.5.1 ch. 2.15, ERR).
constexpr std::string_view kSegmentSequenceError = "100";
constexpr std::string_view kRequiredFieldMissing = "101";
constexpr std::string_view kDataTypeError = "102";
constexpr std::string_view kTableValueNotFound = "103";
constexpr std::string_view kUnsupportedMessageType = "200";
constexpr std::string_view kUnsupportedEventCode = "201";
constexpr std::string_view kUnsupportedProcessingId = "202";
constexpr std::string_view kUnsupportedVersionId = "203";
constexpr std::string_view kApplicationInternalError = "207";

std::string_view errorCodeText(std::string_view code) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTexts{{
      {kSegmentSequenceError, "Segment sequence error"},
      {kRequiredFieldMissing, "Required field missing"},
      {kDataTypeError, "Data type error"},
      {kTableValueNotFound, "Table value not found"},
      {kUnsupportedMessageType, "Unsupported message type"},
      {kUnsupportedEventCode, "Unsupported event code"},
      {kUnsupportedProcessingId, "Unsupported processing id"},
      {kUnsupportedVersionId, "Unsupported version id"},
      {kApplicationInternalError, "Application internal error"},
  }};
  for (const auto& [key, text] : kTexts) {
    if (key == code) {
      return text;
    }
  }
  return {};
}

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool containsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && upper(haystack[i + j]) == upper(needle[j])) {
      ++j;
    }
    if (j == needle.size()) {
      return true;
    }
  }
  return false;
}

bool isUpperAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// The first field reference such as "MSH-9" or "PID-3.1" in an error text, as an ERL value
// (HL7 v2.5.1 ch. 2.A, ERL: segment ^ sequence ^ field ^ repetition ^ component), e.g. "MSH^1^9" or
// "PID^1^3^1^1". Empty when the text names no field.
std::string locationFromText(std::string_view text) {
  for (std::size_t i = 0; i + 5 <= text.size(); ++i) {
    if ((i > 0 && isUpperAlnum(text[i - 1])) || !(text[i] >= 'A' && text[i] <= 'Z') ||
        !isUpperAlnum(text[i + 1]) || !isUpperAlnum(text[i + 2]) || text[i + 3] != '-' ||
        !isDigit(text[i + 4])) {
      continue;
    }
    std::size_t j = i + 4;
    while (j < text.size() && j < i + 8 && isDigit(text[j])) {
      ++j;
    }
    std::string location(text.substr(i, 3));
    location += "^1^";
    location += text.substr(i + 4, j - i - 4);
    if (j + 1 < text.size() && text[j] == '.' && isDigit(text[j + 1])) {
      std::size_t k = j + 1;
      while (k < text.size() && k < j + 5 && isDigit(text[k])) {
        ++k;
      }
      location += "^1^";
      location += text.substr(j + 1, k - j - 1);
    }
    return location;
  }
  return {};
}

// Table 0357 code for a content error. Callers (parser, intake validation) describe the
// problem in the Status message; these phrases pick the code, and the StatusCode the fallback.
std::string_view contentErrorCode(StatusCode code, std::string_view text) {
  if (containsIgnoreCase(text, "unsupported message type")) {
    return kUnsupportedMessageType;
  }
  if (containsIgnoreCase(text, "unsupported event") ||
      containsIgnoreCase(text, "unsupported trigger")) {
    return kUnsupportedEventCode;
  }
  if (containsIgnoreCase(text, "unsupported processing")) {
    return kUnsupportedProcessingId;
  }
  if (containsIgnoreCase(text, "unsupported version")) {
    return kUnsupportedVersionId;
  }
  if (containsIgnoreCase(text, "does not start with an MSH") ||
      containsIgnoreCase(text, "message is empty") ||
      containsIgnoreCase(text, "segment sequence") ||
      containsIgnoreCase(text, "unexpected segment")) {
    return kSegmentSequenceError;
  }
  if (containsIgnoreCase(text, "is missing") || containsIgnoreCase(text, "required")) {
    return kRequiredFieldMissing;
  }
  if (containsIgnoreCase(text, "table") || containsIgnoreCase(text, "unknown code")) {
    return kTableValueNotFound;
  }
  return code == StatusCode::NotFound ? kTableValueNotFound : kDataTypeError;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && detail::isBlankByte(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && detail::isBlankByte(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

enum class AckMode { Original, Always, Never, ErrorOnly, SuccessOnly };

// HL7 v2.5.1 ch. 2.9.3 / table 0155: a valued MSH-15 selects enhanced mode; AL always, NE never,
// ER only for errors and rejections, SU only for successful completion. Any other value is not
// an enhanced-mode request, so the original-mode rules (ch. 2.9.2: always answer) apply.
AckMode ackMode(std::string_view accept_ack_type) {
  const std::string_view t = trimmed(accept_ack_type);
  if (t.size() != 2) {
    return AckMode::Original;
  }
  const char a = upper(t[0]);
  const char b = upper(t[1]);
  if (a == 'A' && b == 'L') {
    return AckMode::Always;
  }
  if (a == 'N' && b == 'E') {
    return AckMode::Never;
  }
  if (a == 'E' && b == 'R') {
    return AckMode::ErrorOnly;
  }
  if (a == 'S' && b == 'U') {
    return AckMode::SuccessOnly;
  }
  return AckMode::Original;
}

// YYYYMMDDHHMMSS+0000 (HL7 DTM, UTC) without the C library's non-reentrant gmtime(). The
// offset is left out when '+' is one of the message's delimiters.
std::string timestamp(SystemTime now, bool with_offset) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  std::int64_t total = seconds.count();
  if (now.time_since_epoch() < seconds) {
    --total;  // floor for instants before 1970
  }
  std::int64_t days = total / 86400;
  std::int64_t rem = total % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Howard Hinnant's days_from_civil inverse (proleptic Gregorian calendar).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  std::string out;
  const auto put = [&out](std::int64_t value, int width) {
    char buffer[8];
    for (int i = width - 1; i >= 0; --i) {
      buffer[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    out.append(buffer, static_cast<std::size_t>(width));
  };
  put(year < 0 ? 0 : year % 10000, 4);
  put(month, 2);
  put(day, 2);
  put(rem / 3600, 2);
  put(rem / 60 % 60, 2);
  put(rem % 60, 2);
  if (with_offset) {
    out += "+0000";
  }
  return out;
}

// Copies a raw field from the original into the ACK: already encoded with the same delimiters,
// but control bytes (e.g. MLLP framing characters) are blanked so the ACK stays one frame.
std::string sanitizedRaw(std::string_view raw) {
  std::string out(raw);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      c = ' ';
    }
  }
  return out;
}

// True for versions before 2.5 ("2.3.1", "2.4"), which use ERR-1 (ELD) instead of ERR-2..4.
bool usesLegacyErr(std::string_view version) {
  if (version.size() < 3 || version[0] != '2' || version[1] != '.' || !isDigit(version[2])) {
    return false;
  }
  std::size_t i = 2;
  int minor = 0;
  while (i < version.size() && isDigit(version[i]) && minor < 100) {
    minor = minor * 10 + (version[i] - '0');
    ++i;
  }
  return minor < 5;
}

// What the ACK echoes from the message it answers, raw in the message's encoding.
struct Header {
  Delimiters delimiters;
  std::string encoding_characters;            // MSH-2 as sent
  std::array<std::string_view, 19> fields{};  // [n] = MSH-n for 3..18
  std::string_view version;
  std::string_view trigger;  // MSH-9.2
};

class AckWriter {
 public:
  explicit AckWriter(const Header& header) : header_(header), d_(header.delimiters) {}

  std::string build(const AckDecision& decision, std::string_view ack_control_id, SystemTime now) {
    const auto& f = header_.fields;
    std::vector<std::string> msh(19);
    // HL7 v2.5.1 ch. 2.9.2: the receiver becomes the sender, so MSH-3/4 and MSH-5/6 swap.
    msh[3] = sanitizedRaw(f[5]);
    msh[4] = sanitizedRaw(f[6]);
    msh[5] = sanitizedRaw(f[3]);
    msh[6] = sanitizedRaw(f[4]);
    const bool plus_is_delimiter = d_.field == '+' || d_.component == '+' || d_.repetition == '+' ||
                                   d_.escape == '+' || d_.subcomponent == '+' ||
                                   d_.truncation == '+';
    msh[7] = timestamp(now, !plus_is_delimiter);
    msh[9] = messageType();
    msh[10] = encoded(ack_control_id);
    msh[11] = sanitizedRaw(f[11]);
    msh[12] = sanitizedRaw(f[12]);
    msh[18] = sanitizedRaw(f[18]);
    out_ = "MSH";
    out_ += d_.field;
    out_ += header_.encoding_characters;
    writeFields(msh, 3);

    // HL7 v2.5.1 ch. 2.15, MSA segment: MSA-1 code, MSA-2 the control id being acknowledged, MSA-3
    // text.
    std::vector<std::string> msa(4);
    msa[1] = std::string(ackCodeName(decision.code));
    msa[2] = sanitizedRaw(f[10]);
    msa[3] = encoded(decision.text);
    out_ += "MSA";
    writeFields(msa, 1);

    if (!decision.error_code.empty()) {
      writeErr(decision);
    }
    return std::move(out_);
  }

 private:
  std::string encoded(std::string_view text) const {
    std::string out;
    detail::encodeValue(text, d_, out);
    return out;
  }

  // Components joined with the message's component separator; without one, only the first.
  std::string components(const std::vector<std::string>& parts) const {
    std::size_t last = parts.size();
    while (last > 1 && parts[last - 1].empty()) {
      --last;
    }
    if (d_.component == '\0') {
      last = 1;
    }
    std::string out;
    for (std::size_t i = 0; i < last; ++i) {
      if (i > 0) {
        out += d_.component;
      }
      out += parts[i];
    }
    return out;
  }

  std::string messageType() const {
    // HL7 v2.5.1 ch. 2.15, MSH-9 of a general acknowledgment: ACK^<original trigger>^ACK.
    if (header_.trigger.empty() || d_.component == '\0') {
      return "ACK";
    }
    return components({"ACK", sanitizedRaw(header_.trigger), "ACK"});
  }

  // An ERL/ELD location written as "SEG^1^9" in the decision, re-joined with our separator.
  std::vector<std::string> locationParts(std::string_view location) const {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= location.size()) {
      std::size_t end = location.find('^', start);
      if (end == std::string_view::npos) {
        end = location.size();
      }
      parts.push_back(encoded(location.substr(start, end - start)));
      start = end + 1;
    }
    return parts;
  }

  void writeErr(const AckDecision& decision) {
    const std::string code = encoded(decision.error_code);
    const std::string code_text = encoded(errorCodeText(decision.error_code));
    std::vector<std::string> err;
    if (usesLegacyErr(header_.version)) {
      // HL7 v2.4 ch. 2.16, ERR-1 (ELD data type) = segment ^ sequence ^ field ^ code&text&HL70357.
      std::vector<std::string> eld = locationParts(decision.error_location);
      eld.resize(3);
      std::string ce = code;
      if (d_.subcomponent != '\0') {
        ce += d_.subcomponent;
        ce += code_text;
        ce += d_.subcomponent;
        ce += "HL70357";
      }
      eld.push_back(ce);
      err.resize(2);
      err[1] = components(eld);
    } else {
      // HL7 v2.5.1 ch. 2.15, ERR segment: ERR-2 location (ERL), ERR-3 code (CWE, table 0357), ERR-4
      // severity (table 0516), ERR-8 user message.
      err.resize(9);
      if (!decision.error_location.empty()) {
        err[2] = components(locationParts(decision.error_location));
      }
      err[3] = components({code, code_text, "HL70357"});
      err[4] = encoded(decision.severity.empty() ? std::string_view("E") : decision.severity);
      err[8] = encoded(decision.text);
    }
    out_ += "ERR";
    writeFields(err, 1);
  }

  // Appends fields [first..] of `fields` (dropping trailing empty ones) and the CR terminator.
  void writeFields(const std::vector<std::string>& fields, std::size_t first) {
    std::size_t last = fields.size();
    while (last > first && fields[last - 1].empty()) {
      --last;
    }
    for (std::size_t i = first; i < last; ++i) {
      out_ += d_.field;
      out_ += fields[i];
    }
    out_ += '\r';
  }

  const Header& header_;
  const Delimiters& d_;
  std::string out_;
};

std::string_view firstComponent(std::string_view value, const Delimiters& d) {
  if (d.repetition != '\0') {
    value = value.substr(0, value.find(d.repetition));
  }
  if (d.component != '\0') {
    value = value.substr(0, value.find(d.component));
  }
  return value;
}

std::string_view secondComponent(std::string_view value, const Delimiters& d) {
  if (d.repetition != '\0') {
    value = value.substr(0, value.find(d.repetition));
  }
  if (d.component == '\0') {
    return {};
  }
  const std::size_t start = value.find(d.component);
  if (start == std::string_view::npos) {
    return {};
  }
  value.remove_prefix(start + 1);
  return value.substr(0, value.find(d.component));
}

}  // namespace

std::string_view ackCodeName(AckCode code) {
  switch (code) {
    case AckCode::AA:
      return "AA";
    case AckCode::AE:
      return "AE";
    case AckCode::AR:
      return "AR";
    case AckCode::CA:
      return "CA";
    case AckCode::CE:
      return "CE";
    case AckCode::CR:
      return "CR";
  }
  return "AR";
}

namespace {

// Whether an acknowledgment of type `mode` is wanted for this outcome (table 0155).
bool wanted(AckMode mode, const Status& outcome) {
  switch (mode) {
    case AckMode::Original:
    case AckMode::Always:
      return true;
    case AckMode::Never:
      return false;
    case AckMode::ErrorOnly:
      return !outcome.isOk();
    case AckMode::SuccessOnly:
      return outcome.isOk();
  }
  return true;
}

// The original-mode code for an enhanced-mode one (CA -> AA, CE -> AE, CR -> AR).
AckCode applicationCode(AckCode code) {
  switch (code) {
    case AckCode::CA: return AckCode::AA;
    case AckCode::CE: return AckCode::AE;
    case AckCode::CR: return AckCode::AR;
    default: return code;
  }
}

}  // namespace

AckDecision decideAck(const Status& outcome, std::string_view accept_ack_type,
                      std::string_view application_ack_type) {
  const AckMode mode = ackMode(accept_ack_type);
  const bool enhanced = mode != AckMode::Original;
  AckDecision decision;
  switch (outcome.code()) {
    case StatusCode::Ok:
      // HL7 v2.5.1 ch. 2.9.2 / 2.9.3: AA once the message is safely stored, CA in enhanced
      // mode (commit accept).
      decision.code = enhanced ? AckCode::CA : AckCode::AA;
      break;
    case StatusCode::InvalidArgument:
    case StatusCode::ParseError:
    case StatusCode::NotFound:
      // Content errors: resending the same message cannot succeed (AE; CE in enhanced mode).
      decision.code = enhanced ? AckCode::CE : AckCode::AE;
      decision.error_code = std::string(contentErrorCode(outcome.code(), outcome.message()));
      decision.text = outcome.message();
      decision.error_location = locationFromText(outcome.message());
      break;
    case StatusCode::PermissionDenied:
    case StatusCode::FailedPrecondition:
      // Rejected for a policy reason (e.g. sending facility not allowed); the text is ours.
      decision.code = enhanced ? AckCode::CR : AckCode::AR;
      decision.error_code = std::string(kApplicationInternalError);
      decision.text = outcome.message();
      break;
    case StatusCode::Unavailable:
      decision.code = enhanced ? AckCode::CR : AckCode::AR;
      decision.error_code = std::string(kApplicationInternalError);
      decision.text = "receiver temporarily unavailable, please resend";
      break;
    case StatusCode::DeadlineExceeded:
      decision.code = enhanced ? AckCode::CR : AckCode::AR;
      decision.error_code = std::string(kApplicationInternalError);
      decision.text = "receiver timed out, please resend";
      break;
    case StatusCode::Internal:
    case StatusCode::DataLoss:
    case StatusCode::AlreadyExists:
    default:
      // Never echo the internal message: it may describe our storage or code.
      decision.code = enhanced ? AckCode::CR : AckCode::AR;
      decision.error_code = std::string(kApplicationInternalError);
      decision.text = "application internal error";
      break;
  }
  if (!outcome.isOk()) {
    decision.severity = "E";
  }
  decision.send = wanted(mode, outcome);
  if (!decision.send && enhanced) {
    // HL7 v2.5.1 ch. 2.9.3: MSH-16 asks for the application acknowledgment separately. This
    // gateway's application acceptance is the commit itself (later mapping problems are held
    // for an operator, never bounced to the EHR), so when the sender wants no commit ACK but an
    // application ACK for this outcome, the application ACK (AA/AE/AR) is sent now. A null or
    // unknown MSH-16 asks for none.
    const AckMode application = ackMode(application_ack_type);
    if (application != AckMode::Original && wanted(application, outcome)) {
      decision.code = applicationCode(decision.code);
      decision.send = true;
    }
  }
  return decision;
}

std::string buildAck(const Message& original, const AckDecision& decision,
                     std::string_view ack_control_id, SystemTime now) {
  Header header;
  header.delimiters = original.delimiters();
  header.encoding_characters = std::string(original.raw("MSH-2"));
  for (std::size_t n = 3; n < header.fields.size(); ++n) {
    header.fields[n] = original.raw("MSH-" + std::to_string(n));
  }
  header.version = original.version();
  header.trigger = secondComponent(original.messageTypeField(), header.delimiters);
  return AckWriter(header).build(decision, ack_control_id, now);
}

std::string buildAckForUnparsed(std::string_view raw, const AckDecision& decision,
                                std::string_view ack_control_id, SystemTime now) {
  Header header;
  header.encoding_characters = "^~\\&";
  // Salvage from the first line that looks like an MSH segment, wherever it is (junk or a batch
  // header may come first). Without readable MSH-1/MSH-2 nothing is echoed.
  const std::size_t start = raw.substr(0, 3) == detail::kUtf8Bom ? 3 : 0;
  detail::LineScanner lines(raw, start);
  std::string_view line;
  std::size_t offset = 0;
  while (lines.next(line, offset)) {
    if (!detail::isSegment(line, "MSH")) {
      continue;
    }
    Delimiters d;
    std::size_t msh2_end = 0;
    if (detail::readDelimiters(line, d, msh2_end) == nullptr) {
      header.delimiters = d;
      header.encoding_characters = std::string(line.substr(4, msh2_end - 4));
    } else {
      // MSH-2 is unusable (e.g. a repeated delimiter) but MSH-1 may still split the fields, so
      // MSA-2 can echo MSH-10; the ACK itself uses the default encoding characters.
      const char field = line.size() > 3 ? line[3] : '\0';
      const bool usable = field > ' ' && field < 0x7F &&
                          !std::isalnum(static_cast<unsigned char>(field)) &&
                          std::string_view("^~\\&").find(field) == std::string_view::npos;
      if (!usable) {
        break;
      }
      header.delimiters = Delimiters();
      header.delimiters.field = field;
      d = header.delimiters;
      msh2_end = line.find(field, 4);
      if (msh2_end == std::string_view::npos) {
        break;
      }
    }
    std::size_t pos = msh2_end;
    for (std::size_t n = 3; n < header.fields.size() && pos < line.size(); ++n) {
      ++pos;
      std::size_t end = line.find(d.field, pos);
      if (end == std::string_view::npos) {
        end = line.size();
      }
      header.fields[n] = line.substr(pos, end - pos);
      pos = end;
    }
    header.version = firstComponent(header.fields[12], d);
    header.trigger = secondComponent(header.fields[9], d);
    break;
  }
  return AckWriter(header).build(decision, ack_control_id, now);
}

}  // namespace gw::hl7
