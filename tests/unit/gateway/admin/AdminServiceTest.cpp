// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>

#include "gateway/admin/AdminService.h"
#include "tests/unit/gateway/admin/AdminFixture.h"

namespace gw::admin {
namespace {

using AdminServiceTest = AdminFixture;

TEST_F(AdminServiceTest, LoginGivesATokenWhoseHashIsTheSession) {
  const std::size_t before = admin_->audit().size();
  Result<LoginResult> result = service_->login("alice", kAdminPassword, "10.0.0.5");
  ASSERT_TRUE(result.ok()) << result.status().toString();
  EXPECT_EQ(result->role, AdminRole::Admin);
  EXPECT_EQ(result->token.size(), 64u);
  EXPECT_EQ(result->expires_at, clock_->now() + seconds(3600));
  Result<Principal> who = service_->authenticate(result->token, "10.0.0.5", "GET messages");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->username, "alice");
  EXPECT_NE(who->token_hash, result->token);  // only the hash is stored
  EXPECT_TRUE(admin_->findSession(who->token_hash).ok());
  EXPECT_FALSE(admin_->findSession(result->token).ok());
  const std::vector<AuditEntry> audit = auditSince(before);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "admin_login");
  EXPECT_EQ(audit[0].actor, "operator:alice");
  EXPECT_EQ(audit[0].source, "10.0.0.5");
  EXPECT_EQ(audit[0].outcome, "ok");
}

TEST_F(AdminServiceTest, EveryLoginFailureGetsTheSameAnswer) {
  Result<LoginResult> wrong = service_->login("alice", "not the password", "10.0.0.5");
  Result<LoginResult> unknown = service_->login("nobody", kAdminPassword, "10.0.0.5");
  Result<LoginResult> bad_name = service_->login("bad name!", kAdminPassword, "10.0.0.5");
  AdminUser disabled = *admin_->findUser("victor");
  disabled.disabled = true;
  ASSERT_TRUE(admin_->updateUser(disabled, {}).isOk());
  Result<LoginResult> off = service_->login("victor", kViewerPassword, "10.0.0.5");
  for (const Result<LoginResult>* r : {&wrong, &unknown, &bad_name, &off}) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->status().code(), StatusCode::PermissionDenied);
    EXPECT_EQ(r->status().message(), "invalid username or password");
  }
  // Unknown names are not written into the audit trail (a password typed into the name field).
  for (const AuditEntry& e : admin_->audit()) {
    EXPECT_EQ(e.actor.find("nobody"), std::string::npos);
  }
}

TEST_F(AdminServiceTest, LocksAfterMaxFailuresUntilTheLockRunsOut) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(service_->login("olga", "wrong password!", "10.0.0.9").ok());
  }
  const std::vector<AuditEntry> audit = admin_->audit();
  EXPECT_EQ(audit.back().action, "admin_locked_out");
  EXPECT_EQ(audit.back().actor, "operator:olga");
  EXPECT_EQ(audit.back().source, "10.0.0.9");
  // The right password does not open a locked account, and says nothing different.
  Result<LoginResult> locked = service_->login("olga", kOperatorPassword, "10.0.0.9");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.status().message(), "invalid username or password");
  EXPECT_EQ(admin_->audit().back().reason, "account locked");
  clock_->advance(seconds(601));
  EXPECT_TRUE(service_->login("olga", kOperatorPassword, "10.0.0.9").ok());
  EXPECT_EQ(admin_->findUser("olga")->failed_logins, 0);
}

TEST_F(AdminServiceTest, AnAdminUnlocksAnAccount) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(service_->login("olga", "wrong password!", "10.0.0.9").ok());
  }
  const Principal alice = login("alice", kAdminPassword);
  UserChange unlock;
  unlock.unlock = true;
  ASSERT_TRUE(service_->updateUser(alice, "olga", unlock).isOk());
  EXPECT_TRUE(service_->login("olga", kOperatorPassword, "10.0.0.9").ok());
}

