// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/core/FhirIntake.h"
#include "gateway/fhir/CompactTree.h"
#include "gateway/fhir/Resource.h"
#include "gateway/crypto/Digest.h"
#include "gateway/pipeline/EngineMapper.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "gateway/store/sqlite/SqlitePatientStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

// The shipped mappings and samples driven through the mapper thread's glue: real SQLite store,
// real MappingSet, the policy state read back from the store. Time starts at 2026-01-01T00:00Z
// (19:00 in the facility's America/New_York, outside the shipped quiet hours 21:00-08:00).
class EngineMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::ManualClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    patients_ = std::make_shared<SqlitePatientStore>(store_);
    cipher_ = std::make_shared<test::FakeCipher>();
    ConfigErrors errors;
    set_ = mapping::MappingSet::load((test::sourceDir() / "mappings").string(),
                                     mapping::MappingSettings(), errors);
    ASSERT_NE(set_, nullptr) << errors.toString();
    mapper_ = std::make_shared<EngineEventMapper>(
        set_, clock_, kPseudonymKey, std::make_shared<StorePolicyState>(messages_, patients_));
    service_ = std::make_unique<MapperService>(store_, messages_, cipher_, clock_, mapper_);
  }

  std::int64_t receive(const std::string& sample, const std::string& type,
                       const std::string& dedupe_key = "") {
    NewInboundEvent e;
    e.dedupe_key = dedupe_key.empty() ? sample : dedupe_key;
    e.message_type = type;
    e.received_at = clock_->now();
    e.sealed_payload = *cipher_->seal(
        test::readFile(test::sourceDir() / "samples" / "hl7" / sample), e.dedupe_key);
    return store_->commitInbound(e, clock_->steadyNow() + std::chrono::seconds(30))->event_id;
  }

  // A FHIR sample through FhirIntake as the FHIR adapter hands it over: the body, and the parsed
  // form of `parsed_from` (the body itself unless a test says otherwise; "" keeps none).
  std::int64_t receiveFhir(const std::string& sample, const std::string& control_id,
                           const std::optional<std::string>& parsed_from = std::nullopt) {
    InboundEvent event;
    event.source = EventSource::Fhir;
    event.listener = "fhir";
    event.sending_application = "ehr";
    event.control_id = control_id;
    event.message_type = "Bundle/collection";
    event.version = "4.0.1";
    event.payload = test::readFile(test::sourceDir() / "samples" / "fhir" / sample);
    const std::string form_source = parsed_from.value_or(event.payload);
    if (!form_source.empty()) {
      event.parsed_form = fhir::toCompactTree(*fhir::parseJson(form_source));
    }
    FhirIntake intake(store_, cipher_, clock_);
    const Result<IntakeReceipt> receipt =
        intake.accept(std::move(event), clock_->steadyNow() + std::chrono::seconds(30));
    EXPECT_TRUE(receipt.ok()) << receipt.status().toString();
    return receipt.ok() ? receipt->event_id : 0;
  }

  // The patient key of samples/hl7/oru_r01_result.hl7 (PID-3 SYN000202^^^DEMO_HOSP).
  std::string resultPatientKey() const {
    return *hmacSha256Hex(kPseudonymKey, "DEMO_HOSP|SYN000202");
  }

  void prefer(const std::string& time_zone, std::chrono::hours delay) {
    PatientPreferenceRecord record;
    record.patient_key = resultPatientKey();
    record.time_zone = time_zone;
    record.result_delay = delay;
    record.source = "inbox";
    ASSERT_TRUE(patients_
                    ->savePreferences(record, {SystemTime(), "patient:inbox", "preferences_changed",
                                               "patient_preferences", "ok", "", ""})
                    .isOk());
  }

  // The one message the result sample produced.
  PatientMessageRecord mapResult() {
    receive("oru_r01_result.hl7", "ORU^R01^ORU_R01");
    EXPECT_EQ(*service_->runOnce(), 1u);
    const auto created = messages_->findMessages({});
    EXPECT_EQ(created->size(), 1u);
    return created->empty() ? PatientMessageRecord() : created->front();
  }

  static constexpr const char* kPseudonymKey = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
  std::shared_ptr<SqlitePatientStore> patients_;
  std::shared_ptr<test::FakeCipher> cipher_;
  std::shared_ptr<const mapping::MappingSet> set_;
  std::shared_ptr<EngineEventMapper> mapper_;
  std::unique_ptr<MapperService> service_;
};

