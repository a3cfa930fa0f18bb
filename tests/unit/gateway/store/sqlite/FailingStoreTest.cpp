// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "tests/support/FailingStore.h"
#include "tests/support/InMemoryStore.h"

namespace gw::test {
namespace {

NewInboundEvent event(const std::string& key) {
  NewInboundEvent e;
  e.dedupe_key = key;
  return e;
}

TEST(FailingStoreTest, FailsOnlyTheChosenCall) {
  auto inner = std::make_shared<InMemoryStore>();
  FailingStore store(inner, 2, StatusCode::Unavailable);
  EXPECT_TRUE(store.commitInbound(event("a"), Deadline::max()).ok());
  Result<IntakeReceipt> failed = store.commitInbound(event("b"), Deadline::max());
  EXPECT_EQ(failed.status().code(), StatusCode::Unavailable);
  EXPECT_TRUE(store.commitInbound(event("b"), Deadline::max()).ok());
  EXPECT_EQ(store.commitCalls(), 3u);
  EXPECT_EQ(inner->eventCount(), 2u);  // the failed call never reached the inner store
  EXPECT_EQ(store.listInbound({})->size(), 2u);
}

TEST(FailingStoreTest, FailsFromACallOnwards) {
  FailingStore store(nullptr, 0);
  EXPECT_TRUE(store.commitInbound(event("a"), Deadline::max()).ok());
  store.failFrom(2, StatusCode::DeadlineExceeded);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store.commitInbound(event("x"), Deadline::max()).status().code(),
              StatusCode::DeadlineExceeded);
  }
  store.failCall(1, StatusCode::Internal);  // already past: nothing fails any more
  EXPECT_TRUE(store.commitInbound(event("b"), Deadline::max()).ok());
}

std::vector<Result<IntakeReceipt>> commitBatch(Store& store, std::vector<NewInboundEvent> events) {
  std::vector<Result<IntakeReceipt>> out;
  store.commitInboundBatch(
      std::move(events), Deadline::max(),
      [&out](std::vector<Result<IntakeReceipt>> results) { out = std::move(results); });
  return out;
}

TEST(FailingStoreTest, ABatchWithAFailingCallFailsAsAWhole) {
  auto inner = std::make_shared<InMemoryStore>();
  FailingStore store(inner, 3, StatusCode::Unavailable);
  const auto first = commitBatch(store, {event("a"), event("b")});  // calls 1 and 2
  ASSERT_EQ(first.size(), 2u);
  EXPECT_TRUE(first[0].ok() && first[1].ok());
  const auto second = commitBatch(store, {event("c"), event("d")});  // call 3 fails: both fail
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].status().code(), StatusCode::Unavailable);
  EXPECT_EQ(second[1].status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store.commitCalls(), 4u);
  EXPECT_EQ(inner->eventCount(), 2u);
  EXPECT_EQ(inner->batchSizes(), std::vector<std::size_t>{2});
}

}  // namespace
}  // namespace gw::test
