// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteFhirClientState.h"

#include <sqlite3.h>

#include <utility>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteRows.h"

namespace gw {

using sqlite::ResetOnExit;
using sqlite::sqliteError;
using sqlite::Statement;
using sqlite::stepDone;

SqliteFhirClientState::SqliteFhirClientState(std::shared_ptr<SqliteStore> store)
    : store_(std::move(store)) {}

Result<bool> SqliteFhirClientState::firstUse(const std::string& client, const std::string& jti,
                                             SystemTime expires_at, SystemTime now) {
  bool first = false;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * prune,
                        session.statement("DELETE FROM fhir_token_ids WHERE expires_at < ?"));
    {
      ResetOnExit reset(*prune);
      prune->bindInt(1, toUnixMillis(now));
      GW_RETURN_IF_ERROR(stepDone(session, *prune, "cannot prune expired token ids"));
    }
    GW_ASSIGN_OR_RETURN(Statement * insert,
                        session.statement("INSERT OR IGNORE INTO fhir_token_ids (client, jti, "
                                          "expires_at) VALUES (?, ?, ?)"));
    ResetOnExit reset(*insert);
    insert->bindText(1, client);
    insert->bindText(2, jti);
    insert->bindInt(3, toUnixMillis(expires_at));
    GW_RETURN_IF_ERROR(stepDone(session, *insert, "cannot record a token id"));
    first = sqlite3_changes(session.db()) == 1;
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return first;
}

Result<std::vector<SubscriptionRecord>> SqliteFhirClientState::listSubscriptions() {
  std::vector<SubscriptionRecord> out;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT client, subscription, highest_event, gaps, missed_events, "
                          "last_gap, last_type, last_status, updated_at FROM fhir_subscriptions "
                          "ORDER BY client, subscription"));
    ResetOnExit reset(*stmt);
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
      SubscriptionRecord r;
      r.client = stmt->columnText(0);
      r.subscription = stmt->columnText(1);
      r.highest_event = stmt->columnInt(2);
      r.gaps = stmt->columnInt(3);
      r.missed_events = stmt->columnInt(4);
      r.last_gap = stmt->columnText(5);
      r.last_type = stmt->columnText(6);
      r.last_status = stmt->columnText(7);
      r.updated_at = fromUnixMillis(stmt->columnInt(8));
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) {
      return sqliteError(session.db(), rc, "cannot list subscriptions");
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return out;
}

Status SqliteFhirClientState::saveSubscription(const SubscriptionRecord& record,
                                               const std::optional<AuditEntry>& gap_audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("INSERT OR REPLACE INTO fhir_subscriptions (client, subscription, "
                          "highest_event, gaps, missed_events, last_gap, last_type, last_status, "
                          "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    {
      ResetOnExit reset(*stmt);
      stmt->bindText(1, record.client);
      stmt->bindText(2, record.subscription);
      stmt->bindInt(3, record.highest_event);
      stmt->bindInt(4, record.gaps);
      stmt->bindInt(5, record.missed_events);
      stmt->bindText(6, record.last_gap);
      stmt->bindText(7, record.last_type);
      stmt->bindText(8, record.last_status);
      stmt->bindInt(9, toUnixMillis(record.updated_at));
      GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot save a subscription"));
    }
    if (gap_audit) {
      GW_RETURN_IF_ERROR(session.appendAudit(*gap_audit));
    }
    return Status::ok();
  });
}

}  // namespace gw
