// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteMessageStore.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteRows.h"

namespace gw {
namespace {

using sqlite::insertMessage;
using sqlite::ResetOnExit;
using sqlite::sqliteError;
using sqlite::Statement;
using sqlite::stepDone;
using sqlite::storedMessageState;

constexpr const char* kMessageColumns =
    "id, event_id, mapping, idempotency_key, clinical_key, patient_key, visit_key, channel, "
    "purpose, contains_phi, state, reason, created_at, updated_at, not_before, expires_at, "
    "supersedes, attempts, delivery_method";

std::string selectMessages(const std::string& where) {
  return std::string("SELECT ") + kMessageColumns + " FROM patient_messages " + where;
}

Result<PatientMessageRecord> readMessage(const Statement& row) {
  PatientMessageRecord r;
  r.id = row.columnInt(0);
  r.event_id = row.columnInt(1);
  r.mapping = row.columnText(2);
  r.idempotency_key = row.columnText(3);
  r.clinical_key = row.columnText(4);
  r.patient_key = row.columnText(5);
  r.visit_key = row.columnText(6);
  const std::string channel = row.columnText(7);
  const auto kind = parseChannel(channel);
  if (!kind) {
    return Status::dataLoss("patient message " + std::to_string(r.id) + " has unknown channel '" +
                            channel + "'");
  }
  r.channel = *kind;
  r.purpose = row.columnText(8);
  r.contains_phi = row.columnInt(9) != 0;
  GW_ASSIGN_OR_RETURN(r.state, storedMessageState(row.columnText(10), r.id));
  r.reason = row.columnText(11);
  r.created_at = fromUnixMillis(row.columnInt(12));
  r.updated_at = fromUnixMillis(row.columnInt(13));
  r.not_before = fromUnixMillis(row.columnInt(14));
  r.expires_at = fromUnixMillis(row.columnInt(15));
  r.supersedes = row.columnInt(16);
  r.attempts = static_cast<int>(row.columnInt(17));
  r.delivery_method = row.columnText(18);
  return r;
}

// Steps a statement that selected kMessageColumns into `out`.
Status collectMessages(SqliteSession& session, Statement& stmt,
                       std::vector<PatientMessageRecord>& out) {
  for (;;) {
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) {
      return Status::ok();
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(session.db(), rc, "cannot read patient messages");
    }
    GW_ASSIGN_OR_RETURN(PatientMessageRecord record, readMessage(stmt));
    out.push_back(std::move(record));
  }
}

Result<PatientMessageRecord> loadMessage(SqliteSession& session, std::int64_t id) {
  GW_ASSIGN_OR_RETURN(Statement * stmt, session.statement(selectMessages("WHERE id = ?")));
  ResetOnExit reset(*stmt);
  stmt->bindInt(1, id);
  std::vector<PatientMessageRecord> found;
  GW_RETURN_IF_ERROR(collectMessages(session, *stmt, found));
  if (found.empty()) {
    return Status::notFound("no patient message with id " + std::to_string(id));
  }
  return std::move(found.front());
}

std::string messageObject(std::int64_t id) {
  return "patient_message:" + std::to_string(id);
}

std::string stateList(const std::vector<MessageState>& states) {
  std::string out;
  for (const MessageState state : states) {
    out += (out.empty() ? "" : "|") + std::string(messageStateName(state));
  }
  return out;
}

// Moves a message to `to` if it is in one of `from`; false (nothing written) otherwise.
Result<bool> applyTransition(SqliteSession& session, const MessageTransition& transition) {
  GW_ASSIGN_OR_RETURN(PatientMessageRecord current, loadMessage(session, transition.message_id));
  if (std::find(transition.from.begin(), transition.from.end(), current.state) ==
      transition.from.end()) {
    return false;
  }
  GW_ASSIGN_OR_RETURN(
      Statement * stmt,
      session.statement("UPDATE patient_messages SET state = ?, reason = ?, updated_at = ?, "
                        "lease_until = 0 WHERE id = ?"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, messageStateName(transition.to));
  stmt->bindText(2, transition.reason);
  stmt->bindInt(3, session.nowMillis());
  stmt->bindInt(4, transition.message_id);
  GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot change a patient message's state"));
  if (transition.to == MessageState::Expired) {
    GW_RETURN_IF_ERROR(sqlite::shredMessageContent(session, transition.message_id));
  }
  return true;
}

Result<std::int64_t> findByIdempotencyKey(SqliteSession& session, const std::string& key) {
  return sqlite::idFor(session, "SELECT id FROM patient_messages WHERE idempotency_key = ?", key,
                       "cannot look up a patient message");
}

}  // namespace

SqliteMessageStore::SqliteMessageStore(std::shared_ptr<SqliteStore> store)
    : store_(std::move(store)) {}

Result<std::string> SqliteMessageStore::sealedEventPayload(std::int64_t event_id) {
  GW_ASSIGN_OR_RETURN(SealedEventForms forms, sealedEventForMapping(event_id));
  return std::move(forms.payload);
}

Result<MessageStore::SealedEventForms> SqliteMessageStore::sealedEventForMapping(
    std::int64_t event_id) {
  SealedEventForms forms;
  bool found = false;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement(
            "SELECT sealed_payload, sealed_parsed_form FROM inbound_events WHERE id = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, event_id);
    const int rc = stmt->step();
    if (rc == SQLITE_ROW) {
      if (stmt->columnIsNull(0)) {
        return Status::notFound("the payload of inbound event " + std::to_string(event_id) +
                                " was deleted");
      }
      forms.payload = std::string(stmt->columnBlob(0));
      if (!stmt->columnIsNull(1)) {
        forms.parsed_form = std::string(stmt->columnBlob(1));
      }
      found = true;
      return Status::ok();
    }
    if (rc == SQLITE_DONE) {
      return Status::ok();
    }
    return sqliteError(session.db(), rc, "cannot read an inbound event's payload");
  });
  GW_RETURN_IF_ERROR(done);
  if (!found) {
    return Status::notFound("no inbound event with id " + std::to_string(event_id));
  }
  return forms;
}

