// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <mutex>

#include "gateway/core/DeliveryService.h"
#include "gateway/pipeline/ReplyHandler.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "gateway/store/sqlite/SqlitePatientStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/ManualClock.h"
#include "tests/support/StoredMessage.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using std::chrono::minutes;

// A messaging API stand-in that takes every message and keeps what it got.
class TakingChannel final : public OutboundChannel {
 public:
  ChannelKind kind() const override { return ChannelKind::MessagingApi; }
  Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(message);
    return DeliveryReceipt{"messaging_api", "HTTP 202"};
  }
  std::vector<OutboundMessage> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  std::mutex mu_;
  std::vector<OutboundMessage> received_;
};

// Replies against the real SQLite store, the real DeliveryService and a fake cipher.
class ReplyHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::ManualClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    patients_ = std::make_shared<SqlitePatientStore>(store_);
    cipher_ = std::make_shared<test::FakeCipher>();
    channel_ = std::make_shared<TakingChannel>();
    handler_ = std::make_unique<ReplyHandler>(messages_, patients_, cipher_, clock_);
    delivery_ = std::make_unique<DeliveryService>(
        messages_, cipher_, clock_, std::vector<OutboundChannelPtr>{channel_}, DeliverySettings());
  }

  // One event and one result message to patient-1's phone; returns the message id.
  std::int64_t queue(const std::string& key, ChannelKind channel = ChannelKind::MessagingApi) {
    MessageContent content;
    content.language = "es";
    content.phone = "+15550100199";
    content.email = "pat.example@example.invalid";
    content.facility_name = "Demo Hospital";
    content.text = "Sus resultados están listos.";
    NewPatientMessage m;
    m.mapping = "lab-results";
    m.idempotency_key = key;
    m.patient_key = "patient-1";
    m.channel = channel;
    m.purpose = "result";
    return test::storeMessage(*store_, *messages_, *cipher_, *clock_, m, content);
  }

  InboundReply text(const std::string& words, const std::string& provider_id,
                    const std::string& in_reply_to = "k1") {
    InboundReply reply;
    reply.channel = ChannelKind::MessagingApi;
    reply.in_reply_to = in_reply_to;
    reply.sender = "+1 (555) 010-0199";
    reply.text = words;
    reply.provider_id = provider_id;
    reply.source = "127.0.0.1";
    return reply;
  }

  std::optional<bool> optedIn(ChannelKind channel) {
    const auto latest = messages_->latestConsent("patient-1", channel, "result");
    EXPECT_TRUE(latest.ok());
    if (!latest.ok() || !latest->has_value()) {
      return std::nullopt;
    }
    return (*latest)->opted_in;
  }

  std::vector<std::string> replyAudit() {
    std::vector<std::string> out;
    const auto records = store_->listAudit(0, 1000);
    for (const AuditRecord& r : *records) {
      if (r.entry.action.compare(0, 6, "reply_") == 0) {
        out.push_back(r.entry.actor + " " + r.entry.action + " " + r.entry.object + " " +
                      r.entry.reason);
      }
    }
    return out;
  }

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
  std::shared_ptr<SqlitePatientStore> patients_;
  std::shared_ptr<test::FakeCipher> cipher_;
  std::shared_ptr<TakingChannel> channel_;
  std::unique_ptr<ReplyHandler> handler_;
  std::unique_ptr<DeliveryService> delivery_;
};

TEST_F(ReplyHandlerTest, StopByTextSuppressesTheNextDeliveryOnThatChannelOnly) {
  const std::int64_t first = queue("k1");
  ASSERT_EQ(*delivery_->runOnce(ChannelKind::MessagingApi), 1u);
  const std::int64_t second = queue("k2");

  const auto result = handler_->acceptReply(text(" Stop. ", "SM100"));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->kind, ReplyResult::Kind::OptedOut);
  EXPECT_EQ(optedIn(ChannelKind::MessagingApi), std::optional<bool>(false));
  EXPECT_EQ(optedIn(ChannelKind::Email), std::nullopt);  // per channel

  ASSERT_EQ(*delivery_->runOnce(ChannelKind::MessagingApi), 1u);
  EXPECT_EQ(channel_->received().size(), 1u);  // only the first went out
  EXPECT_EQ(messages_->getMessage(second)->state, MessageState::Suppressed);
  EXPECT_EQ(replyAudit(),
            std::vector<std::string>{"patient:messaging_api reply_keyword patient_message:" +
                                     std::to_string(first) + " keyword=stop"});
  EXPECT_TRUE(messages_->openWork(10)->empty());
}

