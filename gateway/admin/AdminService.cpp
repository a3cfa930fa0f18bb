// SPDX-License-Identifier: Apache-2.0
#include "gateway/admin/AdminService.h"

#include <openssl/rand.h>

#include <utility>

#include "gateway/crypto/Digest.h"
#include "gateway/crypto/PasswordHash.h"

namespace gw::admin {
namespace {

constexpr std::size_t kTokenBytes = 32;
// last_seen_at is written at most this often per session (idle expiry is checked against it).
constexpr auto kTouchInterval = std::chrono::seconds(15);
constexpr std::size_t kMaxReasonBytes = 1024;

const Status& loginFailed() {
  static const Status failed = Status::permissionDenied("invalid username or password");
  return failed;
}

std::string outcomeOf(const Status& status) {
  return status.isOk() ? "ok" : std::string(statusCodeName(status.code()));
}

Status checkReason(const std::string& reason) {
  if (reason.empty()) {
    return Status::invalidArgument("a reason is required (it is audited)");
  }
  if (reason.size() > kMaxReasonBytes) {
    return Status::invalidArgument("the reason is longer than 1024 bytes");
  }
  return Status::ok();
}

Result<std::string> randomToken() {
  std::string bytes(kTokenBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) !=
      1) {
    return Status::internal("cannot draw a session token");
  }
  return toHex(bytes);
}

std::string userObject(const std::string& username) {
  return "admin_user:" + username;
}

}  // namespace

Result<std::unique_ptr<AdminService>> AdminService::create(AdminSettings settings,
                                                           AdminStorePtr admin, StorePtr store,
                                                           MessageStorePtr messages,
                                                           PayloadCipherPtr cipher, ClockPtr clock,
                                                           AdminHooks hooks) {
  GW_ASSIGN_OR_RETURN(std::string decoy_secret, randomToken());
  GW_ASSIGN_OR_RETURN(std::string decoy, hashPassword(decoy_secret, settings.password_kdf));
  std::unique_ptr<AdminService> service(
      new AdminService(std::move(settings), std::move(admin), std::move(store), std::move(messages),
                       std::move(cipher), std::move(clock), std::move(hooks)));
  service->decoy_hash_ = std::move(decoy);
  return service;
}

AdminService::AdminService(AdminSettings settings, AdminStorePtr admin, StorePtr store,
                           MessageStorePtr messages, PayloadCipherPtr cipher, ClockPtr clock,
                           AdminHooks hooks)
    : settings_(std::move(settings)),
      admin_(std::move(admin)),
      store_(std::move(store)),
      messages_(std::move(messages)),
      cipher_(std::move(cipher)),
      clock_(std::move(clock)),
      hooks_(std::move(hooks)) {}

Status AdminService::checkUsername(std::string_view username) {
  if (username.empty() || username.size() > 64) {
    return Status::invalidArgument("a username has 1 to 64 characters");
  }
  for (const char c : username) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok) {
      return Status::invalidArgument("a username may hold only letters, digits and . _ - @");
    }
  }
  return Status::ok();
}

Status AdminService::addUser(AdminStore& store, const std::string& username, AdminRole role,
                             const std::string& password, const PasswordHashParams& kdf,
                             const OperatorContext& who) {
  GW_RETURN_IF_ERROR(checkUsername(username));
  GW_RETURN_IF_ERROR(checkPasswordPolicy(password));
  AdminUser user;
  user.username = username;
  user.role = role;
  GW_ASSIGN_OR_RETURN(user.password_hash, hashPassword(password, kdf));
  return store.createUser(
      user, operatorAudit(who, "admin_user_created",
                          userObject(username) + " role=" + std::string(adminRoleName(role))));
}

OperatorContext AdminService::context(const Principal& who, const std::string& reason) const {
  return {who.actor(), who.source, reason};
}

Status AdminService::auditCall(const Principal& who, std::string_view action,
                               const std::string& object, const Status& result,
                               const std::string& reason) {
  const Status written = admin_->appendAudit(
      operatorAudit(context(who, reason), std::string(action), object, outcomeOf(result)));
  if (!written.isOk()) {
    return written;  // no answer without its audit record
  }
  return result;
}

