// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/KeysCommand.h"

#include <gtest/gtest.h>

#include "gateway/api/PatientStore.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/store/sqlite/SqliteRows.h"
#include "gateway/store/sqlite/SqliteStore.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

const std::string kOld = "kek-old 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
const std::string kNew = "kek-new a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n";

std::shared_ptr<EnvelopeCipher> cipher(const std::string& ring_text) {
  return EnvelopeCipher::create(KeyRing::parse(ring_text, "test").value()).value();
}

const SealedColumn& column(const std::string& label) {
  for (const SealedColumn& c : sealedColumns()) {
    if (c.label == label) {
      return c;
    }
  }
  ADD_FAILURE() << "no sealed column " << label;
  return sealedColumns().front();
}

std::string plainOf(int i) {
  return "MSH|^~\\&|EHR|HOSP|||20260101||ADT^A03|C" + std::to_string(i) + "|P|2.5.1\rPID|1||SYN" +
         std::to_string(i) + "\r";
}

class KeysCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = SqliteStore::open(settings, std::make_shared<SystemClock>()).value();
    for (int i = 1; i <= 5; ++i) {
      NewInboundEvent e;
      e.source = EventSource::Hl7v2;
      e.listener = "adt";
      e.control_id = "C" + std::to_string(i);
      e.message_type = "ADT^A03";
      e.dedupe_key = "key-" + std::to_string(i);
      e.payload_bytes = plainOf(i).size();
      e.sealed_payload = old_->seal(plainOf(i), e.dedupe_key).value();
      if (i == 1) {  // a FHIR event keeps its parsed form under its own associated data
        e.sealed_parsed_form =
            old_->seal("parsed form 1", parsedFormAssociatedData(e.dedupe_key)).value();
      }
      ASSERT_TRUE(store_->commitInbound(e, std::chrono::steady_clock::now() +
                                               std::chrono::seconds(10)).ok());
    }
    const std::string content = old_->seal("rendered body", "idem-1").value();
    ASSERT_TRUE(store_
                    ->write([&](SqliteSession& session) -> Status {
                      GW_ASSIGN_OR_RETURN(
                          sqlite::Statement * s,
                          session.statement(
                              "INSERT INTO patient_messages (event_id, mapping, idempotency_key, "
                              "clinical_key, patient_key, visit_key, channel, purpose, "
                              "contains_phi, state, reason, created_at, updated_at, not_before, "
                              "expires_at, sealed_content) VALUES (1, 'm', 'idem-1', 'c', 'p', "
                              "'v', 'email', 'care', 1, 'pending', '', 0, 0, 0, 0, ?)"));
                      sqlite::ResetOnExit reset(*s);
                      s->bindBlob(1, content);
                      return sqlite::stepDone(session, *s, "insert");
                    })
                    .isOk());
  }
  void TearDown() override { store_->close(); }

  std::string sealedPayload(std::int64_t id) {
    std::string sealed;
    EXPECT_TRUE(store_
                    ->read([&](SqliteSession& session) -> Status {
                      GW_ASSIGN_OR_RETURN(sqlite::Statement * s,
                                          session.statement("SELECT sealed_payload FROM "
                                                            "inbound_events WHERE id = ?"));
                      sqlite::ResetOnExit reset(*s);
                      s->bindInt(1, id);
                      if (s->step() == SQLITE_ROW) {
                        sealed = std::string(s->columnBlob(0));
                      }
                      return Status::ok();
                    })
                    .isOk());
    return sealed;
  }
  std::int64_t count(const std::string& table, const std::string& key_id) {
    const std::vector<SealedKeyCount> counts = countSealedByKey(*store_).value();
    for (const SealedKeyCount& c : counts) {
      if (c.table == table && c.key_id == key_id) {
        return c.count;
      }
    }
    return 0;
  }

  test::TempDir dir_;
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<EnvelopeCipher> old_ = cipher(kOld);
  std::shared_ptr<EnvelopeCipher> rotated_ = cipher(kOld + kNew);
};

