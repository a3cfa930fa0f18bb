// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqlitePatientStore.h"

#include <sqlite3.h>

#include <utility>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteRows.h"

namespace gw {
namespace {

using sqlite::ResetOnExit;
using sqlite::sqliteError;
using sqlite::Statement;
using sqlite::stepDone;

}  // namespace

SqlitePatientStore::SqlitePatientStore(std::shared_ptr<SqliteStore> store)
    : store_(std::move(store)) {}

Result<std::optional<PatientPreferenceRecord>> SqlitePatientStore::preferences(
    const std::string& patient_key) {
  std::optional<PatientPreferenceRecord> found;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT time_zone, result_delay_hours, source, updated_at "
                          "FROM patient_preferences WHERE patient_key = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, patient_key);
    const int rc = stmt->step();
    if (rc == SQLITE_DONE) {
      return Status::ok();
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(session.db(), rc, "cannot read patient preferences");
    }
    PatientPreferenceRecord record;
    record.patient_key = patient_key;
    record.time_zone = stmt->columnText(0);
    record.result_delay = std::chrono::hours(stmt->columnInt(1));
    record.source = stmt->columnText(2);
    record.updated_at = fromUnixMillis(stmt->columnInt(3));
    found = std::move(record);
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return found;
}

Status SqlitePatientStore::savePreferences(const PatientPreferenceRecord& record,
                                           const AuditEntry& audit) {
  if (record.patient_key.empty()) {
    return Status::invalidArgument("patient preferences need a patient key");
  }
  if (record.result_delay.count() < 0 || record.result_delay > kMaxResultDelay) {
    return Status::invalidArgument("result delay must be 0.." +
                                   std::to_string(kMaxResultDelay.count()) + " hours");
  }
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("INSERT INTO patient_preferences (patient_key, time_zone, "
                          "result_delay_hours, source, updated_at) VALUES (?, ?, ?, ?, ?) "
                          "ON CONFLICT (patient_key) DO UPDATE SET time_zone = excluded.time_zone, "
                          "result_delay_hours = excluded.result_delay_hours, "
                          "source = excluded.source, updated_at = excluded.updated_at"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, record.patient_key);
    stmt->bindText(2, record.time_zone);
    stmt->bindInt(3, record.result_delay.count());
    stmt->bindText(4, record.source);
    stmt->bindInt(5, record.updated_at == SystemTime() ? session.nowMillis()
                                                       : toUnixMillis(record.updated_at));
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot store patient preferences"));
    return session.appendAudit(audit);
  });
}

Result<ReplyCommit> SqlitePatientStore::commitReply(const PatientReply& reply,
                                                    const AuditEntry& audit) {
  if (reply.dedupe_key.empty() || reply.keyword.empty()) {
    return Status::invalidArgument("a patient reply needs a dedupe key and a keyword");
  }
  ReplyCommit commit;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    commit = ReplyCommit();
    GW_ASSIGN_OR_RETURN(
        const std::int64_t earlier,
        sqlite::idFor(session, "SELECT id FROM patient_replies WHERE dedupe_key = ?",
                      reply.dedupe_key, "cannot look up a patient reply"));
    if (earlier != 0) {
      commit.reply_id = earlier;
      commit.duplicate = true;
      return Status::ok();
    }
    GW_ASSIGN_OR_RETURN(
        const std::int64_t message,
        sqlite::idFor(session, "SELECT id FROM patient_messages WHERE id = CAST(? AS INTEGER)",
                      std::to_string(reply.message_id), "cannot read a patient message"));
    if (message == 0) {
      return Status::notFound("no patient message with id " + std::to_string(reply.message_id));
    }
    const std::int64_t at =
        reply.received_at == SystemTime() ? session.nowMillis() : toUnixMillis(reply.received_at);
    GW_ASSIGN_OR_RETURN(
        Statement * insert,
        session.statement("INSERT INTO patient_replies (message_id, channel, keyword, dedupe_key, "
                          "received_at, sealed_text) VALUES (?, ?, ?, ?, ?, ?)"));
    {
      ResetOnExit reset(*insert);
      insert->bindInt(1, reply.message_id);
      insert->bindText(2, channelName(reply.channel));
      insert->bindText(3, reply.keyword);
      insert->bindText(4, reply.dedupe_key);
      insert->bindInt(5, at);
      if (!reply.sealed_text.empty()) {  // unbound stays NULL: no text kept
        insert->bindBlob(6, reply.sealed_text);
      }
      GW_RETURN_IF_ERROR(stepDone(session, *insert, "cannot store a patient reply"));
      commit.reply_id = sqlite3_last_insert_rowid(session.db());
    }
    for (const ConsentRecord& entry : reply.consent) {
      if (entry.patient_key.empty() || entry.purpose.empty()) {
        return Status::invalidArgument("a consent record needs a patient key and a purpose");
      }
      GW_RETURN_IF_ERROR(sqlite::insertConsent(session, entry));
    }
    if (reply.answer) {
      GW_RETURN_IF_ERROR(sqlite::insertMessage(session, *reply.answer, commit.answer_id));
    }
    if (!reply.work_detail.empty()) {
      GW_ASSIGN_OR_RETURN(commit.work_item_id,
                          sqlite::insertWorkItem(session, "reply_text",
                                                 "patient_reply:" + std::to_string(commit.reply_id),
                                                 reply.work_detail, at));
    }
    return session.appendAudit(audit);
  });
  GW_RETURN_IF_ERROR(done);
  return commit;
}

Result<SealedReplyText> SqlitePatientStore::readReplyText(std::int64_t reply_id,
                                                          const AuditEntry& audit) {
  SealedReplyText text;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT sealed_text, dedupe_key FROM patient_replies WHERE id = ?"));
    {
      ResetOnExit reset(*stmt);
      stmt->bindInt(1, reply_id);
      GW_RETURN_IF_ERROR(sqlite::stepOneRow(session, *stmt,
                                           "no patient reply with id " + std::to_string(reply_id),
                                           "cannot read a patient reply"));
      if (stmt->columnIsNull(0)) {
        return Status::notFound("the text of patient reply " + std::to_string(reply_id) +
                                " was deleted with its message");
      }
      text.sealed_text = std::string(stmt->columnBlob(0));
      text.associated_data = replyAssociatedData(stmt->columnText(1));
    }
    return session.appendAudit(audit);
  });
  GW_RETURN_IF_ERROR(done);
  return text;
}

}  // namespace gw