Result<MappingCommit> SqliteMessageStore::commitMapping(const MappingOutcome& outcome) {
  if (outcome.state == InboundState::Received) {
    return Status::invalidArgument(
        "a mapping outcome must leave the event mapped, held or ignored");
  }
  MappingCommit result;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    result = MappingCommit();
    GW_ASSIGN_OR_RETURN(Statement * state,
                        session.statement("SELECT state FROM inbound_events WHERE id = ?"));
    {
      ResetOnExit reset(*state);
      state->bindInt(1, outcome.event_id);
      const int rc = state->step();
      if (rc == SQLITE_DONE) {
        return Status::notFound("no inbound event with id " + std::to_string(outcome.event_id));
      }
      if (rc != SQLITE_ROW) {
        return sqliteError(session.db(), rc, "cannot read an inbound event's state");
      }
      const std::string current = state->columnText(0);
      if (current != inboundStateName(InboundState::Received) &&
          current != inboundStateName(InboundState::Held)) {
        return Status::failedPrecondition("inbound event " + std::to_string(outcome.event_id) +
                                          " is already " + current);
      }
    }
    GW_ASSIGN_OR_RETURN(
        Statement * update,
        session.statement("UPDATE inbound_events SET state = ?, state_reason = ? WHERE id = ?"));
    {
      ResetOnExit reset(*update);
      update->bindText(1, inboundStateName(outcome.state));
      update->bindText(2, outcome.reason);
      update->bindInt(3, outcome.event_id);
      GW_RETURN_IF_ERROR(stepDone(session, *update, "cannot change an inbound event's state"));
    }
    const std::string event_object = "inbound_event:" + std::to_string(outcome.event_id);
    GW_RETURN_IF_ERROR(session.appendAudit({SystemTime(), outcome.actor,
                                            std::string(inboundStateName(outcome.state)),
                                            event_object, "ok", "", outcome.reason}));

    for (const NewPatientMessage& message : outcome.messages) {
      GW_ASSIGN_OR_RETURN(std::int64_t existing,
                          findByIdempotencyKey(session, message.idempotency_key));
      if (existing != 0) {
        result.message_ids.push_back(existing);
        result.duplicate.push_back(true);
        continue;
      }
      std::int64_t id = 0;
      GW_RETURN_IF_ERROR(insertMessage(session, message, id));
      result.message_ids.push_back(id);
      result.duplicate.push_back(false);
      std::string reason = "from " + event_object + " by mapping " + message.mapping + " via " +
                           std::string(channelName(message.channel)) + ", state " +
                           std::string(messageStateName(message.state));
      if (!message.reason.empty()) {
        reason += " (" + message.reason + ")";
      }
      GW_RETURN_IF_ERROR(session.appendAudit(
          {SystemTime(), outcome.actor, "message_created", messageObject(id), "ok", "", reason}));
    }
    for (const MessageTransition& transition : outcome.transitions) {
      GW_ASSIGN_OR_RETURN(bool applied, applyTransition(session, transition));
      if (!applied) {
        result.skipped_transitions.push_back(transition.message_id);
        continue;
      }
      GW_RETURN_IF_ERROR(session.appendAudit({SystemTime(), outcome.actor,
                                              std::string(messageStateName(transition.to)),
                                              messageObject(transition.message_id), "ok", "",
                                              transition.reason + " (" + event_object + ")"}));
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return result;
}

Result<std::vector<PatientMessageRecord>> SqliteMessageStore::findMessages(
    const MessageQuery& query) {
  // One statement per combination of filters, each cached by the store.
  std::string where = "WHERE id > ?";
  if (query.patient_key)
    where += " AND patient_key = ?";
  if (query.clinical_key)
    where += " AND clinical_key = ?";
  if (query.visit_key)
    where += " AND visit_key = ?";
  if (query.mapping)
    where += " AND mapping = ?";
  if (query.state)
    where += " AND state = ?";
  if (query.event_id)
    where += " AND event_id = ?";
  if (query.idempotency_key)
    where += " AND idempotency_key = ?";
  where += " ORDER BY id LIMIT ?";
  const std::string sql = selectMessages(where);
  std::vector<PatientMessageRecord> out;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * stmt, session.statement(sql));
    ResetOnExit reset(*stmt);
    int i = 1;
    stmt->bindInt(i++, query.after_id);
    if (query.patient_key)
      stmt->bindText(i++, *query.patient_key);
    if (query.clinical_key)
      stmt->bindText(i++, *query.clinical_key);
    if (query.visit_key)
      stmt->bindText(i++, *query.visit_key);
    if (query.mapping)
      stmt->bindText(i++, *query.mapping);
    if (query.state)
      stmt->bindText(i++, messageStateName(*query.state));
    if (query.event_id)
      stmt->bindInt(i++, *query.event_id);
    if (query.idempotency_key)
      stmt->bindText(i++, *query.idempotency_key);
    stmt->bindInt(i, static_cast<std::int64_t>(std::min<std::size_t>(query.limit, 100000)));
    return collectMessages(session, *stmt, out);
  });
  GW_RETURN_IF_ERROR(done);
  return out;
}

