// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/api/Result.h"

namespace gw {

// What a patient told us about how they want to be messaged, keyed by the pseudonymous patient
// key (DESIGN.md section 3). Neither field identifies anyone (an IANA zone is coarser than a
// state, a delay is a number), so they are stored in clear like the consent ledger.
struct PatientPreferenceRecord {
  std::string patient_key;
  // IANA time zone overriding the facility's for quiet hours ("America/Chicago"); "" = facility.
  std::string time_zone;
  // "Delay my results": final results are not released before this long after they are final;
  // zero = no delay of the patient's own.
  std::chrono::hours result_delay{0};
  std::string source;  // "inbox", "ehr", "operator" (no PHI)
  SystemTime updated_at;
};

// Purpose of the answer to a HELP reply: sent even after STOP (the patient asked for it).
constexpr const char* kHelpAnswerPurpose = "help";

// Longest "delay my results" a patient may choose (30 days).
constexpr std::chrono::hours kMaxResultDelay{24 * 30};

// A patient's reply to a message (a text keyword over the messaging API, or a line typed in the
// inbox) and everything it changes, committed in one transaction with `audit`.
struct PatientReply {
  std::int64_t message_id = 0;  // the message replied to (its patient key is the patient)
  ChannelKind channel = ChannelKind::MessagingApi;
  std::string keyword;      // "stop", "stopall", "start", "help" or "none"
  std::string dedupe_key;   // e.g. "messaging_api:<provider message id>"; a second reply with the
                            // same key changes nothing (a provider's retry or a replay)
  std::string sealed_text;  // PayloadCipher output of the reply text, associated data
                            // "patient_reply:" + dedupe_key (the text may hold PHI)
  std::vector<ConsentRecord> consent;       // ledger entries to append
  std::optional<NewPatientMessage> answer;  // HELP: the answer, sent like any patient message
  std::string work_detail;  // non-empty: open an operator work item "reply_text" (no PHI)
  SystemTime received_at;
};

// The associated data a reply's text is sealed with.
inline std::string replyAssociatedData(const std::string& dedupe_key) {
  return "patient_reply:" + dedupe_key;
}

// A stored reply's sealed text and the associated data it was sealed with.
struct SealedReplyText {
  std::string sealed_text;
  std::string associated_data;  // "patient_reply:" + dedupe_key
};

struct ReplyCommit {
  std::int64_t reply_id = 0;
  bool duplicate = false;         // dedupe_key was seen before: nothing was written
  std::int64_t answer_id = 0;     // the HELP answer's message id (0: none)
  std::int64_t work_item_id = 0;  // (0: none)
};

// Patient preferences and replies (DESIGN.md section 1, "Patient -> Store (+ Audit)").
//
// Thread-safety: every method may be called concurrently. Each mutating method writes `audit` in
// the same transaction as its change, or nothing. Errors: InvalidArgument (a record the store
// refuses: empty patient key, negative delay), NotFound (unknown message id), Unavailable
// (cannot read or commit now; nothing changed), DataLoss, Internal. Never throws.
class PatientStore {
 public:
  PatientStore() = default;
  virtual ~PatientStore() = default;
  PatientStore(const PatientStore&) = delete;
  PatientStore& operator=(const PatientStore&) = delete;

  // nullopt when the patient never set any.
  virtual Result<std::optional<PatientPreferenceRecord>> preferences(
      const std::string& patient_key) = 0;
  // Creates or replaces the patient's preferences.
  virtual Status savePreferences(const PatientPreferenceRecord& record,
                                 const AuditEntry& audit) = 0;
  // Stores the reply with its consent entries, answer and work item.
  virtual Result<ReplyCommit> commitReply(const PatientReply& reply, const AuditEntry& audit) = 0;
  // A reply's sealed text for an operator, with `audit` ("viewed_reply") in the same
  // transaction. NotFound for an unknown reply or one whose text was shredded (no audit then).
  virtual Result<SealedReplyText> readReplyText(std::int64_t reply_id, const AuditEntry& audit) = 0;
};

using PatientStorePtr = std::shared_ptr<PatientStore>;

// An inbound reply as an adapter received it, before anyone decided what it means.
struct InboundReply {
  ChannelKind channel = ChannelKind::MessagingApi;
  // The message replied to: its idempotency key as the channel sent it (the messaging API's
  // Idempotency-Key), or its id when the channel already knows it (the verified inbox session).
  std::string in_reply_to;
  std::int64_t message_id = 0;
  // The sender as the channel saw it (a phone number or address: PHI, never logged). Empty when
  // the channel verified the patient itself (the inbox).
  std::string sender;
  std::string text;         // PHI possible: never logged
  std::string provider_id;  // the channel's id of this reply (dedupe); empty: none
  std::string source;       // peer address, for the audit record
};

// What a reply did.
struct ReplyResult {
  enum class Kind {
    OptedOut,   // STOP / STOPALL: ledger entries written
    OptedIn,    // START
    Help,       // HELP: an answer was queued (or, in the inbox, shown)
    WorkItem,   // not a keyword: an operator work item
    Duplicate,  // this provider id was handled before
  };
  Kind kind = Kind::WorkItem;
  std::string help_text;  // Help: the answer text (no PHI)
};

// Turns replies into consent changes, HELP answers and work items. The sender is mapped to a
// patient only through the message replied to (and must be that message's recipient); the text
// never decides identity.
//
// Errors: NotFound (no such message), PermissionDenied (the sender is not the message's
// recipient, or the message went out on another channel; nothing changed), InvalidArgument
// (empty text or no message reference), Unavailable, Internal. Never throws. Thread-safe.
class ReplySink {
 public:
  ReplySink() = default;
  virtual ~ReplySink() = default;
  ReplySink(const ReplySink&) = delete;
  ReplySink& operator=(const ReplySink&) = delete;

  virtual Result<ReplyResult> acceptReply(const InboundReply& reply) = 0;
};

using ReplySinkPtr = std::shared_ptr<ReplySink>;

}  // namespace gw
