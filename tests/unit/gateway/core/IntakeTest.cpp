// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/core/Intake.h"
#include "tests/support/FailingStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/InMemoryStore.h"

namespace gw {
namespace {

InboundEvent adtEvent(std::string control_id, std::string facility = "DEMO_HOSP") {
  InboundEvent e;
  e.listener = "adt";
  e.peer = "127.0.0.1:5000";
  e.sending_application = "SIM_EHR";
  e.sending_facility = std::move(facility);
  e.control_id = std::move(control_id);
  e.message_type = "ADT^A03";
  e.version = "2.5.1";
  e.payload = "MSH|^~\\&|SIM_EHR|DEMO_HOSP|...\rPID|1||SYN000101||Testpatient^Alexa\r";
  return e;
}

Deadline soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(5);
}

class IntakeTest : public ::testing::Test {
 protected:
  std::shared_ptr<test::InMemoryStore> store_ = std::make_shared<test::InMemoryStore>();
  std::shared_ptr<test::FakeCipher> cipher_ = std::make_shared<test::FakeCipher>();
  Intake intake_{store_, cipher_, std::make_shared<SystemClock>()};
};

TEST_F(IntakeTest, CommitsSealedPayloadWithMetadata) {
  Result<IntakeReceipt> receipt = intake_.accept(adtEvent("C1"), soon());
  ASSERT_TRUE(receipt.ok()) << receipt.status().toString();
  EXPECT_FALSE(receipt->duplicate);
  Result<InboundEventRecord> record = store_->getInbound(receipt->event_id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->control_id, "C1");
  EXPECT_EQ(record->message_type, "ADT^A03");
  EXPECT_EQ(record->sending_facility, "DEMO_HOSP");
  EXPECT_EQ(record->listener, "adt");
  EXPECT_EQ(record->dedupe_key, Intake::dedupeKey(adtEvent("C1")));
  AuditEntry view;
  view.actor = "operator:test";
  view.action = "viewed_payload";
  Result<std::string> sealed = store_->readSealedPayload(receipt->event_id, view);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("Testpatient"), std::string::npos) << "payload reached the store unsealed";
  Result<std::string> opened = cipher_->open(*sealed, record->dedupe_key);
  ASSERT_TRUE(opened.ok()) << "sealed with the dedupe key as associated data";
  EXPECT_EQ(*opened, adtEvent("C1").payload);
}

TEST_F(IntakeTest, ResendIsDuplicateOfTheFirstCommit) {
  Result<IntakeReceipt> first = intake_.accept(adtEvent("C1"), soon());
  Result<IntakeReceipt> second = intake_.accept(adtEvent("C1"), soon());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(first->event_id, second->event_id);
  EXPECT_EQ(store_->eventCount(), 1u);
  EXPECT_EQ(intake_.stats().accepted, 1u);
  EXPECT_EQ(intake_.stats().duplicates, 1u);
}

TEST_F(IntakeTest, DedupeKeySeparatesSendersListenersAndFieldBoundaries) {
  InboundEvent a = adtEvent("C1");
  InboundEvent b = adtEvent("C1", "OTHER_HOSP");
  InboundEvent c = adtEvent("C1");
  c.listener = "lab";
  InboundEvent d = adtEvent("C1");
  d.sending_application = "SIM_EH";
  d.sending_facility = "RDEMO_HOSP";
  const std::string key = Intake::dedupeKey(a);
  EXPECT_EQ(key, "C1\x1f" + Intake::legacyDedupeKey(a));
  EXPECT_EQ(Intake::legacyDedupeKey(a).size(), 64u);
  EXPECT_NE(Intake::legacyDedupeKey(a), Intake::legacyDedupeKey(b));
  EXPECT_NE(key, Intake::dedupeKey(b));
  EXPECT_NE(key, Intake::dedupeKey(c));
  EXPECT_NE(key, Intake::dedupeKey(d));
}