Status AdminService::auditFailure(const Principal& who, std::string_view action,
                                  const std::string& object, const Status& result,
                                  const std::string& reason) {
  if (result.isOk()) {
    return result;
  }
  return auditCall(who, action, object, result, reason);
}

Status AdminService::require(const Principal& who, AdminRole needed, std::string_view action,
                             const std::string& object) {
  if (static_cast<int>(who.role) >= static_cast<int>(needed)) {
    return Status::ok();
  }
  return auditCall(who, action, object,
                   Status::permissionDenied(std::string(action) + " needs the " +
                                            std::string(adminRoleName(needed)) + " role"));
}

Result<bool> AdminService::admitLogin(const std::string& source) {
  const std::int64_t minute =
      std::chrono::duration_cast<std::chrono::minutes>(clock_->now().time_since_epoch()).count();
  {
    std::lock_guard<std::mutex> lock(attempts_mu_);
    if (minute != attempts_minute_) {
      attempts_.clear();
      attempts_minute_ = minute;
    }
    if (++attempts_[source] <= settings_.login_attempts_per_minute) {
      return true;
    }
  }
  AuditEntry audit;
  audit.actor = "anonymous";
  audit.action = "admin_login_throttled";
  audit.object = "login";
  audit.outcome = "rate_limited";
  audit.source = source;
  audit.reason = "more than " + std::to_string(settings_.login_attempts_per_minute) +
                 " login attempts in a minute";
  GW_RETURN_IF_ERROR(admin_->appendAudit(audit));
  return false;
}

Result<LoginResult> AdminService::login(const std::string& username, const std::string& password,
                                        const std::string& source) {
  const SystemTime now = clock_->now();
  Result<AdminUser> user = checkUsername(username).isOk() && password.size() <= kMaxPasswordLength
                               ? admin_->findUser(username)
                               : Result<AdminUser>(Status::notFound("no such user"));
  if (!user.ok() && user.status().code() != StatusCode::NotFound) {
    return user.status();
  }
  // The same KDF work whether or not the account exists, is locked or disabled.
  Result<bool> matches = verifyPassword(password.substr(0, kMaxPasswordLength),
                                        user.ok() ? user->password_hash : decoy_hash_);
  if (!matches.ok()) {
    return Status::internal("cannot check a password: " + matches.status().message());
  }
  const bool known = user.ok();
  AuditEntry audit;
  audit.actor = known ? "operator:" + username : "operator:unknown";
  audit.object = known ? userObject(username) : "admin_user:unknown";
  audit.source = source;
  audit.action = "admin_login_failed";
  audit.outcome = "permission_denied";
  if (!known || !*matches) {
    audit.reason = known ? "wrong password" : "unknown user";
    const std::string counted = known ? username : std::string();
    Result<FailedLogin> failed =
        admin_->recordFailedLogin(counted, settings_.max_failed_logins,
                                  now + std::chrono::seconds(settings_.lockout_seconds), audit);
    if (!failed.ok() && failed.status().code() != StatusCode::NotFound) {
      return failed.status();
    }
    return loginFailed();
  }
  const bool locked = user->locked_until != SystemTime() && user->locked_until > now;
  if (locked || user->disabled) {
    audit.reason = locked ? "account locked" : "account disabled";
    GW_RETURN_IF_ERROR(admin_->appendAudit(audit));
    return loginFailed();
  }
  GW_ASSIGN_OR_RETURN(std::string token, randomToken());
  GW_ASSIGN_OR_RETURN(std::string token_hash, sha256Hex(token));
  AdminSession session;
  session.token_hash = std::move(token_hash);
  session.username = username;
  session.created_at = now;
  session.last_seen_at = now;
  session.source = source;
  audit.action = "admin_login";
  audit.outcome = "ok";
  audit.reason = "";
  GW_RETURN_IF_ERROR(admin_->recordLogin(session, audit));
  // Sessions nobody presented again since they lapsed; a failure here only delays the cleanup.
  (void)admin_->purgeExpiredSessions(now - std::chrono::seconds(settings_.session_max_seconds),
                                     now - std::chrono::seconds(settings_.session_idle_seconds));
  LoginResult result;
  result.token = std::move(token);
  result.role = user->role;
  result.expires_at = now + std::chrono::seconds(settings_.session_max_seconds);
  return result;
}

