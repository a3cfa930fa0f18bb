// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteInboxStore.h"

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
using sqlite::stepOneRow;
using sqlite::storedMessageState;

std::string_view stageName(InboxSession::Stage stage) {
  switch (stage) {
    case InboxSession::Stage::NeedBirthDate:
      return "need_birth_date";
    case InboxSession::Stage::NeedCode:
      return "need_code";
    case InboxSession::Stage::Verified:
      return "verified";
  }
  return "need_birth_date";
}

Result<InboxSession::Stage> parseStage(const std::string& text) {
  for (const auto stage : {InboxSession::Stage::NeedBirthDate, InboxSession::Stage::NeedCode,
                           InboxSession::Stage::Verified}) {
    if (stageName(stage) == text) {
      return stage;
    }
  }
  return Status::dataLoss("inbox session has unknown stage '" + text + "'");
}

struct MessageRow {
  MessageState state = MessageState::Pending;
  std::string patient_key;
  std::string channel;
};

Result<MessageRow> messageRow(SqliteSession& session, std::int64_t id) {
  GW_ASSIGN_OR_RETURN(
      Statement * stmt,
      session.statement("SELECT state, patient_key, channel FROM patient_messages WHERE id = ?"));
  ResetOnExit reset(*stmt);
  stmt->bindInt(1, id);
  GW_RETURN_IF_ERROR(sqlite::stepOneRow(session, *stmt,
                                       "no patient message with id " + std::to_string(id),
                                       "cannot read a patient message"));
  MessageRow row;
  GW_ASSIGN_OR_RETURN(row.state, storedMessageState(stmt->columnText(0), id));
  row.patient_key = stmt->columnText(1);
  row.channel = stmt->columnText(2);
  return row;
}

Status setMessageState(SqliteSession& session, std::int64_t id, MessageState state,
                       std::string_view reason) {
  GW_ASSIGN_OR_RETURN(Statement * stmt,
                      session.statement("UPDATE patient_messages SET state = ?, reason = ?, "
                                        "updated_at = ? WHERE id = ?"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, messageStateName(state));
  stmt->bindText(2, reason);
  stmt->bindInt(3, session.nowMillis());
  stmt->bindInt(4, id);
  return stepDone(session, *stmt, "cannot change a patient message's state");
}

InboxLink readLink(const Statement& row) {
  InboxLink link;
  link.token_hash = row.columnText(0);
  link.message_id = row.columnInt(1);
  link.created_at = fromUnixMillis(row.columnInt(2));
  link.expires_at = fromUnixMillis(row.columnInt(3));
  link.failed_attempts = static_cast<int>(row.columnInt(4));
  link.locked = row.columnInt(5) != 0;
  link.code_mac = row.columnText(6);
  link.code_expires_at = fromUnixMillis(row.columnInt(7));
  link.version = row.columnInt(8);
  return link;
}

Status upsertSession(SqliteSession& session, const InboxSession& s) {
  GW_ASSIGN_OR_RETURN(
      Statement * stmt,
      session.statement("INSERT OR REPLACE INTO inbox_sessions (id_hash, token_hash, stage, "
                        "birth_date_matched, language, created_at, last_seen_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, s.id_hash);
  stmt->bindText(2, s.token_hash);
  stmt->bindText(3, stageName(s.stage));
  stmt->bindInt(4, s.birth_date_matched ? 1 : 0);
  stmt->bindText(5, s.language);
  stmt->bindInt(6, toUnixMillis(s.created_at));
  stmt->bindInt(7, toUnixMillis(s.last_seen_at));
  return stepDone(session, *stmt, "cannot save an inbox session");
}

}  // namespace

SqliteInboxStore::SqliteInboxStore(std::shared_ptr<SqliteStore> store) : store_(std::move(store)) {}

Result<InboxMessage> SqliteInboxStore::inboxMessage(std::int64_t message_id) {
  InboxMessage message;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT state, expires_at, sealed_content, idempotency_key, "
                          "patient_key FROM patient_messages WHERE id = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, message_id);
    GW_RETURN_IF_ERROR(sqlite::stepOneRow(session, *stmt,
                                         "no patient message with id " + std::to_string(message_id),
                                         "cannot read a patient message"));
    message.message_id = message_id;
    GW_ASSIGN_OR_RETURN(message.state, storedMessageState(stmt->columnText(0), message_id));
    message.expires_at = fromUnixMillis(stmt->columnInt(1));
    message.patient_key = stmt->columnText(4);
    if (!stmt->columnIsNull(2)) {
      message.sealed_content = std::string(stmt->columnBlob(2));
      message.associated_data = stmt->columnText(3);
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return message;
}

Result<bool> SqliteInboxStore::recordView(std::int64_t message_id, SystemTime,
                                          const AuditEntry& audit) {
  bool first = false;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    first = false;
    GW_ASSIGN_OR_RETURN(MessageRow row, messageRow(session, message_id));
    if (row.state == MessageState::Sent || row.state == MessageState::Delivered) {
      GW_RETURN_IF_ERROR(setMessageState(session, message_id, MessageState::Read, ""));
      first = true;
    }
    return session.appendAudit(audit);
  });
  GW_RETURN_IF_ERROR(done);
  return first;
}

Status SqliteInboxStore::saveReply(const InboxReply& reply, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(MessageRow row, messageRow(session, reply.message_id));
    if (row.state == MessageState::Expired) {
      return Status::failedPrecondition("patient message " + std::to_string(reply.message_id) +
                                        " has expired");
    }
    const std::int64_t at =
        reply.received_at == SystemTime() ? session.nowMillis() : toUnixMillis(reply.received_at);
    GW_ASSIGN_OR_RETURN(
        Statement * insert,
        session.statement("INSERT INTO inbox_replies (message_id, reply_id, received_at, "
                          "opt_out) VALUES (?, ?, ?, ?)"));
    {
      ResetOnExit reset(*insert);
      insert->bindInt(1, reply.message_id);
      insert->bindText(2, reply.reply_id);
      insert->bindInt(3, at);
      insert->bindInt(4, reply.opt_out ? 1 : 0);
      GW_RETURN_IF_ERROR(stepDone(session, *insert, "cannot store a reply"));
    }
    GW_RETURN_IF_ERROR(sqlite::insertWorkItem(session, "reply",
                                              "patient_message:" + std::to_string(reply.message_id),
                                              "quick reply \"" + reply.reply_id + "\"", at)
                           .status());
    if (reply.opt_out) {
      // STOP: the patient opts out of every channel for every purpose.
      for (const ChannelKind channel :
           {ChannelKind::SecureInbox, ChannelKind::Email, ChannelKind::MessagingApi}) {
        GW_RETURN_IF_ERROR(sqlite::insertConsent(
            session, {row.patient_key, channel, "*", false, "inbox:STOP", fromUnixMillis(at)}));
      }
    }
    return session.appendAudit(audit);
  });
}

