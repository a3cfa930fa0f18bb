// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "gateway/api/AdminStore.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

// AdminStore on the SQLite store (migration 6: admin_users, admin_sessions). Writes go through
// the store's writer with their audit records in the same transaction; reads use its read
// connection.
class SqliteAdminStore final : public AdminStore {
 public:
  explicit SqliteAdminStore(std::shared_ptr<SqliteStore> store);

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

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace gw
