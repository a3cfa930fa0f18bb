// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "gateway/api/AdminStore.h"

namespace gw::test {

// An AdminStore fake: users, sessions and the audit records in maps under one mutex. Keeps the
// contract callers rely on: every mutating call writes its audit entry with its change or
// neither (failNextWrite() makes the next mutating call fail with Unavailable and change
// nothing), a password/role change or disabling ends the user's sessions, failed logins are
// counted and lock as SqliteAdminStore does (a lock that ran out starts a new count). Audit
// entries with an epoch time get the clock's now. Thread-safe.
class InMemoryAdminStore final : public AdminStore {
 public:
  explicit InMemoryAdminStore(ClockPtr clock) : clock_(std::move(clock)) {}

  Status createUser(const AdminUser& user, const AuditEntry& audit) override;
  Result<AdminUser> findUser(const std::string& username) override;
  Result<std::vector<AdminUser>> listUsers() override;
  Status updateUser(const AdminUser& user, const AuditEntry& audit) override;
  Result<FailedLogin> recordFailedLogin(const std::string& username, int max_failed,
                                        SystemTime lock_until, const AuditEntry& audit) override;
  Status recordLogin(const AdminSession& session, const AuditEntry& audit) override;
  Result<AdminSession> findSession(const std::string& token_hash) override;
  Status touchSession(const std::string& token_hash, SystemTime at) override;
  Status deleteSession(const std::string& token_hash, const AuditEntry& audit) override;
  Result<std::int64_t> purgeExpiredSessions(SystemTime created_before,
                                            SystemTime seen_before) override;
  Status appendAudit(const AuditEntry& audit) override;

  void failNextWrite();
  std::vector<AuditEntry> audit() const;
  std::size_t sessionCount() const;

 private:
  // Takes the pending failure, if any (with mu_ held).
  bool failing();
  void record(AuditEntry entry);

  const ClockPtr clock_;
  mutable std::mutex mu_;
  bool fail_next_write_ = false;
  std::map<std::string, AdminUser> users_;
  std::map<std::string, AdminSession> sessions_;
  std::vector<AuditEntry> audit_;
};

}  // namespace gw::test