TEST_F(AdminServiceTest, LoginAttemptsPerAddressAreLimitedPerMinute) {
  AdminSettings strict = settings_;
  strict.login_attempts_per_minute = 2;
  Result<std::unique_ptr<AdminService>> service =
      AdminService::create(strict, admin_, store_, messages_, cipher_, clock_, {});
  ASSERT_TRUE(service.ok());
  EXPECT_TRUE(*(*service)->admitLogin("10.0.0.5"));
  EXPECT_TRUE(*(*service)->admitLogin("10.0.0.5"));
  EXPECT_FALSE(*(*service)->admitLogin("10.0.0.5"));
  EXPECT_EQ(admin_->audit().back().action, "admin_login_throttled");
  EXPECT_EQ(admin_->audit().back().source, "10.0.0.5");
  EXPECT_TRUE(*(*service)->admitLogin("10.0.0.6"));  // per address
  clock_->advance(seconds(60));
  EXPECT_TRUE(*(*service)->admitLogin("10.0.0.5"));  // a new minute
}

TEST_F(AdminServiceTest, SessionEndsWhenIdle) {
  Result<LoginResult> result = service_->login("victor", kViewerPassword, "10.0.0.5");
  ASSERT_TRUE(result.ok());
  clock_->advance(seconds(200));
  EXPECT_TRUE(service_->authenticate(result->token, "10.0.0.5", "x").ok());  // touches it
  clock_->advance(seconds(200));
  EXPECT_TRUE(service_->authenticate(result->token, "10.0.0.5", "x").ok());
  clock_->advance(seconds(301));
  Result<Principal> expired = service_->authenticate(result->token, "10.0.0.5", "x");
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::PermissionDenied);
  EXPECT_EQ(admin_->audit().back().action, "admin_session_expired");
  EXPECT_EQ(admin_->audit().back().reason, "idle timeout");
  EXPECT_EQ(admin_->sessionCount(), 0u);
}

TEST_F(AdminServiceTest, ALoginPurgesLapsedSessions) {
  ASSERT_TRUE(service_->login("victor", kViewerPassword, "10.0.0.5").ok());
  ASSERT_TRUE(service_->login("olga", kOperatorPassword, "10.0.0.5").ok());
  EXPECT_EQ(admin_->sessionCount(), 2u);
  clock_->advance(seconds(301));  // both idle past session_idle_seconds
  ASSERT_TRUE(service_->login("alice", kAdminPassword, "10.0.0.5").ok());
  EXPECT_EQ(admin_->sessionCount(), 1u);
}

TEST_F(AdminServiceTest, SessionEndsAtItsMaximumAgeEvenWhenBusy) {
  Result<LoginResult> result = service_->login("victor", kViewerPassword, "10.0.0.5");
  ASSERT_TRUE(result.ok());
  for (int i = 0; i < 35; ++i) {
    clock_->advance(seconds(100));
    ASSERT_TRUE(service_->authenticate(result->token, "10.0.0.5", "x").ok()) << i;
  }
  clock_->advance(seconds(101));  // 3601 s after login
  EXPECT_FALSE(service_->authenticate(result->token, "10.0.0.5", "x").ok());
  EXPECT_EQ(admin_->audit().back().reason, "session lifetime reached");
}

TEST_F(AdminServiceTest, UnknownTokensAreRefusedAndAudited) {
  const std::size_t before = admin_->audit().size();
  EXPECT_EQ(service_->authenticate("", "10.0.0.7", "GET messages").status().code(),
            StatusCode::PermissionDenied);
  EXPECT_EQ(
      service_->authenticate(std::string(64, 'a'), "10.0.0.7", "GET messages").status().code(),
      StatusCode::PermissionDenied);
  const std::vector<AuditEntry> audit = auditSince(before);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "admin_unauthenticated");
  EXPECT_EQ(audit[0].object, "GET messages");
  EXPECT_EQ(audit[0].source, "10.0.0.7");
}

