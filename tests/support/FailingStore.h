// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "gateway/api/Store.h"

namespace gw::test {

// Wraps a Store and fails chosen commitInbound() calls with a chosen code, forwarding
// everything else (audit records and checkpoints included). Calls are numbered from 1 across all
// threads; a failed call never reaches the wrapped store. Each event of commitInboundBatch()
// counts as one call, and a batch with a failing call fails as a whole (nothing of it reaches
// the wrapped store), as a rolled-back transaction does. Example: FailingStore store(inner, 3,
// StatusCode::Unavailable) fails the third commit; failFrom(1, ...) fails every commit from now on.
// Thread-safe.
class FailingStore : public Store {
 public:
  // Fails call number `fail_call` (0: none) with `code`. A null `inner` gets an InMemoryStore.
  FailingStore(StorePtr inner, std::uint64_t fail_call, StatusCode code = StatusCode::Unavailable);

  // Re-arms: fails only call number `call`, counting from the first call ever made.
  void failCall(std::uint64_t call, StatusCode code);
  // Fails every call numbered `call` or later.
  void failFrom(std::uint64_t call, StatusCode code);
  // Calls commitInbound() received so far, failed ones included.
  std::uint64_t commitCalls() const { return calls_.load(); }
  const StorePtr& inner() const { return inner_; }

  // Store
  Result<IntakeReceipt> commitInbound(NewInboundEvent event, Deadline deadline) override;
  void commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                          InboundBatchDone done) override;
  Result<std::vector<InboundEventRecord>> listInbound(const InboundQuery& query) override;
  Result<InboundEventRecord> getInbound(std::int64_t id) override;
  Result<std::string> readSealedPayload(std::int64_t id, const AuditEntry& audit) override;
  Result<std::vector<AuditRecord>> listAudit(std::int64_t after_seq, std::size_t limit) override;
  Result<std::int64_t> appendAudit(const AuditEntry& entry) override;
  Result<std::int64_t> appendCheckpoint(const AuditCheckpoint& checkpoint) override;
  Result<std::vector<AuditCheckpoint>> listCheckpoints(std::int64_t after_id,
                                                       std::size_t limit) override;
  Result<std::optional<AuditCheckpoint>> latestCheckpoint() override;
  void close() override;

 private:
  // Numbers the next call (`call`); true when it is chosen to fail (its code in `code`).
  bool nextCallFails(StatusCode& code, std::uint64_t& call);

  StorePtr inner_;
  std::atomic<std::uint64_t> calls_{0};
  mutable std::mutex mu_;
  std::uint64_t fail_call_ = 0;
  bool fail_onwards_ = false;
  StatusCode code_;
};

}  // namespace gw::test