Status SqliteInboxStore::expireMessage(std::int64_t message_id, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(MessageRow row, messageRow(session, message_id));
    if (row.state != MessageState::Expired) {
      GW_RETURN_IF_ERROR(
          setMessageState(session, message_id, MessageState::Expired, "retention period ended"));
      GW_RETURN_IF_ERROR(sqlite::shredMessageContent(session, message_id));
    }
    GW_ASSIGN_OR_RETURN(
        Statement * codes,
        session.statement("UPDATE inbox_links SET code_mac = '', code_expires_at = 0, "
                          "version = version + 1 WHERE message_id = ?"));
    {
      ResetOnExit reset(*codes);
      codes->bindInt(1, message_id);
      GW_RETURN_IF_ERROR(stepDone(session, *codes, "cannot drop one-time codes"));
    }
    return session.appendAudit(audit);
  });
}

Status SqliteInboxStore::createLink(const InboxLink& link, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(MessageRow row, messageRow(session, link.message_id));
    (void)row;
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("INSERT INTO inbox_links (token_hash, message_id, created_at, "
                          "expires_at, failed_attempts, locked, code_mac, code_expires_at, "
                          "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, link.token_hash);
    stmt->bindInt(2, link.message_id);
    stmt->bindInt(
        3, link.created_at == SystemTime() ? session.nowMillis() : toUnixMillis(link.created_at));
    stmt->bindInt(4, toUnixMillis(link.expires_at));
    stmt->bindInt(5, link.failed_attempts);
    stmt->bindInt(6, link.locked ? 1 : 0);
    stmt->bindText(7, link.code_mac);
    stmt->bindInt(8, toUnixMillis(link.code_expires_at));
    const int rc = stmt->step();
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return Status::alreadyExists("an inbox link with this token hash exists");
    }
    if (rc != SQLITE_DONE) {
      return sqliteError(session.db(), rc, "cannot store an inbox link");
    }
    return session.appendAudit(audit);
  });
}

Result<InboxLink> SqliteInboxStore::findLink(const std::string& token_hash) {
  InboxLink link;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT token_hash, message_id, created_at, expires_at, "
                          "failed_attempts, locked, code_mac, code_expires_at, version "
                          "FROM inbox_links WHERE token_hash = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, token_hash);
    GW_RETURN_IF_ERROR(
        stepOneRow(session, *stmt, "no such inbox link", "cannot read an inbox link"));
    link = readLink(*stmt);
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return link;
}

