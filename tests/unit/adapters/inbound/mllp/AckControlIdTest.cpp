// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/AckControlId.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace gw::mllp {
namespace {

bool upperAlnum(const std::string& s) {
  for (const char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

TEST(AckControlIdTest, PrefixTimeAndSequenceInBase36) {
  // 1700000000000 ms = "LOYW3V28" in base 36.
  EXPECT_EQ(makeAckControlId("adt", 1700000000000ULL, 35), "ADT0LOYW3V28000000Z");
}

TEST(AckControlIdTest, PrefixKeepsFourLettersOrDigits) {
  const std::string id = makeAckControlId("lab-results_2", 0, 0);
  EXPECT_EQ(id.substr(0, 4), "LABR");
  EXPECT_EQ(id.size(), kMaxControlIdLength);
}

TEST(AckControlIdTest, NeverLongerThanTwentyCharacters) {
  const std::string id = makeAckControlId("averyverylonglistenername", ~0ULL, ~0ULL);
  EXPECT_LE(id.size(), kMaxControlIdLength);
  EXPECT_TRUE(upperAlnum(id)) << id;
}

TEST(AckControlIdTest, WorksWithoutUsablePrefix) {
  const std::string id = makeAckControlId("--", 1, 1);
  EXPECT_EQ(id, "0000000010000001");
}

TEST(AckControlIdTest, SequenceMakesIdsOfOneMillisecondDistinct) {
  std::set<std::string> ids;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    ids.insert(makeAckControlId("adt", 1700000000000ULL, i));
  }
  EXPECT_EQ(ids.size(), 1000U);
}

TEST(AckControlIdTest, NextIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = nextAckControlId("adt");
    EXPECT_LE(id.size(), kMaxControlIdLength);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 10000U);
}

}  // namespace
}  // namespace gw::mllp
