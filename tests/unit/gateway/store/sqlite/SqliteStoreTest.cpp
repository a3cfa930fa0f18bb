// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <future>
#include <map>
#include <set>
#include <thread>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "gateway/store/sqlite/SqliteStore.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Fixed wall time (2024-01-31T12:00:00.123Z) and a steady time that never moves, so deadlines
// are exact offsets and records have known times.
class FixedClock final : public Clock {
 public:
  SystemTime now() const override { return fromUnixMillis(1706702400123); }
  SteadyTime steadyNow() const override { return SteadyTime(std::chrono::hours(1)); }
};

const SteadyTime kNow = SteadyTime(std::chrono::hours(1));
const Deadline kLongDeadline = kNow + std::chrono::seconds(60);

NewInboundEvent event(const std::string& key, const std::string& control_id = "MSG0001") {
  NewInboundEvent e;
  e.source = EventSource::Hl7v2;
  e.dedupe_key = key;
  e.listener = "adt";
  e.peer = "10.0.0.5:51234";
  e.sending_application = "EPIC";
  e.sending_facility = "MAIN";
  e.control_id = control_id;
  e.message_type = "ADT^A01";
  e.version = "2.5.1";
  e.received_at = fromUnixMillis(1706702399000);
  e.payload_bytes = 321;
  e.sealed_payload = std::string("GWE\x01\x00sealed-", 12) + key;
  return e;
}

// A second connection to the database, as another process would have.
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
  // Each row's columns joined by '|'.
  std::vector<std::string> query(const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        row += (i > 0 ? "|" : "") +
               std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
      }
      rows.push_back(row);
    }
    sqlite3_finalize(stmt);
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest() { settings_.path = (dir_.path() / "db" / "gateway.db").string(); }

  std::shared_ptr<SqliteStore> open() {
    Result<std::shared_ptr<SqliteStore>> store = SqliteStore::open(settings_, clock_);
    EXPECT_TRUE(store.ok()) << store.status().toString();
    return store.ok() ? *store : nullptr;
  }

  std::vector<InboundEventRecord> allEvents(SqliteStore& store) {
    InboundQuery all;
    all.limit = 1000000;
    return store.listInbound(all).value();
  }

  std::vector<AuditRecord> allAudit(SqliteStore& store) {
    return store.listAudit(0, 1000000).value();
  }

  // Commits `keys` from one thread each, all in one writer batch.
  std::vector<Result<IntakeReceipt>> commitInOneBatch(SqliteStore& store,
                                                      const std::vector<NewInboundEvent>& events) {
    store.holdWriterForTest();
    std::vector<std::future<Result<IntakeReceipt>>> futures;
    for (const NewInboundEvent& e : events) {
      futures.push_back(std::async(std::launch::async,
                                   [&store, e] { return store.commitInbound(e, kLongDeadline); }));
    }
    store.waitUntilQueuedForTest(events.size());
    store.releaseWriterForTest();
    std::vector<Result<IntakeReceipt>> results;
    for (auto& f : futures) {
      results.push_back(f.get());
    }
    return results;
  }

  test::TempDir dir_;
  std::shared_ptr<FixedClock> clock_ = std::make_shared<FixedClock>();
  SqliteStoreSettings settings_;
};

TEST_F(SqliteStoreTest, CommitsAndReadsBack) {
  auto store = open();
  Result<IntakeReceipt> receipt = store->commitInbound(event("k1"), kLongDeadline);
  ASSERT_TRUE(receipt.ok()) << receipt.status().toString();
  EXPECT_EQ(receipt->event_id, 1);
  EXPECT_FALSE(receipt->duplicate);

  Result<InboundEventRecord> record = store->getInbound(1);
  ASSERT_TRUE(record.ok()) << record.status().toString();
  const NewInboundEvent sent = event("k1");
  EXPECT_EQ(record->id, 1);
  EXPECT_EQ(record->source, EventSource::Hl7v2);
  EXPECT_EQ(record->dedupe_key, "k1");
  EXPECT_EQ(record->listener, sent.listener);
  EXPECT_EQ(record->peer, sent.peer);
  EXPECT_EQ(record->sending_application, sent.sending_application);
  EXPECT_EQ(record->sending_facility, sent.sending_facility);
  EXPECT_EQ(record->control_id, sent.control_id);
  EXPECT_EQ(record->message_type, sent.message_type);
  EXPECT_EQ(record->version, sent.version);
  EXPECT_EQ(record->received_at, sent.received_at);
  EXPECT_EQ(record->state, InboundState::Received);
  EXPECT_EQ(record->payload_bytes, 321u);
  EXPECT_EQ(record->duplicates, 0);

  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].seq, 1);
  EXPECT_EQ(audit[0].entry.time, clock_->now());
  EXPECT_EQ(audit[0].entry.actor, "listener:adt");
  EXPECT_EQ(audit[0].entry.action, "received");
  EXPECT_EQ(audit[0].entry.object, "inbound_event:1");
  EXPECT_EQ(audit[0].entry.outcome, "ok");
  EXPECT_EQ(audit[0].entry.source, "10.0.0.5:51234");
  EXPECT_EQ(audit[0].leaf_hash, auditLeafHash(1, audit[0].entry).value());

  EXPECT_EQ(store->getInbound(2).status().code(), StatusCode::NotFound);
}

