// SPDX-License-Identifier: Apache-2.0
#include "tests/support/FailingStore.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace gw::test
