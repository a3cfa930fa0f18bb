// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <thread>

#include "gateway/store/sqlite/SqliteAdminStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using std::chrono::seconds;

AuditEntry audit(const std::string& action) {
  AuditEntry e;
  e.actor = "operator:alice";
  e.action = action;
  e.object = "admin_user:bob";
  e.outcome = "ok";
  e.source = "192.0.2.10";
  return e;
}

AdminUser user(const std::string& name, AdminRole role = AdminRole::Viewer) {
  AdminUser u;
  u.username = name;
  u.role = role;
  u.password_hash = "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$aGFzaA";
  return u;
}

class SqliteAdminStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreSettings settings;
    settings.path = (dir_.path() / "gateway.db").string();
    store_ = *SqliteStore::open(settings, clock_);
    admin_ = std::make_shared<SqliteAdminStore>(store_);
  }

  std::vector<std::string> actions() {
    std::vector<std::string> out;
    const Result<std::vector<AuditRecord>> records = store_->listAudit(0, 1000);
    for (const AuditRecord& r : *records) {
      out.push_back(r.entry.action);
    }
    return out;
  }

  AdminSession session(const std::string& hash, const std::string& name) {
    AdminSession s;
    s.token_hash = hash;
    s.username = name;
    s.created_at = s.last_seen_at = clock_->now();
    s.source = "192.0.2.10";
    return s;
  }

  test::TempDir dir_;
  std::shared_ptr<test::ManualClock> clock_ = std::make_shared<test::ManualClock>();
  std::shared_ptr<SqliteStore> store_;
  std::shared_ptr<SqliteAdminStore> admin_;
};

TEST_F(SqliteAdminStoreTest, CreatesFindsAndListsUsersWithTheirAudit) {
  ASSERT_TRUE(admin_->createUser(user("bob", AdminRole::Operator), audit("created")).isOk());
  ASSERT_TRUE(admin_->createUser(user("alice", AdminRole::Admin), audit("created")).isOk());
  EXPECT_EQ(admin_->createUser(user("bob"), audit("created again")).code(),
            StatusCode::AlreadyExists);
  Result<AdminUser> bob = admin_->findUser("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->role, AdminRole::Operator);
  EXPECT_EQ(bob->password_hash, user("bob").password_hash);
  EXPECT_EQ(bob->created_at, clock_->now());
  EXPECT_EQ(bob->locked_until, SystemTime());
  EXPECT_EQ(admin_->findUser("carol").status().code(), StatusCode::NotFound);
  Result<std::vector<AdminUser>> all = admin_->listUsers();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].username, "alice");
  // The refused duplicate left no audit record behind (same transaction).
  EXPECT_EQ(actions(), (std::vector<std::string>{"created", "created"}));
}

