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

Result<IntakeReceipt> FailingStore::commitInbound(NewInboundEvent event, Deadline deadline) {
  const std::uint64_t call = ++calls_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool fail =
        fail_call_ != 0 && (call == fail_call_ || (fail_onwards_ && call > fail_call_));
    if (fail && code_ != StatusCode::Ok) {
      return Status(code_, "injected failure of commit call " + std::to_string(call));
    }
  }
  return inner_->commitInbound(std::move(event), deadline);
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
