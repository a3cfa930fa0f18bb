// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/OperatorActions.h"

#include <gtest/gtest.h>

#include "tests/support/FakeCipher.h"
#include "tests/support/InMemoryStore.h"

namespace gw {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(OperatorActionsTest, IsoTimesRoundTrip) {
  const SystemTime t = system_clock::from_time_t(1767225600) + milliseconds(42);  // 2026-01-01
  EXPECT_EQ(formatIsoTime(t), "2026-01-01T00:00:00.042Z");
  EXPECT_EQ(parseIsoTime("2026-01-01T00:00:00.042Z"), t);
  EXPECT_EQ(parseIsoTime("2026-01-01T00:00:00Z"), t - milliseconds(42));
  EXPECT_EQ(parseIsoTime("2026-01-01"), t - milliseconds(42));
  EXPECT_EQ(parseIsoTime("2024-02-29"), system_clock::from_time_t(1709164800));
}

TEST(OperatorActionsTest, MalformedIsoTimesAreRefused) {
  for (const char* bad : {"", "yesterday", "2026-1-01", "2026-02-30", "2025-02-29",
                          "2026-13-01", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00",
                          "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00.5Z",
                          "2026-01-01 00:00:00Z", "2026-01-01T00:00:00ZZ"}) {
    EXPECT_FALSE(parseIsoTime(bad).has_value()) << bad;
  }
}

TEST(OperatorActionsTest, ViewingAPayloadNeedsAReasonAndAuditsTheRead) {
  auto store = std::make_shared<test::InMemoryStore>();
  test::FakeCipher cipher;
  NewInboundEvent event;
  event.dedupe_key = "dk";
  event.sealed_payload = *cipher.seal("PID|1||SYN000101", "dk");
  const std::int64_t id =
      store->commitInbound(event, std::chrono::steady_clock::now() + std::chrono::seconds(5))
          ->event_id;
  const InboundEventRecord record = *store->getInbound(id);
  const std::size_t before = store->auditCount();
  EXPECT_EQ(viewEventPayload(*store, cipher, record, {"operator:olga", "cli", ""}).status().code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(store->auditCount(), before);
  Result<std::string> shown =
      viewEventPayload(*store, cipher, record, {"operator:olga", "cli", "ticket 1"});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(*shown, "PID|1||SYN000101");
  const AuditRecord view = store->listAudit(0, 100)->back();
  EXPECT_EQ(view.entry.action, "viewed_payload");
  EXPECT_EQ(view.entry.reason, "ticket 1");
  EXPECT_EQ(view.entry.actor, "operator:olga");
}

}  // namespace
}  // namespace gw
