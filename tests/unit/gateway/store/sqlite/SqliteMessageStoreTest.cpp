// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using std::chrono::minutes;

DeliveryOutcome delivery(std::int64_t id, DeliveryOutcome::Kind kind, std::string method,
                         std::string detail) {
  DeliveryOutcome outcome;
  outcome.message_id = id;
  outcome.kind = kind;
  outcome.method = std::move(method);
  outcome.detail = std::move(detail);
  return outcome;
}

ConsentRecord consent(std::string patient, ChannelKind channel, std::string purpose, bool in,
                      std::string source) {
  ConsentRecord record;
  record.patient_key = std::move(patient);
  record.channel = channel;
  record.purpose = std::move(purpose);
  record.opted_in = in;
  record.source = std::move(source);
  return record;
}

class SqliteMessageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::ManualClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    auto opened = SqliteStore::open(settings, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = *opened;
    messages_ = std::make_unique<SqliteMessageStore>(store_);
  }

  std::int64_t receive(const std::string& key, const std::string& sealed_parsed_form = "") {
    NewInboundEvent e;
    e.sealed_parsed_form = sealed_parsed_form;
    e.dedupe_key = key;
    e.listener = "adt";
    e.control_id = key;
    e.message_type = "ADT^A03";
    e.received_at = clock_->now();
    e.sealed_payload = "sealed-" + key;
    auto receipt = store_->commitInbound(e, clock_->steadyNow() + std::chrono::hours(1));
    EXPECT_TRUE(receipt.ok()) << receipt.status().message();
    return receipt->event_id;
  }

  NewPatientMessage message(std::int64_t event_id, const std::string& key,
                            ChannelKind channel = ChannelKind::Email) {
    NewPatientMessage m;
    m.event_id = event_id;
    m.mapping = "discharge-aftercare";
    m.idempotency_key = key;
    m.clinical_key = "clinical-" + key;
    m.patient_key = "patient-1";
    m.visit_key = "visit-1";
    m.channel = channel;
    m.purpose = "aftercare";
    m.not_before = clock_->now();
    m.expires_at = clock_->now() + std::chrono::hours(24 * 30);
    m.sealed_content = "sealed-content-" + key;
    return m;
  }

  MappingCommit map(std::int64_t event_id, std::vector<NewPatientMessage> list,
                    std::vector<MessageTransition> transitions = {}) {
    MappingOutcome outcome;
    outcome.event_id = event_id;
    outcome.messages = std::move(list);
    outcome.transitions = std::move(transitions);
    auto commit = messages_->commitMapping(outcome);
    EXPECT_TRUE(commit.ok()) << commit.status().message();
    return commit.ok() ? *commit : MappingCommit();
  }

  std::vector<std::string> auditActions() {
    std::vector<std::string> actions;
    const auto records = store_->listAudit(0, 1000);
    EXPECT_TRUE(records.ok());
    for (const AuditRecord& r : *records) {
      actions.push_back(r.entry.action + " " + r.entry.object + " " + r.entry.outcome);
    }
    return actions;
  }

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteMessageStore> messages_;
};

TEST_F(SqliteMessageStoreTest, MappingStoresMessagesAndEventStateWithAudit) {
  const std::int64_t event = receive("e1");
  const MappingCommit commit = map(event, {message(event, "k1"), message(event, "k2")});
  ASSERT_EQ(commit.message_ids.size(), 2u);
  EXPECT_FALSE(commit.duplicate[0]);
  EXPECT_NE(commit.message_ids[0], commit.message_ids[1]);

  EXPECT_EQ(store_->getInbound(event)->state, InboundState::Mapped);
  const auto record = messages_->getMessage(commit.message_ids[1]);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->idempotency_key, "k2");
  EXPECT_EQ(record->state, MessageState::Pending);
  EXPECT_EQ(record->channel, ChannelKind::Email);
  EXPECT_EQ(record->created_at, clock_->now());
  EXPECT_EQ(*messages_->sealedMessageContent(record->id, std::nullopt), "sealed-content-k2");

  const std::vector<std::string> actions = auditActions();
  ASSERT_EQ(actions.size(), 4u);
  EXPECT_EQ(actions[0], "received inbound_event:1 ok");
  EXPECT_EQ(actions[1], "mapped inbound_event:1 ok");
  EXPECT_EQ(actions[2], "message_created patient_message:1 ok");
  EXPECT_EQ(actions[3], "message_created patient_message:2 ok");
}

