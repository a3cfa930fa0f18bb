// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteInboxStore.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

AuditEntry audit(const std::string& action) {
  AuditEntry e;
  e.actor = "inbox";
  e.action = action;
  e.object = "patient_message:1";
  e.outcome = "ok";
  e.source = "192.0.2.10";
  return e;
}

class SqliteInboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::ManualClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    inbox_ = std::make_shared<SqliteInboxStore>(store_);

    NewInboundEvent e;
    e.dedupe_key = "e1";
    e.received_at = clock_->now();
    e.sealed_payload = "x";
    const std::int64_t event =
        store_->commitInbound(e, clock_->steadyNow() + std::chrono::hours(1))->event_id;
    NewPatientMessage m;
    m.event_id = event;
    m.mapping = "discharge";
    m.idempotency_key = "idem-1";
    m.patient_key = "patient-1";
    m.channel = ChannelKind::SecureInbox;
    m.purpose = "aftercare";
    m.not_before = clock_->now();
    m.expires_at = clock_->now() + minutes(60);
    m.sealed_content = "sealed-content";
    MappingOutcome outcome;
    outcome.event_id = event;
    outcome.messages = {m};
    ASSERT_TRUE(messages_->commitMapping(outcome).ok());
  }

  void markSent() {
    ASSERT_EQ(
        messages_->claimDue(ChannelKind::SecureInbox, clock_->now(), clock_->now(), 1)->size(), 1u);
    DeliveryOutcome sent;
    sent.message_id = 1;
    sent.method = "inbox_notification";
    ASSERT_TRUE(messages_->recordDelivery(sent).ok());
  }

  InboxLink link(const std::string& hash) {
    InboxLink l;
    l.token_hash = hash;
    l.message_id = 1;
    l.expires_at = clock_->now() + minutes(60);
    return l;
  }

  std::vector<std::string> actions() {
    std::vector<std::string> out;
    const auto records = store_->listAudit(0, 1000);
    for (const AuditRecord& r : *records) {
      out.push_back(r.entry.action);
    }
    return out;
  }

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
  std::shared_ptr<SqliteInboxStore> inbox_;
};

TEST_F(SqliteInboxStoreTest, MessageComesWithItsSealedContentAndAssociatedData) {
  const auto message = inbox_->inboxMessage(1);
  ASSERT_TRUE(message.ok()) << message.status().toString();
  EXPECT_EQ(message->state, MessageState::Pending);
  EXPECT_EQ(message->sealed_content, "sealed-content");
  EXPECT_EQ(message->associated_data, "idem-1");
  EXPECT_EQ(message->expires_at, clock_->now() + minutes(60));
  EXPECT_EQ(message->patient_key, "patient-1");
  EXPECT_EQ(inbox_->inboxMessage(99).status().code(), StatusCode::NotFound);
}

TEST_F(SqliteInboxStoreTest, LinksAreCreatedOnceAndSavedWithAVersionCheck) {
  ASSERT_TRUE(inbox_->createLink(link("h1"), audit("inbox_link_created")).isOk());
  EXPECT_EQ(inbox_->createLink(link("h1"), audit("inbox_link_created")).code(),
            StatusCode::AlreadyExists);
  InboxLink other = link("h2");
  other.message_id = 42;
  EXPECT_EQ(inbox_->createLink(other, audit("inbox_link_created")).code(), StatusCode::NotFound);

  InboxLink stored = *inbox_->findLink("h1");
  EXPECT_EQ(stored.version, 1);
  EXPECT_EQ(stored.message_id, 1);
  stored.failed_attempts = 1;
  stored.code_mac = "mac";
  stored.code_expires_at = clock_->now() + minutes(10);
  InboxSession session;
  session.id_hash = "s1";
  session.token_hash = "h1";
  session.stage = InboxSession::Stage::NeedCode;
  session.birth_date_matched = true;
  session.language = "es";
  session.created_at = clock_->now();
  session.last_seen_at = clock_->now();
  ASSERT_TRUE(inbox_->saveLink(stored, session, audit("inbox_code_sent")).isOk());

  const InboxLink again = *inbox_->findLink("h1");
  EXPECT_EQ(again.version, 2);
  EXPECT_EQ(again.failed_attempts, 1);
  EXPECT_EQ(again.code_mac, "mac");
  EXPECT_EQ(again.code_expires_at, clock_->now() + minutes(10));
  const InboxSession found = *inbox_->findSession("s1");
  EXPECT_EQ(found.stage, InboxSession::Stage::NeedCode);
  EXPECT_TRUE(found.birth_date_matched);
  EXPECT_EQ(found.language, "es");

  // A writer holding the old version loses: nothing of it is written, not even its audit.
  const std::size_t before = actions().size();
  stored.locked = true;
  EXPECT_EQ(inbox_->saveLink(stored, std::nullopt, audit("inbox_locked")).code(),
            StatusCode::FailedPrecondition);
  EXPECT_FALSE(inbox_->findLink("h1")->locked);
  EXPECT_EQ(actions().size(), before);
  EXPECT_EQ(inbox_->saveLink(link("nope"), std::nullopt, audit("x")).code(), StatusCode::NotFound);
  EXPECT_EQ(inbox_->findLink("nope").status().code(), StatusCode::NotFound);
}

TEST_F(SqliteInboxStoreTest, FirstViewOfASentMessageMarksItRead) {
  EXPECT_FALSE(*inbox_->recordView(1, clock_->now(), audit("inbox_view")));  // still pending
  markSent();
  EXPECT_TRUE(*inbox_->recordView(1, clock_->now(), audit("inbox_view")));
  EXPECT_EQ(messages_->getMessage(1)->state, MessageState::Read);
  EXPECT_FALSE(*inbox_->recordView(1, clock_->now(), audit("inbox_view")));
  const auto all = actions();
  EXPECT_EQ(std::count(all.begin(), all.end(), "inbox_view"), 3);
}