TEST_F(EngineMapperTest, DischargeSampleBecomesOneSealedAftercareMessageOnlyOnce) {
  const std::int64_t event = receive("adt_a03_discharge.hl7", "ADT^A03^ADT_A03");
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_EQ(store_->getInbound(event)->state, InboundState::Mapped);
  const auto created = messages_->findMessages({});
  ASSERT_EQ(created->size(), 1u);
  const PatientMessageRecord& m = created->at(0);
  EXPECT_EQ(m.event_id, event);
  EXPECT_EQ(m.purpose, "aftercare");
  EXPECT_FALSE(m.patient_key.empty());
  EXPECT_EQ(m.patient_key.find("SYN000101"), std::string::npos);  // a key, not the MRN
  const auto content = parseMessageContent(
      *cipher_->open(*messages_->sealedMessageContent(m.id, std::nullopt), m.idempotency_key));
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->email, "alexa.testpatient@example.invalid");
  EXPECT_EQ(content->language, "en");
  EXPECT_NE(content->text.find("emergenc"), std::string::npos);  // the notice is there

  // The EHR resends the discharge with a new control id: same clinical event, no new message.
  const std::int64_t resend = receive("adt_a03_discharge.hl7", "ADT^A03^ADT_A03", "resend");
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_NE(store_->getInbound(resend)->state, InboundState::Received);
  EXPECT_EQ(messages_->findMessages({})->size(), 1u);
}

TEST_F(EngineMapperTest, FhirEventsAreMappedFromTheStoredParsedFormWithoutASecondParse) {
  const std::int64_t event = receiveFhir("encounter_finished.json", "Bundle/b-enc-1");
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_EQ(store_->getInbound(event)->state, InboundState::Mapped);
  EXPECT_EQ(mapper_->stats().loaded, 1u);
  EXPECT_EQ(mapper_->stats().parsed, 0u);
  const auto created = messages_->findMessages({});
  ASSERT_EQ(created->size(), 1u);
  EXPECT_EQ(created->at(0).purpose, "aftercare");

  // The mapper reads the stored form, not the body: a body that maps to nothing (an
  // appointment whose form is the discharge) still yields the discharge message's decision.
  const std::int64_t mixed = receiveFhir(
      "appointment_booked.json", "Bundle/mixed",
      test::readFile(test::sourceDir() / "samples" / "fhir" / "encounter_finished.json"));
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_EQ(mapper_->stats().loaded, 2u);
  const auto second = messages_->findMessages({});
  ASSERT_EQ(second->size(), 1u);  // the same clinical event: no new message
  EXPECT_NE(store_->getInbound(mixed)->state, InboundState::Received);
}

TEST_F(EngineMapperTest, FhirEventsWithoutAUsableParsedFormAreParsedFromThePayload) {
  // Stored without a form (an event from before migration 8) ...
  const std::int64_t plain = receiveFhir("encounter_finished.json", "Bundle/plain", "");
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_EQ(store_->getInbound(plain)->state, InboundState::Mapped);
  EXPECT_EQ(mapper_->stats().parsed, 1u);
  EXPECT_EQ(mapper_->stats().loaded, 0u);
  // ... or with a form that does not load: the payload is parsed and the result is the same.
  const Result<MappingDraft> draft = mapper_->mapStored(
      *store_->getInbound(plain),
      test::readFile(test::sourceDir() / "samples" / "fhir" / "encounter_finished.json"),
      "GWT1 damaged");
  ASSERT_TRUE(draft.ok()) << draft.status().toString();
  EXPECT_EQ(draft->state, InboundState::Mapped);
  EXPECT_EQ(mapper_->stats().parsed, 2u);
}