TEST_F(SqliteAdminStoreTest, CountsFailedLoginsAndLocksAtTheLimit) {
  ASSERT_TRUE(admin_->createUser(user("bob"), audit("created")).isOk());
  const SystemTime until = clock_->now() + seconds(600);
  Result<FailedLogin> first = admin_->recordFailedLogin("bob", 3, until, audit("login_failed"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->failed_logins, 1);
  EXPECT_FALSE(first->locked_now);
  EXPECT_FALSE(admin_->recordFailedLogin("bob", 3, until, audit("login_failed"))->locked_now);
  Result<FailedLogin> third = admin_->recordFailedLogin("bob", 3, until, audit("login_failed"));
  EXPECT_TRUE(third->locked_now);
  EXPECT_EQ(admin_->findUser("bob")->locked_until, until);
  // While locked, more failures count but do not move the lock.
  Result<FailedLogin> fourth =
      admin_->recordFailedLogin("bob", 3, until + seconds(60), audit("login_failed"));
  EXPECT_FALSE(fourth->locked_now);
  EXPECT_EQ(admin_->findUser("bob")->locked_until, until);
  // Once the lock ran out, counting starts again.
  clock_->advance(seconds(601));
  Result<FailedLogin> later =
      admin_->recordFailedLogin("bob", 3, clock_->now() + seconds(600), audit("login_failed"));
  EXPECT_EQ(later->failed_logins, 1);
  EXPECT_EQ(admin_->findUser("bob")->locked_until, SystemTime());
  const std::vector<std::string> a = actions();
  EXPECT_EQ(a[3], "admin_locked_out");
  EXPECT_EQ(a.size(), 6u);
}

TEST_F(SqliteAdminStoreTest, UnknownUserFailureIsOnlyAudited) {
  Result<FailedLogin> failed =
      admin_->recordFailedLogin("ghost", 3, clock_->now(), audit("login_failed"));
  EXPECT_EQ(failed.status().code(), StatusCode::NotFound);
  EXPECT_EQ(actions(), (std::vector<std::string>{"login_failed"}));
}

TEST_F(SqliteAdminStoreTest, ConcurrentFailuresAreAllCounted) {
  ASSERT_TRUE(admin_->createUser(user("bob"), audit("created")).isOk());
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        ASSERT_TRUE(
            admin_
                ->recordFailedLogin("bob", 1000, clock_->now() + seconds(1), audit("login_failed"))
                .ok());
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(admin_->findUser("bob")->failed_logins, 40);
}

TEST_F(SqliteAdminStoreTest, LoginResetsTheCountAndStoresTheSession) {
  ASSERT_TRUE(admin_->createUser(user("bob"), audit("created")).isOk());
  ASSERT_TRUE(admin_->recordFailedLogin("bob", 5, clock_->now(), audit("login_failed")).ok());
  ASSERT_TRUE(admin_->recordLogin(session("h1", "bob"), audit("login")).isOk());
  EXPECT_EQ(admin_->findUser("bob")->failed_logins, 0);
  Result<AdminSession> found = admin_->findSession("h1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->username, "bob");
  EXPECT_EQ(found->source, "192.0.2.10");
  clock_->advance(seconds(30));
  ASSERT_TRUE(admin_->touchSession("h1", clock_->now()).isOk());
  EXPECT_EQ(admin_->findSession("h1")->last_seen_at, clock_->now());
  EXPECT_EQ(admin_->recordLogin(session("h2", "ghost"), audit("login")).code(),
            StatusCode::NotFound);
  ASSERT_TRUE(admin_->deleteSession("h1", audit("logout")).isOk());
  EXPECT_EQ(admin_->findSession("h1").status().code(), StatusCode::NotFound);
  EXPECT_EQ(actions(), (std::vector<std::string>{"created", "login_failed", "login", "logout"}));
}

TEST_F(SqliteAdminStoreTest, PurgesSessionsPastEitherLimit) {
  ASSERT_TRUE(admin_->createUser(user("bob"), audit("created")).isOk());
  ASSERT_TRUE(admin_->recordLogin(session("old", "bob"), audit("login")).isOk());
  clock_->advance(seconds(100));
  ASSERT_TRUE(admin_->recordLogin(session("idle", "bob"), audit("login")).isOk());
  clock_->advance(seconds(100));
  ASSERT_TRUE(admin_->recordLogin(session("live", "bob"), audit("login")).isOk());
  ASSERT_TRUE(admin_->touchSession("old", clock_->now()).isOk());  // busy but too old
  Result<std::int64_t> purged =
      admin_->purgeExpiredSessions(clock_->now() - seconds(150), clock_->now() - seconds(50));
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 2);
  EXPECT_FALSE(admin_->findSession("old").ok());
  EXPECT_FALSE(admin_->findSession("idle").ok());
  EXPECT_TRUE(admin_->findSession("live").ok());
}

TEST_F(SqliteAdminStoreTest, PasswordRoleOrDisableChangesEndSessions) {
  ASSERT_TRUE(admin_->createUser(user("bob"), audit("created")).isOk());
  ASSERT_TRUE(admin_->createUser(user("carol"), audit("created")).isOk());
  ASSERT_TRUE(admin_->recordLogin(session("b1", "bob"), audit("login")).isOk());
  ASSERT_TRUE(admin_->recordLogin(session("c1", "carol"), audit("login")).isOk());
  AdminUser bob = *admin_->findUser("bob");
  bob.failed_logins = 0;  // an unlock alone keeps the sessions
  ASSERT_TRUE(admin_->updateUser(bob, audit("unlocked")).isOk());
  EXPECT_TRUE(admin_->findSession("b1").ok());
  bob.password_hash = "$scrypt$ln=10,r=8,p=1$bmV3c2FsdA$bmV3aGFzaA";
  ASSERT_TRUE(admin_->updateUser(bob, audit("password_reset")).isOk());
  EXPECT_EQ(admin_->findSession("b1").status().code(), StatusCode::NotFound);
  EXPECT_TRUE(admin_->findSession("c1").ok());
  AdminUser carol = *admin_->findUser("carol");
  carol.disabled = true;
  ASSERT_TRUE(admin_->updateUser(carol, audit("disabled")).isOk());
  EXPECT_TRUE(admin_->findUser("carol")->disabled);
  EXPECT_EQ(admin_->findSession("c1").status().code(), StatusCode::NotFound);
  EXPECT_EQ(admin_->updateUser(user("ghost"), audit("x")).code(), StatusCode::NotFound);
}

}  // namespace
}  // namespace gw