Result<PatientMessageRecord> SqliteMessageStore::getMessage(std::int64_t id) {
  PatientMessageRecord record;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(record, loadMessage(session, id));
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return record;
}

Result<std::string> SqliteMessageStore::sealedMessageContent(
    std::int64_t id, const std::optional<AuditEntry>& audit) {
  std::string content;
  const auto readContent = [&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT sealed_content FROM patient_messages WHERE id = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, id);
    const int rc = stmt->step();
    if (rc == SQLITE_DONE) {
      return Status::notFound("no patient message with id " + std::to_string(id));
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(session.db(), rc, "cannot read a patient message's content");
    }
    if (stmt->columnIsNull(0)) {
      return Status::notFound("the content of patient message " + std::to_string(id) +
                              " has expired and was deleted");
    }
    content = std::string(stmt->columnBlob(0));
    return Status::ok();
  };
  if (!audit) {
    GW_RETURN_IF_ERROR(store_->read(readContent));
    return content;
  }
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    GW_RETURN_IF_ERROR(readContent(session));
    return session.appendAudit(*audit);
  });
  GW_RETURN_IF_ERROR(done);
  return content;
}

Result<std::vector<ClaimedMessage>> SqliteMessageStore::claimDue(ChannelKind channel,
                                                                 SystemTime now,
                                                                 SystemTime lease_until,
                                                                 std::size_t limit) {
  std::vector<ClaimedMessage> claimed;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    claimed.clear();
    GW_ASSIGN_OR_RETURN(
        Statement * select,
        session.statement(selectMessages("WHERE channel = ? AND state = 'pending' AND "
                                         "not_before <= ? ORDER BY not_before, id LIMIT ?")));
    std::vector<PatientMessageRecord> due;
    {
      ResetOnExit reset(*select);
      select->bindText(1, channelName(channel));
      select->bindInt(2, toUnixMillis(now));
      select->bindInt(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, 10000)));
      GW_RETURN_IF_ERROR(collectMessages(session, *select, due));
    }
    GW_ASSIGN_OR_RETURN(
        Statement * claim,
        session.statement("UPDATE patient_messages SET state = 'sending', lease_until = ?, "
                          "attempts = attempts + 1, updated_at = ? WHERE id = ? "
                          "RETURNING sealed_content"));
    for (PatientMessageRecord& record : due) {
      ResetOnExit reset(*claim);
      claim->bindInt(1, toUnixMillis(lease_until));
      claim->bindInt(2, session.nowMillis());
      claim->bindInt(3, record.id);
      const int rc = claim->step();
      if (rc != SQLITE_ROW) {
        return sqliteError(session.db(), rc, "cannot claim a patient message");
      }
      ClaimedMessage message;
      message.sealed_content =
          claim->columnIsNull(0) ? std::string() : std::string(claim->columnBlob(0));
      if (claim->step() != SQLITE_DONE) {
        return sqliteError(session.db(), SQLITE_ERROR, "cannot claim a patient message");
      }
      record.state = MessageState::Sending;
      record.attempts += 1;
      message.record = std::move(record);
      claimed.push_back(std::move(message));
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return claimed;
}

