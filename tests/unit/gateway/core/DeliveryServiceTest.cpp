// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <deque>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/core/DeliveryService.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/ManualClock.h"
#include "tests/support/StoredMessage.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

// A channel that answers from a script (OK when the script is empty) and records what it got.
class ScriptedChannel final : public OutboundChannel {
 public:
  explicit ScriptedChannel(ChannelKind kind) : kind_(kind) {}
  ChannelKind kind() const override { return kind_; }
  Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(message);
    if (script_.empty()) {
      return DeliveryReceipt{
          kind_ == ChannelKind::SecureInbox ? "inbox_notification" : "verified_tls",
          "250 2.0.0 queued"};
    }
    Status next = script_.front();
    script_.pop_front();
    return next;
  }
  void answer(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(status));
  }
  std::vector<OutboundMessage> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  const ChannelKind kind_;
  std::mutex mu_;
  std::deque<Status> script_;
  std::vector<OutboundMessage> received_;
};

class DeliveryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::ManualClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    cipher_ = std::make_shared<test::FakeCipher>();
    email_ = std::make_shared<ScriptedChannel>(ChannelKind::Email);
    inbox_ = std::make_shared<ScriptedChannel>(ChannelKind::SecureInbox);
    settings_.max_attempts = 3;
    settings_.initial_backoff = milliseconds(1000);
    settings_.max_backoff = milliseconds(4000);
  }

  std::unique_ptr<DeliveryService> service() {
    return std::make_unique<DeliveryService>(
        messages_, cipher_, clock_, std::vector<OutboundChannelPtr>{email_, inbox_}, settings_);
  }

  // Stores one event and one message for it; returns the message id.
  std::int64_t queue(const std::string& key, ChannelKind channel = ChannelKind::Email,
                     std::string aad = "") {
    MessageContent content;
    content.email = "pat.example@example.invalid";
    content.subject = "Your discharge instructions";
    content.text = "Rest and drink fluids.";
    NewPatientMessage m;
    m.mapping = "discharge-aftercare";
    m.idempotency_key = key;
    m.patient_key = "patient-1";
    m.channel = channel;
    m.purpose = "aftercare";
    return test::storeMessage(*store_, *messages_, *cipher_, *clock_, m, content, aad);
  }

  PatientMessageRecord message(std::int64_t id) { return *messages_->getMessage(id); }

  std::vector<std::string> attemptAudit() {
    std::vector<std::string> out;
    const auto records = store_->listAudit(0, 1000);
    for (const AuditRecord& r : *records) {
      if (r.entry.action == "delivery_attempt" || r.entry.action == "suppressed") {
        out.push_back(r.entry.outcome + ": " + r.entry.reason);
      }
    }
    return out;
  }

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
  std::shared_ptr<test::FakeCipher> cipher_;
  std::shared_ptr<ScriptedChannel> email_;
  std::shared_ptr<ScriptedChannel> inbox_;
  DeliverySettings settings_;
};

TEST_F(DeliveryServiceTest, DeliversOpenedContentWithTheIdempotencyKey) {
  const std::int64_t id = queue("k1");
  auto delivery = service();
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 1u);
  const auto got = email_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message_id, id);
  EXPECT_EQ(got[0].idempotency_key, "k1");
  EXPECT_EQ(got[0].attempt, 1);
  EXPECT_EQ(got[0].content.text, "Rest and drink fluids.");
  EXPECT_FALSE(got[0].plain_email_consented);
  EXPECT_EQ(message(id).state, MessageState::Sent);
  EXPECT_EQ(message(id).delivery_method, "verified_tls");
  EXPECT_EQ(delivery->stats().sent, 1u);
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 0u);  // never delivered twice
  EXPECT_EQ(attemptAudit(), std::vector<std::string>{
                                "ok: attempt 1 via email, method verified_tls: 250 2.0.0 queued"});
}

TEST_F(DeliveryServiceTest, RetriesWithBackoffThenDeadLettersAndReplayWorks) {
  const std::int64_t id = queue("k1");
  auto delivery = service();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    email_->answer(Status::unavailable("421 4.3.2 service not available"));
    ASSERT_EQ(*delivery->runOnce(ChannelKind::Email), 1u) << attempt;
    const PatientMessageRecord r = message(id);
    EXPECT_EQ(r.attempts, attempt);
    if (attempt < 3) {
      ASSERT_EQ(r.state, MessageState::Pending);
      const auto wait = r.not_before - clock_->now();
      const auto nominal = milliseconds(1000 << (attempt - 1));
      EXPECT_GE(wait, nominal / 2);
      EXPECT_LE(wait, nominal);
      EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 0u);  // not due yet
      clock_->advance(nominal);
    }
  }
  EXPECT_EQ(message(id).state, MessageState::Dead);
  EXPECT_NE(message(id).reason.find("attempt limit 3 reached"), std::string::npos);
  EXPECT_EQ(delivery->stats().retried, 2u);
  EXPECT_EQ(delivery->stats().dead, 1u);

  ASSERT_TRUE(messages_
                  ->transitionMessage({id, {MessageState::Dead}, MessageState::Pending, "replay"},
                                      {SystemTime(), "operator:alice", "replayed",
                                       "patient_message:" + std::to_string(id), "ok", "", ""})
                  .ok());
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 1u);
  EXPECT_EQ(message(id).state, MessageState::Sent);
  EXPECT_EQ(email_->received().back().attempt, 4);
}