// Keys of a sender's increasing control ids sort in the same order (and so sit together in the
// store's unique index), whatever their digests.
TEST_F(IntakeTest, DedupeKeysSortByControlId) {
  std::vector<std::string> keys;
  for (int i = 100; i < 200; ++i) {
    keys.push_back(Intake::dedupeKey(adtEvent("MSG" + std::to_string(i))));
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

// A resend of a message committed by an older intake (whose key was the bare digest) is a
// duplicate, not a second event.
TEST_F(IntakeTest, ResendOfAMessageStoredUnderTheLegacyKeyIsADuplicate) {
  NewInboundEvent old;
  static_cast<InboundEventMetadata&>(old) = adtEvent("C9");
  old.dedupe_key = Intake::legacyDedupeKey(adtEvent("C9"));
  old.sealed_payload = "sealed";
  Result<IntakeReceipt> first = store_->commitInbound(old, soon());
  ASSERT_TRUE(first.ok());
  Result<IntakeReceipt> again = intake_.accept(adtEvent("C9"), soon());
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->event_id, first->event_id);
}

TEST_F(IntakeTest, RejectsEventsThatBreakTheRulesWithoutStoring) {
  InboundEvent no_id = adtEvent("");
  InboundEvent no_type = adtEvent("C2");
  no_type.message_type.clear();
  InboundEvent long_id = adtEvent(std::string(200, 'x'));
  InboundEvent empty = adtEvent("C3");
  empty.payload.clear();
  for (InboundEvent* e : {&no_id, &no_type, &long_id, &empty}) {
    Result<IntakeReceipt> r = intake_.accept(*e, soon());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::InvalidArgument);
    EXPECT_EQ(r.status().message().find("Testpatient"), std::string::npos);
  }
  EXPECT_EQ(store_->eventCount(), 0u);
  EXPECT_EQ(intake_.stats().rejected, 4u);
}

TEST(IntakeFailureTest, StoreUnavailableIsPassedOnAndNothingIsAcknowledged) {
  auto store = std::make_shared<test::FailingStore>(nullptr, 1, StatusCode::Unavailable);
  Intake intake(store, std::make_shared<test::FakeCipher>(), std::make_shared<SystemClock>());
  Result<IntakeReceipt> r = intake.accept(adtEvent("C1"), soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
  // The sender's resend after the failure commits.
  Result<IntakeReceipt> again = intake.accept(adtEvent("C1"), soon());
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(intake.stats().failed, 1u);
}

TEST(IntakeFailureTest, SealFailureIsNotCommitted) {
  auto store = std::make_shared<test::InMemoryStore>();
  auto cipher = std::make_shared<test::FakeCipher>();
  Intake intake(store, cipher, std::make_shared<SystemClock>());
  cipher->failNextSeal();
  Result<IntakeReceipt> r = intake.accept(adtEvent("C1"), soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store->eventCount(), 0u);
}

TEST_F(IntakeTest, RefusesAfterShutdownBegins) {
  intake_.beginShutdown();
  Result<IntakeReceipt> r = intake_.accept(adtEvent("C1"), soon());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store_->eventCount(), 0u);
}

// Runs acceptBatch() and returns its results (the fakes complete on the caller's thread).
std::vector<Result<IntakeReceipt>> acceptAll(Intake& intake, std::vector<InboundEvent> events) {
  std::vector<Result<IntakeReceipt>> out;
  bool called = false;
  intake.acceptBatch(std::move(events), soon(), [&](std::vector<Result<IntakeReceipt>> results) {
    EXPECT_FALSE(called) << "done called twice";
    called = true;
    out = std::move(results);
  });
  EXPECT_TRUE(called);
  return out;
}

TEST_F(IntakeTest, BatchCommitsValidEventsTogetherAndAnswersEachInPlace) {
  InboundEvent no_id = adtEvent("");
  std::vector<InboundEvent> events = {adtEvent("B1"), no_id, adtEvent("B2")};
  const std::vector<Result<IntakeReceipt>> results = acceptAll(intake_, std::move(events));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().toString();
  EXPECT_EQ(results[1].status().code(), StatusCode::InvalidArgument);
  ASSERT_TRUE(results[2].ok()) << results[2].status().toString();
  EXPECT_NE(results[0]->event_id, results[2]->event_id);
  // The two valid events reached the store as one batch, sealed like accept() seals them.
  EXPECT_EQ(store_->batchSizes(), std::vector<std::size_t>{2});
  Result<InboundEventRecord> record = store_->getInbound(results[2]->event_id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->control_id, "B2");
  EXPECT_EQ(record->dedupe_key, Intake::dedupeKey(adtEvent("B2")));
  AuditEntry view;
  view.actor = "operator:test";
  view.action = "viewed_payload";
  Result<std::string> sealed = store_->readSealedPayload(results[2]->event_id, view);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("Testpatient"), std::string::npos);
  EXPECT_EQ(intake_.stats().accepted, 2u);
  EXPECT_EQ(intake_.stats().rejected, 1u);
}

