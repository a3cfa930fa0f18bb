// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/Digest.h"

#include <gtest/gtest.h>

namespace gw {
namespace {

TEST(DigestTest, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(sha256Hex("abc").value(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("").value(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("abc").value().size(), 32u);
}

TEST(DigestTest, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?").value(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmacSha256("Jefe", "what do ya want for nothing?").value().size(), 32u);
}

TEST(DigestTest, HmacAcceptsEmptyKey) {
  // RFC 2104 pads the key with zeros: an empty key is the all-zero block.
  EXPECT_EQ(hmacSha256Hex("", "").value(),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(DigestTest, ToHexIsLowerCase) {
  EXPECT_EQ(toHex(std::string("\x00\x0f\xab\xff", 4)), "000fabff");
  EXPECT_EQ(toHex(""), "");
}

}  // namespace
}  // namespace gw
