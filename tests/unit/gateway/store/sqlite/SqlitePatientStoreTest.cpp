// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>

#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "gateway/store/sqlite/SqlitePatientStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

AuditEntry audit(std::string action, std::string object) {
  return {SystemTime(), "patient:test", std::move(action), std::move(object), "ok", "", ""};
}

class SqlitePatientStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::ManualClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    auto opened = SqliteStore::open(settings, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = *opened;
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    patients_ = std::make_shared<SqlitePatientStore>(store_);
  }

  // One stored event with one pending messaging-API message for patient "patient-1".
  std::int64_t storedMessage() {
    NewInboundEvent e;
    e.dedupe_key = "e1";
    e.message_type = "ORU^R01";
    e.received_at = clock_->now();
    e.sealed_payload = "sealed";
    const auto receipt = store_->commitInbound(e, clock_->steadyNow() + std::chrono::hours(1));
    EXPECT_TRUE(receipt.ok());
    MappingOutcome outcome;
    outcome.event_id = receipt->event_id;
    outcome.messages.push_back(answer("k1"));
    outcome.messages.back().event_id = receipt->event_id;
    const auto commit = messages_->commitMapping(outcome);
    EXPECT_TRUE(commit.ok()) << commit.status().message();
    return commit.ok() ? commit->message_ids.at(0) : 0;
  }

  NewPatientMessage answer(const std::string& key) {
    NewPatientMessage m;
    m.event_id = 1;
    m.mapping = "keyword-help";
    m.idempotency_key = key;
    m.patient_key = "patient-1";
    m.channel = ChannelKind::MessagingApi;
    m.purpose = "help";
    m.contains_phi = false;
    m.not_before = clock_->now();
    m.expires_at = clock_->now() + std::chrono::hours(24);
    m.sealed_content = "sealed-" + key;
    return m;
  }

  std::size_t auditCount() { return store_->listAudit(0, 10000)->size(); }

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
  std::shared_ptr<SqlitePatientStore> patients_;
};

TEST_F(SqlitePatientStoreTest, PreferencesAreStoredReplacedAndAuditedPerPatient) {
  EXPECT_FALSE(patients_->preferences("patient-1")->has_value());
  PatientPreferenceRecord record;
  record.patient_key = "patient-1";
  record.time_zone = "America/Chicago";
  record.result_delay = std::chrono::hours(48);
  record.source = "inbox";
  ASSERT_TRUE(patients_->savePreferences(record, audit("preferences_changed", "patient:1")).isOk());
  auto read = patients_->preferences("patient-1");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->time_zone, "America/Chicago");
  EXPECT_EQ((*read)->result_delay, std::chrono::hours(48));
  EXPECT_EQ((*read)->source, "inbox");
  EXPECT_EQ((*read)->updated_at, clock_->now());

  clock_->advance(std::chrono::minutes(5));
  record.time_zone = "";
  record.result_delay = std::chrono::hours(0);
  ASSERT_TRUE(patients_->savePreferences(record, audit("preferences_changed", "patient:1")).isOk());
  read = patients_->preferences("patient-1");
  EXPECT_EQ((*read)->time_zone, "");
  EXPECT_EQ((*read)->result_delay, std::chrono::hours(0));
  EXPECT_EQ((*read)->updated_at, clock_->now());
  EXPECT_FALSE(patients_->preferences("patient-2")->has_value());

  const auto records = *store_->listAudit(0, 100);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].entry.action, "preferences_changed");
}

TEST_F(SqlitePatientStoreTest, RefusesPreferencesWithoutKeyOrWithADelayOutOfRange) {
  PatientPreferenceRecord record;
  EXPECT_EQ(patients_->savePreferences(record, audit("x", "y")).code(),
            StatusCode::InvalidArgument);
  record.patient_key = "patient-1";
  record.result_delay = std::chrono::hours(-1);
  EXPECT_EQ(patients_->savePreferences(record, audit("x", "y")).code(),
            StatusCode::InvalidArgument);
  record.result_delay = kMaxResultDelay + std::chrono::hours(1);
  EXPECT_EQ(patients_->savePreferences(record, audit("x", "y")).code(),
            StatusCode::InvalidArgument);
  EXPECT_FALSE(patients_->preferences("patient-1")->has_value());
  EXPECT_EQ(auditCount(), 0u);
}