TEST_F(SqliteInboxStoreTest, RepliesBecomeWorkItemsAndStopOptsOutOfEveryChannel) {
  markSent();
  InboxReply reply;
  reply.message_id = 1;
  reply.reply_id = "confirm";
  ASSERT_TRUE(inbox_->saveReply(reply, audit("inbox_reply")).isOk());
  EXPECT_FALSE(messages_->latestConsent("patient-1", ChannelKind::Email, "aftercare")->has_value());

  reply.reply_id = "stop";
  reply.opt_out = true;
  ASSERT_TRUE(inbox_->saveReply(reply, audit("inbox_reply")).isOk());
  for (const ChannelKind channel :
       {ChannelKind::SecureInbox, ChannelKind::Email, ChannelKind::MessagingApi}) {
    const auto consent = messages_->latestConsent("patient-1", channel, "result");
    ASSERT_TRUE(consent->has_value()) << channelName(channel);
    EXPECT_FALSE((*consent)->opted_in);
    EXPECT_EQ((*consent)->source, "inbox:STOP");
  }
  const auto work = messages_->openWork(100);
  ASSERT_TRUE(work.ok());
  ASSERT_EQ(work->size(), 2u);
  EXPECT_EQ(work->at(0).kind, "reply");
  EXPECT_EQ(work->at(0).object, "patient_message:1");
  EXPECT_EQ(work->at(1).detail, "quick reply \"stop\"");
  const AuditEntry done{SystemTime(), "operator:alice", "work_done", "work_item:1", "ok", "", ""};
  ASSERT_TRUE(messages_->closeWorkItem(work->at(0).id, done).isOk());
  EXPECT_EQ(messages_->closeWorkItem(work->at(0).id, done).code(), StatusCode::FailedPrecondition);
  EXPECT_EQ(messages_->closeWorkItem(999, done).code(), StatusCode::NotFound);
  store_->close();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "gateway.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM operator_work_items WHERE state='open'",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(SqliteInboxStoreTest, ExpiryShredsContentDropsCodesAndIsIdempotent) {
  InboxLink l = link("h1");
  l.code_mac = "mac";
  l.code_expires_at = clock_->now() + minutes(10);
  ASSERT_TRUE(inbox_->createLink(l, audit("inbox_link_created")).isOk());
  ASSERT_TRUE(inbox_->expireMessage(1, audit("expired")).isOk());
  const auto message = inbox_->inboxMessage(1);
  EXPECT_EQ(message->state, MessageState::Expired);
  EXPECT_TRUE(message->sealed_content.empty());
  EXPECT_TRUE(message->associated_data.empty());
  EXPECT_TRUE(inbox_->findLink("h1")->code_mac.empty());
  ASSERT_TRUE(inbox_->expireMessage(1, audit("expired")).isOk());
  InboxReply reply;
  reply.message_id = 1;
  reply.reply_id = "confirm";
  EXPECT_EQ(inbox_->saveReply(reply, audit("inbox_reply")).code(), StatusCode::FailedPrecondition);
  EXPECT_EQ(inbox_->expireMessage(5, audit("expired")).code(), StatusCode::NotFound);
}

TEST_F(SqliteInboxStoreTest, RateLimitCountsPerBucketAndWindow) {
  for (int i = 1; i <= 3; ++i) {
    const auto d = inbox_->consumeRate("ip:192.0.2.10", clock_->now(), seconds(60), 3);
    EXPECT_TRUE(d->allowed) << i;
    EXPECT_EQ(d->count, i);
  }
  const auto denied = inbox_->consumeRate("ip:192.0.2.10", clock_->now(), seconds(60), 3);
  EXPECT_FALSE(denied->allowed);
  EXPECT_EQ(denied->count, 4);
  EXPECT_GT(denied->retry_after.count(), 0);
  EXPECT_LE(denied->retry_after.count(), 60);
  EXPECT_TRUE(inbox_->consumeRate("ip:198.51.100.7", clock_->now(), seconds(60), 3)->allowed);
  clock_->advance(seconds(61));
  const auto next = inbox_->consumeRate("ip:192.0.2.10", clock_->now(), seconds(60), 3);
  EXPECT_TRUE(next->allowed);
  EXPECT_EQ(next->count, 1);
  EXPECT_EQ(inbox_->consumeRate("x", clock_->now(), seconds(0), 3).status().code(),
            StatusCode::InvalidArgument);
}

TEST_F(SqliteInboxStoreTest, SessionsAreSavedFoundAndDeleted) {
  InboxSession s;
  s.id_hash = "s1";
  s.token_hash = "h1";
  s.language = "en";
  s.created_at = clock_->now();
  s.last_seen_at = clock_->now();
  ASSERT_TRUE(inbox_->saveSession(s).isOk());
  s.stage = InboxSession::Stage::Verified;
  ASSERT_TRUE(inbox_->saveSession(s).isOk());
  EXPECT_EQ(inbox_->findSession("s1")->stage, InboxSession::Stage::Verified);
  ASSERT_TRUE(inbox_->deleteSession("s1").isOk());
  ASSERT_TRUE(inbox_->deleteSession("s1").isOk());
  EXPECT_EQ(inbox_->findSession("s1").status().code(), StatusCode::NotFound);
}

}  // namespace
}  // namespace gw