TEST_F(SqliteStoreTest, FhirSourceAndEmptyFieldsRoundTrip) {
  auto store = open();
  NewInboundEvent e = event("k1");
  e.source = EventSource::Fhir;
  e.sending_facility.clear();
  e.sealed_payload.clear();
  ASSERT_TRUE(store->commitInbound(e, kLongDeadline).ok());
  const InboundEventRecord record = store->getInbound(1).value();
  EXPECT_EQ(record.source, EventSource::Fhir);
  EXPECT_EQ(record.sending_facility, "");
  EXPECT_EQ(store->readSealedPayload(1, AuditEntry{}).value(), "");
}

TEST_F(SqliteStoreTest, ReadSealedPayloadIsAudited) {
  auto store = open();
  ASSERT_TRUE(store->commitInbound(event("k1"), kLongDeadline).ok());
  AuditEntry view;
  view.time = fromUnixMillis(1706702500000);
  view.actor = "operator:alice";
  view.action = "viewed_payload";
  view.object = "inbound_event:1";
  view.outcome = "ok";
  view.reason = "ticket 42";
  Result<std::string> payload = store->readSealedPayload(1, view);
  ASSERT_TRUE(payload.ok()) << payload.status().toString();
  EXPECT_EQ(*payload, event("k1").sealed_payload);

  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].seq, 2);
  EXPECT_EQ(audit[1].entry.time, view.time);
  EXPECT_EQ(audit[1].entry.actor, "operator:alice");
  EXPECT_EQ(audit[1].entry.action, "viewed_payload");
  EXPECT_EQ(audit[1].entry.reason, "ticket 42");
  EXPECT_EQ(audit[1].leaf_hash, auditLeafHash(2, view).value());

  // Unknown id: NotFound and nothing audited.
  EXPECT_EQ(store->readSealedPayload(99, view).status().code(), StatusCode::NotFound);
  EXPECT_EQ(allAudit(*store).size(), 2u);
}

TEST_F(SqliteStoreTest, ResendInALaterBatchIsADuplicate) {
  auto store = open();
  ASSERT_TRUE(store->commitInbound(event("k1"), kLongDeadline).ok());
  ASSERT_TRUE(store->commitInbound(event("k2"), kLongDeadline).ok());
  for (int i = 0; i < 2; ++i) {
    Result<IntakeReceipt> again = store->commitInbound(event("k1"), kLongDeadline);
    ASSERT_TRUE(again.ok()) << again.status().toString();
    EXPECT_EQ(again->event_id, 1);
    EXPECT_TRUE(again->duplicate);
  }
  EXPECT_EQ(store->getInbound(1)->duplicates, 2);
  EXPECT_EQ(allEvents(*store).size(), 2u);
  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[2].entry.action, "duplicate");
  EXPECT_EQ(audit[2].entry.object, "inbound_event:1");
}

// An event committed under an older key format is found through the control id index when it
// is resent with a new-format key naming the old key as legacy_dedupe_key, in a later batch or
// in the same one; the same legacy key with another control id is not a match.
TEST_F(SqliteStoreTest, ResendUnderANewKeyFormatFindsTheLegacyKey) {
  auto store = open();
  ASSERT_TRUE(store->commitInbound(event("0123abcd", "C7"), kLongDeadline).ok());
  NewInboundEvent resend = event(std::string("C7\x1f" "0123abcd"), "C7");
  resend.legacy_dedupe_key = "0123abcd";
  Result<IntakeReceipt> again = store->commitInbound(resend, kLongDeadline);
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->event_id, 1);

  NewInboundEvent other = event(std::string("C8\x1f" "0123abcd"), "C8");
  other.legacy_dedupe_key = "0123abcd";
  NewInboundEvent other_again = other;
  std::promise<std::vector<Result<IntakeReceipt>>> done;
  store->commitInboundBatch({other, other_again}, kLongDeadline,
                            [&](std::vector<Result<IntakeReceipt>> r) { done.set_value(r); });
  const std::vector<Result<IntakeReceipt>> results = done.get_future().get();
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_FALSE(results[0]->duplicate);
  EXPECT_EQ(results[0]->event_id, 2);
  EXPECT_TRUE(results[1]->duplicate);
  EXPECT_EQ(results[1]->event_id, 2);
  EXPECT_EQ(store->getInbound(1)->duplicates, 1);
  EXPECT_EQ(allEvents(*store).size(), 2u);
}

