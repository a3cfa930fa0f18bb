// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/api/Result.h"
#include "gateway/api/Store.h"

namespace gw {

// A state change of an earlier patient message decided by the mapper (a cancel retracts it, a
// correction supersedes it). Applied only when the message is still in one of `from`; otherwise it
// is skipped (e.g. it was sent meanwhile) and reported back.
struct MessageTransition {
  std::int64_t message_id = 0;
  std::vector<MessageState> from;
  MessageState to = MessageState::Retracted;
  std::string reason;  // no PHI, e.g. "cancelled by ADT^A13"
};

// Everything the mapper decided for one inbound event, committed in one transaction with its
// audit records ("mapped"/"held"/"ignored" for the event, "message_created" per new message,
// one per transition).
struct MappingOutcome {
  std::int64_t event_id = 0;
  InboundState state = InboundState::Mapped;  // Mapped, Held or Ignored
  std::string reason;                         // held/ignored reason without PHI
  std::vector<NewPatientMessage> messages;
  std::vector<MessageTransition> transitions;
  std::string actor = "system:mapper";
};

struct MappingCommit {
  // Per outcome.messages[i]: the new message id, or the id of the message that already had the
  // same idempotency key (then `duplicate[i]` is true and nothing new was stored).
  std::vector<std::int64_t> message_ids;
  std::vector<bool> duplicate;
  // Transitions that did not apply because the message had left the `from` states.
  std::vector<std::int64_t> skipped_transitions;
};

struct MessageQuery {
  std::optional<std::string> patient_key;
  std::optional<std::string> clinical_key;
  std::optional<std::string> visit_key;
  std::optional<std::string> mapping;
  std::optional<MessageState> state;
  std::optional<std::int64_t> event_id;
  std::optional<std::string> idempotency_key;
  std::int64_t after_id = 0;  // keyset pagination
  std::size_t limit = 1000;
};

// A message claimed by a delivery worker: its metadata and sealed content.
struct ClaimedMessage {
  PatientMessageRecord record;
  std::string sealed_content;
};

// What one delivery attempt produced.
struct DeliveryOutcome {
  enum class Kind {
    Sent,      // the channel took responsibility: state sent
    Retry,     // retryable failure: state pending again with not_before = retry_at
    Dead,      // permanent failure or attempt limit: state dead
    Fallback,  // PHI could not go this way: re-routed to `fallback_channel`, pending now
  };
  std::int64_t message_id = 0;
  Kind kind = Kind::Sent;
  std::string method;   // receipt method ("verified_tls", "smime", "inbox_notification", ...)
  std::string detail;   // peer answer or error text, no PHI
  SystemTime retry_at;  // Retry only
  ChannelKind fallback_channel = ChannelKind::SecureInbox;  // Fallback only
  std::string actor = "system:delivery";
};

// A consent ledger entry: per patient key, channel and purpose ("*" for all purposes).
struct ConsentRecord {
  std::string patient_key;
  ChannelKind channel = ChannelKind::Email;
  std::string purpose;  // "aftercare", "result", "reminder" or "*"
  bool opted_in = true;
  std::string source;  // "reply:STOP", "operator", "inbox", "ehr"
  SystemTime recorded_at;
};

// Something an operator has to look at: a held inbound event (with the reason the mapper gave)
// or an open work item (a patient's quick reply, ...). No PHI.
struct WorkItem {
  std::string kind;     // "held_event" or the work item's kind ("reply", ...)
  std::int64_t id = 0;  // inbound event id for held_event, else the work item id
  std::string object;   // "inbound_event:12", "patient_message:7"
  std::string detail;   // the reason / what happened
  SystemTime created_at;
};

// Patient messages, the delivery queue and the consent ledger (DESIGN.md sections 2-4). Every
// mutating call commits in one transaction together with its audit records. Metadata is in
// clear; content only sealed.
//
// Thread-safety: every method may be called concurrently. Errors: Unavailable (closed, cannot
// write now: nothing changed), NotFound (unknown id), FailedPrecondition (a transition from a
// state that does not allow it), DataLoss, Internal. Never throws.
class MessageStore {
 public:
  MessageStore() = default;
  virtual ~MessageStore() = default;
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // The sealed payload of an inbound event for system processing (the mapper); audited as part
  // of the mapping outcome, not as an operator view.
  virtual Result<std::string> sealedEventPayload(std::int64_t event_id) = 0;