TEST_F(DeliveryServiceTest, NoSafeWayForPhiFallsBackToTheInbox) {
  const std::int64_t id = queue("k1");
  auto delivery = service();
  email_->answer(Status::failedPrecondition("server offers no STARTTLS"));
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 1u);
  EXPECT_EQ(message(id).state, MessageState::Pending);
  EXPECT_EQ(message(id).channel, ChannelKind::SecureInbox);
  EXPECT_EQ(*delivery->runOnce(ChannelKind::SecureInbox), 1u);
  EXPECT_EQ(message(id).state, MessageState::Sent);
  EXPECT_EQ(message(id).delivery_method, "inbox_notification");
  EXPECT_EQ(inbox_->received().at(0).idempotency_key, "k1");
  const auto audit = attemptAudit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0],
            "fallback: attempt 1 via email, re-routed to secure_inbox: server offers no STARTTLS");
  EXPECT_EQ(audit[1].rfind("ok: attempt 2 via secure_inbox, method inbox_notification", 0), 0u)
      << audit[1];
}

TEST_F(DeliveryServiceTest, PermanentErrorsAndUnreadableContentAreDeadLettered) {
  const std::int64_t rejected = queue("k1");
  const std::int64_t tampered = queue("k2", ChannelKind::Email, "another-row");
  auto delivery = service();
  email_->answer(Status::invalidArgument("550 5.1.1 mailbox unavailable"));
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 2u);
  EXPECT_EQ(message(rejected).state, MessageState::Dead);
  EXPECT_EQ(message(rejected).reason, "invalid_argument: 550 5.1.1 mailbox unavailable");
  EXPECT_EQ(message(tampered).state, MessageState::Dead);
  EXPECT_EQ(message(tampered).reason.rfind("content cannot be opened: data_loss", 0), 0u);
  EXPECT_EQ(email_->received().size(), 1u);  // the tampered one never reached the channel
}

TEST_F(DeliveryServiceTest, OptedOutPatientsAreSuppressedAndPlainEmailConsentIsPassed) {
  const AuditEntry audit{SystemTime(), "patient", "consent_changed", "patient:patient-1", "ok",
                         "",           ""};
  ConsentRecord plain;
  plain.patient_key = "patient-1";
  plain.channel = ChannelKind::Email;
  plain.purpose = "plain_email";
  plain.opted_in = true;
  plain.source = "inbox";
  ASSERT_TRUE(messages_->recordConsent(plain, audit).ok());
  const std::int64_t first = queue("k1");
  auto delivery = service();
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 1u);
  EXPECT_TRUE(email_->received().at(0).plain_email_consented);

  ConsentRecord stop = plain;
  stop.purpose = "*";
  stop.opted_in = false;
  stop.source = "reply:STOP";
  clock_->advance(milliseconds(10));
  ASSERT_TRUE(messages_->recordConsent(stop, audit).ok());
  const std::int64_t second = queue("k2");
  EXPECT_EQ(*delivery->runOnce(ChannelKind::Email), 1u);
  EXPECT_EQ(email_->received().size(), 1u);
  EXPECT_EQ(message(first).state, MessageState::Sent);
  EXPECT_EQ(message(second).state, MessageState::Suppressed);
  EXPECT_EQ(message(second).reason, "patient opted out (reply:STOP)");
  EXPECT_EQ(delivery->stats().suppressed, 1u);
  EXPECT_EQ(attemptAudit().back(), "ok: consent ledger: opted out of email for *");
}

TEST_F(DeliveryServiceTest, BackoffDoublesWithinJitterBoundsUpToTheCap) {
  auto delivery = service();
  for (int attempt = 1; attempt <= 12; ++attempt) {
    const auto nominal = milliseconds(std::min(4000, 1000 << std::min(attempt - 1, 10)));
    for (int i = 0; i < 50; ++i) {
      const milliseconds b = delivery->backoff(attempt);
      ASSERT_GE(b, nominal / 2) << attempt;
      ASSERT_LE(b, nominal) << attempt;
    }
  }
}

TEST_F(DeliveryServiceTest, WorkersDeliverInTheBackgroundAndStopCleanly) {
  settings_.idle_poll = milliseconds(20);
  auto delivery = service();
  delivery->start();
  const std::int64_t id = queue("k1");
  delivery->wake();
  EXPECT_TRUE(test::waitFor([&] { return message(id).state == MessageState::Sent; },
                            std::chrono::seconds(10)));
  delivery->stop();
  delivery->stop();
  EXPECT_EQ(email_->received().size(), 1u);
}

TEST_F(DeliveryServiceTest, AWakeUpSendsOneIdleWorkerOfTheChannelToLookNotAll) {
  settings_.workers_per_channel = 4;
  settings_.idle_poll = std::chrono::hours(1);  // only wake-ups make a worker look again
  auto delivery = service();
  delivery->start();
  // Each of the 8 workers looks once at start, finds nothing and waits.
  ASSERT_TRUE(
      test::waitFor([&] { return delivery->stats().claims == 8; }, std::chrono::seconds(10)));
  const std::int64_t id = queue("k1", ChannelKind::SecureInbox);
  delivery->wake(ChannelKind::SecureInbox);
  ASSERT_TRUE(test::waitFor([&] { return message(id).state == MessageState::Sent; },
                            std::chrono::seconds(10)));
  // The woken worker claims the message, then looks once more (empty) before it waits again.
  ASSERT_TRUE(
      test::waitFor([&] { return delivery->stats().claims >= 10; }, std::chrono::seconds(10)));
  // The count is final once the workers are joined; it used to be 8 more (every worker looked,
  // a write transaction each).
  delivery->stop();
  EXPECT_EQ(delivery->stats().claims, 10u);
  EXPECT_EQ(inbox_->received().size(), 1u);
  EXPECT_TRUE(email_->received().empty());
}

}  // namespace
}  // namespace gw
