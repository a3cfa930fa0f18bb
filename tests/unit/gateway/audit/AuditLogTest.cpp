// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditLog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "gateway/audit/Checkpoint.h"
#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteStore.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

constexpr char kOrigin[] = "gateway.example.invalid/audit";

class FixedClock final : public Clock {
 public:
  SystemTime now() const override { return fromUnixMillis(1706702400123); }
  SteadyTime steadyNow() const override { return SteadyTime(std::chrono::hours(1)); }
};

const Deadline kLongDeadline = SteadyTime(std::chrono::hours(1)) + std::chrono::seconds(60);

NewInboundEvent event(int n) {
  NewInboundEvent e;
  e.source = EventSource::Hl7v2;
  e.dedupe_key = "key-" + std::to_string(n);
  e.listener = "adt";
  e.peer = "10.0.0.5:51234";
  e.sending_application = "EPIC";
  e.sending_facility = "MAIN";
  e.control_id = "MSG" + std::to_string(n);
  e.message_type = "ADT^A01";
  e.version = "2.5.1";
  e.received_at = fromUnixMillis(1706702399000);
  e.payload_bytes = 10;
  e.sealed_payload = "sealed-" + std::to_string(n);
  return e;
}

// What an attacker with write access to the database file can do: bypass the store.
class RawDatabase {
 public:
  explicit RawDatabase(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDatabase() { sqlite3_close(db_); }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error != nullptr ? error : "");
    sqlite3_free(error);
  }
  void dropAuditTriggers() {
    exec("DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete;");
  }

 private:
  sqlite3* db_ = nullptr;
};

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.path = (dir_.path() / "gateway.db").string();
    settings_.durability = "process";
    signer_ = std::shared_ptr<const AuditSigner>(AuditSigner::generateForTest(kOrigin).value());
    openStore();
  }

  void openStore() {
    Result<std::shared_ptr<SqliteStore>> store =
        SqliteStore::open(settings_, std::make_shared<FixedClock>());
    ASSERT_TRUE(store.ok()) << store.status().toString();
    store_ = *store;
    log_ = std::make_shared<AuditLog>(store_, signer_);
  }
  void reopenStore() {
    log_.reset();
    store_->close();
    store_.reset();
    openStore();
  }

  // Commits events n..n+count-1 (one "received" audit record each).
  void commit(int first, int count) {
    for (int n = first; n < first + count; ++n) {
      Result<IntakeReceipt> r = store_->commitInbound(event(n), kLongDeadline);
      ASSERT_TRUE(r.ok()) << r.status().toString();
    }
  }

  std::optional<AuditCheckpoint> checkpoint() {
    Result<std::optional<AuditCheckpoint>> c = log_->writeCheckpoint();
    EXPECT_TRUE(c.ok()) << c.status().toString();
    return c.ok() ? *c : std::nullopt;
  }

  // 20 records under a checkpoint at 20, then 5 more not yet checkpointed... unless `all`.
  void populate() {
    commit(1, 12);
    AuditEntry view;
    view.actor = "operator:alice";
    view.action = "viewed_payload";
    view.object = "inbound_event:3";
    view.outcome = "ok";
    view.source = "cli";
    view.reason = "ticket 7";
    ASSERT_TRUE(store_->readSealedPayload(3, view).ok());
    commit(1, 2);  // duplicates
    AuditEntry rotated;
    rotated.actor = "operator:bob";
    rotated.action = "key_rotated";
    rotated.object = "kek:kek-20240131-00000000";
    rotated.outcome = "ok";
    ASSERT_EQ(store_->appendAudit(rotated).value(), 16);
    commit(13, 4);
    ASSERT_TRUE(checkpoint().has_value());  // size 20
  }

  Status verify() { return log_->verify().status(); }

  test::TempDir dir_;
  SqliteStoreSettings settings_;
  std::shared_ptr<const AuditSigner> signer_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, EmptyLogVerifiesAndWritesNoCheckpoint) {
  Result<AuditVerifyReport> report = log_->verify();
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_EQ(report->records, 0);
  EXPECT_EQ(report->root, merkle::emptyRoot());
  EXPECT_FALSE(checkpoint().has_value());
  EXPECT_EQ(log_->prove(0).status().code(), StatusCode::NotFound);
}