TEST_F(IntakeTest, ResendWithinOneBatchIsADuplicateOfTheFirst) {
  const std::vector<Result<IntakeReceipt>> results =
      acceptAll(intake_, {adtEvent("D1"), adtEvent("D2"), adtEvent("D1")});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok() && results[2].ok());
  EXPECT_FALSE(results[0]->duplicate);
  EXPECT_TRUE(results[2]->duplicate);
  EXPECT_EQ(results[0]->event_id, results[2]->event_id);
  EXPECT_EQ(store_->eventCount(), 2u);
  EXPECT_EQ(intake_.stats().duplicates, 1u);
}

TEST_F(IntakeTest, BatchWithNothingValidNeverReachesTheStore) {
  const std::vector<Result<IntakeReceipt>> results = acceptAll(intake_, {adtEvent("")});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(store_->batchSizes().empty());
}

TEST_F(IntakeTest, BatchAfterShutdownBeginsIsRefused) {
  intake_.beginShutdown();
  const std::vector<Result<IntakeReceipt>> results =
      acceptAll(intake_, {adtEvent("S1"), adtEvent("S2")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status().code(), StatusCode::Unavailable);
  EXPECT_EQ(results[1].status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store_->eventCount(), 0u);
}

TEST(IntakeFailureTest, FailedBatchCommitAnswersEveryEventAndStoresNothing) {
  // The store fails the second event's commit: as a transaction, the whole batch fails.
  auto store = std::make_shared<test::FailingStore>(nullptr, 2, StatusCode::Unavailable);
  Intake intake(store, std::make_shared<test::FakeCipher>(), std::make_shared<SystemClock>());
  const std::vector<Result<IntakeReceipt>> results =
      acceptAll(intake, {adtEvent("F1"), adtEvent("F2"), adtEvent("F3")});
  ASSERT_EQ(results.size(), 3u);
  for (const Result<IntakeReceipt>& r : results) {
    EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
  }
  auto* inner = dynamic_cast<test::InMemoryStore*>(store->inner().get());
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->eventCount(), 0u);
  EXPECT_EQ(intake.stats().failed, 3u);
  EXPECT_EQ(intake.stats().accepted, 0u);
}

TEST(IntakeFailureTest, SealFailureInABatchFailsOnlyThatEvent) {
  auto store = std::make_shared<test::InMemoryStore>();
  auto cipher = std::make_shared<test::FakeCipher>();
  Intake intake(store, cipher, std::make_shared<SystemClock>());
  cipher->failNextSeal();
  const std::vector<Result<IntakeReceipt>> results =
      acceptAll(intake, {adtEvent("E1"), adtEvent("E2")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(store->eventCount(), 1u);
}

TEST_F(IntakeTest, ConcurrentResendsStoreOneEvent) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (intake_.accept(adtEvent("C" + std::to_string(i)), soon()).ok()) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(store_->eventCount(), 50u);
  EXPECT_EQ(intake_.stats().accepted, 50u);
  EXPECT_EQ(intake_.stats().duplicates, 350u);
}

TEST_F(IntakeTest, TellsTheMapperAfterCommitsThatStoredNewEventsOnly) {
  int told = 0;
  intake_.setOnCommitted([&] { ++told; });
  ASSERT_TRUE(intake_.accept(adtEvent("C1"), soon()).ok());
  EXPECT_EQ(told, 1);
  ASSERT_TRUE(intake_.accept(adtEvent("C1"), soon()).ok());  // a resend stores nothing
  EXPECT_EQ(told, 1);
  EXPECT_FALSE(intake_.accept(adtEvent(""), soon()).ok());  // rejected
  EXPECT_EQ(told, 1);
  acceptAll(intake_, {adtEvent("B1"), adtEvent("B2")});  // once per batch
  EXPECT_EQ(told, 2);
  acceptAll(intake_, {adtEvent("B1")});
  EXPECT_EQ(told, 2);
}

}  // namespace
}  // namespace gw
