// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/api/InboxStore.h"

namespace gw::test {

// An InboxStore fake: everything in maps under one mutex, each call one "transaction" (the
// change and its audit entry are applied together or not at all). Keeps the contract callers
// rely on: optimistic versions on links, first view moves Sent/Delivered to Read, expiry shreds
// content and drops codes, replies become operator events and STOP a consent-ledger entry,
// fixed-window rate limits. Can be told to fail the next mutating call (Unavailable).
// Thread-safe.
class InMemoryInboxStore final : public InboxStore {
 public:
  // A stored message: what a real store keeps in its patient_message table.
  struct Message {
    InboxMessage message;
    std::vector<InboxReply> replies;
  };
  struct OperatorEvent {
    std::int64_t message_id = 0;
    std::string kind;  // "inbox_reply:<reply id>"
  };

  // InboxMessageAccess
  Result<InboxMessage> inboxMessage(std::int64_t message_id) override;
  Result<bool> recordView(std::int64_t message_id, SystemTime at, const AuditEntry& audit) override;
  Status saveReply(const InboxReply& reply, const AuditEntry& audit) override;
  Status expireMessage(std::int64_t message_id, const AuditEntry& audit) override;

  // InboxStore
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

  // Set-up and inspection for tests.
  void putMessage(const InboxMessage& message);
  std::vector<AuditEntry> audit() const;
  std::vector<InboxReply> replies() const;
  std::vector<OperatorEvent> operatorEvents() const;
  std::vector<std::int64_t> optOuts() const;  // message ids whose STOP reached the ledger
  std::vector<InboxLink> links() const;
  std::size_t sessionCount() const;
  // The next mutating call fails with Unavailable and changes nothing.
  void failNextWrite();

 private:
  Status checkWriteLocked();

  mutable std::mutex mu_;
  bool fail_next_write_ = false;
  std::map<std::int64_t, Message> messages_;
  std::map<std::string, InboxLink> links_;
  std::map<std::string, InboxSession> sessions_;
  struct Window {
    std::int64_t index = 0;
    int count = 0;
  };
  std::map<std::string, Window> rates_;
  std::vector<AuditEntry> audit_;
  std::vector<OperatorEvent> operator_events_;
  std::vector<std::int64_t> opt_outs_;
};

}  // namespace gw::test
