// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "gateway/admin/AdminService.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/InMemoryAdminStore.h"
#include "tests/support/InMemoryStore.h"
#include "tests/support/ManualClock.h"

namespace gw::admin {

using std::chrono::seconds;

inline constexpr const char* kAdminPassword = "admin pass phrase";
inline constexpr const char* kOperatorPassword = "operator pass phrase";
inline constexpr const char* kViewerPassword = "viewer pass phrase";
inline constexpr const char* kPhi =
    "PID|1||SYN000101^^^DEMO_HOSP^MR||Testpatient^Alexa||19800214|F";

// The patient-message side the service uses: messages by event, dead-letter replay, the work
// list. Everything else answers Unavailable (the service must not call it).
class FakeMessageStore final : public MessageStore {
 public:
  Result<std::string> sealedEventPayload(std::int64_t) override { return unused(); }
  Result<MappingCommit> commitMapping(const MappingOutcome&) override { return unused(); }
  Result<std::vector<PatientMessageRecord>> findMessages(const MessageQuery& query) override {
    std::vector<PatientMessageRecord> out;
    for (const PatientMessageRecord& m : messages) {
      if ((!query.event_id || m.event_id == *query.event_id) &&
          (!query.state || m.state == *query.state)) {
        out.push_back(m);
      }
    }
    return out;
  }
  Result<PatientMessageRecord> getMessage(std::int64_t id) override {
    for (const PatientMessageRecord& m : messages) {
      if (m.id == id) {
        return m;
      }
    }
    return Status::notFound("no patient message with that id");
  }
  Result<std::string> sealedMessageContent(std::int64_t id,
                                           const std::optional<AuditEntry>& audit) override {
    const auto found = sealed_contents.find(id);
    if (found == sealed_contents.end()) {
      return Status::notFound("no content for that patient message");
    }
    if (audit) {
      audit_.push_back(*audit);  // with the read, like the real store's transaction
    }
    return found->second;
  }
  Result<std::vector<ClaimedMessage>> claimDue(ChannelKind, SystemTime, SystemTime,
                                               std::size_t) override {
    return unused();
  }
  Status recordDelivery(const DeliveryOutcome&) override { return unused(); }
  Result<std::int64_t> releaseExpiredLeases(SystemTime) override { return unused(); }
  Result<std::optional<SystemTime>> nextDue(ChannelKind) override { return unused(); }
  Status transitionMessage(const MessageTransition& t, const AuditEntry& audit) override {
    for (PatientMessageRecord& m : messages) {
      if (m.id == t.message_id) {
        if (std::find(t.from.begin(), t.from.end(), m.state) == t.from.end()) {
          return Status::failedPrecondition("patient message is not in a state to move from");
        }
        m.state = t.to;
        audit_.push_back(audit);  // with the change, like the real store's transaction
        return Status::ok();
      }
    }
    return Status::notFound("no patient message with that id");
  }
  Result<std::vector<std::int64_t>> expireDue(SystemTime, std::size_t) override { return unused(); }
  Result<std::int64_t> purgeEventPayloads(SystemTime, std::size_t) override { return unused(); }
  Result<std::vector<WorkItem>> openWork(std::size_t) override { return work; }
  Status closeWorkItem(std::int64_t, const AuditEntry&) override { return unused(); }
  Result<std::optional<ConsentRecord>> latestConsent(const std::string&, ChannelKind,
                                                     const std::string&) override {
    return unused();
  }
  Status recordConsent(const ConsentRecord&, const AuditEntry&) override { return unused(); }

  std::vector<PatientMessageRecord> messages;
  std::map<std::int64_t, std::string> sealed_contents;
  std::vector<WorkItem> work;
  std::vector<AuditEntry> audit_;