TEST_F(SqliteMessageStoreTest, EventIsMappedOnceAndIdempotencyKeysAreNeverReused) {
  const std::int64_t event = receive("e1");
  map(event, {message(event, "k1")});
  MappingOutcome again;
  again.event_id = event;
  again.messages = {message(event, "k9")};
  const auto second = messages_->commitMapping(again);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::FailedPrecondition);

  // A held event may be mapped again; a message with a known key is not stored twice.
  const std::int64_t held = receive("e2");
  MappingOutcome hold;
  hold.event_id = held;
  hold.state = InboundState::Held;
  hold.reason = "missing patient.email";
  ASSERT_TRUE(messages_->commitMapping(hold).ok());
  EXPECT_EQ(store_->getInbound(held)->state, InboundState::Held);
  const auto work = messages_->openWork(10);
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ(work->at(0).kind, "held_event");
  EXPECT_EQ(work->at(0).id, held);
  EXPECT_EQ(work->at(0).detail, "missing patient.email");
  const MappingCommit remap = map(held, {message(held, "k1"), message(held, "k3")});
  ASSERT_EQ(remap.duplicate.size(), 2u);
  EXPECT_TRUE(remap.duplicate[0]);
  EXPECT_EQ(remap.message_ids[0], 1);
  EXPECT_FALSE(remap.duplicate[1]);
  EXPECT_EQ(messages_->findMessages({})->size(), 2u);
  MessageQuery by_key;
  by_key.idempotency_key = "k3";
  const auto found = messages_->findMessages(by_key);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->at(0).event_id, held);
  by_key.idempotency_key = "k4";
  EXPECT_TRUE(messages_->findMessages(by_key)->empty());
}

TEST_F(SqliteMessageStoreTest, FailedWorkLeavesNoTraceAndOtherWorkCommits) {
  const std::size_t before = auditActions().size();
  MappingOutcome unknown;
  unknown.event_id = 999;
  const auto result = messages_->commitMapping(unknown);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::NotFound);
  EXPECT_EQ(auditActions().size(), before);

  // Two messages with the same key in one outcome: the second is reported as a duplicate.
  const std::int64_t event = receive("e1");
  const MappingCommit commit = map(event, {message(event, "same"), message(event, "same")});
  EXPECT_EQ(commit.message_ids[0], commit.message_ids[1]);
  EXPECT_TRUE(commit.duplicate[1]);
}

TEST_F(SqliteMessageStoreTest, TransitionsApplyOnlyFromTheNamedStates) {
  const std::int64_t discharge = receive("a03");
  const std::int64_t id = map(discharge, {message(discharge, "k1")}).message_ids[0];
  const std::int64_t cancel = receive("a13");
  const MappingCommit retract = map(cancel, {},
                                    {{id,
                                      {MessageState::Pending, MessageState::Held},
                                      MessageState::Retracted,
                                      "cancelled by ADT^A13"}});
  EXPECT_TRUE(retract.skipped_transitions.empty());
  EXPECT_EQ(messages_->getMessage(id)->state, MessageState::Retracted);
  EXPECT_EQ(messages_->getMessage(id)->reason, "cancelled by ADT^A13");

  const std::int64_t again = receive("a13-again");
  const MappingCommit skipped =
      map(again, {}, {{id, {MessageState::Pending}, MessageState::Retracted, "again"}});
  EXPECT_EQ(skipped.skipped_transitions, std::vector<std::int64_t>{id});
  EXPECT_EQ(auditActions().back(), "mapped inbound_event:3 ok");
}

