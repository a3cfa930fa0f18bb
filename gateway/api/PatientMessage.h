// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw {

// Where a patient message goes (DESIGN.md section 1).
enum class ChannelKind { SecureInbox, Email, MessagingApi };
// "secure_inbox" / "email" / "messaging_api" (the names mapping files and config use).
std::string_view channelName(ChannelKind channel);
std::optional<ChannelKind> parseChannel(std::string_view name);

// States of a patient message (DESIGN.md section 2).
enum class MessageState {
  Pending,     // waiting for not_before, then handed to its channel
  Sending,     // claimed by a channel worker (lease)
  Sent,        // the channel took responsibility (SMTP 250, HTTP 2xx, inbox notification sent)
  Delivered,   // receipt from the channel
  Read,        // the patient opened it
  Failed,      // retryable failure, back to pending after a backoff
  Dead,        // attempt limit reached or permanent failure; an operator may replay it
  Held,        // policy hold (sensitive result, release delay, missing contact)
  Retracted,   // cancelled before it was sent (A13/A11/S15)
  Superseded,  // a correction replaced it before it was sent
  Suppressed,  // consent: the patient opted out
  Expired,     // content shredded after expiry
};
std::string_view messageStateName(MessageState state);
std::optional<MessageState> parseMessageState(std::string_view name);

// A quick-reply button on a patient message ("confirm", "cancel", "question").
struct QuickReply {
  std::string id;     // stable id stored with the reply, e.g. "confirm"
  std::string label;  // text shown in the message's language
};

// The PHI part of a patient message. Stored only sealed (PayloadCipher) as one blob, produced by
// the mapping engine and read by the channels; never logged.
struct MessageContent {
  std::string language;        // BCP 47 tag the text is in, e.g. "en", "es"
  std::string recipient_name;  // display name
  std::string email;           // recipient address (email, inbox notification)
  std::string phone;           // for a later SMS notifier
  std::string date_of_birth;   // YYYY-MM-DD: the inbox's identity check
  std::string facility_name;   // shown in notifications ("You have a new message from ...")
  std::string subject;
  std::string text;  // plain-text body, includes the not-for-emergency notice
  std::string html;  // HTML body (already escaped by the template engine)
  std::vector<QuickReply> quick_replies;
};

// JSON form of MessageContent (what the store seals). parse reports ParseError on bad input.
std::string serializeMessageContent(const MessageContent& content);
Result<MessageContent> parseMessageContent(std::string_view json);

// A patient message as the mapping engine produces it, before it is stored.
// Everything except sealed_content is metadata without PHI (keys are HMACs / digests).
struct NewPatientMessage {
  std::int64_t event_id = 0;    // inbound event it came from
  std::string mapping;          // mapping id, e.g. "discharge-aftercare"
  std::string idempotency_key;  // unique per message ever created: the same source event never
                                // produces a second message for the same mapping (hex digest)
  std::string clinical_key;     // what a correction/cancel looks up (DESIGN.md section 3)
  std::string patient_key;      // HMAC of assigning authority | identifier
  std::string visit_key;        // digest of patient key + visit number (A13/A11 retraction)
  ChannelKind channel = ChannelKind::SecureInbox;
  std::string purpose;       // "aftercare" | "result" | "reminder" (consent, quiet hours)
  bool contains_phi = true;  // PHI classification of the rendered body
  MessageState state = MessageState::Pending;  // Pending, Held or Suppressed at creation
  std::string reason;           // why held/suppressed/scheduled, no PHI ("quiet_hours", ...)
  SystemTime not_before;        // earliest send time
  SystemTime expires_at;        // content is shredded after this
  std::int64_t supersedes = 0;  // id of the earlier message this one updates (0: none)
  std::string sealed_content;   // PayloadCipher output of serializeMessageContent()
};

// A stored patient message's metadata (no PHI).
struct PatientMessageRecord {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  std::string mapping;
  std::string idempotency_key;
  std::string clinical_key;
  std::string patient_key;
  std::string visit_key;
  ChannelKind channel = ChannelKind::SecureInbox;
  std::string purpose;
  bool contains_phi = true;
  MessageState state = MessageState::Pending;
  std::string reason;
  SystemTime created_at;
  SystemTime updated_at;
  SystemTime not_before;
  SystemTime expires_at;
  std::int64_t supersedes = 0;
  int attempts = 0;             // delivery attempts so far
  std::string delivery_method;  // of the last successful attempt: "smime", "verified_tls", ...
};

}  // namespace gw