TEST_F(SqliteStoreTest, SameKeyTwiceInOneBatchIsADuplicateOfTheFirst) {
  auto store = open();
  const auto results = commitInOneBatch(*store, {event("k1"), event("k1"), event("k2")});
  int duplicates = 0;
  std::set<std::int64_t> k1_ids;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().toString();
    duplicates += results[i]->duplicate ? 1 : 0;
    k1_ids.insert(results[i]->event_id);
  }
  EXPECT_EQ(duplicates, 1);
  EXPECT_EQ(k1_ids.size(), 1u);
  ASSERT_TRUE(results[2].ok());
  EXPECT_FALSE(results[2]->duplicate);
  EXPECT_EQ(allEvents(*store).size(), 2u);
  EXPECT_EQ(store->getInbound(*k1_ids.begin())->duplicates, 1);
  std::multiset<std::string> actions;
  for (const AuditRecord& r : allAudit(*store)) {
    actions.insert(r.entry.action);
  }
  EXPECT_EQ(actions, (std::multiset<std::string>{"received", "received", "duplicate"}));
}

struct ConcurrencyCase {
  std::string durability;
  int max_batch;
};

void PrintTo(const ConcurrencyCase& c, std::ostream* os) {
  *os << c.durability << ", max_batch " << c.max_batch;
}

class SqliteStoreConcurrencyTest : public SqliteStoreTest,
                                   public ::testing::WithParamInterface<ConcurrencyCase> {};

TEST_P(SqliteStoreConcurrencyTest, ManyThreadsCommitExactlyOnce) {
  settings_.durability = GetParam().durability;
  settings_.max_batch = GetParam().max_batch;
  auto store = open();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 500;
  // Every 10th key is shared by all threads; the rest are unique.
  std::vector<std::vector<Result<IntakeReceipt>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = i % 10 == 0 ? "shared-" + std::to_string(i)
                                            : "t" + std::to_string(t) + "-" + std::to_string(i);
        results[t].push_back(store->commitInbound(event(key), kLongDeadline));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::map<int, std::set<std::int64_t>> shared_ids;
  std::map<int, int> shared_firsts;
  std::set<std::int64_t> unique_ids;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const Result<IntakeReceipt>& r = results[t][i];
      ASSERT_TRUE(r.ok()) << r.status().toString();
      if (i % 10 == 0) {
        shared_ids[i].insert(r->event_id);
        shared_firsts[i] += r->duplicate ? 0 : 1;
      } else {
        EXPECT_FALSE(r->duplicate);
        EXPECT_TRUE(unique_ids.insert(r->event_id).second);
      }
    }
  }
  for (const auto& [i, ids] : shared_ids) {
    EXPECT_EQ(ids.size(), 1u) << i;
    EXPECT_EQ(shared_firsts[i], 1) << i;
    EXPECT_EQ(store->getInbound(*ids.begin())->duplicates, kThreads - 1);
  }
  const std::size_t expected_events = kThreads * kPerThread * 9 / 10 + kPerThread / 10;
  EXPECT_EQ(allEvents(*store).size(), expected_events);

  // One audit record per commit, in the same transactions: seqs 1..N without gaps.
  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::size_t received = 0;
  for (std::size_t i = 0; i < audit.size(); ++i) {
    EXPECT_EQ(audit[i].seq, static_cast<std::int64_t>(i + 1));
    received += audit[i].entry.action == "received" ? 1 : 0;
    EXPECT_EQ(audit[i].leaf_hash, auditLeafHash(audit[i].seq, audit[i].entry).value());
  }
  EXPECT_EQ(received, expected_events);
}

INSTANTIATE_TEST_SUITE_P(Durability, SqliteStoreConcurrencyTest,
                         ::testing::Values(ConcurrencyCase{"process", 1024},
                                           ConcurrencyCase{"power", 3}),
                         [](const ::testing::TestParamInfo<ConcurrencyCase>& param_info) {
                           return param_info.param.durability + "_batch" +
                                  std::to_string(param_info.param.max_batch);
                         });

