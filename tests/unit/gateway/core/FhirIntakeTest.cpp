// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/core/FhirIntake.h"
#include "tests/support/FailingStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/InMemoryStore.h"

namespace gw {
namespace {

InboundEvent fhirEvent(const std::string& client, const std::string& control_id) {
  InboundEvent e;
  e.source = EventSource::Fhir;
  e.listener = "fhir";
  e.peer = "127.0.0.1:4000";
  e.sending_application = client;
  e.control_id = control_id;
  e.message_type = "message/A03";
  e.version = "4.0.1";
  e.payload = R"({"resourceType":"Bundle","id":"m1","type":"message"})";
  return e;
}

Deadline soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(5);
}

class FhirIntakeTest : public ::testing::Test {
 protected:
  std::shared_ptr<test::InMemoryStore> store_ = std::make_shared<test::InMemoryStore>();
  FhirIntake intake_{store_, std::make_shared<test::FakeCipher>(), std::make_shared<SystemClock>()};
};

TEST_F(FhirIntakeTest, CommitsTheSealedPayloadWithTheMetadata) {
  const Result<IntakeReceipt> receipt = intake_.accept(fhirEvent("ehr-a", "m1"), soon());
  ASSERT_TRUE(receipt.ok()) << receipt.status().toString();
  EXPECT_FALSE(receipt->duplicate);
  const Result<InboundEventRecord> record = store_->getInbound(receipt->event_id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->source, EventSource::Fhir);
  EXPECT_EQ(record->sending_application, "ehr-a");
  EXPECT_EQ(record->control_id, "m1");
  EXPECT_EQ(record->dedupe_key, FhirIntake::dedupeKey(*record));
  const Result<std::string> sealed = store_->readSealedPayload(receipt->event_id, AuditEntry{});
  ASSERT_TRUE(sealed.ok());
  // FakeCipher: sealed with the dedupe key as associated data, never the plain text.
  EXPECT_EQ(sealed->rfind("sealed:" + record->dedupe_key + ":", 0), 0U);
  EXPECT_EQ(sealed->find("resourceType"), std::string::npos);
}

TEST_F(FhirIntakeTest, DedupeIsPerClientAndIdWhateverTheListener) {
  const Result<IntakeReceipt> first = intake_.accept(fhirEvent("ehr-a", "m1"), soon());
  InboundEvent elsewhere = fhirEvent("ehr-a", "m1");
  elsewhere.listener = "fhir-2";
  const Result<IntakeReceipt> again = intake_.accept(elsewhere, soon());
  const Result<IntakeReceipt> other_client = intake_.accept(fhirEvent("ehr-b", "m1"), soon());
  ASSERT_TRUE(first.ok() && again.ok() && other_client.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->event_id, first->event_id);
  EXPECT_FALSE(other_client->duplicate);
  EXPECT_EQ(store_->eventCount(), 2U);
  EXPECT_EQ(intake_.stats().accepted, 2U);
  EXPECT_EQ(intake_.stats().duplicates, 1U);
  // Unit separators keep ("a", "bc") and ("ab", "c") apart.
  InboundEventMetadata x, y;
  x.sending_application = "a";
  x.control_id = "bc";
  y.sending_application = "ab";
  y.control_id = "c";
  EXPECT_NE(FhirIntake::dedupeKey(x), FhirIntake::dedupeKey(y));
}

TEST_F(FhirIntakeTest, RefusesEventsThatBreakTheRulesWithoutStoring) {
  InboundEvent hl7 = fhirEvent("ehr-a", "m1");
  hl7.source = EventSource::Hl7v2;
  EXPECT_EQ(intake_.accept(hl7, soon()).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(intake_.accept(fhirEvent("", "m1"), soon()).status().code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(intake_.accept(fhirEvent("ehr-a", ""), soon()).status().code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(intake_.accept(fhirEvent("ehr-a", std::string(257, 'x')), soon()).status().code(),
            StatusCode::InvalidArgument);
  InboundEvent empty = fhirEvent("ehr-a", "m1");
  empty.payload.clear();
  EXPECT_EQ(intake_.accept(empty, soon()).status().code(), StatusCode::InvalidArgument);
  InboundEvent untyped = fhirEvent("ehr-a", "m1");
  untyped.message_type.clear();
  EXPECT_EQ(intake_.accept(untyped, soon()).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(store_->eventCount(), 0U);
  EXPECT_EQ(intake_.stats().rejected, 6U);
}

TEST(FhirIntakeFailureTest, StoreErrorsPassThroughAndShutdownIsUnavailable) {
  auto store = std::make_shared<test::FailingStore>(nullptr, 1, StatusCode::Unavailable);
  FhirIntake intake(store, std::make_shared<test::FakeCipher>(), std::make_shared<SystemClock>());
  EXPECT_EQ(intake.accept(fhirEvent("ehr-a", "m1"), soon()).status().code(),
            StatusCode::Unavailable);
  EXPECT_TRUE(intake.accept(fhirEvent("ehr-a", "m1"), soon()).ok());  // a resend succeeds
  intake.beginShutdown();
  EXPECT_EQ(intake.accept(fhirEvent("ehr-a", "m2"), soon()).status().code(),
            StatusCode::Unavailable);
  EXPECT_EQ(intake.stats().failed, 2U);
}

TEST_F(FhirIntakeTest, TellsTheMapperAfterANewCommitNotAfterAResend) {
  int told = 0;
  intake_.setOnCommitted([&] { ++told; });
  ASSERT_TRUE(intake_.accept(fhirEvent("ehr-a", "m1"), soon()).ok());
  EXPECT_EQ(told, 1);
  ASSERT_TRUE(intake_.accept(fhirEvent("ehr-a", "m1"), soon()).ok());
  EXPECT_EQ(told, 1);
}

}  // namespace
}  // namespace gw