TEST_F(AdminServiceTest, LogoutEndsTheSession) {
  login("victor", kViewerPassword);
  ASSERT_TRUE(service_->logout(tokens_["victor"], "10.0.0.5").isOk());
  EXPECT_EQ(admin_->audit().back().action, "admin_logout");
  EXPECT_FALSE(service_->authenticate(tokens_["victor"], "10.0.0.5", "x").ok());
}

TEST_F(AdminServiceTest, ViewerNeverSeesPhi) {
  const Principal victor = login("victor", kViewerPassword);
  const std::size_t before = admin_->audit().size();
  Result<std::string> payload = service_->messagePayload(victor, event_id_, "curious");
  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.status().code(), StatusCode::PermissionDenied);
  const std::vector<AuditEntry> audit = auditSince(before);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "viewed_payload");
  EXPECT_EQ(audit[0].outcome, "permission_denied");
  // Metadata is fine, and audited too.
  Result<MessageDetail> detail = service_->messageDetail(victor, event_id_);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->record.control_id, "CTRL-1");
  ASSERT_EQ(detail->patient_messages.size(), 1u);
  EXPECT_EQ(admin_->audit().back().action, "admin_view_metadata");
  // The store's own view record was never written.
  Result<std::vector<AuditRecord>> store_audit = store_->listAudit(0, 100);
  for (const AuditRecord& r : *store_audit) {
    EXPECT_NE(r.entry.action, "viewed_payload");
  }
}

TEST_F(AdminServiceTest, OperatorSeesPhiOnlyWithAReasonAndTheViewIsAudited) {
  const Principal olga = login("olga", kOperatorPassword);
  Result<std::string> no_reason = service_->messagePayload(olga, event_id_, "");
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(admin_->audit().back().outcome, "invalid_argument");
  Result<std::string> shown = service_->messagePayload(olga, event_id_, "ticket 4711");
  ASSERT_TRUE(shown.ok()) << shown.status().toString();
  EXPECT_EQ(*shown, kPhi);
  // The view record is written by the store with the read (same transaction).
  Result<std::vector<AuditRecord>> store_audit = store_->listAudit(0, 100);
  const AuditRecord& view = store_audit->back();
  EXPECT_EQ(view.entry.action, "viewed_payload");
  EXPECT_EQ(view.entry.actor, "operator:olga");
  EXPECT_EQ(view.entry.reason, "ticket 4711");
  EXPECT_EQ(view.entry.source, "10.0.0.5");
  EXPECT_EQ(view.entry.object, "inbound_event:" + std::to_string(event_id_));
  EXPECT_EQ(service_->messagePayload(olga, 999, "ticket").status().code(), StatusCode::NotFound);
  EXPECT_EQ(admin_->audit().back().outcome, "not_found");
}