  // What the mapper reads of an inbound event: the sealed payload and, when intake stored one,
  // the sealed parsed form (InboundEvent::parsed_form; "" when none). Errors as
  // sealedEventPayload(). The default reads the payload only.
  struct SealedEventForms {
    std::string payload;
    std::string parsed_form;
  };
  virtual Result<SealedEventForms> sealedEventForMapping(std::int64_t event_id) {
    GW_ASSIGN_OR_RETURN(std::string payload, sealedEventPayload(event_id));
    return SealedEventForms{std::move(payload), std::string()};
  }

  // Marks the event and stores new messages and transitions in one transaction. The event must
  // still be `received` or `held` (re-mapping after a fix); otherwise FailedPrecondition and
  // nothing changes.
  virtual Result<MappingCommit> commitMapping(const MappingOutcome& outcome) = 0;

  virtual Result<std::vector<PatientMessageRecord>> findMessages(const MessageQuery& query) = 0;
  virtual Result<PatientMessageRecord> getMessage(std::int64_t id) = 0;
  // The sealed content; `audit` (an operator or inbox view) is written in the same transaction
  // when given.
  virtual Result<std::string> sealedMessageContent(std::int64_t id,
                                                   const std::optional<AuditEntry>& audit) = 0;

  // Claims up to `limit` messages of `channel` that are pending with not_before <= now, oldest
  // first: they become `sending` until `lease_until` and their attempt count goes up by one.
  virtual Result<std::vector<ClaimedMessage>> claimDue(ChannelKind channel, SystemTime now,
                                                       SystemTime lease_until,
                                                       std::size_t limit) = 0;
  // Records an attempt's result (state change + audit "delivery_attempt" with method/outcome).
  // FailedPrecondition when the message is not `sending`.
  virtual Status recordDelivery(const DeliveryOutcome& outcome) = 0;
  // Messages left `sending` by a crash whose lease expired go back to `pending` (audited);
  // returns how many.
  virtual Result<std::int64_t> releaseExpiredLeases(SystemTime now) = 0;
  // Earliest not_before among pending messages (for the scheduler's sleep), nullopt when none.
  virtual Result<std::optional<SystemTime>> nextDue(ChannelKind channel) = 0;

  // An operator or policy transition (replay: dead → pending; release: held → pending; expire).
  // FailedPrecondition when the message is not in one of `from`.
  virtual Status transitionMessage(const MessageTransition& transition,
                                   const AuditEntry& audit) = 0;

  // Retention (crypto-shredding: each sealed blob carries its own wrapped data key, so deleting
  // the blob destroys the key). expireDue(): up to `limit` messages whose expires_at <= now and
  // that are not expired yet become `expired` with their content deleted (audited); returns their
  // ids. purgeEventPayloads(): the payloads of up to `limit` inbound events received before
  // `received_before` that are no longer needed (mapped or ignored) are deleted (audited); returns
  // how many. Metadata and audit records are kept.
  virtual Result<std::vector<std::int64_t>> expireDue(SystemTime now, std::size_t limit) = 0;
  virtual Result<std::int64_t> purgeEventPayloads(SystemTime received_before,
                                                  std::size_t limit) = 0;

  // The operator's work list: held events first (oldest first), then open work items.
  virtual Result<std::vector<WorkItem>> openWork(std::size_t limit) = 0;
  // Marks an open work item done, with `audit` in the same transaction. NotFound or
  // FailedPrecondition (already done).
  virtual Status closeWorkItem(std::int64_t id, const AuditEntry& audit) = 0;

  // The newest ledger entry for (patient, channel, purpose) or (patient, channel, "*"),
  // whichever is newer; nullopt when the patient never said anything.
  virtual Result<std::optional<ConsentRecord>> latestConsent(const std::string& patient_key,
                                                             ChannelKind channel,
                                                             const std::string& purpose) = 0;
  virtual Status recordConsent(const ConsentRecord& record, const AuditEntry& audit) = 0;
};

using MessageStorePtr = std::shared_ptr<MessageStore>;

}  // namespace gw