TEST_F(SqliteMessageStoreTest, ClaimDueTakesOnlyDuePendingMessagesOfTheChannel) {
  const std::int64_t event = receive("e1");
  NewPatientMessage later = message(event, "later");
  later.not_before = clock_->now() + minutes(30);
  NewPatientMessage held = message(event, "held");
  held.state = MessageState::Held;
  map(event,
      {message(event, "now"), later, held, message(event, "inbox", ChannelKind::SecureInbox)});

  const SystemTime lease = clock_->now() + minutes(5);
  auto claimed = messages_->claimDue(ChannelKind::Email, clock_->now(), lease, 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].record.idempotency_key, "now");
  EXPECT_EQ((*claimed)[0].record.state, MessageState::Sending);
  EXPECT_EQ((*claimed)[0].record.attempts, 1);
  EXPECT_EQ((*claimed)[0].sealed_content, "sealed-content-now");
  EXPECT_TRUE(messages_->claimDue(ChannelKind::Email, clock_->now(), lease, 10)->empty());
  EXPECT_EQ(*messages_->nextDue(ChannelKind::Email), clock_->now() + minutes(30));

  clock_->advance(minutes(31));
  claimed = messages_->claimDue(ChannelKind::Email, clock_->now(), lease, 10);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].record.idempotency_key, "later");
  EXPECT_FALSE(messages_->nextDue(ChannelKind::Email)->has_value());
}

TEST_F(SqliteMessageStoreTest, DeliveryOutcomesMoveTheMessageAndAreAudited) {
  const std::int64_t event = receive("e1");
  map(event, {message(event, "a"), message(event, "b"), message(event, "c"), message(event, "d")});
  const auto claimed =
      messages_->claimDue(ChannelKind::Email, clock_->now(), clock_->now() + minutes(5), 10);
  ASSERT_EQ(claimed->size(), 4u);

  DeliveryOutcome sent =
      delivery(1, DeliveryOutcome::Kind::Sent, "verified_tls", "250 2.0.0 queued");
  ASSERT_TRUE(messages_->recordDelivery(sent).ok());
  DeliveryOutcome retry = delivery(2, DeliveryOutcome::Kind::Retry, "", "421 try later");
  retry.retry_at = clock_->now() + minutes(2);
  ASSERT_TRUE(messages_->recordDelivery(retry).ok());
  ASSERT_TRUE(
      messages_->recordDelivery(delivery(3, DeliveryOutcome::Kind::Dead, "", "550 no such user"))
          .ok());
  ASSERT_TRUE(messages_
                  ->recordDelivery(
                      delivery(4, DeliveryOutcome::Kind::Fallback, "", "server offers no STARTTLS"))
                  .ok());

  EXPECT_EQ(messages_->getMessage(1)->state, MessageState::Sent);
  EXPECT_EQ(messages_->getMessage(1)->delivery_method, "verified_tls");
  EXPECT_EQ(messages_->getMessage(2)->state, MessageState::Pending);
  EXPECT_EQ(messages_->getMessage(2)->not_before, clock_->now() + minutes(2));
  EXPECT_EQ(messages_->getMessage(3)->state, MessageState::Dead);
  EXPECT_EQ(messages_->getMessage(3)->reason, "550 no such user");
  EXPECT_EQ(messages_->getMessage(4)->state, MessageState::Pending);
  EXPECT_EQ(messages_->getMessage(4)->channel, ChannelKind::SecureInbox);

  const auto twice = messages_->recordDelivery(sent);
  EXPECT_EQ(twice.code(), StatusCode::FailedPrecondition);

  const auto records = *store_->listAudit(0, 1000);
  std::vector<std::string> attempts;
  for (const AuditRecord& r : records) {
    if (r.entry.action == "delivery_attempt") {
      attempts.push_back(r.entry.outcome + ": " + r.entry.reason);
    }
  }
  ASSERT_EQ(attempts.size(), 4u);
  EXPECT_EQ(attempts[0], "ok: attempt 1 via email, method verified_tls: 250 2.0.0 queued");
  EXPECT_EQ(attempts[1], "retry: attempt 1 via email: 421 try later");
  EXPECT_EQ(attempts[2], "dead: attempt 1 via email: 550 no such user");
  EXPECT_EQ(attempts[3],
            "fallback: attempt 1 via email, re-routed to secure_inbox: server offers no STARTTLS");
}

