// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "gateway/api/MessageStore.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

// Housekeeping's selects, each answered from a partial index of migration 9 (its tests check
// the query plans, so an edit that brings back a full-table scan fails).
namespace housekeeping_sql {
inline constexpr const char* kExpireDue =
    "SELECT id, state FROM patient_messages WHERE expires_at <= ? AND state <> 'expired' AND "
    "state NOT IN ('expired', 'sending') ORDER BY expires_at, id LIMIT ?";
inline constexpr const char* kExpiredLeases =
    "SELECT id FROM patient_messages WHERE state = 'sending' AND lease_until <= ?";
// '+state': the partial index inbound_events_purge (payloads still stored), not the state
// index, which walks every purged event again; its order needs no sort.
inline constexpr const char* kPurgeablePayloads =
    "SELECT id FROM inbound_events WHERE received_at < ? AND +state IN ('mapped', 'ignored') AND "
    "sealed_payload IS NOT NULL ORDER BY received_at, id LIMIT ?";
}  // namespace housekeeping_sql

// MessageStore on the SQLite store's tables patient_messages and consent_ledger (migration 3).
// Writes go through the store's writer (group commit, audit in the same transaction); reads use
// its read connection. Thread-safety and errors as MessageStore.
class SqliteMessageStore final : public MessageStore {
 public:
  explicit SqliteMessageStore(std::shared_ptr<SqliteStore> store);

  Result<std::string> sealedEventPayload(std::int64_t event_id) override;
  Result<SealedEventForms> sealedEventForMapping(std::int64_t event_id) override;
  Result<MappingCommit> commitMapping(const MappingOutcome& outcome) override;
  Result<std::vector<PatientMessageRecord>> findMessages(const MessageQuery& query) override;
  Result<PatientMessageRecord> getMessage(std::int64_t id) override;
  Result<std::string> sealedMessageContent(std::int64_t id,
                                           const std::optional<AuditEntry>& audit) override;
  Result<std::vector<ClaimedMessage>> claimDue(ChannelKind channel, SystemTime now,
                                               SystemTime lease_until, std::size_t limit) override;
  Status recordDelivery(const DeliveryOutcome& outcome) override;
  Result<std::int64_t> releaseExpiredLeases(SystemTime now) override;
  Result<std::optional<SystemTime>> nextDue(ChannelKind channel) override;
  Status transitionMessage(const MessageTransition& transition, const AuditEntry& audit) override;
  Result<std::vector<std::int64_t>> expireDue(SystemTime now, std::size_t limit) override;
  Result<std::int64_t> purgeEventPayloads(SystemTime received_before, std::size_t limit) override;
  Result<std::vector<WorkItem>> openWork(std::size_t limit) override;
  Status closeWorkItem(std::int64_t id, const AuditEntry& audit) override;
  Result<std::optional<ConsentRecord>> latestConsent(const std::string& patient_key,
                                                     ChannelKind channel,
                                                     const std::string& purpose) override;
  Status recordConsent(const ConsentRecord& record, const AuditEntry& audit) override;

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace gw
