// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/core/Housekeeping.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using std::chrono::hours;

TEST(HousekeepingTest, ExpiresMessagesAndPurgesPayloadsInBatches) {
  test::TempDir dir;
  auto clock = std::make_shared<test::ManualClock>();
  SqliteStoreSettings settings;
  settings.path = (dir.path() / "gateway.db").string();
  std::shared_ptr<SqliteStore> store = *SqliteStore::open(settings, clock);
  auto messages = std::make_shared<SqliteMessageStore>(store);

  for (int i = 0; i < 5; ++i) {
    NewInboundEvent e;
    e.dedupe_key = "e" + std::to_string(i);
    e.received_at = clock->now();
    e.sealed_payload = "sealed";
    const std::int64_t id = store->commitInbound(e, clock->steadyNow() + hours(1))->event_id;
    MappingOutcome outcome;
    outcome.event_id = id;
    NewPatientMessage m;
    m.event_id = id;
    m.idempotency_key = "m" + std::to_string(i);
    m.mapping = "discharge";
    m.not_before = clock->now();
    m.expires_at = clock->now() + hours(24 * (i < 3 ? 1 : 60));
    m.sealed_content = "content";
    outcome.messages = {m};
    ASSERT_TRUE(messages->commitMapping(outcome).ok());
  }

  RetentionSettings retention;
  retention.payload_retention = hours(24 * 30);
  retention.batch = 2;  // forces several transactions per pass
  Housekeeping housekeeping(messages, clock, retention);
  ASSERT_TRUE(housekeeping.runOnce().isOk());
  EXPECT_EQ(housekeeping.stats().messages_expired, 0u);
  EXPECT_EQ(housekeeping.stats().payloads_purged, 0u);

  clock->advance(hours(48));
  ASSERT_TRUE(housekeeping.runOnce().isOk());
  EXPECT_EQ(housekeeping.stats().messages_expired, 3u);
  EXPECT_EQ(housekeeping.stats().payloads_purged, 0u);

  clock->advance(hours(24 * 30));
  ASSERT_TRUE(housekeeping.runOnce().isOk());
  EXPECT_EQ(housekeeping.stats().payloads_purged, 5u);
  EXPECT_EQ(housekeeping.stats().messages_expired, 3u);
  MessageQuery query;
  query.state = MessageState::Expired;
  const auto expired = messages->findMessages(query);
  EXPECT_EQ(expired->size(), 3u);

  RetentionSettings keep = retention;
  keep.payload_retention = hours(0);
  Housekeeping keeper(messages, clock, keep);
  ASSERT_TRUE(keeper.runOnce().isOk());
  EXPECT_EQ(keeper.stats().payloads_purged, 0u);
}

TEST(HousekeepingTest, ReleasesLeasesADeadWorkerLeftBehind) {
  test::TempDir dir;
  auto clock = std::make_shared<test::ManualClock>();
  SqliteStoreSettings settings;
  settings.path = (dir.path() / "gateway.db").string();
  std::shared_ptr<SqliteStore> store = *SqliteStore::open(settings, clock);
  auto messages = std::make_shared<SqliteMessageStore>(store);
  NewInboundEvent e;
  e.dedupe_key = "e";
  e.received_at = clock->now();
  e.sealed_payload = "sealed";
  MappingOutcome outcome;
  outcome.event_id = store->commitInbound(e, clock->steadyNow() + hours(1))->event_id;
  NewPatientMessage m;
  m.event_id = outcome.event_id;
  m.idempotency_key = "m";
  m.mapping = "discharge";
  m.not_before = clock->now();
  m.expires_at = clock->now() + hours(24);
  m.sealed_content = "content";
  outcome.messages = {m};
  ASSERT_TRUE(messages->commitMapping(outcome).ok());
  // A worker claims it and dies: the lease runs out, housekeeping puts it back.
  ASSERT_EQ(messages
                ->claimDue(ChannelKind::SecureInbox, clock->now(),
                           clock->now() + std::chrono::minutes(5), 10)
                ->size(),
            1u);
  Housekeeping housekeeping(messages, clock, RetentionSettings());
  ASSERT_TRUE(housekeeping.runOnce().isOk());
  EXPECT_EQ(housekeeping.stats().leases_released, 0u);
  clock->advance(std::chrono::minutes(6));
  ASSERT_TRUE(housekeeping.runOnce().isOk());
  EXPECT_EQ(housekeeping.stats().leases_released, 1u);
  EXPECT_EQ(messages->getMessage(1)->state, MessageState::Pending);
}

}  // namespace
}  // namespace gw
