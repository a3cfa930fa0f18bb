// SPDX-License-Identifier: Apache-2.0
// The audit additions to the Store contract (appendAudit, checkpoints), run against every Store.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteStore.h"
#include "tests/support/FailingStore.h"
#include "tests/support/InMemoryStore.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

class FixedClock final : public Clock {
 public:
  SystemTime now() const override { return fromUnixMillis(1706702400123); }
  SteadyTime steadyNow() const override { return SteadyTime(std::chrono::hours(1)); }
};

struct StoreCase {
  std::string name;
  std::function<StorePtr(const std::string& dir)> make;
};

class AuditStoreTest : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override { store_ = GetParam().make(dir_.path().string()); }
  test::TempDir dir_;
  StorePtr store_;
};

AuditEntry entry(const std::string& action) {
  AuditEntry e;
  e.actor = "operator:alice";
  e.action = action;
  e.object = "kek:kek-1";
  e.outcome = "ok";
  e.source = "cli";
  return e;
}

TEST_P(AuditStoreTest, AppendAuditAssignsTheNextSeqAndTheClockTime) {
  ASSERT_EQ(store_->appendAudit(entry("key_rotated")).value(), 1);
  AuditEntry timed = entry("login");
  timed.time = fromUnixMillis(1000);
  ASSERT_EQ(store_->appendAudit(timed).value(), 2);
  const std::vector<AuditRecord> records = store_->listAudit(0, 10).value();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].entry.action, "key_rotated");
  EXPECT_EQ(records[0].entry.time, fromUnixMillis(1706702400123));
  EXPECT_EQ(records[1].entry.time, fromUnixMillis(1000));
}

TEST_P(AuditStoreTest, CheckpointsAreAppendedListedInPagesAndTheLatestIsFound) {
  EXPECT_FALSE(store_->latestCheckpoint().value().has_value());
  for (int i = 1; i <= 5; ++i) {
    AuditCheckpoint c;
    c.tree_size = i * 10;
    c.root_hash = std::string(64, static_cast<char>('0' + i));
    c.note = "note " + std::to_string(i);
    ASSERT_EQ(store_->appendCheckpoint(c).value(), i);
  }
  const std::vector<AuditCheckpoint> first = store_->listCheckpoints(0, 2).value();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].id, 2);
  const std::vector<AuditCheckpoint> rest = store_->listCheckpoints(2, 100).value();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].tree_size, 30);
  EXPECT_EQ(rest[0].note, "note 3");
  EXPECT_EQ(rest[0].created_at, fromUnixMillis(1706702400123));
  const std::optional<AuditCheckpoint> latest = store_->latestCheckpoint().value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, 5);
  EXPECT_EQ(latest->root_hash, std::string(64, '5'));

  AuditCheckpoint negative;
  negative.tree_size = -1;
  EXPECT_EQ(store_->appendCheckpoint(negative).status().code(), StatusCode::InvalidArgument);
}

TEST_P(AuditStoreTest, AfterCloseEverythingIsUnavailable) {
  store_->close();
  EXPECT_EQ(store_->appendAudit(entry("x")).status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store_->appendCheckpoint(AuditCheckpoint()).status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store_->listCheckpoints(0, 1).status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store_->latestCheckpoint().status().code(), StatusCode::Unavailable);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, AuditStoreTest,
    ::testing::Values(
        StoreCase{"sqlite",
                  [](const std::string& dir) -> StorePtr {
                    SqliteStoreSettings s;
                    s.path = dir + "/gateway.db";
                    return SqliteStore::open(s, std::make_shared<FixedClock>()).value();
                  }},
        StoreCase{"in_memory",
                  [](const std::string&) -> StorePtr {
                    return std::make_shared<test::InMemoryStore>(std::make_shared<FixedClock>());
                  }},
        StoreCase{"failing_store_forwarding",
                  [](const std::string&) -> StorePtr {
                    return std::make_shared<test::FailingStore>(
                        std::make_shared<test::InMemoryStore>(std::make_shared<FixedClock>()), 0);
                  }}),
    [](const ::testing::TestParamInfo<StoreCase>& param_info) { return param_info.param.name; });

TEST(SqliteAuditStoreTest, StandaloneRecordsGetLeafHashesAndCheckpointsAreAppendOnly) {
  test::TempDir dir;
  SqliteStoreSettings s;
  s.path = (dir.path() / "gateway.db").string();
  auto store = SqliteStore::open(s, std::make_shared<FixedClock>()).value();
  ASSERT_EQ(store->appendAudit(entry("key_rotated")).value(), 1);
  const AuditRecord r = store->listAudit(0, 1).value().at(0);
  EXPECT_EQ(r.leaf_hash, auditLeafHash(r.seq, r.entry).value());
  AuditCheckpoint c;
  c.tree_size = 1;
  c.root_hash = r.leaf_hash;
  c.note = "n";
  ASSERT_TRUE(store->appendCheckpoint(c).ok());
  store->close();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(s.path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_checkpoints SET tree_size = 2", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_checkpoints", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace
}  // namespace gw
