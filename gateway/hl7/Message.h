// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gateway/api/Result.h"

namespace gw::hl7 {

namespace detail {
struct PathSpec;
}  // namespace detail

// Largest message parse() accepts: segment offsets are 32-bit.
inline constexpr std::uint64_t kMaxMessageBytes = 0xFFFFFFFFULL;

// Delimiters from MSH-1 / MSH-2. A message may omit trailing encoding characters (e.g. "MSH|^~\&"
// or even "MSH|^"); the missing ones are then unused (set to '\0').
struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = '\0';  // HL7 v2.7 '#', when present in MSH-2
};

// Character set from MSH-18 that values are decoded from (first repetition, first component,
// HL7 table 0211): empty or "ASCII" -> Ascii; "8859/1" -> Latin1, converted to UTF-8 on access;
// "UNICODE UTF-8" or "UTF-8" -> Utf8; any other value -> Utf8 (bytes passed through unchanged,
// as they are for Ascii).
enum class Charset { Ascii, Latin1, Utf8 };

// A zero-copy HL7 v2 message: parse() indexes segments over the original bytes, which must
// outlive the Message; fields, repetitions, components and sub-components are found and decoded
// (escape sequences, MSH-18 charset to UTF-8) only when accessed. Copyable and movable (copies
// refer to the same bytes). Thread-safety: const methods may be called concurrently.
class Message {
 public:
  // Segment terminators CR, LF, CRLF and mixed are accepted, blank lines are skipped, a leading
  // UTF-8 BOM is ignored. Errors: ParseError whose message names the field, e.g.
  // "MSH-9 (message type) is missing", "MSH-2 (encoding characters) is invalid",
  // "message does not start with an MSH segment". Messages never contain PHI values.
  //
  // Required: the first segment is MSH with a usable MSH-1 (a printable non-alphanumeric
  // character) and MSH-2 (0 to 5 distinct printable non-alphanumeric characters; missing ones are
  // unused), a non-empty MSH-9 with MSH-9.1 valued, and a non-empty MSH-10. An empty MSH-12
  // (version) is allowed: version() is then "" and callers decide. Errors in full:
  //   "message is too large (4 GiB or more)", "message is empty" (only blank lines),
  //   "message does not start with an MSH segment", "MSH-1 (field separator) is missing|invalid",
  //   "MSH-2 (encoding characters) is invalid: <reason>", "MSH-9 (message type) is missing",
  //   "MSH-9.1 (message code) is missing", "MSH-10 (message control id) is missing".
  // Later segments are not validated (a second MSH is an ordinary segment: split streams with
  // splitMessages() first). Never reads outside `bytes`.
  static Result<Message> parse(std::string_view bytes);

  const Delimiters& delimiters() const { return delimiters_; }
  Charset charset() const { return charset_; }

  std::size_t segmentCount() const { return segments_.size(); }
  std::string_view segmentName(std::size_t index) const;   // "MSH", "PID", ...
  std::string_view rawSegment(std::size_t index) const;    // bytes without terminator
  // Number of segments with that name ("OBX").
  std::size_t countSegments(std::string_view name) const;

  // Decoded value at an integration-engineer path; missing paths give "". Path syntax:
  //   SEG-F            PID-5          first repetition, whole field (components joined raw)
  //   SEG-F.C          PID-5.2        component
  //   SEG-F.C.S        PID-3.4.1      sub-component
  //   SEG-F(R)         PID-3(2).1     repetition R (1-based)
  //   SEG[N]-F         OBX[3]-5       N-th segment of that name (1-based)
  //   SEG-F[.C=V].X    PID-13[.2=NET].4   first repetition whose component C equals V
  // Field numbers follow the standard: MSH-1 is the field separator, MSH-2 the encoding chars.
  //
  // Details of the path language (all 1-based):
  //   - Segment names are 1 to 8 ASCII letters or digits, matched case-sensitively against the
  //     text before a segment's first field separator.
  //   - A malformed path (empty or non-alphanumeric segment name, index/field/component 0, a
  //     number above 1000000, a missing bracket, trailing text, ...) selects nothing: get() and
  //     raw() give "", getAll() and forEach() give no values, count() gives 0. Never an error.
  //   - A value that spans components or sub-components (PID-5) keeps the delimiters between
  //     them as sent and has its escape sequences decoded; use raw() for the exact bytes.
  //   - Decoding: \F\ \S\ \T\ \R\ \E\ (and \P\, HL7 v2.7 truncation) become the delimiter,
  //     \Xhh..\ becomes those bytes, \.br\ and \.sp\ a newline; \H\ \N\ \Z..\ \C..\ \M..\ and
  //     other formatting are dropped; then MSH-18 8859/1 text is converted to UTF-8.
  //   - MSH-1 and MSH-2 are atomic: never decoded nor split (get("MSH-2") is ^~\& as sent).
  //   - Filters compare the decoded value of the component (or .C.S sub-component) exactly.
  //   - '*' and filters are allowed everywhere; get() and raw() return the first value.
  std::string get(std::string_view path) const;
  // All values at a path that uses '*' for a segment index or repetition: "OBX[*]-5", "PID-3(*).1".
  // Order: segments in message order, repetitions in field order. A path without a repetition
  // selector gives one value per selected segment (possibly ""), so getAll("OBX[*]-5") lines up
  // with the OBX segments; "(*)" and filters give one value per existing (matching) repetition,
  // none for an empty field.
  std::vector<std::string> getAll(std::string_view path) const;
  // Number of repetitions of a field: count("PID-3") == 2 when PID-3 has one '~'. Generally the
  // number of repetitions the path selects, summed over the selected segments, with a missing
  // repetition selector meaning all: count("OBX[*]-5"), count("PID-13[.2=NET]"),
  // count("PID-3(2)") (0 or 1). A component suffix does not change the count. Empty field: 0.
  std::size_t count(std::string_view path) const;