Status AdminService::unauthenticated(const std::string& actor, const std::string& source,
                                     std::string_view action, const std::string& why) {
  AuditEntry audit;
  audit.actor = actor;
  audit.action = "admin_unauthenticated";
  audit.object = std::string(action);
  audit.outcome = "permission_denied";
  audit.source = source;
  audit.reason = why;
  GW_RETURN_IF_ERROR(admin_->appendAudit(audit));
  return Status::permissionDenied("authentication required");
}

Result<Principal> AdminService::authenticate(const std::string& token, const std::string& source,
                                             std::string_view action) {
  const auto denied = [&](const std::string& actor, const std::string& why) {
    return unauthenticated(actor, source, action, why);
  };
  if (token.empty()) {
    return denied("anonymous", "no bearer token");
  }
  GW_ASSIGN_OR_RETURN(const std::string token_hash, sha256Hex(token));
  Result<AdminSession> session = admin_->findSession(token_hash);
  if (!session.ok()) {
    if (session.status().code() != StatusCode::NotFound) {
      return session.status();
    }
    return denied("anonymous", "unknown or ended session");
  }
  const SystemTime now = clock_->now();
  const bool idle =
      now - session->last_seen_at > std::chrono::seconds(settings_.session_idle_seconds);
  const bool too_old =
      now - session->created_at > std::chrono::seconds(settings_.session_max_seconds);
  const std::string actor = "operator:" + session->username;
  if (idle || too_old) {
    AuditEntry audit;
    audit.actor = actor;
    audit.action = "admin_session_expired";
    audit.object = std::string(action);
    audit.outcome = "permission_denied";
    audit.source = source;
    audit.reason = idle ? "idle timeout" : "session lifetime reached";
    GW_RETURN_IF_ERROR(admin_->deleteSession(token_hash, audit));
    return Status::permissionDenied("authentication required");
  }
  Result<AdminUser> user = admin_->findUser(session->username);
  if (!user.ok() || user->disabled) {
    if (!user.ok() && user.status().code() != StatusCode::NotFound) {
      return user.status();
    }
    return denied(actor, "account disabled or removed");
  }
  if (now - session->last_seen_at >= kTouchInterval) {
    GW_RETURN_IF_ERROR(admin_->touchSession(token_hash, now));
  }
  Principal principal;
  principal.username = session->username;
  principal.role = user->role;
  principal.token_hash = token_hash;
  principal.source = source;
  return principal;
}

Result<Principal> AdminService::authenticateCertificate(const std::string& common_name,
                                                        const std::string& source,
                                                        std::string_view action) {
  const auto denied = [&](const std::string& why) {
    return unauthenticated("anonymous", source, action, why);
  };
  if (!settings_.client_certificate_login) {
    return denied("client certificate login is off");
  }
  if (!checkUsername(common_name).isOk()) {
    return denied("client certificate CN is not an account name");
  }
  Result<AdminUser> user = admin_->findUser(common_name);
  if (!user.ok()) {
    if (user.status().code() != StatusCode::NotFound) {
      return user.status();
    }
    return denied("client certificate CN has no account");
  }
  if (user->disabled ||
      (user->locked_until != SystemTime() && user->locked_until > clock_->now())) {
    return denied("account of client certificate CN " + common_name + " is disabled or locked");
  }
  Principal principal;
  principal.username = user->username;
  principal.role = user->role;
  principal.source = source;
  return principal;
}

Status AdminService::logout(const std::string& token, const std::string& source) {
  GW_ASSIGN_OR_RETURN(const Principal who, authenticate(token, source, "logout"));
  return admin_->deleteSession(
      who.token_hash, operatorAudit(context(who, ""), "admin_logout", userObject(who.username)));
}

Result<std::vector<InboundEventRecord>> AdminService::searchMessages(const Principal& who,
                                                                     const InboundQuery& query) {
  Result<std::vector<InboundEventRecord>> found = store_->listInbound(query);
  std::string object = "inbound_events";
  if (query.control_id) {
    object += " control_id=" + *query.control_id;
  }
  if (query.state) {
    object += " state=" + std::string(inboundStateName(*query.state));
  }
  GW_RETURN_IF_ERROR(auditCall(who, "admin_search_messages", object, found.status()));
  return found;
}