Status SqliteMessageStore::recordDelivery(const DeliveryOutcome& outcome) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(PatientMessageRecord current, loadMessage(session, outcome.message_id));
    if (current.state != MessageState::Sending) {
      return Status::failedPrecondition("patient message " + std::to_string(outcome.message_id) +
                                        " is " + std::string(messageStateName(current.state)) +
                                        ", not sending");
    }
    MessageState next = MessageState::Sent;
    std::int64_t not_before = toUnixMillis(current.not_before);
    std::string channel(channelName(current.channel));
    std::string audit_outcome = "ok";
    switch (outcome.kind) {
      case DeliveryOutcome::Kind::Sent:
        break;
      case DeliveryOutcome::Kind::Retry:
        next = MessageState::Pending;
        not_before = toUnixMillis(outcome.retry_at);
        audit_outcome = "retry";
        break;
      case DeliveryOutcome::Kind::Dead:
        next = MessageState::Dead;
        audit_outcome = "dead";
        break;
      case DeliveryOutcome::Kind::Fallback:
        next = MessageState::Pending;
        not_before = session.nowMillis();
        channel = std::string(channelName(outcome.fallback_channel));
        audit_outcome = "fallback";
        break;
    }
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("UPDATE patient_messages SET state = ?, reason = ?, not_before = ?, "
                          "channel = ?, lease_until = 0, updated_at = ?, delivery_method = "
                          "CASE WHEN ? = 'sent' THEN ? ELSE delivery_method END WHERE id = ?"));
    ResetOnExit reset(*stmt);
    const std::string next_name(messageStateName(next));
    stmt->bindText(1, next_name);
    const std::string_view reason_text =
        outcome.kind == DeliveryOutcome::Kind::Sent ? std::string_view() : outcome.detail;
    stmt->bindText(2, reason_text);
    stmt->bindInt(3, not_before);
    stmt->bindText(4, channel);
    stmt->bindInt(5, session.nowMillis());
    stmt->bindText(6, next_name);
    stmt->bindText(7, outcome.method);
    stmt->bindInt(8, outcome.message_id);
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot record a delivery attempt"));
    std::string reason = "attempt " + std::to_string(current.attempts) + " via " +
                         std::string(channelName(current.channel));
    if (!outcome.method.empty()) {
      reason += ", method " + outcome.method;
    }
    if (outcome.kind == DeliveryOutcome::Kind::Fallback) {
      reason += ", re-routed to " + channel;
    }
    if (!outcome.detail.empty()) {
      reason += ": " + outcome.detail;
    }
    return session.appendAudit({SystemTime(), outcome.actor, "delivery_attempt",
                                messageObject(outcome.message_id), audit_outcome, "", reason});
  });
}

