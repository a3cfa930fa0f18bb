// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw {

// What an operator account may do (issue #7, "Operator access"). Ordered: each role may do
// everything the ones before it may.
enum class AdminRole {
  Viewer,    // metadata only, never PHI
  Operator,  // + view PHI with a stated reason (audited), replay dead letters
  Admin,     // + reload config, rotate keys, manage users
};
std::string_view adminRoleName(AdminRole role);
std::optional<AdminRole> parseAdminRole(std::string_view name);

// A local operator account. No PHI; the password only as a self-describing KDF hash string.
struct AdminUser {
  std::string username;
  AdminRole role = AdminRole::Viewer;
  std::string password_hash;  // PHC-style string (gateway/crypto/PasswordHash.h)
  int failed_logins = 0;      // consecutive failures, reset by a successful login
  SystemTime locked_until;    // epoch: not locked
  bool disabled = false;
  SystemTime created_at;
  SystemTime updated_at;
};

// A login session. The bearer token is never stored, only its SHA-256 (hex).
struct AdminSession {
  std::string token_hash;
  std::string username;
  SystemTime created_at;
  SystemTime last_seen_at;
  std::string source;  // client address at login
};

// What a failed login did to the account.
struct FailedLogin {
  int failed_logins = 0;    // after this failure
  bool locked_now = false;  // this failure reached the limit and set locked_until
};

// Operator accounts and their sessions (migration 6 on SQLite). Every mutating call writes its
// `audit` record in the same transaction as its change, or neither.
//
// Thread-safety: every method may be called concurrently. Errors: NotFound (unknown user or
// session), AlreadyExists (createUser with a taken name), Unavailable (cannot read or commit
// now; nothing changed), DataLoss (corrupt row), Internal. Never throws.
class AdminStore {
 public:
  AdminStore() = default;
  virtual ~AdminStore() = default;
  AdminStore(const AdminStore&) = delete;
  AdminStore& operator=(const AdminStore&) = delete;

  // Accounts. updateUser() writes role, password_hash, failed_logins, locked_until and disabled
  // of an existing user (updated_at from the store clock); a disabled user or a changed password
  // also ends every session of that user, in the same transaction.
  virtual Status createUser(const AdminUser& user, const AuditEntry& audit) = 0;
  virtual Result<AdminUser> findUser(const std::string& username) = 0;
  virtual Result<std::vector<AdminUser>> listUsers() = 0;
  virtual Status updateUser(const AdminUser& user, const AuditEntry& audit) = 0;

  // Counts one failed login atomically (concurrent failures are all counted); when the count
  // reaches `max_failed` the account is locked until `lock_until`. Unknown users: NotFound and
  // only the audit record is written.
  virtual Result<FailedLogin> recordFailedLogin(const std::string& username, int max_failed,
                                                SystemTime lock_until, const AuditEntry& audit) = 0;
  // A successful login: resets the failure count and lock, stores the session.
  virtual Status recordLogin(const AdminSession& session, const AuditEntry& audit) = 0;

  // Sessions: findSession() NotFound for an unknown hash; touchSession() moves last_seen_at
  // (bookkeeping, no audit record); deleteSession() ends one (logout, expiry) with `audit`.
  virtual Result<AdminSession> findSession(const std::string& token_hash) = 0;
  virtual Status touchSession(const std::string& token_hash, SystemTime at) = 0;
  virtual Status deleteSession(const std::string& token_hash, const AuditEntry& audit) = 0;

  // Deletes sessions created before `created_before` or idle since before `seen_before` (they
  // can no longer authenticate; bookkeeping, no audit record). Returns how many.
  virtual Result<std::int64_t> purgeExpiredSessions(SystemTime created_before,
                                                    SystemTime seen_before) = 0;

  // A standalone audit record for a call that changes nothing (a search, a denied request).
  virtual Status appendAudit(const AuditEntry& audit) = 0;
};

using AdminStorePtr = std::shared_ptr<AdminStore>;

}  // namespace gw
