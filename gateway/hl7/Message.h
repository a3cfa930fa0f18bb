// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Result.h"

namespace gw::hl7 {

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

// Character set from MSH-18 that values are decoded from.
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
  std::string get(std::string_view path) const;
  // All values at a path that uses '*' for a segment index or repetition: "OBX[*]-5", "PID-3(*).1".
  std::vector<std::string> getAll(std::string_view path) const;
  // Number of repetitions of a field: count("PID-3") == 2 when PID-3 has one '~'.
  std::size_t count(std::string_view path) const;

  // Raw (undecoded) view of a path, empty when missing. Zero-copy.
  std::string_view raw(std::string_view path) const;

  // Header fields, raw as sent (used for ACKs, dedupe keys and routing; never PHI).
  std::string_view sendingApplication() const;    // MSH-3
  std::string_view sendingFacility() const;       // MSH-4
  std::string_view receivingApplication() const;  // MSH-5
  std::string_view receivingFacility() const;     // MSH-6
  std::string_view messageTypeField() const;      // MSH-9 raw, e.g. "ADT^A01^ADT_A01"
  std::string messageType() const;                // "ADT^A01" (MSH-9.1 ^ MSH-9.2, or MSH-9.1)
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
};

// Splits a stream that holds several messages (a file with many MSH segments, or an FHS/BHS
// batch) into one view per message; batch header/trailer segments (FHS, BHS, BTS, FTS) are
// dropped. Views refer to `bytes`. A stream without MSH gives an empty vector.
std::vector<std::string_view> splitMessages(std::string_view bytes);

}  // namespace gw::hl7
