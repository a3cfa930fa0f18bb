// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "gateway/crypto/KeyUsageLedger.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

constexpr const char* kLimitMessage =
    "key kek-1 reached its encryption limit; run `gateway keys rotate`";

class KeyUsageLedgerTest : public ::testing::Test {
 protected:
  std::string path() const { return (dir_.path() / "keys" / "gateway.keys.usage").string(); }
  std::unique_ptr<KeyUsageLedger> open(std::uint64_t block, std::uint64_t limit) {
    Result<std::unique_ptr<KeyUsageLedger>> ledger = KeyUsageLedger::open(path(), {block, limit});
    EXPECT_TRUE(ledger.ok()) << ledger.status().toString();
    return ledger.ok() ? std::move(ledger).value() : nullptr;
  }
  std::uint64_t reservedOnDisk(const std::string& id) const {
    const std::vector<KeyUsageLedger::Usage> marks = KeyUsageLedger::readFile(path()).value();
    for (const KeyUsageLedger::Usage& u : marks) {
      if (u.key_id == id) {
        return u.reserved;
      }
    }
    return 0;
  }

  test::TempDir dir_;
};

TEST_F(KeyUsageLedgerTest, PathIsBesideTheKeyFile) {
  EXPECT_EQ(KeyUsageLedger::pathFor("/etc/gw/gateway.keys"), "/etc/gw/gateway.keys.usage");
}

TEST_F(KeyUsageLedgerTest, ReservesBlocksInsteadOfWritingPerUse) {
  auto ledger = open(100, 1000);
  EXPECT_FALSE(std::filesystem::exists(path()));  // nothing reserved yet
  ASSERT_TRUE(ledger->acquire("kek-1").isOk());
  EXPECT_EQ(reservedOnDisk("kek-1"), 100u);
  const auto written = std::filesystem::last_write_time(path());
  for (int i = 1; i < 100; ++i) {
    ASSERT_TRUE(ledger->acquire("kek-1").isOk());
  }
  EXPECT_EQ(reservedOnDisk("kek-1"), 100u);  // still the first block
  EXPECT_EQ(std::filesystem::last_write_time(path()), written);
  ASSERT_TRUE(ledger->acquire("kek-1").isOk());  // the 101st use needs the next block
  EXPECT_EQ(reservedOnDisk("kek-1"), 200u);
  const std::vector<KeyUsageLedger::Usage> usage = ledger->usage();
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].key_id, "kek-1");
  EXPECT_EQ(usage[0].used, 101u);
  EXPECT_EQ(usage[0].reserved, 200u);
  EXPECT_EQ(usage[0].limit, 1000u);
}

TEST_F(KeyUsageLedgerTest, FileIsOwnerOnlyAndNoTempFileRemains) {
  auto ledger = open(10, 100);
  ASSERT_TRUE(ledger->acquire("kek-1").isOk());
  struct stat st {};
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path() + ".tmp"));
  EXPECT_THAT(test::readFile(path()), HasSubstr("\nkek-1 10\n"));
}

TEST_F(KeyUsageLedgerTest, RestartResumesAtTheReservedMarkWastingAtMostOneBlock) {
  {
    auto ledger = open(10, 100);
    for (int i = 0; i < 13; ++i) {
      ASSERT_TRUE(ledger->acquire("kek-1").isOk());
    }
  }  // "crash": 13 used, 20 reserved
  auto ledger = open(10, 100);
  ASSERT_TRUE(ledger->acquire("kek-1").isOk());
  EXPECT_EQ(ledger->usage()[0].used, 21u);  // resumed at 20: uses 13..19 are never reissued
  EXPECT_EQ(reservedOnDisk("kek-1"), 30u);
}

TEST_F(KeyUsageLedgerTest, RefusesAtTheLimitAcrossRestarts) {
  {
    auto ledger = open(4, 10);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(ledger->acquire("kek-1").isOk()) << i;
    }
    const Status refused = ledger->acquire("kek-1");
    EXPECT_EQ(refused.code(), StatusCode::Unavailable);
    EXPECT_EQ(refused.message(), kLimitMessage);
    EXPECT_EQ(reservedOnDisk("kek-1"), 10u);       // the last block is cut at the limit
    EXPECT_TRUE(ledger->acquire("kek-2").isOk());  // other keys are not affected
  }
  auto ledger = open(4, 10);
  const Status refused = ledger->acquire("kek-1");
  EXPECT_EQ(refused.code(), StatusCode::Unavailable);
  EXPECT_EQ(refused.message(), kLimitMessage);
  EXPECT_TRUE(ledger->acquire("kek-2").isOk());
}

