// SPDX-License-Identifier: Apache-2.0
#include "tests/support/InMemoryInboxStore.h"

namespace gw::test {

Status InMemoryInboxStore::checkWriteLocked() {
  if (fail_next_write_) {
    fail_next_write_ = false;
    return Status::unavailable("inbox store unavailable (test)");
  }
  return Status::ok();
}

Result<InboxMessage> InMemoryInboxStore::inboxMessage(std::int64_t message_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = messages_.find(message_id);
  if (it == messages_.end()) {
    return Status::notFound("message " + std::to_string(message_id) + " not found");
  }
  return it->second.message;
}

Result<bool> InMemoryInboxStore::recordView(std::int64_t message_id, SystemTime /*at*/,
                                            const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  const auto it = messages_.find(message_id);
  if (it == messages_.end()) {
    return Status::notFound("message " + std::to_string(message_id) + " not found");
  }
  MessageState& state = it->second.message.state;
  const bool first = state == MessageState::Sent || state == MessageState::Delivered;
  if (first) {
    state = MessageState::Read;
  }
  audit_.push_back(audit);
  return first;
}

Status InMemoryInboxStore::saveReply(const InboxReply& reply, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  const auto it = messages_.find(reply.message_id);
  if (it == messages_.end()) {
    return Status::notFound("message " + std::to_string(reply.message_id) + " not found");
  }
  if (it->second.message.state == MessageState::Expired) {
    return Status::failedPrecondition("message has expired");
  }
  it->second.replies.push_back(reply);
  operator_events_.push_back({reply.message_id, "inbox_reply:" + reply.reply_id});
  if (reply.opt_out) {
    opt_outs_.push_back(reply.message_id);
  }
  audit_.push_back(audit);
  return Status::ok();
}

Status InMemoryInboxStore::expireMessage(std::int64_t message_id, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  const auto it = messages_.find(message_id);
  if (it == messages_.end()) {
    return Status::notFound("message " + std::to_string(message_id) + " not found");
  }
  InboxMessage& message = it->second.message;
  message.state = MessageState::Expired;
  message.sealed_content.clear();
  message.associated_data.clear();
  for (auto& [hash, link] : links_) {
    if (link.message_id == message_id) {
      link.code_mac.clear();
      ++link.version;
    }
  }
  audit_.push_back(audit);
  return Status::ok();
}

Status InMemoryInboxStore::createLink(const InboxLink& link, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  if (messages_.count(link.message_id) == 0) {
    return Status::notFound("message " + std::to_string(link.message_id) + " not found");
  }
  if (links_.count(link.token_hash) != 0) {
    return Status::alreadyExists("link token hash already stored");
  }
  InboxLink stored = link;
  stored.version = 1;
  links_[link.token_hash] = stored;
  audit_.push_back(audit);
  return Status::ok();
}

Result<InboxLink> InMemoryInboxStore::findLink(const std::string& token_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = links_.find(token_hash);
  if (it == links_.end()) {
    return Status::notFound("no such link");
  }
  return it->second;
}

Status InMemoryInboxStore::saveLink(const InboxLink& link,
                                    const std::optional<InboxSession>& session,
                                    const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  const auto it = links_.find(link.token_hash);
  if (it == links_.end()) {
    return Status::notFound("no such link");
  }
  if (it->second.version != link.version) {
    return Status::failedPrecondition("link changed concurrently");
  }
  it->second = link;
  ++it->second.version;
  if (session) {
    sessions_[session->id_hash] = *session;
  }
  audit_.push_back(audit);
  return Status::ok();
}

Status InMemoryInboxStore::saveSession(const InboxSession& session) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  sessions_[session.id_hash] = session;
  return Status::ok();
}

Status InMemoryInboxStore::openSession(const InboxSession& session, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  sessions_[session.id_hash] = session;
  audit_.push_back(audit);
  return Status::ok();
}

Result<InboxSession> InMemoryInboxStore::findSession(const std::string& id_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = sessions_.find(id_hash);
  if (it == sessions_.end()) {
    return Status::notFound("no such session");
  }
  return it->second;
}

Status InMemoryInboxStore::deleteSession(const std::string& id_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  sessions_.erase(id_hash);
  return Status::ok();
}

Result<RateDecision> InMemoryInboxStore::consumeRate(const std::string& bucket, SystemTime now,
                                                     std::chrono::seconds window, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  GW_RETURN_IF_ERROR(checkWriteLocked());
  if (window.count() <= 0) {
    return Status::invalidArgument("rate window must be positive");
  }
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t index = since_epoch / window.count();
  Window& w = rates_[bucket];
  if (w.index != index) {
    w = Window{index, 0};
  }
  ++w.count;
  RateDecision decision;
  decision.count = w.count;
  decision.allowed = w.count <= limit;
  decision.retry_after = std::chrono::seconds((index + 1) * window.count() - since_epoch);
  return decision;
}

void InMemoryInboxStore::putMessage(const InboxMessage& message) {
  std::lock_guard<std::mutex> lock(mu_);
  messages_[message.message_id].message = message;
}

std::vector<AuditEntry> InMemoryInboxStore::audit() const {
  std::lock_guard<std::mutex> lock(mu_);
  return audit_;
}

std::vector<InboxReply> InMemoryInboxStore::replies() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InboxReply> all;
  for (const auto& [id, message] : messages_) {
    all.insert(all.end(), message.replies.begin(), message.replies.end());
  }
  return all;
}

std::vector<InMemoryInboxStore::OperatorEvent> InMemoryInboxStore::operatorEvents() const {
  std::lock_guard<std::mutex> lock(mu_);
  return operator_events_;
}

std::vector<std::int64_t> InMemoryInboxStore::optOuts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return opt_outs_;
}

std::vector<InboxLink> InMemoryInboxStore::links() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InboxLink> all;
  for (const auto& [hash, link] : links_) {
    all.push_back(link);
  }
  return all;
}

std::size_t InMemoryInboxStore::sessionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

void InMemoryInboxStore::failNextWrite() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_write_ = true;
}

}  // namespace gw::test
