// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "gateway/api/MessageStore.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

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
