// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/Clock.h"
#include "gateway/api/Status.h"
#include "gateway/hl7/Message.h"

namespace gw::hl7 {

// MSA-1 acknowledgment codes. Original mode: AA/AE/AR; enhanced mode accept ACK: CA/CE/CR.
enum class AckCode { AA, AE, AR, CA, CE, CR };
std::string_view ackCodeName(AckCode code);

// What to answer for one received message.
struct AckDecision {
  AckCode code = AckCode::AA;
  std::string error_code;   // HL7 table 0357 (ERR-3), e.g. "207"; empty for AA/CA
  std::string severity;     // ERR-4 (table 0516): "E" or "W"; empty for AA/CA
  std::string text;         // MSA-3 / ERR-8 diagnostic (never PHI)
  std::string error_location;  // ERR-2 when known, e.g. "MSH^1^9" for a bad MSH-9
  bool send = true;         // false when MSH-15 (NE / ER / SU) says this ACK is not wanted
};

// The one table-tested function from an intake outcome to an ACK. `enhanced` is true when the
// message valued MSH-15 (accept acknowledgment type). Mapping:
//   OK -> AA/CA; InvalidArgument, ParseError, NotFound -> AE/CE (0357 "100".."207" by case);
//   PermissionDenied -> AR/CR "207"; Unavailable, DeadlineExceeded, Internal, DataLoss, and
//   anything else -> AR/CR "207" (the sender may resend).
AckDecision decideAck(const Status& outcome, std::string_view accept_ack_type);

// Builds the ACK message for `original` (MSH-3/4 and 5/6 swapped, MSH-9 "ACK^<trigger>^ACK",
// a fresh MSH-10 `ack_control_id`, MSH-11/12 echoed, MSA-2 = original MSH-10, ERR segment for
// errors), terminated by CR, without MLLP framing.
std::string buildAck(const Message& original, const AckDecision& decision,
                     std::string_view ack_control_id, SystemTime now);

// Best effort ACK for bytes that did not parse as a message: reads what it can of MSH
// (delimiters, MSH-3..6, MSH-10, MSH-12) and answers AE/AR with the decision. When not even
// MSH-1/MSH-2 are readable, uses the default delimiters and leaves MSA-2 empty.
std::string buildAckForUnparsed(std::string_view raw, const AckDecision& decision,
                                std::string_view ack_control_id, SystemTime now);

}  // namespace gw::hl7