  // Raw (undecoded) view of a path, empty when missing. Zero-copy.
  std::string_view raw(std::string_view path) const;

  // get() without the copy: the decoded value at `path` as a view into the message bytes when it
  // needs no decoding (the common case: no escape character, no Latin-1 byte), otherwise into
  // `scratch`, which is overwritten. Valid while the bytes and `scratch` are unchanged.
  std::string_view getView(std::string_view path, std::string& scratch) const;

  // Calls `fn(std::string_view value)` for each value getAll(path) would return, in the same
  // order, without allocating for values that need no decoding. `value` is valid only during the
  // call. Returns the number of values. Example: m.forEach("OBX[*]-5", [&](auto v) { ... });
  template <typename Fn>
  std::size_t forEach(std::string_view path, Fn&& fn) const {
    using F = std::remove_reference_t<Fn>;
    return forEachValue(path, &Message::invokeVisitor<F>,
                        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Decodes a raw value (e.g. from raw()) as get() does: escape sequences, then charset.
  std::string decode(std::string_view raw_value) const;

  // Header fields, raw as sent (used for ACKs, dedupe keys and routing; never PHI).
  std::string_view sendingApplication() const;    // MSH-3
  std::string_view sendingFacility() const;       // MSH-4
  std::string_view receivingApplication() const;  // MSH-5
  std::string_view receivingFacility() const;     // MSH-6
  std::string_view messageTypeField() const;      // MSH-9 raw, e.g. "ADT^A01^ADT_A01"
  std::string messageType() const;                // "ADT^A01" (MSH-9.1 ^ MSH-9.2, or MSH-9.1),
                                                  // joined by '^' whatever the separator
  std::string_view controlId() const;             // MSH-10
  std::string_view processingId() const;          // MSH-11
  std::string_view version() const;               // MSH-12 first component, e.g. "2.5.1"
  std::string_view acceptAckType() const;         // MSH-15
  std::string_view applicationAckType() const;    // MSH-16

 private:
  struct Segment {
    std::uint32_t offset = 0;   // into bytes_
    std::uint32_t length = 0;
  };
  std::string_view bytes_;
  Delimiters delimiters_;
  Charset charset_ = Charset::Ascii;
  std::vector<Segment> segments_;
  // Implementations may add private members (e.g. cached MSH field offsets).

  // MSH-1 .. MSH-21 of the first segment, located once by parse(); [0] is unused.
  static constexpr std::size_t kCachedMshFields = 21;
  std::array<Segment, kCachedMshFields + 1> msh_fields_{};

  using ValueVisitor = void (*)(void* context, std::string_view value);
  template <typename F>
  static void invokeVisitor(void* context, std::string_view value) {
    (*static_cast<F*>(context))(value);
  }
  std::size_t forEachValue(std::string_view path, ValueVisitor visitor, void* context) const;

  // Calls visit(raw, decodable) for each raw value `spec` selects until it returns false.
  // `all_repetitions` makes a missing repetition selector mean every repetition (count()).
  template <typename Visit>
  void visitRaw(const detail::PathSpec& spec, bool all_repetitions, Visit&& visit) const;
  // Raw field `number` of segment `index`; `atomic` is set for MSH-1 and MSH-2.
  std::string_view field(std::size_t index, std::uint32_t number, bool& atomic) const;
  std::string_view mshField(std::size_t number) const;
  bool segmentIs(std::size_t index, std::string_view name) const;
};

// Splits a stream that holds several messages (a file with many MSH segments, or an FHS/BHS
// batch) into one view per message; batch header/trailer segments (FHS, BHS, BTS, FTS) are
// dropped. Views refer to `bytes`. A stream without MSH gives an empty vector.
std::vector<std::string_view> splitMessages(std::string_view bytes);

}  // namespace gw::hl7