TEST_F(AuditLogTest, VerifyPassesAfterCommitsAndMatchesAnIndependentTree) {
  populate();
  commit(100, 7);
  const std::optional<AuditCheckpoint> second = checkpoint();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->tree_size, 27);
  EXPECT_FALSE(checkpoint().has_value()) << "no checkpoint when the tree did not grow";
  commit(200, 3);  // not yet checkpointed: still verified leaf by leaf

  Result<AuditVerifyReport> report = log_->verify();
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_EQ(report->records, 30);
  EXPECT_EQ(report->checkpoints, 2);
  ASSERT_TRUE(report->latest.has_value());
  EXPECT_EQ(report->latest->tree_size, 27);

  MerkleTree tree;
  const std::vector<AuditRecord> records = store_->listAudit(0, 1000).value();
  for (const AuditRecord& r : records) {
    EXPECT_EQ(auditLeafHash(r.seq, r.entry).value(), r.leaf_hash);
    tree.append(*merkle::fromHex(r.leaf_hash));
  }
  EXPECT_EQ(report->root, tree.root());
  EXPECT_EQ(second->root_hash, merkle::toHex(tree.rootAt(27).value()));
  Checkpoint signed_head = parseCheckpoint(signer_->open(second->note).value()).value();
  EXPECT_EQ(signed_head.origin, kOrigin);
  EXPECT_EQ(signed_head.tree_size, 27u);
  // The two checkpoints are consistent (the later tree extends the earlier one).
  const std::vector<AuditCheckpoint> rows = store_->listCheckpoints(0, 10).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(merkle::verifyConsistency(
      20, 27, *merkle::fromHex(rows[0].root_hash), *merkle::fromHex(rows[1].root_hash),
      tree.consistencyProof(20, 27).value()));
}

TEST_F(AuditLogTest, ResumesAfterReopenWithoutRewritingTheCheckpoint) {
  populate();
  reopenStore();  // a fresh AuditLog reads everything again and anchors on the checkpoint
  EXPECT_FALSE(checkpoint().has_value());
  commit(300, 2);
  const std::optional<AuditCheckpoint> next = checkpoint();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->tree_size, 22);
  EXPECT_TRUE(verify().isOk());
}

TEST_F(AuditLogTest, ProvesEveryIndexAgainstTheLatestCheckpoint) {
  populate();
  commit(400, 3);  // beyond the checkpoint
  const std::vector<AuditRecord> records = store_->listAudit(0, 1000).value();
  for (std::uint64_t index = 0; index < 20; ++index) {
    Result<AuditInclusionProof> proof = log_->prove(index);
    ASSERT_TRUE(proof.ok()) << index << ": " << proof.status().toString();
    EXPECT_EQ(proof->tree_size, 20u);
    EXPECT_EQ(proof->seq, static_cast<std::int64_t>(index) + 1);
    EXPECT_EQ(merkle::toHex(proof->leaf_hash), records[index].leaf_hash);
    EXPECT_TRUE(merkle::verifyInclusion(index, 20, proof->leaf_hash, proof->path, proof->root));
  }
  Result<AuditInclusionProof> beyond = log_->prove(20);
  EXPECT_EQ(beyond.status().code(), StatusCode::NotFound);
  EXPECT_THAT(beyond.status().message(), HasSubstr("not covered"));
}

TEST_F(AuditLogTest, EditedFieldIsReportedAtItsRecord) {
  populate();
  {
    RawDatabase raw(settings_.path);
    raw.dropAuditTriggers();
    raw.exec("UPDATE audit_records SET reason = 'nothing to see' WHERE seq = 13");
  }
  reopenStore();
  const Status s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit record seq=13: leaf hash mismatch"));
  EXPECT_EQ(log_->prove(2).status().code(), StatusCode::DataLoss);
  Result<std::optional<AuditCheckpoint>> refused = log_->writeCheckpoint();
  EXPECT_EQ(refused.status().code(), StatusCode::DataLoss) << "never signs over tampering";
}