TEST_F(AdminServiceTest, PatientMessageContentOnlyForOperatorsWithAReasonAndAuditedWithTheRead) {
  const Principal victor = login("victor", kViewerPassword);
  const Principal olga = login("olga", kOperatorPassword);
  Result<MessageContent> denied = service_->messageContent(victor, 41, "curious");
  EXPECT_EQ(denied.status().code(), StatusCode::PermissionDenied);
  EXPECT_EQ(admin_->audit().back().action, "viewed_message");
  EXPECT_EQ(admin_->audit().back().outcome, "permission_denied");
  EXPECT_EQ(service_->messageContent(olga, 41, "").status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(messages_->audit_.empty());  // nothing was read

  Result<MessageContent> shown = service_->messageContent(olga, 41, "ticket 4712");
  ASSERT_TRUE(shown.ok()) << shown.status().toString();
  EXPECT_EQ(shown->text, "Dear Alexa Testpatient, rest for two days.");
  ASSERT_EQ(shown->quick_replies.size(), 1u);
  ASSERT_EQ(messages_->audit_.size(), 1u);  // written by the store with the read
  EXPECT_EQ(messages_->audit_[0].action, "viewed_message");
  EXPECT_EQ(messages_->audit_[0].actor, "operator:olga");
  EXPECT_EQ(messages_->audit_[0].reason, "ticket 4712");
  EXPECT_EQ(messages_->audit_[0].object, "patient_message:41");

  EXPECT_EQ(service_->messageContent(olga, 999, "ticket").status().code(), StatusCode::NotFound);
  EXPECT_EQ(admin_->audit().back().outcome, "not_found");
  messages_->sealed_contents[41] = "tampered";  // cannot be decrypted: DataLoss, never the bytes
  EXPECT_EQ(service_->messageContent(olga, 41, "ticket").status().code(), StatusCode::DataLoss);
}

TEST_F(AdminServiceTest, ReplayNeedsOperatorAndReasonAndMovesDeadToPending) {
  const Principal victor = login("victor", kViewerPassword);
  const Principal olga = login("olga", kOperatorPassword);
  EXPECT_EQ(service_->replay(victor, 41, "fixed").code(), StatusCode::PermissionDenied);
  EXPECT_EQ(service_->replay(olga, 41, "").code(), StatusCode::InvalidArgument);
  EXPECT_EQ(messages_->messages[0].state, MessageState::Dead);
  ASSERT_TRUE(service_->replay(olga, 41, "smtp fixed").isOk());
  EXPECT_EQ(messages_->messages[0].state, MessageState::Pending);
  ASSERT_EQ(messages_->audit_.size(), 1u);
  EXPECT_EQ(messages_->audit_[0].action, "replayed");
  EXPECT_EQ(messages_->audit_[0].reason, "smtp fixed");
  EXPECT_EQ(messages_->audit_[0].actor, "operator:olga");
  const Status again = service_->replay(olga, 41, "again");
  EXPECT_EQ(again.code(), StatusCode::FailedPrecondition);
  EXPECT_EQ(admin_->audit().back().outcome, "failed_precondition");
}

TEST_F(AdminServiceTest, AdminOnlyCalls) {
  const Principal olga = login("olga", kOperatorPassword);
  const Principal alice = login("alice", kAdminPassword);
  EXPECT_EQ(service_->reloadConfig(olga, "x").code(), StatusCode::PermissionDenied);
  EXPECT_EQ(service_->rotateKeys(olga, "x").status().code(), StatusCode::PermissionDenied);
  EXPECT_EQ(service_->listUsers(olga).status().code(), StatusCode::PermissionDenied);
  EXPECT_EQ(service_->createUser(olga, "eve", AdminRole::Admin, "long enough pass").code(),
            StatusCode::PermissionDenied);
  EXPECT_TRUE(reloads_.empty());
  EXPECT_EQ(rotations_, 0);

  ASSERT_TRUE(service_->reloadConfig(alice, "new mapping").isOk());
  ASSERT_EQ(reloads_.size(), 1u);
  EXPECT_EQ(reloads_[0].actor, "operator:alice");
  EXPECT_EQ(reloads_[0].reason, "new mapping");
  reload_result_ = Status::invalidArgument("mappings/x.json:1:1: error: bad");
  EXPECT_EQ(service_->reloadConfig(alice, "broken").code(), StatusCode::InvalidArgument);
  EXPECT_EQ(admin_->audit().back().action, "config_reloaded");
  EXPECT_EQ(admin_->audit().back().outcome, "invalid_argument");
  Result<std::string> key = service_->rotateKeys(alice, "yearly");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, "k2");
  EXPECT_EQ(admin_->audit().back().action, "key_rotated");
  EXPECT_EQ(admin_->audit().back().object, "kek:k2");
  EXPECT_EQ(service_->listUsers(alice)->size(), 3u);
}