TEST_F(SqliteMessageStoreTest, ExpiredLeasesGoBackToPendingAfterACrash) {
  const std::int64_t event = receive("e1");
  map(event, {message(event, "a")});
  ASSERT_EQ(messages_->claimDue(ChannelKind::Email, clock_->now(), clock_->now() + minutes(5), 10)
                ->size(),
            1u);
  EXPECT_EQ(*messages_->releaseExpiredLeases(clock_->now()), 0);
  clock_->advance(minutes(6));
  EXPECT_EQ(*messages_->releaseExpiredLeases(clock_->now()), 1);
  const auto record = messages_->getMessage(1);
  EXPECT_EQ(record->state, MessageState::Pending);
  EXPECT_EQ(record->attempts, 1);
  const auto again =
      messages_->claimDue(ChannelKind::Email, clock_->now(), clock_->now() + minutes(5), 10);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].record.attempts, 2);
}

TEST_F(SqliteMessageStoreTest, ReplayAndExpiryTransitions) {
  const std::int64_t event = receive("e1");
  map(event, {message(event, "a")});
  ASSERT_TRUE(
      messages_->claimDue(ChannelKind::Email, clock_->now(), clock_->now() + minutes(5), 10).ok());
  ASSERT_TRUE(messages_->recordDelivery(delivery(1, DeliveryOutcome::Kind::Dead, "", "550")).ok());

  const AuditEntry replay{SystemTime(), "operator:alice", "replayed",         "patient_message:1",
                          "ok",         "127.0.0.1",      "fixed the address"};
  const Status wrong = messages_->transitionMessage(
      {1, {MessageState::Held}, MessageState::Pending, "released"}, replay);
  EXPECT_EQ(wrong.code(), StatusCode::FailedPrecondition);
  EXPECT_NE(wrong.message().find("is dead, not held"), std::string::npos) << wrong.message();

  clock_->advance(minutes(10));
  ASSERT_TRUE(
      messages_
          ->transitionMessage({1, {MessageState::Dead}, MessageState::Pending, "replay"}, replay)
          .ok());
  EXPECT_EQ(messages_->getMessage(1)->state, MessageState::Pending);
  EXPECT_EQ(auditActions().back(), "replayed patient_message:1 ok");
  EXPECT_EQ(messages_->claimDue(ChannelKind::Email, clock_->now(), clock_->now(), 10)->size(), 1u);

  ASSERT_TRUE(messages_
                  ->transitionMessage({1, {MessageState::Sending}, MessageState::Expired, "expiry"},
                                      {SystemTime(), "system:retention", "expired",
                                       "patient_message:1", "ok", "", "retention"})
                  .ok());
  const auto content = messages_->sealedMessageContent(1, std::nullopt);
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.status().code(), StatusCode::NotFound);
}

TEST_F(SqliteMessageStoreTest, ContentViewIsAuditedInTheSameTransaction) {
  const std::int64_t event = receive("e1");
  map(event, {message(event, "a")});
  const std::size_t before = auditActions().size();
  const auto content = messages_->sealedMessageContent(
      1, AuditEntry{SystemTime(), "inbox", "read", "patient_message:1", "ok", "127.0.0.1", ""});
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(auditActions().size(), before + 1);
  const auto missing = messages_->sealedMessageContent(
      42, AuditEntry{SystemTime(), "inbox", "read", "patient_message:42", "ok", "", ""});
  EXPECT_EQ(missing.status().code(), StatusCode::NotFound);
  EXPECT_EQ(auditActions().size(), before + 1);
}

TEST_F(SqliteMessageStoreTest, ConsentLedgerAnswersTheNewestMatchingEntry) {
  EXPECT_FALSE(messages_->latestConsent("p1", ChannelKind::Email, "result")->has_value());
  const AuditEntry audit{SystemTime(), "patient", "consent_changed", "patient:p1", "ok", "", ""};
  ASSERT_TRUE(
      messages_
          ->recordConsent(consent("p1", ChannelKind::Email, "result", false, "reply:STOP"), audit)
          .ok());
  auto latest = messages_->latestConsent("p1", ChannelKind::Email, "result");
  ASSERT_TRUE(latest->has_value());
  EXPECT_FALSE((*latest)->opted_in);
  EXPECT_EQ((*latest)->source, "reply:STOP");
  EXPECT_FALSE(messages_->latestConsent("p1", ChannelKind::Email, "reminder")->has_value());
  EXPECT_FALSE(messages_->latestConsent("p1", ChannelKind::SecureInbox, "result")->has_value());

  clock_->advance(minutes(1));
  ASSERT_TRUE(
      messages_->recordConsent(consent("p1", ChannelKind::Email, "*", true, "reply:START"), audit)
          .ok());
  latest = messages_->latestConsent("p1", ChannelKind::Email, "result");
  EXPECT_TRUE((*latest)->opted_in);
  EXPECT_EQ((*latest)->purpose, "*");
  EXPECT_EQ(messages_->recordConsent(consent("", ChannelKind::Email, "*", true, "x"), audit).code(),
            StatusCode::InvalidArgument);
}