TEST_F(ReplyHandlerTest, StartOptsBackInAndStopAllCoversEveryChannel) {
  queue("k1");
  ASSERT_EQ(handler_->acceptReply(text("STOPALL", "SM1"))->kind, ReplyResult::Kind::OptedOut);
  for (const ChannelKind c :
       {ChannelKind::SecureInbox, ChannelKind::Email, ChannelKind::MessagingApi}) {
    EXPECT_EQ(optedIn(c), std::optional<bool>(false)) << channelName(c);
  }
  ASSERT_EQ(handler_->acceptReply(text("start", "SM2"))->kind, ReplyResult::Kind::OptedIn);
  EXPECT_EQ(optedIn(ChannelKind::MessagingApi), std::optional<bool>(true));
  EXPECT_EQ(optedIn(ChannelKind::Email), std::optional<bool>(false));
  const std::int64_t next = queue("k3");
  ASSERT_EQ(*delivery_->runOnce(ChannelKind::MessagingApi), 2u);  // k1 and k3
  EXPECT_EQ(messages_->getMessage(next)->state, MessageState::Sent);
  EXPECT_EQ(channel_->received().size(), 2u);
}

TEST_F(ReplyHandlerTest, HelpQueuesAnAnswerWithoutPhiOnTheSameChannelEvenAfterStop) {
  queue("k1");
  ASSERT_EQ(*delivery_->runOnce(ChannelKind::MessagingApi), 1u);
  ASSERT_TRUE(handler_->acceptReply(text("STOP", "SM1")).ok());
  const auto help = handler_->acceptReply(text("help", "SM2"));
  ASSERT_TRUE(help.ok()) << help.status().message();
  EXPECT_EQ(help->kind, ReplyResult::Kind::Help);
  EXPECT_NE(help->help_text.find("Demo Hospital"), std::string::npos);
  EXPECT_NE(help->help_text.find("STOP"), std::string::npos);
  EXPECT_NE(help->help_text.find("emergencia"), std::string::npos);  // the message's language

  ASSERT_EQ(*delivery_->runOnce(ChannelKind::MessagingApi), 1u);
  const auto got = channel_->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].purpose, "help");
  EXPECT_FALSE(got[1].contains_phi);
  EXPECT_EQ(got[1].content.phone, "+15550100199");
  EXPECT_EQ(got[1].content.text, help->help_text);
  EXPECT_EQ(got[1].content.text.find("resultados"), std::string::npos);  // nothing clinical
}

TEST_F(ReplyHandlerTest, OtherTextBecomesAWorkItemWithTheTextOnlySealed) {
  const std::int64_t id = queue("k1");
  const auto result = handler_->acceptReply(text("Can I eat before the test?", "SM9"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->kind, ReplyResult::Kind::WorkItem);
  EXPECT_EQ(optedIn(ChannelKind::MessagingApi), std::nullopt);
  const auto work = messages_->openWork(10);
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ(work->at(0).kind, "reply_text");
  EXPECT_EQ(work->at(0).detail,
            "text reply on messaging_api to patient_message:" + std::to_string(id) + " (26 bytes)");
  const auto records = store_->listAudit(0, 1000);
  for (const AuditRecord& r : *records) {
    EXPECT_EQ(r.entry.reason.find("eat"), std::string::npos);
  }
}

TEST_F(ReplyHandlerTest, OnlyTheRecipientOfTheMessageRepliedToCountsAndNothingElseDecides) {
  queue("k1");
  queue("k2", ChannelKind::Email);
  InboundReply stranger = text("STOP", "SM1");
  stranger.sender = "+15550100200";
  EXPECT_EQ(handler_->acceptReply(stranger).status().code(), StatusCode::PermissionDenied);
  EXPECT_EQ(handler_->acceptReply(text("STOP", "SM2", "no-such-message")).status().code(),
            StatusCode::NotFound);
  EXPECT_EQ(handler_->acceptReply(text("STOP", "SM3", "k2")).status().code(),
            StatusCode::PermissionDenied);  // sent by email, not over the messaging API
  EXPECT_EQ(handler_->acceptReply(text("", "SM4")).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(handler_->acceptReply(text("STOP", "")).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(optedIn(ChannelKind::MessagingApi), std::nullopt);
  EXPECT_TRUE(replyAudit().empty());

  InboundReply by_address = text("STOP", "SM5");
  by_address.sender = "Pat.Example@EXAMPLE.invalid";
  EXPECT_TRUE(handler_->acceptReply(by_address).ok());
  EXPECT_EQ(optedIn(ChannelKind::MessagingApi), std::optional<bool>(false));
}

TEST_F(ReplyHandlerTest, AProviderRetryChangesNothing) {
  queue("k1");
  ASSERT_EQ(handler_->acceptReply(text("HELP", "SM7"))->kind, ReplyResult::Kind::Help);
  ASSERT_EQ(handler_->acceptReply(text("HELP", "SM7"))->kind, ReplyResult::Kind::Duplicate);
  MessageQuery help;
  help.mapping = "keyword-help";
  EXPECT_EQ(messages_->findMessages(help)->size(), 1u);
  EXPECT_EQ(replyAudit().size(), 1u);
}

}  // namespace
}  // namespace gw