Result<std::int64_t> SqliteMessageStore::releaseExpiredLeases(SystemTime now) {
  std::int64_t released = 0;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    released = 0;
    GW_ASSIGN_OR_RETURN(
        Statement * select,
        session.statement(housekeeping_sql::kExpiredLeases));
    std::vector<std::int64_t> ids;
    {
      ResetOnExit reset(*select);
      select->bindInt(1, toUnixMillis(now));
      int rc;
      while ((rc = select->step()) == SQLITE_ROW) {
        ids.push_back(select->columnInt(0));
      }
      if (rc != SQLITE_DONE) {
        return sqliteError(session.db(), rc, "cannot find expired delivery leases");
      }
    }
    for (const std::int64_t id : ids) {
      GW_ASSIGN_OR_RETURN(
          bool applied,
          applyTransition(session, {id,
                                    {MessageState::Sending},
                                    MessageState::Pending,
                                    "delivery lease expired (gateway stopped mid-attempt)"}));
      if (applied) {
        ++released;
        GW_RETURN_IF_ERROR(session.appendAudit(
            {SystemTime(), "system:delivery", "lease_expired", messageObject(id), "ok", "",
             "back to pending; the channel receives the same idempotency key"}));
      }
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return released;
}

Result<std::optional<SystemTime>> SqliteMessageStore::nextDue(ChannelKind channel) {
  std::optional<SystemTime> next;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement("SELECT MIN(not_before) FROM patient_messages "
                                          "WHERE channel = ? AND state = 'pending'"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, channelName(channel));
    const int rc = stmt->step();
    if (rc != SQLITE_ROW) {
      return sqliteError(session.db(), rc, "cannot read the next due message");
    }
    if (!stmt->columnIsNull(0)) {
      next = fromUnixMillis(stmt->columnInt(0));
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return next;
}

Status SqliteMessageStore::transitionMessage(const MessageTransition& transition,
                                             const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(bool applied, applyTransition(session, transition));
    if (!applied) {
      GW_ASSIGN_OR_RETURN(PatientMessageRecord current,
                          loadMessage(session, transition.message_id));
      return Status::failedPrecondition("patient message " + std::to_string(transition.message_id) +
                                        " is " + std::string(messageStateName(current.state)) +
                                        ", not " + stateList(transition.from));
    }
    if (transition.to == MessageState::Pending) {
      // A replayed or released message is due now.
      GW_ASSIGN_OR_RETURN(
          Statement * due,
          session.statement("UPDATE patient_messages SET not_before = MIN(not_before, ?) "
                            "WHERE id = ?"));
      ResetOnExit reset(*due);
      due->bindInt(1, session.nowMillis());
      due->bindInt(2, transition.message_id);
      GW_RETURN_IF_ERROR(stepDone(session, *due, "cannot reschedule a patient message"));
    }
    return session.appendAudit(audit);
  });
}

Result<std::vector<std::int64_t>> SqliteMessageStore::expireDue(SystemTime now, std::size_t limit) {
  std::vector<std::int64_t> expired;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    expired.clear();
    GW_ASSIGN_OR_RETURN(
        Statement * select,
        session.statement(housekeeping_sql::kExpireDue));
    std::vector<std::pair<std::int64_t, std::string>> due;
    {
      ResetOnExit reset(*select);
      select->bindInt(1, toUnixMillis(now));
      select->bindInt(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, 10000)));
      int rc;
      while ((rc = select->step()) == SQLITE_ROW) {
        due.emplace_back(select->columnInt(0), select->columnText(1));
      }
      if (rc != SQLITE_DONE) {
        return sqliteError(session.db(), rc, "cannot find expired patient messages");
      }
    }
    for (const auto& [id, state] : due) {
      GW_ASSIGN_OR_RETURN(const MessageState from, storedMessageState(state, id));
      GW_ASSIGN_OR_RETURN(
          bool applied,
          applyTransition(session, {id, {from}, MessageState::Expired, "retention period ended"}));
      if (applied) {
        expired.push_back(id);
        GW_RETURN_IF_ERROR(session.appendAudit(
            {SystemTime(), "system:retention", "expired", messageObject(id), "ok", "",
             "content and its data key deleted (was " + state + ")"}));
      }
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return expired;
}

Result<std::int64_t> SqliteMessageStore::purgeEventPayloads(SystemTime received_before,
                                                            std::size_t limit) {
  std::int64_t purged = 0;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    purged = 0;
    GW_ASSIGN_OR_RETURN(
        Statement * select,
        session.statement(housekeeping_sql::kPurgeablePayloads));
    std::vector<std::int64_t> ids;
    {
      ResetOnExit reset(*select);
      select->bindInt(1, toUnixMillis(received_before));
      select->bindInt(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, 10000)));
      int rc;
      while ((rc = select->step()) == SQLITE_ROW) {
        ids.push_back(select->columnInt(0));
      }
      if (rc != SQLITE_DONE) {
        return sqliteError(session.db(), rc, "cannot find inbound payloads to purge");
      }
    }
    GW_ASSIGN_OR_RETURN(
        Statement * purge,
        session.statement("UPDATE inbound_events SET sealed_payload = NULL, sealed_parsed_form = NULL "
                          "WHERE id = ?"));
    for (const std::int64_t id : ids) {
      {
        ResetOnExit reset(*purge);
        purge->bindInt(1, id);
        GW_RETURN_IF_ERROR(stepDone(session, *purge, "cannot purge an inbound payload"));
      }
      GW_RETURN_IF_ERROR(session.appendAudit({SystemTime(), "system:retention", "payload_purged",
                                              "inbound_event:" + std::to_string(id), "ok", "",
                                              "retention period ended; metadata kept"}));
      ++purged;
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return purged;
}

