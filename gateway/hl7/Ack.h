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
  bool send = true;         // false when MSH-15 and MSH-16 say no ACK is wanted
};

// The one table-tested function from an intake outcome to an ACK. `enhanced` is true when the
// message valued MSH-15 (accept acknowledgment type). Mapping:
//   OK -> AA/CA; InvalidArgument, ParseError, NotFound -> AE/CE (0357 "100".."207" by case);
//   PermissionDenied -> AR/CR "207"; Unavailable, DeadlineExceeded, Internal, DataLoss, and
//   anything else -> AR/CR "207" (the sender may resend).
//
// Details (HL7 v2.5.1 ch. 2.9 and tables 0008, 0155, 0357, 0516):
//   - Enhanced mode means MSH-15 is AL, NE, ER or SU (case-insensitive, blanks trimmed); any
//     other value, or none, is original mode. send is false for NE, for ER when the outcome is
//     OK, and for SU when it is an error.
//   - Content errors keep the Status message as text (Status messages never hold PHI) and pick
//     ERR-3 from it: "unsupported message type" 200, "unsupported event"/"unsupported trigger"
//     201, "unsupported processing" 202, "unsupported version" 203, "does not start with an
//     MSH"/"message is empty"/"segment sequence"/"unexpected segment" 100, "is missing"/
//     "required" 101, "table"/"unknown code" 103; otherwise NotFound 103, the others 102. The
//     first field named like "PID-3" or "MSH-9.1" becomes error_location ("PID^1^3",
//     "MSH^1^9^1^1"). So intake validation should word its messages that way.
//   - PermissionDenied keeps its text ("sending facility not allowed"); Unavailable and
//     DeadlineExceeded get a generic "please resend" text; Internal, DataLoss and anything else
//     get "application internal error", never the internal message.
//   - severity is "E" for every error.
//   - When MSH-15 wants no accept ACK for this outcome but MSH-16 (application acknowledgment
//     type, same table) wants an application ACK for it, the application ACK is sent at once
//     with the original-mode code (AA/AE/AR): intake's commit is this gateway's application
//     acceptance. So NE/AL and ER/AL messages still get an AA; NE/NE gets nothing.
AckDecision decideAck(const Status& outcome, std::string_view accept_ack_type,
                      std::string_view application_ack_type = {});

// Builds the ACK message for `original` (MSH-3/4 and 5/6 swapped, MSH-9 "ACK^<trigger>^ACK",
// a fresh MSH-10 `ack_control_id`, MSH-11/12 echoed, MSA-2 = original MSH-10, ERR segment for
// errors), terminated by CR, without MLLP framing.
//
// Details: the original's MSH-1/MSH-2 are reused as sent; MSH-7 is `now` in UTC as
// YYYYMMDDHHMMSS+0000 (without "+0000" when '+' is a delimiter); MSH-18 is echoed when valued;
// MSH-9 is just "ACK" when the original has no trigger. Echoed fields are copied raw (control
// characters blanked); `ack_control_id`, texts and codes are escaped for the original's
// delimiters (without an escape character, delimiters and CR/LF become spaces). ERR for
// versions 2.5 and later (or an empty MSH-12): ERR-2 location, ERR-3 code^text^HL70357, ERR-4
// severity, ERR-8 text; for earlier versions ERR-1 = location^code&text&HL70357. The result
// always parses with Message::parse().
std::string buildAck(const Message& original, const AckDecision& decision,
                     std::string_view ack_control_id, SystemTime now);

// Best effort ACK for bytes that did not parse as a message: reads what it can of MSH
// (delimiters, MSH-3..6, MSH-10, MSH-12) and answers AE/AR with the decision. When not even
// MSH-1/MSH-2 are readable, uses the default delimiters and leaves MSA-2 empty.
// The MSH read is the first line starting with "MSH" (after a BOM, junk or batch headers); it
// also echoes MSH-9's trigger, MSH-11 and MSH-18 when present.
std::string buildAckForUnparsed(std::string_view raw, const AckDecision& decision,
                                std::string_view ack_control_id, SystemTime now);

}  // namespace gw::hl7
