// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/AdminSettings.h"
#include "gateway/api/AdminStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Result.h"
#include "gateway/api/Store.h"
#include "gateway/core/OperatorActions.h"

namespace gw::admin {

// An authenticated caller of one request.
struct Principal {
  std::string username;
  AdminRole role = AdminRole::Viewer;
  std::string token_hash;
  std::string source;  // client address of this request
  // "operator:<username>", the audit actor of everything this caller does.
  std::string actor() const { return "operator:" + username; }
};

struct LoginResult {
  std::string token;  // opaque bearer token (only its SHA-256 is stored)
  AdminRole role = AdminRole::Viewer;
  SystemTime expires_at;  // absolute end of the session (idle expiry comes earlier when idle)
};

struct MessageDetail {
  InboundEventRecord record;
  std::vector<PatientMessageRecord> patient_messages;  // made from it (metadata)
};

// What `gateway audit verify` reports, for JSON.
struct AuditVerifyOutcome {
  bool ok = false;
  std::int64_t records = 0;
  std::string root;                  // hex, when ok
  std::int64_t checkpoints = 0;      // verified, when ok
  std::int64_t checkpoint_size = 0;  // tree size of the latest checkpoint (0: none)
  std::string error;                 // when not ok: what no longer matches (no PHI)
  std::int64_t first_bad_seq = 0;    // when not ok and known: the first record that differs
};

// Changes to an account (each optional).
struct UserChange {
  std::optional<AdminRole> role;
  std::optional<std::string> password;
  std::optional<bool> disabled;
  bool unlock = false;  // clear the failure count and the lock
};

// What the Gateway lends the admin API. An unset function answers FailedPrecondition ("not
// available in this configuration").
struct AdminHooks {
  // Same as SIGHUP; writes its own "config_reloaded" audit record on success with who.actor.
  std::function<Status(const OperatorContext& who)> reload_config;
  // Appends a new key-encryption key and returns its id (audited by the service).
  std::function<Result<std::string>()> rotate_keys;
  // Verifies the audit trail (AuditLog::verify()).
  std::function<Result<AuditVerifyOutcome>()> verify_audit;
};

// The operator API's logic (issue #7, "Operator access"), independent of HTTP: authentication
// with lock-out, sessions with idle and absolute expiry, roles, and one audit record for every
// call (actor, action, object, outcome, source, reason), written in the same transaction as any
// state change the call makes.
//
// Errors: login() and authenticate() answer PermissionDenied for every authentication failure
// (the HTTP layer says 401); other calls answer PermissionDenied when the role is too low (403),
// InvalidArgument for bad input (400), NotFound (404), AlreadyExists / FailedPrecondition (409),
// Unavailable (503). Messages never hold PHI or passwords.
// Thread-safety: every method may be called concurrently. Never throws.
class AdminService {
 public:
  // Computes the decoy hash unknown users are checked against (so they cost the same).
  static Result<std::unique_ptr<AdminService>> create(AdminSettings settings, AdminStorePtr admin,
                                                      StorePtr store, MessageStorePtr messages,
                                                      PayloadCipherPtr cipher, ClockPtr clock,
                                                      AdminHooks hooks);

  const AdminSettings& settings() const { return settings_; }
  // The service clock's time (whether an account is locked now, in answers).
  SystemTime now() const { return clock_->now(); }

  // Counts one login attempt from `source` in the current minute; false (audited
  // "admin_login_throttled") once more than login_attempts_per_minute came from there: the
  // HTTP layer answers 429 without checking a password.
  Result<bool> admitLogin(const std::string& source);

  // Unknown user, wrong password, locked or disabled account: the same PermissionDenied
  // ("invalid username or password") after the same KDF work. A wrong password counts towards
  // the lock-out (audited "admin_login_failed", and "admin_locked_out" when it locks).
  Result<LoginResult> login(const std::string& username, const std::string& password,
                            const std::string& source);
  // Ends the session of `token` (audited). PermissionDenied when it is not a live session.
  Status logout(const std::string& token, const std::string& source);
  // The live session of `token`, or PermissionDenied (audited as "admin_unauthenticated" with
  // `action`). Ends an expired session.
  Result<Principal> authenticate(const std::string& token, const std::string& source,
                                 std::string_view action);

