// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/api/PatientStore.h"

namespace gw::test {

// A PatientStore fake: preferences in a map, replies and audit entries in lists, one mutex.
// Keeps the contract callers rely on (refuses an empty key or a delay out of range, a reply's
// dedupe key counts once). Thread-safe.
class InMemoryPatientStore final : public PatientStore {
 public:
  Result<std::optional<PatientPreferenceRecord>> preferences(
      const std::string& patient_key) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = preferences_.find(patient_key);
    if (it == preferences_.end()) {
      return std::optional<PatientPreferenceRecord>();
    }
    return std::optional<PatientPreferenceRecord>(it->second);
  }
  Status savePreferences(const PatientPreferenceRecord& record, const AuditEntry& audit) override {
    if (record.patient_key.empty() || record.result_delay.count() < 0 ||
        record.result_delay > kMaxResultDelay) {
      return Status::invalidArgument("bad preferences");
    }
    std::lock_guard<std::mutex> lock(mu_);
    preferences_[record.patient_key] = record;
    audit_.push_back(audit);
    return Status::ok();
  }
  Result<ReplyCommit> commitReply(const PatientReply& reply, const AuditEntry& audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    ReplyCommit commit;
    for (std::size_t i = 0; i < replies_.size(); ++i) {
      if (replies_[i].dedupe_key == reply.dedupe_key) {
        commit.reply_id = static_cast<std::int64_t>(i) + 1;
        commit.duplicate = true;
        return commit;
      }
    }
    replies_.push_back(reply);
    audit_.push_back(audit);
    commit.reply_id = static_cast<std::int64_t>(replies_.size());
    return commit;
  }

  Result<SealedReplyText> readReplyText(std::int64_t reply_id, const AuditEntry& audit) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reply_id < 1 || static_cast<std::size_t>(reply_id) > replies_.size() ||
        replies_[static_cast<std::size_t>(reply_id) - 1].sealed_text.empty()) {
      return Status::notFound("no such reply text");
    }
    const PatientReply& reply = replies_[static_cast<std::size_t>(reply_id) - 1];
    audit_.push_back(audit);
    return SealedReplyText{reply.sealed_text, "patient_reply:" + reply.dedupe_key};
  }

  std::vector<AuditEntry> audit() const {
    std::lock_guard<std::mutex> lock(mu_);
    return audit_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, PatientPreferenceRecord> preferences_;
  std::vector<PatientReply> replies_;
  std::vector<AuditEntry> audit_;
};

// A ReplySink that records every reply and answers with a scripted result (OptedOut unless
// told otherwise). Thread-safe.
class RecordingReplySink final : public ReplySink {
 public:
  Result<ReplyResult> acceptReply(const InboundReply& reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(reply);
    return next_;
  }
  void answer(Result<ReplyResult> next) {
    std::lock_guard<std::mutex> lock(mu_);
    next_ = std::move(next);
  }
  std::vector<InboundReply> replies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return replies_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<InboundReply> replies_;
  Result<ReplyResult> next_ = ReplyResult{ReplyResult::Kind::OptedOut, ""};
};

}  // namespace gw::test