Result<std::vector<WorkItem>> SqliteMessageStore::openWork(std::size_t limit) {
  std::vector<WorkItem> items;
  const auto capped = static_cast<std::int64_t>(std::min<std::size_t>(limit, 100000));
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * held,
        session.statement("SELECT id, state_reason, received_at FROM inbound_events "
                          "WHERE state = 'held' ORDER BY id LIMIT ?"));
    {
      ResetOnExit reset(*held);
      held->bindInt(1, capped);
      int rc;
      while ((rc = held->step()) == SQLITE_ROW) {
        const std::int64_t id = held->columnInt(0);
        items.push_back({"held_event", id, "inbound_event:" + std::to_string(id),
                         held->columnText(1), fromUnixMillis(held->columnInt(2))});
      }
      if (rc != SQLITE_DONE) {
        return sqliteError(session.db(), rc, "cannot list held events");
      }
    }
    GW_ASSIGN_OR_RETURN(
        Statement * open,
        session.statement("SELECT id, kind, object, detail, created_at FROM operator_work_items "
                          "WHERE state = 'open' ORDER BY id LIMIT ?"));
    ResetOnExit reset(*open);
    open->bindInt(1, capped);
    int rc;
    while ((rc = open->step()) == SQLITE_ROW) {
      items.push_back({open->columnText(1), open->columnInt(0), open->columnText(2),
                       open->columnText(3), fromUnixMillis(open->columnInt(4))});
    }
    if (rc != SQLITE_DONE) {
      return sqliteError(session.db(), rc, "cannot list work items");
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  if (items.size() > limit) {
    items.resize(limit);
  }
  return items;
}

Status SqliteMessageStore::closeWorkItem(std::int64_t id, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * state,
                        session.statement("SELECT state FROM operator_work_items WHERE id = ?"));
    {
      ResetOnExit reset(*state);
      state->bindInt(1, id);
      const int rc = state->step();
      if (rc == SQLITE_DONE) {
        return Status::notFound("no work item with id " + std::to_string(id));
      }
      if (rc != SQLITE_ROW) {
        return sqliteError(session.db(), rc, "cannot read a work item");
      }
      if (state->columnText(0) != "open") {
        return Status::failedPrecondition("work item " + std::to_string(id) + " is already done");
      }
    }
    GW_ASSIGN_OR_RETURN(
        Statement * close,
        session.statement("UPDATE operator_work_items SET state = 'done' WHERE id = ?"));
    ResetOnExit reset(*close);
    close->bindInt(1, id);
    GW_RETURN_IF_ERROR(stepDone(session, *close, "cannot close a work item"));
    return session.appendAudit(audit);
  });
}

Result<std::optional<ConsentRecord>> SqliteMessageStore::latestConsent(
    const std::string& patient_key, ChannelKind channel, const std::string& purpose) {
  std::optional<ConsentRecord> found;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT purpose, opted_in, source, recorded_at FROM consent_ledger "
                          "WHERE patient_key = ? AND channel = ? AND purpose IN (?, '*') "
                          "ORDER BY id DESC LIMIT 1"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, patient_key);
    stmt->bindText(2, channelName(channel));
    stmt->bindText(3, purpose);
    const int rc = stmt->step();
    if (rc == SQLITE_DONE) {
      return Status::ok();
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(session.db(), rc, "cannot read the consent ledger");
    }
    ConsentRecord record;
    record.patient_key = patient_key;
    record.channel = channel;
    record.purpose = stmt->columnText(0);
    record.opted_in = stmt->columnInt(1) != 0;
    record.source = stmt->columnText(2);
    record.recorded_at = fromUnixMillis(stmt->columnInt(3));
    found = std::move(record);
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return found;
}

Status SqliteMessageStore::recordConsent(const ConsentRecord& record, const AuditEntry& audit) {
  if (record.patient_key.empty() || record.purpose.empty()) {
    return Status::invalidArgument("a consent record needs a patient key and a purpose");
  }
  return store_->write([&](SqliteSession& session) -> Status {
    GW_RETURN_IF_ERROR(sqlite::insertConsent(session, record));
    return session.appendAudit(audit);
  });
}

}  // namespace gw