 private:
  static Status unused() { return Status::unavailable("not used by the admin service"); }
};

// Three accounts (alice admin, olga operator, victor viewer), one stored inbound event with PHI
// and one dead patient message (id 41) made from it.
class AdminFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.max_failed_logins = 3;
    settings_.lockout_seconds = 600;
    settings_.session_idle_seconds = 300;
    settings_.session_max_seconds = 3600;
    settings_.password_kdf.log_n = 10;  // fast in tests; production default is 15
    AdminHooks hooks;
    hooks.reload_config = [this](const OperatorContext& who) {
      reloads_.push_back(who);
      return reload_result_;
    };
    hooks.rotate_keys = [this]() -> Result<std::string> {
      ++rotations_;
      return std::string("k2");
    };
    hooks.verify_audit = []() -> Result<AuditVerifyOutcome> {
      AuditVerifyOutcome outcome;
      outcome.ok = true;
      outcome.records = 7;
      return outcome;
    };
    Result<std::unique_ptr<AdminService>> service = AdminService::create(
        settings_, admin_, store_, messages_, cipher_, clock_, std::move(hooks));
    ASSERT_TRUE(service.ok()) << service.status().toString();
    service_ = std::move(service).value();
    const OperatorContext cli{"operator:root", "cli", "bootstrap"};
    ASSERT_TRUE(AdminService::addUser(*admin_, "alice", AdminRole::Admin, kAdminPassword,
                                      settings_.password_kdf, cli)
                    .isOk());
    ASSERT_TRUE(AdminService::addUser(*admin_, "olga", AdminRole::Operator, kOperatorPassword,
                                      settings_.password_kdf, cli)
                    .isOk());
    ASSERT_TRUE(AdminService::addUser(*admin_, "victor", AdminRole::Viewer, kViewerPassword,
                                      settings_.password_kdf, cli)
                    .isOk());
    NewInboundEvent event;
    event.dedupe_key = "dk1";
    event.control_id = "CTRL-1";
    event.message_type = "ADT^A03";
    event.received_at = clock_->now();
    event.payload_bytes = std::string(kPhi).size();
    event.sealed_payload = *cipher_->seal(kPhi, "dk1");
    Result<IntakeReceipt> receipt = store_->commitInbound(event, clock_->steadyNow() + seconds(5));
    ASSERT_TRUE(receipt.ok());
    event_id_ = receipt->event_id;
    PatientMessageRecord dead;
    dead.id = 41;
    dead.event_id = event_id_;
    dead.state = MessageState::Dead;
    dead.idempotency_key = "idem-41";
    messages_->messages.push_back(dead);
    MessageContent content;
    content.language = "en";
    content.recipient_name = "Alexa Testpatient";
    content.subject = "Your discharge instructions";
    content.text = "Dear Alexa Testpatient, rest for two days.";
    content.quick_replies = {{"ok", "Understood"}};
    messages_->sealed_contents[41] = *cipher_->seal(serializeMessageContent(content), "idem-41");
  }

  Principal login(const std::string& user, const std::string& password) {
    Result<LoginResult> result = service_->login(user, password, "10.0.0.5");
    EXPECT_TRUE(result.ok()) << result.status().toString();
    Result<Principal> who = service_->authenticate(result->token, "10.0.0.5", "test");
    EXPECT_TRUE(who.ok()) << who.status().toString();
    tokens_[user] = result->token;
    return *who;
  }

  // Audit entries written since `from` (index into the admin store's audit).
  std::vector<AuditEntry> auditSince(std::size_t from) const {
    const std::vector<AuditEntry> all = admin_->audit();
    return std::vector<AuditEntry>(all.begin() + static_cast<long>(from), all.end());
  }

  AdminSettings settings_;
  std::shared_ptr<test::ManualClock> clock_ = std::make_shared<test::ManualClock>();
  std::shared_ptr<test::InMemoryAdminStore> admin_ =
      std::make_shared<test::InMemoryAdminStore>(clock_);
  std::shared_ptr<test::InMemoryStore> store_ = std::make_shared<test::InMemoryStore>(clock_);
  std::shared_ptr<FakeMessageStore> messages_ = std::make_shared<FakeMessageStore>();
  std::shared_ptr<test::FakeCipher> cipher_ = std::make_shared<test::FakeCipher>();
  std::unique_ptr<AdminService> service_;
  std::vector<OperatorContext> reloads_;
  Status reload_result_ = Status::ok();
  int rotations_ = 0;
  std::int64_t event_id_ = 0;
  std::map<std::string, std::string> tokens_;
};

}  // namespace gw::admin