TEST_F(KeysCommandTest, ParsedFormsAreCountedAndRewrappedWithTheirOwnAssociatedData) {
  EXPECT_EQ(count("inbound_events.parsed_form", "kek-old"), 1);
  const SealedColumn& forms = column("inbound_events.parsed_form");
  ASSERT_STREQ(forms.sealed_column, "sealed_parsed_form");
  std::int64_t after = 0;
  Result<RewrapBatch> done = rewrapBatch(*store_, *rotated_, forms, after, 10, "alice");
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->rewrapped, 1u);
  EXPECT_EQ(done->failed, 0u);
  EXPECT_EQ(count("inbound_events.parsed_form", "kek-old"), 0);
  EXPECT_EQ(count("inbound_events.parsed_form", "kek-new"), 1);
  std::string sealed;
  ASSERT_TRUE(store_
                  ->read([&](SqliteSession& session) -> Status {
                    GW_ASSIGN_OR_RETURN(sqlite::Statement * s,
                                        session.statement("SELECT sealed_parsed_form FROM "
                                                          "inbound_events WHERE id = 1"));
                    sqlite::ResetOnExit reset(*s);
                    if (s->step() == SQLITE_ROW) {
                      sealed = std::string(s->columnBlob(0));
                    }
                    return Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(rotated_->open(sealed, parsedFormAssociatedData("key-1")).value(), "parsed form 1");
}

// A patient's reply text is sealed with replyAssociatedData(dedupe key): re-wrapped with the same.
TEST_F(KeysCommandTest, ReplyTextsAreRewrappedWithTheirOwnAssociatedData) {
  const std::string dedupe = "messaging_api:r1";
  const std::string sealed_text = old_->seal("STOP please", replyAssociatedData(dedupe)).value();
  const auto sql = [&](const std::string& text, const std::string& blob) {
    std::string out;
    EXPECT_TRUE(store_
                    ->write([&](SqliteSession& session) -> Status {
                      GW_ASSIGN_OR_RETURN(sqlite::Statement * s, session.statement(text));
                      sqlite::ResetOnExit reset(*s);
                      if (!blob.empty()) {
                        s->bindBlob(1, blob);
                      }
                      const int rc = s->step();
                      if (rc == SQLITE_ROW) {
                        out = std::string(s->columnBlob(0));
                      }
                      return Status::ok();
                    })
                    .isOk());
    return out;
  };
  sql("INSERT INTO patient_replies (message_id, channel, keyword, dedupe_key, received_at, "
      "sealed_text) VALUES (1, 'messaging_api', 'stop', '" + dedupe + "', 0, ?)",
      sealed_text);
  EXPECT_EQ(count("patient_replies", "kek-old"), 1);
  std::int64_t after = 0;
  Result<RewrapBatch> done =
      rewrapBatch(*store_, *rotated_, column("patient_replies"), after, 10, "alice");
  ASSERT_TRUE(done.ok()) << done.status().toString();
  EXPECT_EQ(done->rewrapped, 1u);
  EXPECT_EQ(done->failed, 0u);
  EXPECT_EQ(count("patient_replies", "kek-new"), 1);
  const std::string now = sql("SELECT sealed_text FROM patient_replies WHERE id = 1", "");
  EXPECT_EQ(rotated_->open(now, replyAssociatedData(dedupe)).value(), "STOP please");
}

TEST_F(KeysCommandTest, CountsCiphertextsPerKeyAndTable) {
  EXPECT_EQ(count("inbound_events", "kek-old"), 5);
  EXPECT_EQ(count("patient_messages", "kek-old"), 1);
  EXPECT_EQ(count("inbound_events", "kek-new"), 0);
}

// Batches move a cursor: a run that stops part way continues where it stopped; every re-wrapped
// value opens under the new key with its own associated data and no longer under the old ring;
// each one has its audit record.
TEST_F(KeysCommandTest, RewrapsInAuditedResumableBatches) {
  const SealedColumn& events = column("inbound_events");
  std::int64_t after = 0;
  Result<RewrapBatch> first = rewrapBatch(*store_, *rotated_, events, after, 2, "alice");
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(first->rewrapped, 2u);
  EXPECT_FALSE(first->done);
  EXPECT_EQ(after, 2);
  EXPECT_EQ(count("inbound_events", "kek-old"), 3);
  EXPECT_EQ(count("inbound_events", "kek-new"), 2);

  std::int64_t restarted = 0;  // a new run starts from the beginning and skips what is done
  Result<RewrapBatch> rest = rewrapBatch(*store_, *rotated_, events, restarted, 10, "alice");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->rewrapped, 3u);
  EXPECT_TRUE(rest->done);
  EXPECT_EQ(count("inbound_events", "kek-old"), 0);
  EXPECT_EQ(count("inbound_events", "kek-new"), 5);
  EXPECT_EQ(count("patient_messages", "kek-old"), 1);  // another column, another run

  for (int i = 1; i <= 5; ++i) {
    const std::string sealed = sealedPayload(i);
    EXPECT_EQ(rotated_->open(sealed, "key-" + std::to_string(i)).value(), plainOf(i));
    EXPECT_EQ(old_->open(sealed, "key-" + std::to_string(i)).status().code(),
              StatusCode::NotFound);
  }
  Result<std::vector<AuditRecord>> audit = store_->listAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  int rewrapped = 0;
  for (const AuditRecord& r : *audit) {
    if (r.entry.action == "key_rewrapped") {
      ++rewrapped;
      EXPECT_EQ(r.entry.actor, "operator:alice");
      EXPECT_EQ(r.entry.reason, "kek kek-old -> kek-new");
      EXPECT_EQ(r.entry.object.rfind("inbound_event:", 0), 0u);
    }
  }
  EXPECT_EQ(rewrapped, 5);

  std::int64_t messages_after = 0;
  Result<RewrapBatch> messages =
      rewrapBatch(*store_, *rotated_, column("patient_messages"), messages_after, 10, "alice");
  ASSERT_TRUE(messages.ok());
  EXPECT_EQ(messages->rewrapped, 1u);
  EXPECT_EQ(count("patient_messages", "kek-new"), 1);
}

// A value that cannot be opened is left as it is and counted; the cursor passes it.
TEST_F(KeysCommandTest, UnopenableValueIsSkippedAndCounted) {
  ASSERT_TRUE(store_
                  ->write([&](SqliteSession& session) -> Status {
                    return sqlite::exec(session.db(),
                                        "UPDATE inbound_events SET dedupe_key = 'moved' WHERE id = 3",
                                        "tamper");
                  })
                  .isOk());
  std::int64_t after = 0;
  Result<RewrapBatch> run =
      rewrapBatch(*store_, *rotated_, column("inbound_events"), after, 10, "alice");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->rewrapped, 4u);
  EXPECT_EQ(run->failed, 1u);
  EXPECT_TRUE(run->done);
  EXPECT_EQ(count("inbound_events", "kek-old"), 1);
}

}  // namespace
}  // namespace gw