Result<MessageDetail> AdminService::messageDetail(const Principal& who, std::int64_t id) {
  const std::string object = "inbound_event:" + std::to_string(id);
  MessageDetail detail;
  Status status = Status::ok();
  Result<InboundEventRecord> record = store_->getInbound(id);
  if (record.ok()) {
    detail.record = std::move(record).value();
    MessageQuery query;
    query.event_id = id;
    Result<std::vector<PatientMessageRecord>> made = messages_->findMessages(query);
    if (made.ok()) {
      detail.patient_messages = std::move(made).value();
    } else {
      status = made.status();
    }
  } else {
    status = record.status();
  }
  GW_RETURN_IF_ERROR(auditCall(who, "admin_view_metadata", object, status));
  return detail;
}

Result<std::vector<PatientMessageRecord>> AdminService::searchOutbox(const Principal& who,
                                                                     const MessageQuery& query) {
  Result<std::vector<PatientMessageRecord>> found = messages_->findMessages(query);
  std::string object = "patient_messages";
  if (query.state) {
    object += " state=" + std::string(messageStateName(*query.state));
  }
  if (query.event_id) {
    object += " event_id=" + std::to_string(*query.event_id);
  }
  GW_RETURN_IF_ERROR(auditCall(who, "admin_search_outbox", object, found.status()));
  return found;
}

Result<std::vector<WorkItem>> AdminService::workList(const Principal& who) {
  Result<std::vector<WorkItem>> work = messages_->openWork(10000);
  GW_RETURN_IF_ERROR(auditCall(who, "admin_work_list", "work_items", work.status()));
  return work;
}

Result<AuditVerifyOutcome> AdminService::verifyAudit(const Principal& who) {
  if (!hooks_.verify_audit) {
    return auditCall(who, "admin_audit_verify", "audit_trail",
                     Status::failedPrecondition("audit verification is not available"));
  }
  Result<AuditVerifyOutcome> outcome = hooks_.verify_audit();
  if (!outcome.ok()) {
    return auditCall(who, "admin_audit_verify", "audit_trail", outcome.status());
  }
  // A trail that does not verify is a successful call with a bad result: audited as data_loss.
  GW_RETURN_IF_ERROR(admin_->appendAudit(operatorAudit(
      context(who, ""), "admin_audit_verify", "audit_trail", outcome->ok ? "ok" : "data_loss")));
  return outcome;
}

Result<std::string> AdminService::messagePayload(const Principal& who, std::int64_t id,
                                                 const std::string& reason) {
  const std::string object = "inbound_event:" + std::to_string(id);
  GW_RETURN_IF_ERROR(require(who, AdminRole::Operator, "viewed_payload", object));
  GW_RETURN_IF_ERROR(auditFailure(who, "viewed_payload", object, checkReason(reason), reason));
  Result<InboundEventRecord> record = store_->getInbound(id);
  GW_RETURN_IF_ERROR(auditFailure(who, "viewed_payload", object, record.status(), reason));
  // The view is audited in the same transaction as the read (viewEventPayload); a failure to
  // decrypt after the read stays audited as a view.
  Result<std::string> payload = viewEventPayload(*store_, *cipher_, *record, context(who, reason));
  if (!payload.ok() && payload.status().code() != StatusCode::DataLoss) {
    GW_RETURN_IF_ERROR(auditFailure(who, "viewed_payload", object, payload.status(), reason));
  }
  return payload;
}

Result<MessageContent> AdminService::messageContent(const Principal& who, std::int64_t message_id,
                                                   const std::string& reason) {
  const std::string object = "patient_message:" + std::to_string(message_id);
  GW_RETURN_IF_ERROR(require(who, AdminRole::Operator, "viewed_message", object));
  GW_RETURN_IF_ERROR(auditFailure(who, "viewed_message", object, checkReason(reason), reason));
  Result<MessageContent> content =
      viewMessageContent(*messages_, *cipher_, message_id, context(who, reason));
  // A successful read is audited with the read; a decrypt failure after it stays audited as a
  // view; anything else (unknown message, shredded content) is audited as the failure.
  if (!content.ok() && content.status().code() != StatusCode::DataLoss) {
    GW_RETURN_IF_ERROR(auditFailure(who, "viewed_message", object, content.status(), reason));
  }
  return content;
}