Status SqliteInboxStore::saveLink(const InboxLink& link,
                                  const std::optional<InboxSession>& session_row,
                                  const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * update,
        session.statement("UPDATE inbox_links SET expires_at = ?, failed_attempts = ?, "
                          "locked = ?, code_mac = ?, code_expires_at = ?, version = version + 1 "
                          "WHERE token_hash = ? AND version = ?"));
    {
      ResetOnExit reset(*update);
      update->bindInt(1, toUnixMillis(link.expires_at));
      update->bindInt(2, link.failed_attempts);
      update->bindInt(3, link.locked ? 1 : 0);
      update->bindText(4, link.code_mac);
      update->bindInt(5, toUnixMillis(link.code_expires_at));
      update->bindText(6, link.token_hash);
      update->bindInt(7, link.version);
      GW_RETURN_IF_ERROR(stepDone(session, *update, "cannot save an inbox link"));
    }
    if (sqlite3_changes(session.db()) == 0) {
      GW_ASSIGN_OR_RETURN(Statement * exists,
                          session.statement("SELECT 1 FROM inbox_links WHERE token_hash = ?"));
      ResetOnExit reset(*exists);
      exists->bindText(1, link.token_hash);
      const int rc = exists->step();
      if (rc == SQLITE_ROW) {
        return Status::failedPrecondition("the inbox link changed meanwhile; read it again");
      }
      if (rc == SQLITE_DONE) {
        return Status::notFound("no such inbox link");
      }
      return sqliteError(session.db(), rc, "cannot read an inbox link");
    }
    if (session_row) {
      GW_RETURN_IF_ERROR(upsertSession(session, *session_row));
    }
    return session.appendAudit(audit);
  });
}

Status SqliteInboxStore::saveSession(const InboxSession& s) {
  return store_->write([&](SqliteSession& session) { return upsertSession(session, s); });
}

Status SqliteInboxStore::openSession(const InboxSession& s, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_RETURN_IF_ERROR(upsertSession(session, s));
    return session.appendAudit(audit);
  });
}

Result<InboxSession> SqliteInboxStore::findSession(const std::string& id_hash) {
  InboxSession found;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT id_hash, token_hash, stage, birth_date_matched, language, "
                          "created_at, last_seen_at FROM inbox_sessions WHERE id_hash = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, id_hash);
    GW_RETURN_IF_ERROR(
        stepOneRow(session, *stmt, "no such inbox session", "cannot read an inbox session"));
    found.id_hash = stmt->columnText(0);
    found.token_hash = stmt->columnText(1);
    GW_ASSIGN_OR_RETURN(found.stage, parseStage(stmt->columnText(2)));
    found.birth_date_matched = stmt->columnInt(3) != 0;
    found.language = stmt->columnText(4);
    found.created_at = fromUnixMillis(stmt->columnInt(5));
    found.last_seen_at = fromUnixMillis(stmt->columnInt(6));
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return found;
}

Status SqliteInboxStore::deleteSession(const std::string& id_hash) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement("DELETE FROM inbox_sessions WHERE id_hash = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, id_hash);
    return stepDone(session, *stmt, "cannot delete an inbox session");
  });
}

Result<RateDecision> SqliteInboxStore::consumeRate(const std::string& bucket, SystemTime now,
                                                   std::chrono::seconds window, int limit) {
  if (window.count() <= 0) {
    return Status::invalidArgument("a rate window must be positive");
  }
  const std::int64_t now_ms = toUnixMillis(now);
  const std::int64_t window_ms = window.count() * 1000;
  const std::int64_t start = now_ms - (now_ms % window_ms);
  RateDecision decision;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * hit,
        session.statement("INSERT INTO inbox_rate_windows (bucket, window_start, hits) "
                          "VALUES (?, ?, 1) ON CONFLICT (bucket, window_start) "
                          "DO UPDATE SET hits = hits + 1 RETURNING hits"));
    {
      ResetOnExit reset(*hit);
      hit->bindText(1, bucket);
      hit->bindInt(2, start);
      const int rc = hit->step();
      if (rc != SQLITE_ROW) {
        return sqliteError(session.db(), rc, "cannot count a rate-limited hit");
      }
      decision.count = static_cast<int>(hit->columnInt(0));
      if (hit->step() != SQLITE_DONE) {
        return sqliteError(session.db(), SQLITE_ERROR, "cannot count a rate-limited hit");
      }
    }
    if (decision.count == 1) {
      // A new window: older windows of this bucket are no longer needed.
      GW_ASSIGN_OR_RETURN(Statement * prune,
                          session.statement("DELETE FROM inbox_rate_windows WHERE bucket = ? AND "
                                            "window_start < ?"));
      ResetOnExit reset(*prune);
      prune->bindText(1, bucket);
      prune->bindInt(2, start);
      GW_RETURN_IF_ERROR(stepDone(session, *prune, "cannot prune rate windows"));
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  decision.allowed = decision.count <= limit;
  if (!decision.allowed) {
    decision.retry_after = std::chrono::seconds((start + window_ms - now_ms + 999) / 1000);
  }
  return decision;
}

}  // namespace gw