TEST_F(SqliteMessageStoreTest, MapperReadsThePayloadAndTheParsedFormTogether) {
  const std::int64_t with_form = receive("f1", "sealed-parsed-f1");
  const std::int64_t without = receive("f2");
  Result<MessageStore::SealedEventForms> forms = messages_->sealedEventForMapping(with_form);
  ASSERT_TRUE(forms.ok()) << forms.status().toString();
  EXPECT_EQ(forms->payload, "sealed-f1");
  EXPECT_EQ(forms->parsed_form, "sealed-parsed-f1");
  forms = messages_->sealedEventForMapping(without);
  ASSERT_TRUE(forms.ok()) << forms.status().toString();
  EXPECT_EQ(forms->payload, "sealed-f2");
  EXPECT_EQ(forms->parsed_form, "");
  EXPECT_EQ(messages_->sealedEventForMapping(99).status().code(), StatusCode::NotFound);
}

TEST_F(SqliteMessageStoreTest, RetentionShredsExpiredContentAndPurgesOldPayloads) {
  const std::int64_t event = receive("e1", "sealed-parsed-e1");
  NewPatientMessage soon = message(event, "soon");
  soon.expires_at = clock_->now() + minutes(10);
  NewPatientMessage sending = message(event, "sending");
  sending.expires_at = clock_->now() + minutes(10);
  sending.channel = ChannelKind::SecureInbox;
  map(event, {soon, message(event, "later"), sending});
  ASSERT_EQ(messages_->claimDue(ChannelKind::SecureInbox, clock_->now(), clock_->now(), 10)->size(),
            1u);
  const std::int64_t unmapped = receive("e2", "sealed-parsed-e2");

  EXPECT_TRUE(messages_->expireDue(clock_->now(), 100)->empty());
  clock_->advance(minutes(11));
  EXPECT_EQ(*messages_->expireDue(clock_->now(), 100), std::vector<std::int64_t>{1});
  EXPECT_EQ(messages_->getMessage(1)->state, MessageState::Expired);
  EXPECT_EQ(messages_->sealedMessageContent(1, std::nullopt).status().code(), StatusCode::NotFound);
  EXPECT_EQ(messages_->getMessage(3)->state, MessageState::Sending);  // never under a worker
  EXPECT_TRUE(messages_->expireDue(clock_->now(), 100)->empty());

  EXPECT_EQ(*messages_->purgeEventPayloads(clock_->now(), 100), 1);  // e2 is not mapped yet
  EXPECT_EQ(messages_->sealedEventPayload(event).status().code(), StatusCode::NotFound);
  EXPECT_TRUE(messages_->sealedEventPayload(unmapped).ok());
  EXPECT_EQ(messages_->sealedEventForMapping(unmapped)->parsed_form, "sealed-parsed-e2");
  EXPECT_EQ(store_->getInbound(event)->state, InboundState::Mapped);  // metadata kept
  EXPECT_EQ(*messages_->purgeEventPayloads(clock_->now(), 100), 0);

  const std::vector<std::string> actions = auditActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "expired patient_message:1 ok"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "payload_purged inbound_event:1 ok"), 1);

  // The shredded bytes are gone from the database file (secure_delete), not just unlinked.
  store_->close();
  const std::string file = test::readFile(dir_.path() / "gateway.db");
  EXPECT_EQ(file.find("sealed-content-soon"), std::string::npos);
  EXPECT_EQ(file.find("sealed-e1"), std::string::npos);
  EXPECT_EQ(file.find("sealed-parsed-e1"), std::string::npos);  // shredded with the payload
  EXPECT_NE(file.find("sealed-parsed-e2"), std::string::npos);
  EXPECT_NE(file.find("sealed-content-later"), std::string::npos);
}

}  // namespace
}  // namespace gw
