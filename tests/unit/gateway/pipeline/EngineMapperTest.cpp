// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/pipeline/EngineMapper.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

// The shipped mappings and samples driven through the mapper thread's glue: real SQLite store,
// real MappingSet, the policy state read back from the store.
class EngineMapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<SystemClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    cipher_ = std::make_shared<test::FakeCipher>();
    ConfigErrors errors;
    set_ = mapping::MappingSet::load((test::sourceDir() / "mappings").string(),
                                     mapping::MappingSettings(), errors);
    ASSERT_NE(set_, nullptr) << errors.toString();
    mapper_ = std::make_shared<EngineEventMapper>(set_, clock_, std::string(32, 'k'),
                                                  std::make_shared<StorePolicyState>(messages_));
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

  test::TempDir dir_;
  std::shared_ptr<SystemClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
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

TEST_F(EngineMapperTest, MessagesWithoutAMatchingMappingAreIgnored) {
  const std::int64_t event = receive("adt_a01_admit.hl7", "ADT^A01^ADT_A01");
  ASSERT_EQ(*service_->runOnce(), 1u);
  EXPECT_EQ(store_->getInbound(event)->state, InboundState::Ignored);
  EXPECT_TRUE(messages_->findMessages({})->empty());
}

}  // namespace
}  // namespace gw
