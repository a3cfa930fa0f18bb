// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "gateway/api/InboxStore.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

// InboxStore on the SQLite store (migration 4: inbox_links, inbox_sessions, inbox_rate_windows,
// inbox_replies, operator_work_items; messages from patient_messages). Writes go through the
// store's writer with their audit records in the same transaction. The associated data of a
// message's sealed content is its idempotency key (what MapperService seals with).
class SqliteInboxStore final : public InboxStore {
 public:
  explicit SqliteInboxStore(std::shared_ptr<SqliteStore> store);

  Result<InboxMessage> inboxMessage(std::int64_t message_id) override;
  Result<bool> recordView(std::int64_t message_id, SystemTime at, const AuditEntry& audit) override;
  Status saveReply(const InboxReply& reply, const AuditEntry& audit) override;
  Status expireMessage(std::int64_t message_id, const AuditEntry& audit) override;

  Status createLink(const InboxLink& link, const AuditEntry& audit) override;
  Result<InboxLink> findLink(const std::string& token_hash) override;
  Status saveLink(const InboxLink& link, const std::optional<InboxSession>& session,
                  const AuditEntry& audit) override;
  Status saveSession(const InboxSession& session) override;
  Status openSession(const InboxSession& session, const AuditEntry& audit) override;
  Result<InboxSession> findSession(const std::string& id_hash) override;
  Status deleteSession(const std::string& id_hash) override;
  Result<RateDecision> consumeRate(const std::string& bucket, SystemTime now,
                                   std::chrono::seconds window, int limit) override;

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace gw