TEST_F(AdminServiceTest, UnsetHooksAreNotAvailable) {
  Result<std::unique_ptr<AdminService>> bare =
      AdminService::create(settings_, admin_, store_, messages_, cipher_, clock_, {});
  ASSERT_TRUE(bare.ok());
  const Principal alice = login("alice", kAdminPassword);
  EXPECT_EQ((*bare)->reloadConfig(alice, "x").code(), StatusCode::FailedPrecondition);
  EXPECT_EQ((*bare)->rotateKeys(alice, "x").status().code(), StatusCode::FailedPrecondition);
  EXPECT_EQ((*bare)->verifyAudit(alice).status().code(), StatusCode::FailedPrecondition);
}

TEST_F(AdminServiceTest, EveryCallWritesOneAuditRecord) {
  const Principal victor = login("victor", kViewerPassword);
  const Principal alice = login("alice", kAdminPassword);
  const auto one_record = [&](const char* what, const std::function<void()>& call) {
    const std::size_t before = admin_->audit().size() + messages_->audit_.size() +
                               static_cast<std::size_t>(store_->auditCount());
    call();
    const std::size_t after = admin_->audit().size() + messages_->audit_.size() +
                              static_cast<std::size_t>(store_->auditCount());
    EXPECT_EQ(after - before, 1u) << what;
  };
  one_record("search", [&] { EXPECT_TRUE(service_->searchMessages(victor, {}).ok()); });
  one_record("detail", [&] { EXPECT_TRUE(service_->messageDetail(victor, event_id_).ok()); });
  one_record("outbox", [&] { EXPECT_TRUE(service_->searchOutbox(victor, {}).ok()); });
  one_record("work", [&] { EXPECT_TRUE(service_->workList(victor).ok()); });
  one_record("verify", [&] { EXPECT_TRUE(service_->verifyAudit(victor).ok()); });
  one_record("payload", [&] { EXPECT_TRUE(service_->messagePayload(alice, event_id_, "r").ok()); });
  one_record("replay", [&] { EXPECT_TRUE(service_->replay(alice, 41, "r").isOk()); });
  one_record("denied", [&] { EXPECT_FALSE(service_->listUsers(victor).ok()); });
  one_record("users", [&] { EXPECT_TRUE(service_->listUsers(alice).ok()); });
  one_record("create", [&] {
    EXPECT_TRUE(
        service_->createUser(alice, "carol", AdminRole::Viewer, "carol pass phrase").isOk());
  });
  one_record("login", [&] { EXPECT_FALSE(service_->login("carol", "wrong one!", "x").ok()); });
  one_record("bad token", [&] { EXPECT_FALSE(service_->authenticate("zz", "x", "y").ok()); });
}

TEST_F(AdminServiceTest, NoAnswerWithoutItsAuditRecord) {
  const Principal victor = login("victor", kViewerPassword);
  admin_->failNextWrite();
  Result<std::vector<InboundEventRecord>> found = service_->searchMessages(victor, {});
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::Unavailable);
}

