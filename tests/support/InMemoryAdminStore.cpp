// SPDX-License-Identifier: Apache-2.0
#include "tests/support/InMemoryAdminStore.h"

namespace gw::test {

bool InMemoryAdminStore::failing() {
  const bool fail = fail_next_write_;
  fail_next_write_ = false;
  return fail;
}

void InMemoryAdminStore::record(AuditEntry entry) {
  if (entry.time == SystemTime()) {
    entry.time = clock_->now();
  }
  audit_.push_back(std::move(entry));
}

void InMemoryAdminStore::failNextWrite() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_write_ = true;
}

std::vector<AuditEntry> InMemoryAdminStore::audit() const {
  std::lock_guard<std::mutex> lock(mu_);
  return audit_;
}

std::size_t InMemoryAdminStore::sessionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

Status InMemoryAdminStore::createUser(const AdminUser& user, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  if (users_.count(user.username) != 0) {
    return Status::alreadyExists("an admin user with that name exists");
  }
  AdminUser stored = user;
  stored.created_at = stored.updated_at = clock_->now();
  users_[user.username] = stored;
  record(audit);
  return Status::ok();
}

Result<AdminUser> InMemoryAdminStore::findUser(const std::string& username) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = users_.find(username);
  if (it == users_.end()) {
    return Status::notFound("no admin user with that name");
  }
  return it->second;
}

Result<std::vector<AdminUser>> InMemoryAdminStore::listUsers() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AdminUser> out;
  for (const auto& [name, user] : users_) {
    out.push_back(user);
  }
  return out;
}

Status InMemoryAdminStore::updateUser(const AdminUser& user, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  const auto it = users_.find(user.username);
  if (it == users_.end()) {
    return Status::notFound("no admin user with that name");
  }
  const bool end_sessions = user.disabled || user.password_hash != it->second.password_hash ||
                            user.role != it->second.role;
  const SystemTime created = it->second.created_at;
  it->second = user;
  it->second.created_at = created;
  it->second.updated_at = clock_->now();
  if (end_sessions) {
    for (auto s = sessions_.begin(); s != sessions_.end();) {
      s = s->second.username == user.username ? sessions_.erase(s) : std::next(s);
    }
  }
  record(audit);
  return Status::ok();
}

Result<FailedLogin> InMemoryAdminStore::recordFailedLogin(const std::string& username,
                                                          int max_failed, SystemTime lock_until,
                                                          const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  const auto it = users_.find(username);
  if (it == users_.end()) {
    record(audit);
    return Status::notFound("no admin user with that name");
  }
  AdminUser& user = it->second;
  const SystemTime now = clock_->now();
  const bool lock_set = user.locked_until != SystemTime();
  const bool was_locked = lock_set && user.locked_until > now;
  FailedLogin result;
  result.failed_logins = (lock_set && !was_locked ? 0 : user.failed_logins) + 1;
  result.locked_now = !was_locked && result.failed_logins >= max_failed;
  user.failed_logins = result.failed_logins;
  user.locked_until = result.locked_now ? lock_until
                      : was_locked      ? user.locked_until
                                        : SystemTime();
  AuditEntry entry = audit;
  if (result.locked_now) {
    entry.action = "admin_locked_out";
  }
  record(entry);
  return result;
}

Status InMemoryAdminStore::recordLogin(const AdminSession& session, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  const auto it = users_.find(session.username);
  if (it == users_.end()) {
    return Status::notFound("no admin user with that name");
  }
  it->second.failed_logins = 0;
  it->second.locked_until = SystemTime();
  sessions_[session.token_hash] = session;
  record(audit);
  return Status::ok();
}

Result<AdminSession> InMemoryAdminStore::findSession(const std::string& token_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = sessions_.find(token_hash);
  if (it == sessions_.end()) {
    return Status::notFound("no such admin session");
  }
  return it->second;
}

Status InMemoryAdminStore::touchSession(const std::string& token_hash, SystemTime at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  const auto it = sessions_.find(token_hash);
  if (it != sessions_.end()) {
    it->second.last_seen_at = at;
  }
  return Status::ok();
}

Status InMemoryAdminStore::deleteSession(const std::string& token_hash, const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  sessions_.erase(token_hash);
  record(audit);
  return Status::ok();
}

Result<std::int64_t> InMemoryAdminStore::purgeExpiredSessions(SystemTime created_before,
                                                              SystemTime seen_before) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  std::int64_t purged = 0;
  for (auto s = sessions_.begin(); s != sessions_.end();) {
    const bool expired =
        s->second.created_at < created_before || s->second.last_seen_at < seen_before;
    purged += expired ? 1 : 0;
    s = expired ? sessions_.erase(s) : std::next(s);
  }
  return purged;
}

Status InMemoryAdminStore::appendAudit(const AuditEntry& audit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failing()) {
    return Status::unavailable("store unavailable (test)");
  }
  record(audit);
  return Status::ok();
}

}  // namespace gw::test
