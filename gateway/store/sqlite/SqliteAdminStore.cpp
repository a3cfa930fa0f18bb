// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteAdminStore.h"

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

constexpr const char* kUserColumns =
    "username, role, password_hash, failed_logins, locked_until, disabled, created_at, updated_at";

Result<AdminUser> readUser(const Statement& row) {
  AdminUser user;
  user.username = row.columnText(0);
  const std::optional<AdminRole> role = parseAdminRole(row.columnText(1));
  if (!role) {
    return Status::dataLoss("admin user has unknown role '" + row.columnText(1) + "'");
  }
  user.role = *role;
  user.password_hash = row.columnText(2);
  user.failed_logins = static_cast<int>(row.columnInt(3));
  user.locked_until = row.columnInt(4) == 0 ? SystemTime() : fromUnixMillis(row.columnInt(4));
  user.disabled = row.columnInt(5) != 0;
  user.created_at = fromUnixMillis(row.columnInt(6));
  user.updated_at = fromUnixMillis(row.columnInt(7));
  return user;
}

std::int64_t millisOrZero(SystemTime t) {
  return t == SystemTime() ? 0 : toUnixMillis(t);
}

Result<AdminUser> userRow(SqliteSession& session, const std::string& username) {
  GW_ASSIGN_OR_RETURN(Statement * stmt, session.statement(std::string("SELECT ") + kUserColumns +
                                                          " FROM admin_users WHERE username = ?"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, username);
  GW_RETURN_IF_ERROR(
      stepOneRow(session, *stmt, "no admin user with that name", "cannot read an admin user"));
  return readUser(*stmt);
}

Status deleteSessionsOf(SqliteSession& session, const std::string& username) {
  GW_ASSIGN_OR_RETURN(Statement * stmt,
                      session.statement("DELETE FROM admin_sessions WHERE username = ?"));
  ResetOnExit reset(*stmt);
  stmt->bindText(1, username);
  return stepDone(session, *stmt, "cannot end admin sessions");
}

}  // namespace

SqliteAdminStore::SqliteAdminStore(std::shared_ptr<SqliteStore> store) : store_(std::move(store)) {}

Status SqliteAdminStore::createUser(const AdminUser& user, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    const Result<AdminUser> existing = userRow(session, user.username);
    if (existing.ok()) {
      return Status::alreadyExists("an admin user with that name exists");
    }
    if (existing.status().code() != StatusCode::NotFound) {
      return existing.status();
    }
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement(std::string("INSERT INTO admin_users (") + kUserColumns +
                                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    ResetOnExit reset(*stmt);
    const std::int64_t now = session.nowMillis();
    stmt->bindText(1, user.username);
    stmt->bindText(2, adminRoleName(user.role));
    stmt->bindText(3, user.password_hash);
    stmt->bindInt(4, user.failed_logins);
    stmt->bindInt(5, millisOrZero(user.locked_until));
    stmt->bindInt(6, user.disabled ? 1 : 0);
    stmt->bindInt(7, now);
    stmt->bindInt(8, now);
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot create an admin user"));
    return session.appendAudit(audit);
  });
}

Result<AdminUser> SqliteAdminStore::findUser(const std::string& username) {
  AdminUser user;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(user, userRow(session, username));
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return user;
}

Result<std::vector<AdminUser>> SqliteAdminStore::listUsers() {
  std::vector<AdminUser> users;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    users.clear();
    GW_ASSIGN_OR_RETURN(Statement * stmt, session.statement(std::string("SELECT ") + kUserColumns +
                                                            " FROM admin_users ORDER BY username"));
    ResetOnExit reset(*stmt);
    for (;;) {
      const int rc = stmt->step();
      if (rc == SQLITE_DONE) {
        return Status::ok();
      }
      if (rc != SQLITE_ROW) {
        return sqliteError(session.db(), rc, "cannot list admin users");
      }
      GW_ASSIGN_OR_RETURN(AdminUser user, readUser(*stmt));
      users.push_back(std::move(user));
    }
  });
  GW_RETURN_IF_ERROR(done);
  return users;
}

Status SqliteAdminStore::updateUser(const AdminUser& user, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(const AdminUser before, userRow(session, user.username));
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement("UPDATE admin_users SET role = ?, password_hash = ?, "
                                          "failed_logins = ?, locked_until = ?, disabled = ?, "
                                          "updated_at = ? WHERE username = ?"));
    {
      ResetOnExit reset(*stmt);
      stmt->bindText(1, adminRoleName(user.role));
      stmt->bindText(2, user.password_hash);
      stmt->bindInt(3, user.failed_logins);
      stmt->bindInt(4, millisOrZero(user.locked_until));
      stmt->bindInt(5, user.disabled ? 1 : 0);
      stmt->bindInt(6, session.nowMillis());
      stmt->bindText(7, user.username);
      GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot update an admin user"));
    }
    if (user.disabled || user.password_hash != before.password_hash || user.role != before.role) {
      GW_RETURN_IF_ERROR(deleteSessionsOf(session, user.username));
    }
    return session.appendAudit(audit);
  });
}

