// SPDX-License-Identifier: Apache-2.0
#include "tests/support/FailingStore.h"

#include <string>

#include "tests/support/InMemoryStore.h"

namespace gw::test {

FailingStore::FailingStore(StorePtr inner, std::uint64_t fail_call, StatusCode code)
    : inner_(inner != nullptr ? std::move(inner) : std::make_shared<InMemoryStore>()),
      fail_call_(fail_call),
      code_(code) {}

void FailingStore::failCall(std::uint64_t call, StatusCode code) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_call_ = call;
  fail_onwards_ = false;
  code_ = code;
}

void FailingStore::failFrom(std::uint64_t call, StatusCode code) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_call_ = call;
  fail_onwards_ = true;
  code_ = code;
}

bool FailingStore::nextCallFails(StatusCode& code, std::uint64_t& call) {
  call = ++calls_;
  std::lock_guard<std::mutex> lock(mu_);
  const bool fail = fail_call_ != 0 && (call == fail_call_ || (fail_onwards_ && call > fail_call_));
  code = code_;
  return fail && code_ != StatusCode::Ok;
}

Result<IntakeReceipt> FailingStore::commitInbound(NewInboundEvent event, Deadline deadline) {
  StatusCode code = StatusCode::Ok;
  std::uint64_t call = 0;
  if (nextCallFails(code, call)) {
    return Status(code, "injected failure of commit call " + std::to_string(call));
  }
  return inner_->commitInbound(std::move(event), deadline);
}

void FailingStore::commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                                      InboundBatchDone done) {
  bool fail = false;
  StatusCode code = StatusCode::Ok;
  for (std::size_t i = 0; i < events.size(); ++i) {
    StatusCode this_code = StatusCode::Ok;
    std::uint64_t call = 0;
    if (nextCallFails(this_code, call) && !fail) {
      fail = true;
      code = this_code;
    }
  }
  if (fail) {
    const Status failure(code, "injected failure of a commit batch of " +
                                   std::to_string(events.size()) + " event(s)");
    done(std::vector<Result<IntakeReceipt>>(events.size(), failure));
    return;
  }
  inner_->commitInboundBatch(std::move(events), deadline, std::move(done));
}

Result<std::vector<InboundEventRecord>> FailingStore::listInbound(const InboundQuery& query) {
  return inner_->listInbound(query);
}

Result<InboundEventRecord> FailingStore::getInbound(std::int64_t id) {
  return inner_->getInbound(id);
}

Result<std::string> FailingStore::readSealedPayload(std::int64_t id, const AuditEntry& audit) {
  return inner_->readSealedPayload(id, audit);
}

Result<std::vector<AuditRecord>> FailingStore::listAudit(std::int64_t after_seq,
                                                         std::size_t limit) {
  return inner_->listAudit(after_seq, limit);
}

Result<std::int64_t> FailingStore::appendAudit(const AuditEntry& entry) {
  return inner_->appendAudit(entry);
}

Result<std::int64_t> FailingStore::appendCheckpoint(const AuditCheckpoint& checkpoint) {
  return inner_->appendCheckpoint(checkpoint);
}

Result<std::vector<AuditCheckpoint>> FailingStore::listCheckpoints(std::int64_t after_id,
                                                                   std::size_t limit) {
  return inner_->listCheckpoints(after_id, limit);
}

Result<std::optional<AuditCheckpoint>> FailingStore::latestCheckpoint() {
  return inner_->latestCheckpoint();
}

void FailingStore::close() {
  inner_->close();
}

}  // namespace gw::test