TEST_F(EngineMapperTest, MessagesWithoutAMatchingMappingAreIgnored) {
  const std::int64_t event = receive("adt_a01_admit.hl7", "ADT^A01^ADT_A01");
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_EQ(store_->getInbound(event)->state, InboundState::Ignored);
  EXPECT_TRUE(messages_->findMessages({})->empty());
}

TEST_F(EngineMapperTest, ResultAtNightWaitsForTheFacilityMorningWithoutPreferences) {
  clock_->advance(std::chrono::minutes(150));  // 02:30Z = 21:30 in New York: quiet hours
  const PatientMessageRecord m = mapResult();
  EXPECT_EQ(m.patient_key, resultPatientKey());
  EXPECT_EQ(m.state, MessageState::Pending);
  EXPECT_EQ(m.reason, "quiet_hours");
  // 08:00 in New York (EST, UTC-5) = 13:00Z.
  EXPECT_EQ(m.not_before,
            std::chrono::system_clock::from_time_t(1767225600) + std::chrono::hours(13));
}

TEST_F(EngineMapperTest, APatientTimeZoneMovesTheQuietHours) {
  prefer("America/Los_Angeles", std::chrono::hours(0));
  clock_->advance(std::chrono::minutes(150));  // 18:30 in Los Angeles: not quiet there
  const PatientMessageRecord m = mapResult();
  EXPECT_EQ(m.not_before, clock_->now());
  EXPECT_NE(m.reason, "quiet_hours");
}

TEST_F(EngineMapperTest, APatientTimeZoneCanPutAResultIntoQuietHours) {
  // 00:00Z is 19:00 in New York (would send now) but 01:00 in Berlin: wait for 08:00 there.
  prefer("Europe/Berlin", std::chrono::hours(0));
  const PatientMessageRecord m = mapResult();
  EXPECT_EQ(m.reason, "quiet_hours");
  EXPECT_EQ(m.not_before, clock_->now() + std::chrono::hours(7));  // 08:00 CET = 07:00Z
}

TEST_F(EngineMapperTest, AnUnknownStoredTimeZoneFallsBackToTheFacility) {
  prefer("Mars/Olympus_Mons", std::chrono::hours(0));
  clock_->advance(std::chrono::minutes(150));
  const PatientMessageRecord m = mapResult();
  EXPECT_EQ(m.reason, "quiet_hours");
  EXPECT_EQ(m.not_before, clock_->now() + std::chrono::minutes(630));  // 13:00Z
}

TEST_F(EngineMapperTest, DelayMyResultsHoldsAFinalResultUntilTheDelay) {
  prefer("", std::chrono::hours(72));
  const PatientMessageRecord m = mapResult();
  EXPECT_EQ(m.state, MessageState::Pending);
  // Released 72 h later, then moved out of quiet hours if needed: 2026-01-04T00:00Z is 19:00
  // in New York, so exactly the delay.
  EXPECT_EQ(m.not_before, clock_->now() + std::chrono::hours(72));
  EXPECT_EQ(m.reason, "patient_delay");
  // Nothing is due before then.
  const auto due = messages_->claimDue(m.channel, clock_->now() + std::chrono::hours(71),
                                       clock_->now() + std::chrono::hours(72), 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  const auto released = messages_->claimDue(m.channel, clock_->now() + std::chrono::hours(72),
                                            clock_->now() + std::chrono::hours(73), 10);
  ASSERT_EQ(released->size(), 1u);
}

TEST_F(EngineMapperTest, WithoutAPatientStoreEveryPatientGetsTheFacilityDefaults) {
  prefer("America/Los_Angeles", std::chrono::hours(72));
  const auto defaults = StorePolicyState(messages_).preferences(resultPatientKey());
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->time_zone.empty());
  EXPECT_FALSE(defaults->result_delay.has_value());
  const auto stored = StorePolicyState(messages_, patients_).preferences(resultPatientKey());
  EXPECT_EQ(stored->time_zone, "America/Los_Angeles");
  EXPECT_EQ(stored->result_delay, std::chrono::hours(72));
}

}  // namespace
}  // namespace gw