TEST_F(AdminServiceTest, UserManagement) {
  const Principal alice = login("alice", kAdminPassword);
  EXPECT_EQ(service_->createUser(alice, "bob", AdminRole::Viewer, "short").code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(service_->createUser(alice, "bad name", AdminRole::Viewer, "long enough pass").code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(service_->createUser(alice, "olga", AdminRole::Viewer, "long enough pass").code(),
            StatusCode::AlreadyExists);
  ASSERT_TRUE(service_->createUser(alice, "bob", AdminRole::Viewer, "bob pass phrase").isOk());
  const Principal bob = login("bob", "bob pass phrase");
  EXPECT_EQ(bob.role, AdminRole::Viewer);
  // A password reset ends bob's sessions; the new password works, the old one not.
  UserChange reset;
  reset.password = "bob new pass phrase";
  ASSERT_TRUE(service_->updateUser(alice, "bob", reset).isOk());
  EXPECT_FALSE(service_->authenticate(tokens_["bob"], "x", "y").ok());
  EXPECT_FALSE(service_->login("bob", "bob pass phrase", "x").ok());
  login("bob", "bob new pass phrase");
  UserChange promote;
  promote.role = AdminRole::Operator;
  ASSERT_TRUE(service_->updateUser(alice, "bob", promote).isOk());
  EXPECT_EQ(login("bob", "bob new pass phrase").role, AdminRole::Operator);
  UserChange disable;
  disable.disabled = true;
  ASSERT_TRUE(service_->updateUser(alice, "bob", disable).isOk());
  EXPECT_FALSE(service_->authenticate(tokens_["bob"], "x", "y").ok());
  EXPECT_FALSE(service_->login("bob", "bob new pass phrase", "x").ok());
  // An admin cannot lock themselves out; nothing to change is refused; unknown users 404.
  UserChange demote;
  demote.role = AdminRole::Viewer;
  EXPECT_EQ(service_->updateUser(alice, "alice", demote).code(), StatusCode::FailedPrecondition);
  EXPECT_EQ(service_->updateUser(alice, "bob", UserChange()).code(), StatusCode::InvalidArgument);
  EXPECT_EQ(service_->updateUser(alice, "zed", reset).code(), StatusCode::NotFound);
  EXPECT_EQ(admin_->audit().back().outcome, "not_found");
}

// No timing oracle: an unknown user, a wrong password, a locked and a disabled account cost the
// same KDF work as a successful login. Measured as this thread's CPU time (not wall time, which
// other processes disturb), the median of 5, at scrypt N=2^13 to keep the test short (the
// production N=2^15 gave 234/233/227/239/226 ms for ok/wrong/unknown/locked/disabled).
TEST_F(AdminServiceTest, EveryLoginCostsTheSameWork) {
  AdminSettings production = settings_;
  production.password_kdf.log_n = 13;
  production.max_failed_logins = 100;
  Result<std::unique_ptr<AdminService>> service =
      AdminService::create(production, admin_, store_, messages_, cipher_, clock_, {});
  ASSERT_TRUE(service.ok());
  const OperatorContext cli{"operator:root", "cli", "test"};
  for (const char* name : {"pat", "lockedlou", "offoscar"}) {
    ASSERT_TRUE(AdminService::addUser(*admin_, name, AdminRole::Viewer, "pat pass phrase 1",
                                      production.password_kdf, cli)
                    .isOk());
  }
  AdminUser lou = *admin_->findUser("lockedlou");
  lou.locked_until = clock_->now() + std::chrono::hours(1);
  ASSERT_TRUE(admin_->updateUser(lou, {}).isOk());
  AdminUser oscar = *admin_->findUser("offoscar");
  oscar.disabled = true;
  ASSERT_TRUE(admin_->updateUser(oscar, {}).isOk());
  const auto cpu_ms = [&](const std::string& user, const std::string& password) {
    std::vector<double> runs;
    for (int i = 0; i < 5; ++i) {
      timespec start{}, end{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
      (void)(*service)->login(user, password, "10.0.0.5");
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
      runs.push_back((end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6);
    }
    std::sort(runs.begin(), runs.end());
    return runs[2];
  };
  const double ok = cpu_ms("pat", "pat pass phrase 1");
  const double wrong = cpu_ms("pat", "wrong pass phrase");
  const double unknown = cpu_ms("nobody", "pat pass phrase 1");
  const double locked = cpu_ms("lockedlou", "pat pass phrase 1");
  const double disabled = cpu_ms("offoscar", "pat pass phrase 1");
  std::printf(
      "login CPU ms (median of 5): ok %.1f, wrong %.1f, unknown %.1f, locked %.1f, "
      "disabled %.1f\n",
      ok, wrong, unknown, locked, disabled);
  for (const double t : {wrong, unknown, locked, disabled}) {
    EXPECT_GT(t / ok, 0.5);  // a skipped KDF would be ~0.01
    EXPECT_LT(t / ok, 2.0);
  }
}

}  // namespace
}  // namespace gw::admin