TEST_F(SqliteStoreTest, ReopenKeepsDataAndContinuesAuditSequence) {
  {
    auto store = open();
    EXPECT_EQ(store->schemaVersion(), 9);
    for (const char* key : {"a", "b", "c"}) {
      ASSERT_TRUE(store->commitInbound(event(key), kLongDeadline).ok());
    }
  }  // the destructor closes
  auto store = open();
  EXPECT_EQ(store->schemaVersion(), 9);
  EXPECT_EQ(allEvents(*store).size(), 3u);
  EXPECT_TRUE(store->commitInbound(event("a"), kLongDeadline)->duplicate);
  Result<IntakeReceipt> d = store->commitInbound(event("d"), kLongDeadline);
  EXPECT_EQ(d->event_id, 4);
  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), 5u);
  EXPECT_EQ(audit.back().seq, 5);
  RawDatabase raw(settings_.path);
  EXPECT_EQ(raw.query("SELECT version FROM schema_migrations"),
            (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9"}));
}

// Housekeeping runs inside the writer: each of its selects must read only the rows it may act
// on (migration 9's partial indexes), never scan a table or sort it.
TEST_F(SqliteStoreTest, HousekeepingSelectsUseTheirPartialIndexes) {
  ASSERT_TRUE(SqliteStore::open(settings_, clock_).ok());
  RawDatabase raw(settings_.path);
  const std::pair<const char*, const char*> cases[] = {
      {housekeeping_sql::kExpireDue, "USING INDEX patient_messages_expiry"},
      {housekeeping_sql::kExpiredLeases, "USING INDEX patient_messages_leases"},
      {housekeeping_sql::kPurgeablePayloads, "USING INDEX inbound_events_purge"},
  };
  for (const auto& [sql, index] : cases) {
    std::string plan;
    for (const std::string& row : raw.query(std::string("EXPLAIN QUERY PLAN ") + sql)) {
      plan += row + "\n";
    }
    EXPECT_THAT(plan, HasSubstr(index)) << sql;
    EXPECT_THAT(plan, Not(HasSubstr("SCAN"))) << sql;
    EXPECT_THAT(plan, Not(HasSubstr("TEMP B-TREE"))) << sql;
  }
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  open()->close();
  {
    RawDatabase raw(settings_.path);
    raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  }
  Result<std::shared_ptr<SqliteStore>> store = SqliteStore::open(settings_, clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::DataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 999 is newer"));
}

TEST_F(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  test::writeFile(settings_.path, std::string(4096, 'x'));
  Result<std::shared_ptr<SqliteStore>> store = SqliteStore::open(settings_, clock_);
  EXPECT_EQ(store.status().code(), StatusCode::DataLoss) << store.status().toString();
}

TEST_F(SqliteStoreTest, RejectsBadSettings) {
  SqliteStoreSettings bad = settings_;
  bad.durability = "disk";
  EXPECT_EQ(SqliteStore::open(bad, clock_).status().code(), StatusCode::InvalidArgument);
  bad = settings_;
  bad.max_batch = 0;
  EXPECT_EQ(SqliteStore::open(bad, clock_).status().code(), StatusCode::InvalidArgument);
  bad = settings_;
  bad.path = "";
  EXPECT_EQ(SqliteStore::open(bad, clock_).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(SqliteStore::open(settings_, nullptr).status().code(), StatusCode::InvalidArgument);
}

TEST_F(SqliteStoreTest, CreatesOwnerOnlyFiles) {
  const mode_t old_umask = ::umask(022);
  auto store = open();
  ::umask(old_umask);
  ASSERT_TRUE(store->commitInbound(event("k1"), kLongDeadline).ok());
  struct stat st {};
  ASSERT_EQ(::stat(settings_.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((settings_.path + "-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_.path() / "db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(SqliteStoreTest, CheckpointsKeepTheWalBoundedAndCloseRemovesIt) {
  settings_.durability = "process";
  auto store = open();
  constexpr int kEvents = 2400;
  constexpr std::uintmax_t kPayloadBytes = 16 * 1024;
  NewInboundEvent e = event("k");
  e.sealed_payload.assign(kPayloadBytes, 'x');
  for (int i = 0; i < kEvents; ++i) {
    e.dedupe_key = "k" + std::to_string(i);
    ASSERT_TRUE(store->commitInbound(e, kLongDeadline).ok());
  }
  // Bounded by the forced checkpoint at 4000 frames of (4 KiB page + 24-byte header), plus
  // the frames of the commit that crossed it.
  const std::uintmax_t wal_bytes = std::filesystem::file_size(settings_.path + "-wal");
  EXPECT_LE(wal_bytes, 4100u * (4096 + 24));
  const std::uintmax_t total = kEvents * kPayloadBytes;
  EXPECT_GE(std::filesystem::file_size(settings_.path), total - wal_bytes);

  store->close();  // the last connection checkpoints everything and removes the WAL
  EXPECT_FALSE(std::filesystem::exists(settings_.path + "-wal"));
  EXPECT_GE(std::filesystem::file_size(settings_.path), total);
}

TEST_F(SqliteStoreTest, CloseDrainsQueuedCommitsThenRefuses) {
  auto store = open();
  store->holdWriterForTest();
  std::vector<std::future<Result<IntakeReceipt>>> futures;
  for (int i = 0; i < 5; ++i) {
    futures.push_back(std::async(std::launch::async, [&store, i] {
      return store->commitInbound(event("k" + std::to_string(i)), kLongDeadline);
    }));
  }
  store->waitUntilQueuedForTest(5);
  store->close();  // releases the hold, commits all five, then stops
  for (auto& f : futures) {
    const Result<IntakeReceipt> r = f.get();
    EXPECT_TRUE(r.ok()) << r.status().toString();
  }
  Result<IntakeReceipt> late = store->commitInbound(event("late"), kLongDeadline);
  EXPECT_EQ(late.status().code(), StatusCode::Unavailable);
  EXPECT_EQ(late.status().message(), "store is closing");
  EXPECT_EQ(store->readSealedPayload(1, AuditEntry{}).status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store->getInbound(1).status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store->listAudit(0, 10).status().code(), StatusCode::Unavailable);
  store->close();  // idempotent
  store.reset();

  auto reopened = open();
  EXPECT_EQ(allEvents(*reopened).size(), 5u);
  EXPECT_EQ(allAudit(*reopened).size(), 5u);
}

TEST_F(SqliteStoreTest, FailedStatementRollsBackTheWholeBatch) {
  auto store = open();
  RawDatabase raw(settings_.path);
  raw.exec(
      "CREATE TRIGGER poison BEFORE INSERT ON inbound_events WHEN NEW.control_id = 'POISON' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  const auto results = commitInOneBatch(*store, {event("a"), event("b", "POISON"), event("c")});
  for (const Result<IntakeReceipt>& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
    EXPECT_THAT(r.status().message(), HasSubstr("nothing was stored"));
  }
  EXPECT_TRUE(allEvents(*store).empty());
  EXPECT_TRUE(allAudit(*store).empty());

  // The senders resend once the fault is gone: stored once, audit sequence without a gap.
  raw.exec("DROP TRIGGER poison");
  for (const char* key : {"a", "b", "c"}) {
    Result<IntakeReceipt> r = store->commitInbound(event(key), kLongDeadline);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    EXPECT_FALSE(r->duplicate);
  }
  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].seq, 1);
  EXPECT_EQ(audit[2].seq, 3);
}

// What commitInboundBatch() delivered to its callback, and on which thread.
struct BatchOutcome {
  std::promise<std::vector<Result<IntakeReceipt>>> results;
  std::thread::id thread;
  std::atomic<int> calls{0};
};

Store::InboundBatchDone recordInto(BatchOutcome& outcome) {
  return [&outcome](std::vector<Result<IntakeReceipt>> results) {
    outcome.thread = std::this_thread::get_id();
    if (++outcome.calls == 1) {
      outcome.results.set_value(std::move(results));
    }
  };
}

TEST_F(SqliteStoreTest, BatchCommitsOnTheCallersThreadWithProcessDurability) {
  auto store = open();
  BatchOutcome outcome;
  std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
  store->commitInboundBatch({event("k1", "B1"), event("k2", "B2"), event("k1", "B1")},
                            kLongDeadline, recordInto(outcome));
  // No thread hop: the results are there when the call returns.
  ASSERT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(outcome.thread, std::this_thread::get_id());
  const std::vector<Result<IntakeReceipt>> results = done.get();
  ASSERT_EQ(results.size(), 3u);
  for (const Result<IntakeReceipt>& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().toString();
  }
  EXPECT_FALSE(results[0]->duplicate);
  EXPECT_FALSE(results[1]->duplicate);
  EXPECT_TRUE(results[2]->duplicate) << "a resend within the batch is a duplicate of the first";
  EXPECT_EQ(results[2]->event_id, results[0]->event_id);
  EXPECT_EQ(allEvents(*store).size(), 2u);
  std::vector<std::string> actions;
  for (const AuditRecord& r : allAudit(*store)) {
    actions.push_back(r.entry.action + " " + r.entry.object);
  }
  EXPECT_EQ(actions,
            (std::vector<std::string>{"received inbound_event:1", "received inbound_event:2",
                                      "duplicate inbound_event:1"}));
  EXPECT_EQ(outcome.calls.load(), 1);
}

TEST_F(SqliteStoreTest, BatchWithPowerDurabilityCommitsOnTheWriterAndReturnsAtOnce) {
  settings_.durability = "power";
  auto store = open();
  store->holdWriterForTest();
  BatchOutcome outcome;
  std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
  store->commitInboundBatch({event("p1"), event("p2")}, kLongDeadline, recordInto(outcome));
  // The caller was not kept waiting for the commit (and its fsync).
  EXPECT_EQ(done.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  store->releaseWriterForTest();
  const std::vector<Result<IntakeReceipt>> results = done.get();
  EXPECT_NE(outcome.thread, std::this_thread::get_id());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(allEvents(*store).size(), 2u);
}

TEST_F(SqliteStoreTest, InvalidEventInABatchIsAnsweredAloneAndTheRestCommits) {
  auto store = open();
  BatchOutcome outcome;
  std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
  store->commitInboundBatch({event("v1"), event(""), event("v3")}, kLongDeadline,
                            recordInto(outcome));
  const std::vector<Result<IntakeReceipt>> results = done.get();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(results[2].ok());
  EXPECT_EQ(allEvents(*store).size(), 2u);
  EXPECT_EQ(allAudit(*store).size(), 2u);
}

TEST_F(SqliteStoreTest, FailedStatementRollsBackTheWholeBatchRequest) {
  auto store = open();
  RawDatabase raw(settings_.path);
  raw.exec(
      "CREATE TRIGGER poison BEFORE INSERT ON inbound_events WHEN NEW.control_id = 'POISON' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  BatchOutcome outcome;
  std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
  store->commitInboundBatch({event("a"), event("b", "POISON"), event("c")}, kLongDeadline,
                            recordInto(outcome));
  for (const Result<IntakeReceipt>& r : done.get()) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
    EXPECT_THAT(r.status().message(), HasSubstr("nothing was stored"));
  }
  EXPECT_TRUE(allEvents(*store).empty());
  EXPECT_TRUE(allAudit(*store).empty());
}

TEST_F(SqliteStoreTest, BatchIsRefusedWhenClosedPastItsDeadlineOrOverTheQueueLimit) {
  settings_.max_queue = 3;
  auto store = open();
  {
    BatchOutcome outcome;
    std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
    store->commitInboundBatch({event("d1"), event("d2")}, kNow, recordInto(outcome));
    for (const Result<IntakeReceipt>& r : done.get()) {
      EXPECT_EQ(r.status().code(), StatusCode::DeadlineExceeded);
    }
  }
  store->holdWriterForTest();
  std::future<Result<IntakeReceipt>> queued = std::async(
      std::launch::async, [&store] { return store->commitInbound(event("q1"), kLongDeadline); });
  store->waitUntilQueuedForTest(1);
  {
    // 1 queued + 3 would pass max_queue (3 events).
    BatchOutcome outcome;
    std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
    store->commitInboundBatch({event("f1"), event("f2"), event("f3")}, kLongDeadline,
                              recordInto(outcome));
    for (const Result<IntakeReceipt>& r : done.get()) {
      EXPECT_EQ(r.status().code(), StatusCode::Unavailable);
      EXPECT_EQ(r.status().message(), "store queue full");
    }
  }
  store->releaseWriterForTest();
  EXPECT_TRUE(queued.get().ok());
  store->close();
  {
    BatchOutcome outcome;
    std::future<std::vector<Result<IntakeReceipt>>> done = outcome.results.get_future();
    store->commitInboundBatch({event("c1")}, kLongDeadline, recordInto(outcome));
    const std::vector<Result<IntakeReceipt>> results = done.get();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status().message(), "store is closing");
  }
}

TEST_F(SqliteStoreTest, LockedDatabaseIsUnavailable) {
  settings_.busy_timeout_ms = 20;
  auto store = open();
  RawDatabase other_process(settings_.path);
  other_process.exec("BEGIN IMMEDIATE");
  Result<IntakeReceipt> r = store->commitInbound(event("k1"), kLongDeadline);
  EXPECT_EQ(r.status().code(), StatusCode::Unavailable) << r.status().toString();
  other_process.exec("ROLLBACK");
  Result<IntakeReceipt> resent = store->commitInbound(event("k1"), kLongDeadline);
  ASSERT_TRUE(resent.ok()) << resent.status().toString();
  EXPECT_FALSE(resent->duplicate);
}

TEST_F(SqliteStoreTest, DeadlineThatPassesWhileQueuedMayStillCommit) {
  auto store = open();
  store->holdWriterForTest();
  Result<IntakeReceipt> r = store->commitInbound(event("k1"), kNow + std::chrono::milliseconds(1));
  EXPECT_EQ(r.status().code(), StatusCode::DeadlineExceeded);
  store->releaseWriterForTest();
  // The queued request commits after all; the sender's resend is answered as a duplicate.
  Result<IntakeReceipt> resent = store->commitInbound(event("k1"), kLongDeadline);
  ASSERT_TRUE(resent.ok()) << resent.status().toString();
  EXPECT_TRUE(resent->duplicate);
}

TEST_F(SqliteStoreTest, NoDeadlineWaitsForTheCommit) {
  auto store = open();
  Result<IntakeReceipt> r = store->commitInbound(event("k1"), Deadline::max());
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->event_id, 1);
}

TEST_F(SqliteStoreTest, DeadlineAlreadyPassedStoresNothing) {
  auto store = open();
  EXPECT_EQ(store->commitInbound(event("k1"), kNow).status().code(), StatusCode::DeadlineExceeded);
  EXPECT_FALSE(store->commitInbound(event("k1"), kLongDeadline)->duplicate);
}

TEST_F(SqliteStoreTest, FullQueueIsUnavailable) {
  settings_.max_queue = 2;
  auto store = open();
  store->holdWriterForTest();
  std::vector<std::future<Result<IntakeReceipt>>> futures;
  for (int i = 0; i < 2; ++i) {
    futures.push_back(std::async(std::launch::async, [&store, i] {
      return store->commitInbound(event("k" + std::to_string(i)), kLongDeadline);
    }));
  }
  store->waitUntilQueuedForTest(2);
  Result<IntakeReceipt> refused = store->commitInbound(event("k9"), kLongDeadline);
  EXPECT_EQ(refused.status().code(), StatusCode::Unavailable);
  EXPECT_EQ(refused.status().message(), "store queue full");
  store->releaseWriterForTest();
  for (auto& f : futures) {
    EXPECT_TRUE(f.get().ok());
  }
}

TEST_F(SqliteStoreTest, EmptyDedupeKeyIsInvalid) {
  auto store = open();
  EXPECT_EQ(store->commitInbound(event(""), kLongDeadline).status().code(),
            StatusCode::InvalidArgument);
}

TEST_F(SqliteStoreTest, ListInboundPaginatesAndFilters) {
  auto store = open();
  for (int i = 1; i <= 25; ++i) {
    ASSERT_TRUE(store
                    ->commitInbound(event("k" + std::to_string(i), "C" + std::to_string(i % 5)),
                                    kLongDeadline)
                    .ok());
  }
  {
    RawDatabase raw(settings_.path);  // the mapper's job, not yet in the Store interface
    raw.exec("UPDATE inbound_events SET state = 'held' WHERE id % 3 = 0");
  }
  const auto ids = [](const std::vector<InboundEventRecord>& records) {
    std::vector<std::int64_t> out;
    for (const InboundEventRecord& r : records) {
      out.push_back(r.id);
    }
    return out;
  };

  InboundQuery page;
  page.limit = 10;
  std::vector<std::int64_t> seen;
  for (;;) {
    const std::vector<InboundEventRecord> records = store->listInbound(page).value();
    if (records.empty()) {
      break;
    }
    EXPECT_LE(records.size(), 10u);
    for (const InboundEventRecord& r : records) {
      seen.push_back(r.id);
    }
    page.after_id = records.back().id;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], static_cast<std::int64_t>(i + 1));
  }

  InboundQuery by_control_id;
  by_control_id.control_id = "C1";
  EXPECT_EQ(ids(store->listInbound(by_control_id).value()),
            (std::vector<std::int64_t>{1, 6, 11, 16, 21}));
  by_control_id.after_id = 6;
  by_control_id.limit = 2;
  EXPECT_EQ(ids(store->listInbound(by_control_id).value()), (std::vector<std::int64_t>{11, 16}));

  InboundQuery held;
  held.state = InboundState::Held;
  EXPECT_EQ(ids(store->listInbound(held).value()),
            (std::vector<std::int64_t>{3, 6, 9, 12, 15, 18, 21, 24}));
  EXPECT_EQ(store->getInbound(3)->state, InboundState::Held);

  InboundQuery both;
  both.state = InboundState::Held;
  both.control_id = "C1";
  EXPECT_EQ(ids(store->listInbound(both).value()), (std::vector<std::int64_t>{6, 21}));

  InboundQuery none;
  none.limit = 0;
  EXPECT_TRUE(store->listInbound(none)->empty());
  none.limit = 10;
  none.state = InboundState::Mapped;
  EXPECT_TRUE(store->listInbound(none)->empty());

  EXPECT_EQ(store->listAudit(20, 3).value().size(), 3u);
  EXPECT_EQ(store->listAudit(20, 3).value()[0].seq, 21);
}

TEST_F(SqliteStoreTest, AuditRecordsAreAppendOnly) {
  auto store = open();
  ASSERT_TRUE(store->commitInbound(event("k1"), kLongDeadline).ok());
  char* error = nullptr;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(settings_.path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_records SET actor = 'x'", nullptr, nullptr, &error),
            SQLITE_OK);
  sqlite3_free(error);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_records", nullptr, nullptr, &error), SQLITE_OK);
  sqlite3_free(error);
  sqlite3_close(db);
  EXPECT_EQ(allAudit(*store).size(), 1u);
}

// The store only ever sees sealed payloads; this checks nothing of the plaintext reaches the
// clear columns or the database file when intake seals with the real cipher.
TEST_F(SqliteStoreTest, NoPayloadPlaintextInTheDatabase) {
  auto cipher = EnvelopeCipher::create(
                    KeyRing::parse("kek-1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b"
                                   "1c1d1e1f\n",
                                   "test")
                        .value())
                    .value();
  const std::string phi =
      "MSH|^~\\&|EPIC|MAIN|||20240131||ADT^A01|MSG0001|P|2.5.1\r"
      "PID|1||MRN12345^^^MAIN||DOE^JANE^Q||19800101|F|||1 MAIN ST^^SPRINGFIELD\r";
  NewInboundEvent e = event("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  e.payload_bytes = phi.size();
  e.sealed_payload = cipher->seal(phi, e.dedupe_key).value();
  {
    auto store = open();
    ASSERT_TRUE(store->commitInbound(e, kLongDeadline).ok());
    AuditEntry view;
    view.actor = "operator:alice";
    view.action = "viewed_payload";
    view.object = "inbound_event:1";
    view.outcome = "ok";
    const std::string sealed = store->readSealedPayload(1, view).value();
    EXPECT_EQ(cipher->open(sealed, e.dedupe_key).value(), phi);
  }
  RawDatabase raw(settings_.path);
  const std::vector<std::string> clear_columns = raw.query(
      "SELECT source, dedupe_key, listener, peer, sending_application, sending_facility, "
      "control_id, message_type, version, received_at, state, payload_bytes, duplicates "
      "FROM inbound_events UNION ALL "
      "SELECT actor, action, object, outcome, source, reason, leaf_hash, time, seq, '', '', '', '' "
      "FROM audit_records");
  ASSERT_EQ(clear_columns.size(), 3u);
  std::string database_bytes = test::readFile(settings_.path);
  if (std::filesystem::exists(settings_.path + "-wal")) {
    database_bytes += test::readFile(settings_.path + "-wal");
  }
  for (const char* secret : {"DOE^JANE", "MRN12345", "19800101", "1 MAIN ST", "PID|"}) {
    for (const std::string& row : clear_columns) {
      EXPECT_EQ(row.find(secret), std::string::npos) << secret << " in " << row;
    }
    EXPECT_EQ(database_bytes.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(database_bytes.find("ADT^A01"), std::string::npos);  // metadata is in clear
}

TEST_F(SqliteStoreTest, AuditRecordsFromAnotherProcessDoNotBreakCommits) {
  auto gateway = open();
  ASSERT_TRUE(gateway->commitInbound(event("a"), kLongDeadline).ok());
  {
    auto operator_cli = open();  // `gateway messages show --payload` while the gateway runs
    AuditEntry viewed;
    viewed.actor = "operator:alice";
    viewed.action = "viewed_payload";
    viewed.object = "inbound_event:1";
    viewed.outcome = "ok";
    ASSERT_TRUE(operator_cli->appendAudit(viewed).ok());
  }
  ASSERT_TRUE(gateway->commitInbound(event("b"), kLongDeadline).ok())
      << "the gateway must not reuse an audit sequence number another process took";
  const std::vector<AuditRecord> audit = allAudit(*gateway);
  ASSERT_EQ(audit.size(), 3u);
  for (std::size_t i = 0; i < audit.size(); ++i) {
    EXPECT_EQ(audit[i].seq, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(audit[1].entry.action, "viewed_payload");
  EXPECT_EQ(audit[2].entry.action, "received");
}

TEST_F(SqliteStoreTest, ReceiptRecordNamesTheAnswerSentAfterTheCommit) {
  auto store = open();
  NewInboundEvent e = event("a");
  e.answer_on_commit = "CA";
  ASSERT_TRUE(store->commitInbound(e, kLongDeadline).ok());
  ASSERT_TRUE(store->commitInbound(e, kLongDeadline).ok());
  const std::vector<AuditRecord> audit = allAudit(*store);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].entry.action, "received");
  EXPECT_EQ(audit[0].entry.reason, "answered CA");
  EXPECT_EQ(audit[1].entry.action, "duplicate");
  EXPECT_EQ(audit[1].entry.reason, "resend of an already committed event; answered CA");
}

}  // namespace
}  // namespace gw