Status AdminService::replay(const Principal& who, std::int64_t message_id,
                            const std::string& reason) {
  const std::string object = "patient_message:" + std::to_string(message_id);
  GW_RETURN_IF_ERROR(require(who, AdminRole::Operator, "replayed", object));
  GW_RETURN_IF_ERROR(auditFailure(who, "replayed", object, checkReason(reason), reason));
  return auditFailure(who, "replayed", object,
                      replayDeadMessage(*messages_, message_id, context(who, reason)), reason);
}

Status AdminService::reloadConfig(const Principal& who, const std::string& reason) {
  GW_RETURN_IF_ERROR(require(who, AdminRole::Admin, "config_reloaded", "mappings"));
  if (!hooks_.reload_config) {
    return auditCall(who, "config_reloaded", "mappings",
                     Status::failedPrecondition("reload is not available"), reason);
  }
  return auditFailure(who, "config_reloaded", "mappings",
                      hooks_.reload_config(context(who, reason)), reason);
}

Result<std::string> AdminService::rotateKeys(const Principal& who, const std::string& reason) {
  GW_RETURN_IF_ERROR(require(who, AdminRole::Admin, "key_rotated", "keys"));
  if (!hooks_.rotate_keys) {
    return auditCall(who, "key_rotated", "keys",
                     Status::failedPrecondition("key rotation is not available"), reason);
  }
  Result<std::string> key_id = hooks_.rotate_keys();
  GW_RETURN_IF_ERROR(auditCall(who, "key_rotated", key_id.ok() ? "kek:" + *key_id : "keys",
                               key_id.status(), reason));
  return key_id;
}

Result<std::vector<AdminUser>> AdminService::listUsers(const Principal& who) {
  GW_RETURN_IF_ERROR(require(who, AdminRole::Admin, "admin_list_users", "admin_users"));
  Result<std::vector<AdminUser>> users = admin_->listUsers();
  GW_RETURN_IF_ERROR(auditCall(who, "admin_list_users", "admin_users", users.status()));
  return users;
}

Status AdminService::createUser(const Principal& who, const std::string& username, AdminRole role,
                                const std::string& password) {
  const std::string object = userObject(checkUsername(username).isOk() ? username : "invalid");
  GW_RETURN_IF_ERROR(require(who, AdminRole::Admin, "admin_user_created", object));
  return auditFailure(
      who, "admin_user_created", object,
      addUser(*admin_, username, role, password, settings_.password_kdf, context(who, "")));
}

Status AdminService::updateUser(const Principal& who, const std::string& username,
                                const UserChange& change) {
  const std::string object = userObject(checkUsername(username).isOk() ? username : "invalid");
  GW_RETURN_IF_ERROR(require(who, AdminRole::Admin, "admin_user_updated", object));
  const auto fail = [&](const Status& s) {
    return auditCall(who, "admin_user_updated", object, s);
  };
  if (Status s = checkUsername(username); !s.isOk()) {
    return fail(s);
  }
  if (username == who.username &&
      ((change.role && *change.role != AdminRole::Admin) || change.disabled.value_or(false))) {
    return fail(Status::failedPrecondition(
        "an admin cannot demote or disable their own account (ask another admin)"));
  }
  Result<AdminUser> user = admin_->findUser(username);
  if (!user.ok()) {
    return fail(user.status());
  }
  std::string what;
  if (change.role) {
    user->role = *change.role;
    what += " role=" + std::string(adminRoleName(*change.role));
  }
  if (change.password) {
    if (Status s = checkPasswordPolicy(*change.password); !s.isOk()) {
      return fail(s);
    }
    Result<std::string> hash = hashPassword(*change.password, settings_.password_kdf);
    if (!hash.ok()) {
      return fail(hash.status());
    }
    user->password_hash = std::move(hash).value();
    what += " password_reset";
  }
  if (change.disabled) {
    user->disabled = *change.disabled;
    what += *change.disabled ? " disabled" : " enabled";
  }
  if (change.unlock) {
    user->failed_logins = 0;
    user->locked_until = SystemTime();
    what += " unlocked";
  }
  if (what.empty()) {
    return fail(Status::invalidArgument("nothing to change (role, password, disabled, unlock)"));
  }
  return auditFailure(
      who, "admin_user_updated", object,
      admin_->updateUser(*user,
                         operatorAudit(context(who, ""), "admin_user_updated", object + what)));
}

}  // namespace gw::admin
