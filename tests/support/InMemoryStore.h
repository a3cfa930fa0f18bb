// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/Store.h"

namespace gw::test {

// A Store fake for unit tests: everything in maps under one mutex, committed at once (no writer
// thread, no batching). Keeps the Store contract that callers rely on: dedupe by dedupe_key
// (a resend returns the first id with duplicate=true and counts it), a "received" / "duplicate"
// audit record per commit and one per readSealedPayload(), NotFound for unknown ids, keyset
// pagination and filters, append-only audit checkpoints with ids from 1, Unavailable "store is
// closing" after close(), DeadlineExceeded when the deadline has already passed (by the clock).
// Audit records carry an empty leaf_hash (no hashing here). Thread-safe.
class InMemoryStore : public Store {
 public:
  explicit InMemoryStore(ClockPtr clock = std::make_shared<SystemClock>());

  // Store
  Result<IntakeReceipt> commitInbound(NewInboundEvent event, Deadline deadline) override;
  // All events under one lock (like one transaction), `done` on the caller's thread.
  void commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                          InboundBatchDone done) override;
  // Batches committed by commitInboundBatch() so far, and the size of each.
  std::vector<std::size_t> batchSizes() const;
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

  // Inspection and set-up for tests.
  std::size_t eventCount() const;
  std::size_t auditCount() const;
  // Sets an event's state (the mapper's job in the real store). NotFound for an unknown id.
  Status setStateForTest(std::int64_t id, InboundState state);

 private:
  struct Stored {
    InboundEventRecord record;
    std::string sealed_payload;
  };

  std::int64_t appendAuditLocked(AuditEntry entry);
  Result<IntakeReceipt> commitLocked(NewInboundEvent event, Deadline deadline);

  const ClockPtr clock_;
  mutable std::mutex mu_;
  bool closed_ = false;
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, Stored> events_;
  std::map<std::string, std::int64_t> ids_by_key_;
  std::vector<AuditRecord> audit_;
  std::vector<AuditCheckpoint> checkpoints_;
  std::vector<std::size_t> batch_sizes_;
};

}  // namespace gw::test
