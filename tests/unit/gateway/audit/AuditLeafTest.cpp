// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditLeaf.h"

#include <gtest/gtest.h>

#include "gateway/crypto/Digest.h"

namespace gw {
namespace {

AuditEntry sampleEntry() {
  AuditEntry e;
  e.time = fromUnixMillis(1706702400123);
  e.actor = "listener:adt";
  e.action = "received";
  e.object = "inbound_event:7";
  e.outcome = "ok";
  e.source = "10.0.0.5:51234";
  return e;
}

// Golden values computed independently (Python hashlib/struct) from the documented encoding.
TEST(AuditLeafTest, EncodingIsStable) {
  std::string encoding;
  appendAuditLeafEncoding(encoding, 42, sampleEntry());
  EXPECT_EQ(toHex(encoding),
            "0100000008000000000000002a000000080000018d5f63ea7b0000000c6c697374656e65723a6164740000"
            "000872656365697665640000000f696e626f756e645f6576656e743a37000000026f6b0000000e31302e"
            "302e302e353a353132333400000000");
  EXPECT_EQ(auditLeafHash(42, sampleEntry()).value(),
            "22edc7eb627658399396ef5bcf32aac7b5bd861ed3f3d36c5884c81fd74be933");
}

TEST(AuditLeafTest, EveryFieldChangesTheHash) {
  const std::string base = auditLeafHash(42, sampleEntry()).value();
  EXPECT_NE(auditLeafHash(43, sampleEntry()).value(), base);
  std::vector<AuditEntry> changed(7, sampleEntry());
  changed[0].time += std::chrono::milliseconds(1);
  changed[1].actor += "x";
  changed[2].action += "x";
  changed[3].object += "x";
  changed[4].outcome += "x";
  changed[5].source += "x";
  changed[6].reason += "x";
  for (const AuditEntry& e : changed) {
    EXPECT_NE(auditLeafHash(42, e).value(), base);
  }
  // Length prefixes keep field boundaries: moving a byte between fields changes the hash.
  AuditEntry shifted = sampleEntry();
  shifted.actor = "listener:ad";
  shifted.action = "treceived";
  EXPECT_NE(auditLeafHash(42, shifted).value(), base);
}

TEST(AuditLeafTest, MillisecondsRoundTrip) {
  EXPECT_EQ(toUnixMillis(fromUnixMillis(1706702400123)), 1706702400123);
  EXPECT_EQ(toUnixMillis(SystemTime()), 0);
}

}  // namespace
}  // namespace gw
