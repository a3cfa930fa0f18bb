// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "tests/support/InMemoryStore.h"

namespace gw::test {
namespace {

const Deadline kFar = Deadline::max();

NewInboundEvent event(const std::string& key, const std::string& control_id = "C1") {
  NewInboundEvent e;
  e.dedupe_key = key;
  e.listener = "adt";
  e.peer = "10.0.0.5:1";
  e.control_id = control_id;
  e.sealed_payload = "sealed-" + key;
  return e;
}

TEST(InMemoryStoreTest, CommitsDedupesAndAudits) {
  InMemoryStore store;
  EXPECT_EQ(store.commitInbound(event("a"), kFar)->event_id, 1);
  EXPECT_EQ(store.commitInbound(event("b", "C2"), kFar)->event_id, 2);
  Result<IntakeReceipt> again = store.commitInbound(event("a"), kFar);
  EXPECT_EQ(again->event_id, 1);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(store.getInbound(1)->duplicates, 1);
  EXPECT_EQ(store.eventCount(), 2u);

  const std::vector<AuditRecord> audit = store.listAudit(0, 100).value();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].entry.action, "received");
  EXPECT_EQ(audit[0].entry.actor, "listener:adt");
  EXPECT_EQ(audit[2].entry.action, "duplicate");
  EXPECT_EQ(audit[2].entry.object, "inbound_event:1");
  EXPECT_EQ(store.listAudit(1, 1)->at(0).seq, 2);
}

TEST(InMemoryStoreTest, ReadsPayloadWithAuditAndFilters) {
  InMemoryStore store;
  ASSERT_TRUE(store.commitInbound(event("a"), kFar).ok());
  ASSERT_TRUE(store.commitInbound(event("b", "C2"), kFar).ok());
  ASSERT_TRUE(store.commitInbound(event("c"), kFar).ok());
  AuditEntry view;
  view.action = "viewed_payload";
  EXPECT_EQ(store.readSealedPayload(2, view).value(), "sealed-b");
  EXPECT_EQ(store.auditCount(), 4u);
  EXPECT_EQ(store.readSealedPayload(9, view).status().code(), StatusCode::NotFound);
  EXPECT_EQ(store.auditCount(), 4u);

  InboundQuery query;
  query.control_id = "C1";
  query.after_id = 1;
  ASSERT_EQ(store.listInbound(query)->size(), 1u);
  EXPECT_EQ(store.listInbound(query)->at(0).id, 3);
  ASSERT_TRUE(store.setStateForTest(3, InboundState::Held).ok());
  InboundQuery held;
  held.state = InboundState::Held;
  EXPECT_EQ(store.listInbound(held)->size(), 1u);
  EXPECT_EQ(store.getInbound(7).status().code(), StatusCode::NotFound);
}

TEST(InMemoryStoreTest, ClosedStoreIsUnavailable) {
  InMemoryStore store;
  store.close();
  EXPECT_EQ(store.commitInbound(event("a"), kFar).status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store.listInbound({}).status().code(), StatusCode::Unavailable);
}

}  // namespace
}  // namespace gw::test