Result<FailedLogin> SqliteAdminStore::recordFailedLogin(const std::string& username, int max_failed,
                                                        SystemTime lock_until,
                                                        const AuditEntry& audit) {
  FailedLogin result;
  bool known = true;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    result = FailedLogin();
    known = true;
    Result<AdminUser> user = userRow(session, username);
    if (!user.ok()) {
      if (user.status().code() != StatusCode::NotFound) {
        return user.status();
      }
      known = false;
      return session.appendAudit(audit);
    }
    const bool lock_set = user->locked_until != SystemTime();
    const bool was_locked = lock_set && toUnixMillis(user->locked_until) > session.nowMillis();
    // A lock that ran out starts a new count: the next lock-out needs max_failed failures again.
    result.failed_logins = (lock_set && !was_locked ? 0 : user->failed_logins) + 1;
    result.locked_now = !was_locked && result.failed_logins >= max_failed;
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement("UPDATE admin_users SET failed_logins = ?, "
                                          "locked_until = ?, updated_at = ? WHERE username = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, result.failed_logins);
    stmt->bindInt(2, result.locked_now ? toUnixMillis(lock_until)
                     : was_locked      ? toUnixMillis(user->locked_until)
                                       : 0);
    stmt->bindInt(3, session.nowMillis());
    stmt->bindText(4, username);
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot count a failed login"));
    AuditEntry entry = audit;
    if (result.locked_now) {
      entry.action = "admin_locked_out";
    }
    return session.appendAudit(entry);
  });
  GW_RETURN_IF_ERROR(done);
  if (!known) {
    return Status::notFound("no admin user with that name");
  }
  return result;
}

Status SqliteAdminStore::recordLogin(const AdminSession& s, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * reset_user,
        session.statement("UPDATE admin_users SET failed_logins = 0, locked_until = 0, "
                          "updated_at = ? WHERE username = ?"));
    {
      ResetOnExit reset(*reset_user);
      reset_user->bindInt(1, session.nowMillis());
      reset_user->bindText(2, s.username);
      GW_RETURN_IF_ERROR(stepDone(session, *reset_user, "cannot reset failed logins"));
      if (sqlite3_changes(session.db()) == 0) {
        return Status::notFound("no admin user with that name");
      }
    }
    GW_ASSIGN_OR_RETURN(
        Statement * insert,
        session.statement("INSERT INTO admin_sessions (token_hash, username, created_at, "
                          "last_seen_at, source) VALUES (?, ?, ?, ?, ?)"));
    ResetOnExit reset(*insert);
    insert->bindText(1, s.token_hash);
    insert->bindText(2, s.username);
    insert->bindInt(3, toUnixMillis(s.created_at));
    insert->bindInt(4, toUnixMillis(s.last_seen_at));
    insert->bindText(5, s.source);
    GW_RETURN_IF_ERROR(stepDone(session, *insert, "cannot store an admin session"));
    return session.appendAudit(audit);
  });
}

Result<AdminSession> SqliteAdminStore::findSession(const std::string& token_hash) {
  AdminSession found;
  const Status done = store_->read([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("SELECT token_hash, username, created_at, last_seen_at, source "
                          "FROM admin_sessions WHERE token_hash = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, token_hash);
    GW_RETURN_IF_ERROR(
        stepOneRow(session, *stmt, "no such admin session", "cannot read an admin session"));
    found.token_hash = stmt->columnText(0);
    found.username = stmt->columnText(1);
    found.created_at = fromUnixMillis(stmt->columnInt(2));
    found.last_seen_at = fromUnixMillis(stmt->columnInt(3));
    found.source = stmt->columnText(4);
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return found;
}

Status SqliteAdminStore::touchSession(const std::string& token_hash, SystemTime at) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * stmt,
        session.statement("UPDATE admin_sessions SET last_seen_at = ? WHERE token_hash = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, toUnixMillis(at));
    stmt->bindText(2, token_hash);
    return stepDone(session, *stmt, "cannot touch an admin session");
  });
}

Status SqliteAdminStore::deleteSession(const std::string& token_hash, const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement("DELETE FROM admin_sessions WHERE token_hash = ?"));
    ResetOnExit reset(*stmt);
    stmt->bindText(1, token_hash);
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot end an admin session"));
    return session.appendAudit(audit);
  });
}

Result<std::int64_t> SqliteAdminStore::purgeExpiredSessions(SystemTime created_before,
                                                            SystemTime seen_before) {
  std::int64_t purged = 0;
  const Status done = store_->write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(Statement * stmt,
                        session.statement("DELETE FROM admin_sessions WHERE created_at < ? OR "
                                          "last_seen_at < ?"));
    ResetOnExit reset(*stmt);
    stmt->bindInt(1, toUnixMillis(created_before));
    stmt->bindInt(2, toUnixMillis(seen_before));
    GW_RETURN_IF_ERROR(stepDone(session, *stmt, "cannot purge admin sessions"));
    purged = sqlite3_changes(session.db());
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(done);
  return purged;
}

Status SqliteAdminStore::appendAudit(const AuditEntry& audit) {
  return store_->write([&](SqliteSession& session) { return session.appendAudit(audit); });
}

}  // namespace gw