TEST_F(KeyUsageLedgerTest, TwoLedgersOnOneFileReserveDisjointBlocks) {
  auto a = open(10, 1000);
  auto b = open(10, 1000);
  ASSERT_TRUE(a->acquire("kek-1").isOk());  // a: 0..9
  ASSERT_TRUE(b->acquire("kek-1").isOk());  // b: 10..19
  EXPECT_EQ(reservedOnDisk("kek-1"), 20u);
  EXPECT_EQ(a->usage()[0].used, 1u);
  EXPECT_EQ(b->usage()[0].used, 11u);
  for (int i = 1; i < 10; ++i) {
    ASSERT_TRUE(a->acquire("kek-1").isOk());
  }
  ASSERT_TRUE(a->acquire("kek-1").isOk());  // a's next block starts after b's
  EXPECT_EQ(a->usage()[0].used, 21u);
  EXPECT_EQ(reservedOnDisk("kek-1"), 30u);
}

TEST_F(KeyUsageLedgerTest, ConcurrentUsesAreAllCounted) {
  auto ledger = open(64, 1u << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        EXPECT_TRUE(ledger->acquire("kek-1").isOk());
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ledger->usage()[0].used, 4000u);
  EXPECT_EQ(reservedOnDisk("kek-1"), 4032u);  // 63 blocks of 64
}

TEST_F(KeyUsageLedgerTest, RejectsAMalformedOrSharedFile) {
  std::filesystem::create_directories(std::filesystem::path(path()).parent_path());
  test::writeFile(path(), "# ok\nkek-1 12\nkek-2 twelve\n");
  ::chmod(path().c_str(), 0600);
  Result<std::unique_ptr<KeyUsageLedger>> bad = KeyUsageLedger::open(path());
  EXPECT_EQ(bad.status().code(), StatusCode::ParseError);
  EXPECT_THAT(bad.status().message(), HasSubstr(":3: expected"));

  test::writeFile(path(), "kek-1 12\nkek-1 13\n");
  EXPECT_THAT(KeyUsageLedger::open(path()).status().message(), HasSubstr("appears twice"));

  test::writeFile(path(), "kek-1 12\n");
  ::chmod(path().c_str(), 0644);
  EXPECT_EQ(KeyUsageLedger::open(path()).status().code(), StatusCode::PermissionDenied);

  EXPECT_EQ(KeyUsageLedger::open(path(), {0, 10}).status().code(), StatusCode::InvalidArgument);
}

TEST_F(KeyUsageLedgerTest, AUseIsRefusedWhenItsBlockCannotBeRecorded) {
  std::filesystem::create_directories(path());  // a directory where the ledger file should be
  Result<std::unique_ptr<KeyUsageLedger>> ledger = KeyUsageLedger::open(path());
  EXPECT_FALSE(ledger.ok());  // not a regular file

  std::filesystem::remove(path());
  auto usable = open(10, 100);
  ASSERT_TRUE(usable->acquire("kek-1").isOk());
  std::filesystem::remove(path());
  std::filesystem::create_directories(path());  // the rename target is now a directory
  for (int i = 1; i < 10; ++i) {
    ASSERT_TRUE(usable->acquire("kek-1").isOk());  // within the reserved block
  }
  const Status refused = usable->acquire("kek-1");
  EXPECT_FALSE(refused.isOk());
  EXPECT_THAT(refused.message(), HasSubstr("cannot reserve uses of key kek-1"));
}

TEST_F(KeyUsageLedgerTest, InMemoryLedgerCountsPerProcess) {
  auto ledger = KeyUsageLedger::inMemory({2, 3});
  EXPECT_TRUE(ledger->acquire("kek-1").isOk());
  EXPECT_TRUE(ledger->acquire("kek-1").isOk());
  EXPECT_TRUE(ledger->acquire("kek-1").isOk());
  EXPECT_EQ(ledger->acquire("kek-1").message(), kLimitMessage);
}

}  // namespace
}  // namespace gw