  // The account named by a verified client certificate's subject CN (settings'
  // client_certificate_login), or PermissionDenied (audited "admin_unauthenticated") when that
  // is off, the CN names no account, or the account is disabled or locked. No session.
  Result<Principal> authenticateCertificate(const std::string& common_name,
                                            const std::string& source, std::string_view action);

  // Viewer and up: metadata only.
  Result<std::vector<InboundEventRecord>> searchMessages(const Principal& who,
                                                         const InboundQuery& query);
  Result<MessageDetail> messageDetail(const Principal& who, std::int64_t id);
  Result<std::vector<PatientMessageRecord>> searchOutbox(const Principal& who,
                                                         const MessageQuery& query);
  Result<std::vector<WorkItem>> workList(const Principal& who);
  Result<AuditVerifyOutcome> verifyAudit(const Principal& who);
  // Operator and up, reason required: the decrypted inbound message (PHI).
  Result<std::string> messagePayload(const Principal& who, std::int64_t id,
                                     const std::string& reason);
  // A patient message's content (PHI): operator or admin, with a reason; audited
  // "viewed_message" in the same transaction as the read.
  Result<MessageContent> messageContent(const Principal& who, std::int64_t message_id,
                                        const std::string& reason);
  Status replay(const Principal& who, std::int64_t message_id, const std::string& reason);
  // Admin only.
  Status reloadConfig(const Principal& who, const std::string& reason);
  Result<std::string> rotateKeys(const Principal& who, const std::string& reason);
  Result<std::vector<AdminUser>> listUsers(const Principal& who);
  Status createUser(const Principal& who, const std::string& username, AdminRole role,
                    const std::string& password);
  Status updateUser(const Principal& who, const std::string& username, const UserChange& change);

  // Creates an account without a session (`gateway users add`); audited with `actor`.
  static Status addUser(AdminStore& store, const std::string& username, AdminRole role,
                        const std::string& password, const PasswordHashParams& kdf,
                        const OperatorContext& who);
  // InvalidArgument unless 1..64 characters of [A-Za-z0-9._@-].
  static Status checkUsername(std::string_view username);

 private:
  AdminService(AdminSettings settings, AdminStorePtr admin, StorePtr store,
               MessageStorePtr messages, PayloadCipherPtr cipher, ClockPtr clock, AdminHooks hooks);

  // Audits a denial and answers PermissionDenied when `who` has less than `needed`.
  Status require(const Principal& who, AdminRole needed, std::string_view action,
                 const std::string& object);
  // Writes the audit record of a call that changed nothing (outcome from `result`); returns
  // `result`, or the audit failure when the record could not be written.
  Status auditCall(const Principal& who, std::string_view action, const std::string& object,
                   const Status& result, const std::string& reason = "");
  // Audits a failure the store did not record (its transaction rolled back); OK passes through.
  Status auditFailure(const Principal& who, std::string_view action, const std::string& object,
                      const Status& result, const std::string& reason = "");
  OperatorContext context(const Principal& who, const std::string& reason) const;
  // Audits a refused request ("admin_unauthenticated") and answers PermissionDenied.
  Status unauthenticated(const std::string& actor, const std::string& source,
                         std::string_view action, const std::string& why);

  const AdminSettings settings_;
  const AdminStorePtr admin_;
  const StorePtr store_;
  const MessageStorePtr messages_;
  const PayloadCipherPtr cipher_;
  const ClockPtr clock_;
  const AdminHooks hooks_;
  std::string decoy_hash_;

  // Login attempts per client address in the current minute (cleared when the minute changes).
  std::mutex attempts_mu_;
  std::int64_t attempts_minute_ = 0;
  std::map<std::string, int> attempts_;
};

}  // namespace gw::admin
