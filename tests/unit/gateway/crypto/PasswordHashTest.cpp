// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <regex>

#include "gateway/crypto/PasswordHash.h"

namespace gw {
namespace {

const PasswordHashParams kFast{10, 8, 1};

TEST(PasswordHashTest, RoundTripsInAPhcString) {
  Result<std::string> hash = hashPassword("correct horse battery", kFast);
  ASSERT_TRUE(hash.ok()) << hash.status().toString();
  EXPECT_TRUE(std::regex_match(
      *hash, std::regex(R"(\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43})")))
      << *hash;
  EXPECT_TRUE(*verifyPassword("correct horse battery", *hash));
  EXPECT_FALSE(*verifyPassword("correct horse batterY", *hash));
  EXPECT_FALSE(*verifyPassword("", *hash));
  Result<PasswordHashParams> params = passwordHashParams(*hash);
  EXPECT_EQ(params->log_n, 10);
  EXPECT_EQ(params->r, 8);
  EXPECT_EQ(params->p, 1);
}

TEST(PasswordHashTest, SaltsDiffer) {
  EXPECT_NE(*hashPassword("same password!", kFast), *hashPassword("same password!", kFast));
}

// RFC 7914 section 12, second vector (P="password", S="NaCl", N=1024, r=8, p=16): its first 32
// bytes (PBKDF2 blocks do not depend on dkLen), written as our PHC string.
TEST(PasswordHashTest, MatchesTheRfc7914Vector) {
  const std::string encoded =
      "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI";
  EXPECT_TRUE(*verifyPassword("password", encoded));
  EXPECT_FALSE(*verifyPassword("passwore", encoded));
}

TEST(PasswordHashTest, MalformedStringsAreInvalidArgument) {
  for (const char* bad :
       {"", "plain", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "$scrypt$ln=10,r=8$c2FsdA$x",
        "$scrypt$ln=99,r=8,p=1$c2FsdHNhbHQ$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI",
        "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$short", "$scrypt$ln=10,r=8,p=1$c2F*dHNhbHQ$aGFzaA"}) {
    Result<bool> r = verifyPassword("password", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::InvalidArgument) << bad;
  }
}

TEST(PasswordHashTest, RefusesParametersOutOfRange) {
  EXPECT_EQ(hashPassword("x", {9, 8, 1}).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(hashPassword("x", {10, 0, 1}).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(hashPassword("x", {10, 8, 17}).status().code(), StatusCode::InvalidArgument);
}

TEST(PasswordHashTest, PolicyNeedsTwelveCharacters) {
  EXPECT_EQ(checkPasswordPolicy("elevenchars").code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(checkPasswordPolicy("twelve chars").isOk());
  EXPECT_EQ(checkPasswordPolicy(std::string(1025, 'a')).code(), StatusCode::InvalidArgument);
  EXPECT_EQ(checkPasswordPolicy("twelve chars\n").code(), StatusCode::InvalidArgument);
  // The refusal never echoes the password.
  EXPECT_EQ(checkPasswordPolicy("secret").message().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace gw
