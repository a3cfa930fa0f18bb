// SPDX-License-Identifier: Apache-2.0
#include "tests/support/InMemoryStore.h"

namespace gw::test {

InMemoryStore::InMemoryStore(ClockPtr clock) : clock_(std::move(clock)) {}

Result<IntakeReceipt> InMemoryStore::commitInbound(NewInboundEvent event, Deadline deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  return commitLocked(std::move(event), deadline);
}

void InMemoryStore::commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                                       InboundBatchDone done) {
  std::vector<Result<IntakeReceipt>> results;
  results.reserve(events.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch_sizes_.push_back(events.size());
    for (NewInboundEvent& event : events) {
      results.push_back(commitLocked(std::move(event), deadline));
    }
  }
  done(std::move(results));
}

std::vector<std::size_t> InMemoryStore::batchSizes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_sizes_;
}

Result<IntakeReceipt> InMemoryStore::commitLocked(NewInboundEvent event, Deadline deadline) {
  if (event.dedupe_key.empty()) {
    return Status::invalidArgument("inbound event has an empty dedupe_key");
  }
  if (closed_) {
    return Status::unavailable("store is closing");
  }
  if (clock_->steadyNow() >= deadline) {
    return Status::deadlineExceeded("deadline passed before the event reached the store");
  }
  AuditEntry audit;
  audit.time = clock_->now();
  audit.actor = "listener:" + event.listener;
  audit.outcome = "ok";
  audit.source = event.peer;
  auto existing = ids_by_key_.find(event.dedupe_key);
  if (existing == ids_by_key_.end() && !event.legacy_dedupe_key.empty()) {
    existing = ids_by_key_.find(event.legacy_dedupe_key);  // SqliteStore also matches control_id
    if (existing != ids_by_key_.end() &&
        events_[existing->second].record.control_id != event.control_id) {
      existing = ids_by_key_.end();
    }
  }
  if (existing != ids_by_key_.end()) {
    events_[existing->second].record.duplicates += 1;
    audit.action = "duplicate";
    audit.object = "inbound_event:" + std::to_string(existing->second);
    audit.reason = "resend of an already committed event";
    appendAuditLocked(std::move(audit));
    return IntakeReceipt{existing->second, true};
  }
  const std::int64_t id = next_id_++;
  Stored stored;
  InboundEventRecord& r = stored.record;
  r.id = id;
  r.dedupe_key = event.dedupe_key;
  static_cast<InboundEventMetadata&>(r) = std::move(static_cast<InboundEventMetadata&>(event));
  r.received_at = event.received_at;
  r.state = InboundState::Received;
  r.payload_bytes = event.payload_bytes;
  stored.sealed_payload = std::move(event.sealed_payload);
  ids_by_key_.emplace(std::move(event.dedupe_key), id);
  events_.emplace(id, std::move(stored));
  audit.action = "received";
  audit.object = "inbound_event:" + std::to_string(id);
  appendAuditLocked(std::move(audit));
  return IntakeReceipt{id, false};
}

Result<std::vector<InboundEventRecord>> InMemoryStore::listInbound(const InboundQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closed");
  }
  std::vector<InboundEventRecord> out;
  for (auto it = events_.upper_bound(query.after_id);
       it != events_.end() && out.size() < query.limit; ++it) {
    const InboundEventRecord& r = it->second.record;
    if ((query.control_id && r.control_id != *query.control_id) ||
        (query.state && r.state != *query.state) ||
        (query.received_from && r.received_at < *query.received_from) ||
        (query.received_before && r.received_at >= *query.received_before)) {
      continue;
    }
    out.push_back(r);
  }
  return out;
}

Result<InboundEventRecord> InMemoryStore::getInbound(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closed");
  }
  const auto it = events_.find(id);
  if (it == events_.end()) {
    return Status::notFound("no inbound event with id " + std::to_string(id));
  }
  return it->second.record;
}

Result<std::string> InMemoryStore::readSealedPayload(std::int64_t id, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closing");
  }
  const auto it = events_.find(id);
  if (it == events_.end()) {
    return Status::notFound("no inbound event with id " + std::to_string(id));
  }
  AuditEntry entry = audit;
  if (entry.time == SystemTime()) {
    entry.time = clock_->now();
  }
  appendAuditLocked(std::move(entry));
  return it->second.sealed_payload;
}

Result<std::vector<AuditRecord>> InMemoryStore::listAudit(std::int64_t after_seq,
                                                          std::size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closed");
  }
  std::vector<AuditRecord> out;
  for (const AuditRecord& r : audit_) {
    if (out.size() >= limit) {
      break;
    }
    if (r.seq > after_seq) {
      out.push_back(r);
    }
  }
  return out;
}

Result<std::int64_t> InMemoryStore::appendAudit(const AuditEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closing");
  }
  AuditEntry copy = entry;
  if (copy.time == SystemTime()) {
    copy.time = clock_->now();
  }
  return appendAuditLocked(std::move(copy));
}

Result<std::int64_t> InMemoryStore::appendCheckpoint(const AuditCheckpoint& checkpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closing");
  }
  if (checkpoint.tree_size < 0) {
    return Status::invalidArgument("audit checkpoint tree_size is negative");
  }
  AuditCheckpoint stored = checkpoint;
  stored.id = static_cast<std::int64_t>(checkpoints_.size()) + 1;
  if (stored.created_at == SystemTime()) {
    stored.created_at = clock_->now();
  }
  checkpoints_.push_back(std::move(stored));
  return checkpoints_.back().id;
}

Result<std::vector<AuditCheckpoint>> InMemoryStore::listCheckpoints(std::int64_t after_id,
                                                                    std::size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closed");
  }
  std::vector<AuditCheckpoint> out;
  for (const AuditCheckpoint& c : checkpoints_) {
    if (out.size() >= limit) {
      break;
    }
    if (c.id > after_id) {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::optional<AuditCheckpoint>> InMemoryStore::latestCheckpoint() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::unavailable("store is closed");
  }
  if (checkpoints_.empty()) {
    return std::optional<AuditCheckpoint>();
  }
  return std::optional<AuditCheckpoint>(checkpoints_.back());
}

void InMemoryStore::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

std::size_t InMemoryStore::eventCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size();
}

std::size_t InMemoryStore::auditCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return audit_.size();
}

Status InMemoryStore::setStateForTest(std::int64_t id, InboundState state) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = events_.find(id);
  if (it == events_.end()) {
    return Status::notFound("no inbound event with id " + std::to_string(id));
  }
  it->second.record.state = state;
  return Status::ok();
}

std::int64_t InMemoryStore::appendAuditLocked(AuditEntry entry) {
  AuditRecord record;
  record.seq = static_cast<std::int64_t>(audit_.size()) + 1;
  record.entry = std::move(entry);
  audit_.push_back(std::move(record));
  return audit_.back().seq;
}

}  // namespace gw::test