TEST_F(SqlitePatientStoreTest, ReplyWritesLedgerAnswerAndWorkItemOnceWithItsAudit) {
  const std::int64_t message = storedMessage();
  const std::size_t audit_before = auditCount();
  PatientReply reply;
  reply.message_id = message;
  reply.channel = ChannelKind::MessagingApi;
  reply.keyword = "stop";
  reply.dedupe_key = "messaging_api:SM1";
  reply.sealed_text = "sealed-STOP";
  reply.consent.push_back(
      {"patient-1", ChannelKind::MessagingApi, "*", false, "reply:stop", SystemTime()});
  reply.answer = answer("help-1");
  reply.work_detail = "text reply that is not a keyword";
  const auto commit = patients_->commitReply(reply, audit("reply_received", "patient_message:1"));
  ASSERT_TRUE(commit.ok()) << commit.status().message();
  EXPECT_FALSE(commit->duplicate);
  EXPECT_GT(commit->reply_id, 0);
  EXPECT_GT(commit->answer_id, message);
  EXPECT_GT(commit->work_item_id, 0);
  EXPECT_EQ(auditCount(), audit_before + 1);

  const auto consent = messages_->latestConsent("patient-1", ChannelKind::MessagingApi, "result");
  ASSERT_TRUE(consent.ok() && consent->has_value());
  EXPECT_FALSE((*consent)->opted_in);
  EXPECT_EQ((*consent)->source, "reply:stop");
  const auto help = messages_->getMessage(commit->answer_id);
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->purpose, "help");
  EXPECT_EQ(help->state, MessageState::Pending);
  const auto work = messages_->openWork(10);
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ(work->at(0).kind, "reply_text");
  EXPECT_EQ(work->at(0).object, "patient_reply:" + std::to_string(commit->reply_id));

  // The provider retries the same webhook: nothing new.
  reply.answer = answer("help-2");
  const auto again = patients_->commitReply(reply, audit("reply_received", "patient_message:1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->reply_id, commit->reply_id);
  EXPECT_EQ(auditCount(), audit_before + 1);
  EXPECT_EQ(messages_->openWork(10)->size(), 1u);
  EXPECT_FALSE(messages_->getMessage(commit->answer_id + 1).ok());
}

TEST_F(SqlitePatientStoreTest, AFailingPartUndoesTheWholeReply) {
  const std::int64_t message = storedMessage();
  const std::size_t audit_before = auditCount();
  PatientReply reply;
  reply.message_id = message;
  reply.keyword = "help";
  reply.dedupe_key = "messaging_api:SM2";
  reply.consent.push_back(
      {"patient-1", ChannelKind::MessagingApi, "*", false, "reply:stop", SystemTime()});
  reply.answer = answer("k1");  // the idempotency key of the stored message: the insert fails
  EXPECT_FALSE(patients_->commitReply(reply, audit("reply_received", "m")).ok());
  EXPECT_FALSE(
      messages_->latestConsent("patient-1", ChannelKind::MessagingApi, "result")->has_value());
  EXPECT_EQ(auditCount(), audit_before);

  reply.answer.reset();
  reply.message_id = message + 100;
  EXPECT_EQ(patients_->commitReply(reply, audit("reply_received", "m")).status().code(),
            StatusCode::NotFound);
  EXPECT_EQ(auditCount(), audit_before);
  // The failed attempts did not burn the dedupe key.
  reply.message_id = message;
  const auto commit = patients_->commitReply(reply, audit("reply_received", "m"));
  ASSERT_TRUE(commit.ok());
  EXPECT_FALSE(commit->duplicate);
}

TEST_F(SqlitePatientStoreTest, ExpiringAMessageShredsTheTextOfRepliesToIt) {
  const std::int64_t message = storedMessage();
  PatientReply reply;
  reply.message_id = message;
  reply.keyword = "none";
  reply.dedupe_key = "secure_inbox:r1";
  reply.sealed_text = "sealed-question";
  reply.work_detail = "text reply";
  ASSERT_TRUE(patients_->commitReply(reply, audit("reply_text", "m")).ok());
  const auto sealedTexts = [&] {
    std::vector<bool> present;
    EXPECT_TRUE(store_
                    ->read([&](SqliteSession& session) -> Status {
                      GW_ASSIGN_OR_RETURN(
                          sqlite::Statement * stmt,
                          session.statement("SELECT sealed_text IS NOT NULL FROM patient_replies"));
                      while (stmt->step() == SQLITE_ROW) {
                        present.push_back(stmt->columnInt(0) != 0);
                      }
                      stmt->reset();
                      return Status::ok();
                    })
                    .isOk());
    return present;
  };
  EXPECT_EQ(sealedTexts(), std::vector<bool>{true});
  const std::size_t audit_before = auditCount();
  const auto text = patients_->readReplyText(1, audit("viewed_reply", "patient_reply:1"));
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(text->sealed_text, "sealed-question");
  EXPECT_EQ(text->associated_data, "patient_reply:secure_inbox:r1");
  EXPECT_EQ(auditCount(), audit_before + 1);  // the view is audited
  EXPECT_EQ(patients_->readReplyText(2, audit("viewed_reply", "x")).status().code(),
            StatusCode::NotFound);
  clock_->advance(std::chrono::hours(25));  // past the message's expiry
  const auto expired = messages_->expireDue(clock_->now(), 10);
  ASSERT_TRUE(expired.ok()) << expired.status().message();
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(sealedTexts(), std::vector<bool>{false});
  EXPECT_EQ(patients_->readReplyText(1, audit("viewed_reply", "x")).status().code(),
            StatusCode::NotFound);
  EXPECT_EQ(messages_->openWork(10)->size(), 1u);  // the work item stays, without the text
}

}  // namespace
}  // namespace gw
