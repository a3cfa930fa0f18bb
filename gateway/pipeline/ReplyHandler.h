// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <string>

#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/PatientStore.h"
#include "gateway/api/PayloadCipher.h"

namespace gw {

// Answers to HELP, per page language ("en", "es"); {{facility}} is replaced by the facility name
// of the message replied to. No PHI.
std::string helpAnswerText(const std::string& language, const std::string& facility);

// The ReplySink of the gateway: finds the message a reply refers to (by the idempotency key the
// channel sent, or by id from a verified inbox session), checks that the sender is that
// message's recipient (phone digits or lower-case address; the text is never used for
// identity), parses the text as a keyword (gateway/mapping/Keywords.h) and commits, in one
// transaction with one audit record ("reply_keyword" or "reply_text", reason "keyword=<name>"):
//   STOP/…, STOPALL, START: consent ledger entries for the message's patient key, purpose "*",
//     on the reply's channel (STOPALL: every channel), source "reply:<keyword>";
//   HELP: over the messaging API a new patient message on the same channel with the help text
//     (purpose "help", no PHI, sent even to a patient who opted out: they asked for it); the
//     inbox shows the text on its page instead;
//   anything else: an operator work item "reply_text".
// The reply text is stored sealed (PayloadCipher) either way. A reply whose provider id was
// seen before changes nothing (Duplicate). Thread-safe.
class ReplyHandler final : public ReplySink {
 public:
  ReplyHandler(MessageStorePtr messages, PatientStorePtr patients, PayloadCipherPtr cipher,
               ClockPtr clock);

  Result<ReplyResult> acceptReply(const InboundReply& reply) override;

 private:
  MessageStorePtr messages_;
  PatientStorePtr patients_;
  PayloadCipherPtr cipher_;
  ClockPtr clock_;
};

}  // namespace gw