TEST_F(AuditLogTest, EditedFieldWithRecomputedLeafHashIsCaughtByTheCheckpoint) {
  populate();
  AuditRecord r = store_->listAudit(6, 1).value().at(0);
  r.entry.actor = "listener:somebody-else";
  const std::string forged = auditLeafHash(r.seq, r.entry).value();
  {
    RawDatabase raw(settings_.path);
    raw.dropAuditTriggers();
    raw.exec("UPDATE audit_records SET actor = 'listener:somebody-else', leaf_hash = '" + forged +
             "' WHERE seq = 7");
  }
  reopenStore();
  const Status s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit records seq=1..20"));
  EXPECT_THAT(s.message(), HasSubstr("checkpoint id=1"));
}

TEST_F(AuditLogTest, DeletedRecordIsReportedAsAGapAtItsSeq) {
  populate();
  {
    RawDatabase raw(settings_.path);
    raw.dropAuditTriggers();
    raw.exec("DELETE FROM audit_records WHERE seq = 5");
  }
  reopenStore();
  const Status s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit record seq=5: missing"));
}

TEST_F(AuditLogTest, SwappedRecordsAreReportedAtTheFirstMovedOne) {
  populate();
  {
    RawDatabase raw(settings_.path);
    raw.dropAuditTriggers();
    // Swap everything but seq between records 8 and 9 (their leaf hashes move with them).
    raw.exec(
        "CREATE TEMP TABLE t AS SELECT * FROM audit_records WHERE seq IN (8, 9);"
        "UPDATE audit_records SET (time, actor, action, object, outcome, source, reason, "
        "leaf_hash) = (SELECT time, actor, action, object, outcome, source, reason, leaf_hash "
        "FROM t WHERE t.seq = 17 - audit_records.seq) WHERE seq IN (8, 9);");
  }
  reopenStore();
  const Status s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit record seq=8: leaf hash mismatch"));
}

TEST_F(AuditLogTest, TruncatedTableIsReportedAgainstTheCheckpoint) {
  populate();
  {
    RawDatabase raw(settings_.path);
    raw.dropAuditTriggers();
    raw.exec("DELETE FROM audit_records WHERE seq > 11");
  }
  reopenStore();
  Status s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit record seq=12: missing"));
  EXPECT_THAT(s.message(), HasSubstr("truncated"));
  EXPECT_EQ(log_->writeCheckpoint().status().code(), StatusCode::DataLoss);

  {
    RawDatabase raw(settings_.path);
    raw.exec("DELETE FROM audit_records");
  }
  reopenStore();
  s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit record seq=1: missing"));
}

TEST_F(AuditLogTest, TamperedOrForeignCheckpointIsReported) {
  populate();
  {
    RawDatabase raw(settings_.path);
    raw.exec(
        "DROP TRIGGER audit_checkpoints_no_update;"
        "UPDATE audit_checkpoints SET note = replace(note, char(10) || '20' || char(10), "
        "char(10) || '19' || char(10)), tree_size = 19 WHERE id = 1");
  }
  reopenStore();
  Status s = verify();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit checkpoint id=1"));
  EXPECT_THAT(s.message(), HasSubstr("does not verify"));

  // The same database checked with another key: no signature by that key.
  auto other = std::shared_ptr<const AuditSigner>(AuditSigner::generateForTest(kOrigin).value());
  s = AuditLog(store_, other).verify().status();
  EXPECT_EQ(s.code(), StatusCode::DataLoss);
  EXPECT_THAT(s.message(), HasSubstr("audit checkpoint id=1"));
}

TEST_F(AuditLogTest, CheckpointerWritesAFinalCheckpointOnStop) {
  commit(1, 3);
  std::vector<std::int64_t> sizes;
  AuditCheckpointer checkpointer(log_, std::chrono::seconds(3600),
                                 [&](const Status& status, const std::optional<AuditCheckpoint>& c) {
                                   EXPECT_TRUE(status.isOk());
                                   if (c) {
                                     sizes.push_back(c->tree_size);
                                   }
                                 });
  checkpointer.start();
  commit(10, 2);
  EXPECT_TRUE(checkpointer.stop().isOk());
  EXPECT_TRUE(checkpointer.stop().isOk());  // idempotent, writes nothing more
  EXPECT_EQ(sizes, std::vector<std::int64_t>{5});
  EXPECT_EQ(store_->latestCheckpoint().value()->tree_size, 5);
}

}  // namespace
}  // namespace gw
