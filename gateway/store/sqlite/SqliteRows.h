// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/api/MessageStore.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteStore.h"

// Helpers shared by the store extensions (SqliteMessageStore, SqliteInboxStore, SqliteAdminStore).
namespace gw::sqlite {

// Steps a statement that returns no rows; an SQLite error names `what`.
inline Status stepDone(SqliteSession& session, Statement& stmt, std::string_view what) {
  const int rc = stmt.step();
  if (rc != SQLITE_DONE) {
    return sqliteError(session.db(), rc, what);
  }
  return Status::ok();
}

// Steps a statement that returns at most one row: OK with the row ready to read, NotFound with
// `missing` when there is none, or an SQLite error naming `what`.
inline Status stepOneRow(SqliteSession& session, Statement& stmt, std::string_view missing,
                         std::string_view what) {
  const int rc = stmt.step();
  if (rc == SQLITE_DONE) {
    return Status::notFound(std::string(missing));
  }
  if (rc != SQLITE_ROW) {
    return sqliteError(session.db(), rc, what);
  }
  return Status::ok();
}

// A patient message's state as stored; an unknown name is DataLoss naming the message.
inline Result<MessageState> storedMessageState(const std::string& text, std::int64_t id) {
  const auto state = parseMessageState(text);
  if (!state) {
    return Status::dataLoss("patient message " + std::to_string(id) + " has unknown state '" +
                            text + "'");
  }
  return *state;
}

// Inserts a new patient message (created/updated now) and sets `id`.
inline Status insertMessage(SqliteSession& session, const NewPatientMessage& m, std::int64_t& id) {
  GW_ASSIGN_OR_RETURN(
      Statement * stmt,
      session.statement(
          "INSERT INTO patient_messages (event_id, mapping, idempotency_key, clinical_key, "
          "patient_key, visit_key, channel, purpose, contains_phi, state, reason, created_at, "
          "updated_at, not_before, expires_at, supersedes, sealed_content) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ResetOnExit reset(*stmt);
  stmt->bindInt(1, m.event_id);
  stmt->bindText(2, m.mapping);
  stmt->bindText(3, m.idempotency_key);
  stmt->bindText(4, m.clinical_key);
  stmt->bindText(5, m.patient_key);
  stmt->bindText(6, m.visit_key);
  stmt->bindText(7, channelName(m.channel));
  stmt->bindText(8, m.purpose);
  stmt->bindInt(9, m.contains_phi ? 1 : 0);
  stmt->bindText(10, messageStateName(m.state));
  stmt->bindText(11, m.reason);
  stmt->bindInt(12, session.nowMillis());
  stmt->bindInt(13, session.nowMillis());
  stmt->bindInt(14, toUnixMillis(m.not_before));
  stmt->bindInt(15, toUnixMillis(m.expires_at));
  stmt->bindInt(16, m.supersedes);
  stmt->bindBlob(17, m.sealed_content);
  GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot store a patient message"));
  id = sqlite3_last_insert_rowid(session.db());
  return Status::ok();
}

// The first column (an id) of the one row `sql` selects for `key`; 0 when there is none. An SQLite
// error names `what`.
inline Result<std::int64_t> idFor(SqliteSession& session, std::string_view sql,
                                  std::string_view key, std::string_view what) {
  GW_ASSIGN_OR_RETURN(Statement * stmt, session.statement(sql));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, key);
  const int rc = stmt->step();
  if (rc == SQLITE_ROW) {
    return stmt->columnInt(0);
  }
  if (rc == SQLITE_DONE) {
    return std::int64_t{0};
  }
  return sqliteError(session.db(), rc, what);
}

// Crypto-shredding at the row level: a message's sealed content (and its wrapped data key) and
// the sealed text of the replies to it are gone; metadata stays.
inline Status shredMessageContent(SqliteSession& session, std::int64_t message_id) {
  for (const char* sql : {"UPDATE patient_messages SET sealed_content = NULL WHERE id = ?",
                          "UPDATE patient_replies SET sealed_text = NULL WHERE message_id = ?"}) {
    GW_ASSIGN_OR_RETURN(Statement * stmt, session.statement(sql));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, message_id);
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot delete a message's content"));
  }
  return Status::ok();
}

// Appends a consent ledger entry (recorded now when record.recorded_at is the epoch).
inline Status insertConsent(SqliteSession& session, const ConsentRecord& record) {
  GW_ASSIGN_OR_RETURN(
      Statement * stmt,
      session.statement("INSERT INTO consent_ledger (patient_key, channel, purpose, opted_in, "
                        "source, recorded_at) VALUES (?, ?, ?, ?, ?, ?)"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, record.patient_key);
  stmt->bindText(2, channelName(record.channel));
  stmt->bindText(3, record.purpose);
  stmt->bindInt(4, record.opted_in ? 1 : 0);
  stmt->bindText(5, record.source);
  stmt->bindInt(6, record.recorded_at == SystemTime() ? session.nowMillis()
                                                      : toUnixMillis(record.recorded_at));
  return stepDone(session, *stmt, "cannot append to the consent ledger");
}

// Opens an operator work item (no PHI in object or detail) and returns its id.
inline Result<std::int64_t> insertWorkItem(SqliteSession& session, std::string_view kind,
                                           std::string_view object, std::string_view detail,
                                           std::int64_t created_at_ms) {
  GW_ASSIGN_OR_RETURN(
      Statement * stmt,
      session.statement("INSERT INTO operator_work_items (kind, object, detail, created_at, "
                        "state) VALUES (?, ?, ?, ?, 'open')"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, kind);
  stmt->bindText(2, object);
  stmt->bindText(3, detail);
  stmt->bindInt(4, created_at_ms);
  GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot create an operator work item"));
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(session.db()));
}

}  // namespace gw::sqlite
