// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/core/MapperService.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

// Maps "ADT^A03" to one message whose text is the payload, ignores other types, fails on
// "ERR^R01" and records the order it saw events in.
class FakeMapper final : public EventMapper {
 public:
  explicit FakeMapper(std::string mapping = "discharge") : mapping_(std::move(mapping)) {}
  Result<MappingDraft> map(const InboundEventRecord& event, std::string_view payload) override {
    seen.push_back(event.id);
    MappingDraft draft;
    if (event.message_type == "ERR^R01") {
      return Status::invalidArgument("template 'results' needs patient.email");
    }
    if (event.message_type != "ADT^A03") {
      draft.reason = "no mapping matched " + event.message_type;
      return draft;
    }
    draft.state = InboundState::Mapped;
    DraftMessage d;
    d.message.mapping = mapping_;
    d.message.idempotency_key = mapping_ + ":" + event.dedupe_key;
    d.message.patient_key = "p1";
    d.message.purpose = "aftercare";
    d.message.channel = ChannelKind::SecureInbox;
    d.content.text = std::string(payload);
    draft.messages.push_back(d);
    return draft;
  }
  std::vector<std::int64_t> seen;

 private:
  std::string mapping_;
};

class MapperServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<SystemClock>();
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    messages_ = std::make_shared<SqliteMessageStore>(store_);
    cipher_ = std::make_shared<test::FakeCipher>();
    mapper_ = std::make_shared<FakeMapper>();
  }

  std::int64_t receive(const std::string& key, const std::string& type, const std::string& payload,
                       const std::string& aad = "") {
    NewInboundEvent e;
    e.dedupe_key = key;
    e.message_type = type;
    e.received_at = clock_->now();
    e.sealed_payload = *cipher_->seal(payload, aad.empty() ? key : aad);
    return store_->commitInbound(e, clock_->steadyNow() + std::chrono::seconds(30))->event_id;
  }

  std::unique_ptr<MapperService> service(EventMapperPtr mapper) {
    return std::make_unique<MapperService>(store_, messages_, cipher_, clock_, std::move(mapper),
                                           [this](ChannelKind channel) {
                                             ++notified_;
                                             notified_channel_ = channel;
                                           });
  }

  InboundEventRecord event(std::int64_t id) { return *store_->getInbound(id); }

  test::TempDir dir_;
  std::shared_ptr<SystemClock> clock_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteMessageStore> messages_;
  std::shared_ptr<test::FakeCipher> cipher_;
  std::shared_ptr<FakeMapper> mapper_;
  std::atomic<int> notified_{0};
  std::atomic<ChannelKind> notified_channel_{ChannelKind::Email};
};

TEST_F(MapperServiceTest, MapsEventsInReceiveOrderAndSealsContentPerMessage) {
  const std::int64_t a = receive("e1", "ADT^A03", "MSH|first");
  const std::int64_t b = receive("e2", "ADT^A01", "MSH|second");
  const std::int64_t c = receive("e3", "ADT^A03", "MSH|third");
  auto mapper = service(mapper_);
  EXPECT_EQ(*mapper->runOnce(), 3u);
  EXPECT_EQ(mapper_->seen, (std::vector<std::int64_t>{a, b, c}));
  EXPECT_EQ(event(a).state, InboundState::Mapped);
  EXPECT_EQ(event(b).state, InboundState::Ignored);
  EXPECT_EQ(event(c).state, InboundState::Mapped);

  const auto created = messages_->findMessages({});
  ASSERT_EQ(created->size(), 2u);
  EXPECT_EQ((*created)[1].event_id, c);
  const std::string sealed = *messages_->sealedMessageContent((*created)[1].id, std::nullopt);
  EXPECT_EQ(sealed.rfind("sealed:discharge:e3:", 0), 0u);  // AAD = idempotency key
  const auto content = parseMessageContent(*cipher_->open(sealed, "discharge:e3"));
  EXPECT_EQ(content->text, "MSH|third");

  EXPECT_EQ(notified_.load(), 2);
  EXPECT_EQ(notified_channel_.load(), ChannelKind::SecureInbox);  // the messages' channel
  EXPECT_EQ(mapper->stats().mapped, 2u);
  EXPECT_EQ(mapper->stats().ignored, 1u);
  EXPECT_EQ(mapper->stats().messages, 2u);
  EXPECT_EQ(*mapper->runOnce(), 0u);  // nothing is mapped twice
}

TEST_F(MapperServiceTest, EventsTheEngineCannotMapAreHeldWithTheReason) {
  const std::int64_t failing = receive("e1", "ERR^R01", "MSH|x");
  const std::int64_t unreadable = receive("e2", "ADT^A03", "MSH|y", "moved-from-another-row");
  const std::int64_t fine = receive("e3", "ADT^A03", "MSH|z");
  auto mapper = service(mapper_);
  EXPECT_EQ(*mapper->runOnce(), 3u);
  EXPECT_EQ(event(failing).state, InboundState::Held);
  EXPECT_EQ(event(unreadable).state, InboundState::Held);
  EXPECT_EQ(event(fine).state, InboundState::Mapped);
  EXPECT_EQ(mapper_->seen, (std::vector<std::int64_t>{failing, fine}));
  EXPECT_EQ(mapper->stats().held, 2u);

  std::vector<std::string> reasons;
  const auto audit = store_->listAudit(0, 100);
  for (const AuditRecord& r : *audit) {
    if (r.entry.action == "held") {
      reasons.push_back(r.entry.object + " " + r.entry.reason);
    }
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{
                         "inbound_event:1 mapping error: template 'results' needs patient.email",
                         "inbound_event:2 payload cannot be opened: data_loss"}));
}

TEST_F(MapperServiceTest, WithoutMappingsEventsAreHeldAndAReloadAppliesToLaterEvents) {
  const std::int64_t early = receive("e1", "ADT^A03", "MSH|a");
  auto mapper = service(nullptr);
  EXPECT_EQ(*mapper->runOnce(), 1u);
  EXPECT_EQ(event(early).state, InboundState::Held);

  mapper->setMapper(std::make_shared<FakeMapper>("reloaded"));
  const std::int64_t later = receive("e2", "ADT^A03", "MSH|b");
  EXPECT_EQ(*mapper->runOnce(), 1u);
  EXPECT_EQ(event(later).state, InboundState::Mapped);
  EXPECT_EQ(messages_->findMessages({})->at(0).mapping, "reloaded");
}

TEST_F(MapperServiceTest, BackgroundThreadMapsWhenWoken) {
  auto mapper = service(mapper_);
  mapper->start(std::chrono::seconds(30));
  const std::int64_t id = receive("e1", "ADT^A03", "MSH|a");
  mapper->wake();
  EXPECT_TRUE(test::waitFor([&] { return event(id).state == InboundState::Mapped; },
                            std::chrono::seconds(10)));
  mapper->stop();
  EXPECT_EQ(notified_.load(), 1);
}

}  // namespace
}  // namespace gw
