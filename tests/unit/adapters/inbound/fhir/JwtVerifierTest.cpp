// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/inbound/fhir/JwtVerifier.h"
#include "tests/unit/adapters/inbound/fhir/JwtTestKeys.h"

namespace gw::fhirin {
namespace {

constexpr const char* kAudience = "https://gateway.example.invalid/fhir";
constexpr std::int64_t kNow = 1795000000;  // a fixed test time (2026-11-18)

SystemTime at(std::int64_t seconds) {
  return SystemTime(std::chrono::seconds(seconds));
}

std::string claims(const std::string& iss, std::int64_t exp, const std::string& extra = "",
                   const std::string& aud = std::string("\"") + kAudience + "\"") {
  return "{\"iss\":\"" + iss + "\",\"sub\":\"" + iss + "\",\"aud\":" + aud +
         ",\"exp\":" + std::to_string(exp) + ",\"jti\":\"j1\"" + extra + "}";
}

const std::string kRs384 = R"({"alg":"RS384","typ":"JWT"})";
const std::string kEs384 = R"({"alg":"ES384","typ":"JWT"})";

class JwtVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = test::generateRsaKey().release();
    ec_ = test::generateP384Key().release();
    stranger_ = test::generateRsaKey().release();
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(stranger_);
  }

  void SetUp() override {
    JwtVerifier::Options options;
    options.audience = kAudience;
    options.leeway = std::chrono::seconds(30);
    options.max_lifetime = std::chrono::seconds(600);
    Result<std::unique_ptr<JwtVerifier>> made =
        JwtVerifier::create({{"ehr-rsa", "ehr-rsa", test::publicKeyPem(rsa_)},
                             {"ehr-ec", "ec-issuer", test::publicKeyPem(ec_)}},
                            options);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    verifier_ = std::move(made).value();
  }

  // The reason a token is refused, or "ok:<client>".
  std::string check(const std::string& token, std::int64_t now = kNow) {
    Result<std::string> client = verifier_->verify(token, at(now));
    if (client.ok()) {
      return "ok:" + *client;
    }
    EXPECT_EQ(client.status().code(), StatusCode::PermissionDenied);
    return client.status().message();
  }

  static EVP_PKEY* rsa_;
  static EVP_PKEY* ec_;
  static EVP_PKEY* stranger_;
  std::unique_ptr<JwtVerifier> verifier_;
};

EVP_PKEY* JwtVerifierTest::rsa_ = nullptr;
EVP_PKEY* JwtVerifierTest::ec_ = nullptr;
EVP_PKEY* JwtVerifierTest::stranger_ = nullptr;

TEST_F(JwtVerifierTest, AcceptsRs384AndEs384FromTheirClients) {
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, claims("ehr-rsa", kNow + 300))), "ok:ehr-rsa");
  EXPECT_EQ(check(test::signJwt(ec_, kEs384, claims("ec-issuer", kNow + 300))), "ok:ehr-ec");
}

TEST_F(JwtVerifierTest, RefusesExpiredTokensBeyondTheLeeway) {
  const std::string token = test::signJwt(rsa_, kRs384, claims("ehr-rsa", kNow - 10));
  EXPECT_EQ(check(token), "ok:ehr-rsa");  // 10 s late is within the 30 s leeway
  EXPECT_EQ(check(token, kNow + 31), "token expired");
}

TEST_F(JwtVerifierTest, RefusesTheWrongAudienceAndAcceptsAnArrayThatHoldsOurs) {
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384,
                                claims("ehr-rsa", kNow + 60, "", "\"https://other.invalid\""))),
            "wrong audience");
  EXPECT_EQ(check(test::signJwt(
                rsa_, kRs384,
                claims("ehr-rsa", kNow + 60, "",
                       std::string("[\"https://other.invalid\",\"") + kAudience + "\"]"))),
            "ok:ehr-rsa");
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384,
                                R"({"iss":"ehr-rsa","exp":)" + std::to_string(kNow + 60) + "}")),
            "wrong audience");
}

TEST_F(JwtVerifierTest, RefusesUnknownIssuersAndForeignSignatures) {
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, claims("nobody", kNow + 60))), "unknown issuer");
  EXPECT_EQ(check(test::signJwt(stranger_, kRs384, claims("ehr-rsa", kNow + 60))), "bad signature");
  std::string tampered = test::signJwt(rsa_, kRs384, claims("ehr-rsa", kNow + 60));
  tampered[tampered.find('.') + 3] ^= 1;
  EXPECT_NE(check(tampered).rfind("ok:", 0), 0U);
}

TEST_F(JwtVerifierTest, RefusesAlgorithmsOtherThanRs384AndEs384AndKeyConfusion) {
  const std::string body = base64UrlEncode(claims("ehr-rsa", kNow + 60));
  EXPECT_EQ(check(base64UrlEncode(R"({"alg":"none"})") + "." + body + "."),
            "unsupported alg (RS384 or ES384 required)");
  EXPECT_EQ(check(base64UrlEncode(R"({"alg":"HS384"})") + "." + body + ".c2ln"),
            "unsupported alg (RS384 or ES384 required)");
  EXPECT_EQ(check(test::signJwt(rsa_, R"({"alg":"RS256"})", claims("ehr-rsa", kNow + 60))),
            "unsupported alg (RS384 or ES384 required)");
  // An RS384 token for the client whose key is EC (and the reverse) is refused before any check.
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, claims("ec-issuer", kNow + 60))),
            "alg does not match the client's key type");
  EXPECT_EQ(check(test::signJwt(ec_, kEs384, claims("ehr-rsa", kNow + 60))),
            "alg does not match the client's key type");
}

TEST_F(JwtVerifierTest, ChecksSubNbfIatAndLifetime) {
  EXPECT_EQ(
      check(test::signJwt(rsa_, kRs384,
                          R"({"iss":"ehr-rsa","sub":"other","aud":")" + std::string(kAudience) +
                              R"(","exp":)" + std::to_string(kNow + 60) + "}")),
      "sub does not equal iss");
  EXPECT_EQ(
      check(test::signJwt(rsa_, kRs384,
                          claims("ehr-rsa", kNow + 300, ",\"nbf\":" + std::to_string(kNow + 100)))),
      "token not yet valid");
  EXPECT_EQ(
      check(test::signJwt(rsa_, kRs384,
                          claims("ehr-rsa", kNow + 300, ",\"iat\":" + std::to_string(kNow + 100)))),
      "token issued in the future");
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, claims("ehr-rsa", kNow + 3600))),
            "token lifetime too long");
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384,
                                R"({"iss":"ehr-rsa","aud":")" + std::string(kAudience) + "\"}")),
            "token has no exp");
  EXPECT_EQ(check(test::signJwt(
                rsa_, kRs384,
                R"({"iss":"ehr-rsa","aud":")" + std::string(kAudience) + R"(","exp":"soon"})")),
            "malformed token (exp, nbf or iat is not a number)");
}

TEST_F(JwtVerifierTest, NeedsAJtiAndReportsItWithTheExpiry) {
  Result<JwtVerifier::Verified> ok = verifier_->verifyToken(
      test::signJwt(rsa_, kRs384, claims("ehr-rsa", kNow + 120)), at(kNow));
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(ok->client, "ehr-rsa");
  EXPECT_EQ(ok->jti, "j1");
  EXPECT_EQ(ok->expires_at, at(kNow + 120 + 30));  // exp + leeway
  const std::string no_jti = "{\"iss\":\"ehr-rsa\",\"aud\":\"" + std::string(kAudience) +
                             "\",\"exp\":" + std::to_string(kNow + 120) + "}";
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, no_jti)), "token has no jti");
  const std::string numeric_jti = no_jti.substr(0, no_jti.size() - 1) + ",\"jti\":7}";
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, numeric_jti)),
            "malformed token (jti is not a string of 1 to 255 characters)");
  const std::string long_jti =
      no_jti.substr(0, no_jti.size() - 1) + ",\"jti\":\"" + std::string(256, 'j') + "\"}";
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384, long_jti)),
            "malformed token (jti is not a string of 1 to 255 characters)");
}

TEST_F(JwtVerifierTest, RefusesALifetimeLongerThanTheLimitFromIat) {
  // exp only 100 s ahead, but issued 700 s before it: the token lives longer than 600 s.
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384,
                                claims("ehr-rsa", kNow + 100,
                                       ",\"iat\":" + std::to_string(kNow - 600)))),
            "token lifetime too long");
  EXPECT_EQ(check(test::signJwt(rsa_, kRs384,
                                claims("ehr-rsa", kNow + 100,
                                       ",\"iat\":" + std::to_string(kNow - 500)))),
            "ok:ehr-rsa");
}

TEST_F(JwtVerifierTest, RefusesMalformedTokens) {
  EXPECT_EQ(check(""), "malformed token (not a compact JWS)");
  EXPECT_EQ(check("a.b"), "malformed token (not a compact JWS)");
  EXPECT_EQ(check("a.b.c.d"), "malformed token (not a compact JWS)");
  EXPECT_EQ(check("*.*.*"), "malformed token (not base64url)");
  EXPECT_EQ(check(base64UrlEncode("[]") + "." + base64UrlEncode("{}") + ".AA"),
            "malformed token (header is not a JSON object)");
  EXPECT_EQ(check(base64UrlEncode(kRs384) + "." + base64UrlEncode("{") + ".AA"),
            "malformed token (claims are not a JSON object)");
}

TEST_F(JwtVerifierTest, CreateRefusesKeysOfOtherKindsAndUnreadablePem) {
  Result<std::unique_ptr<JwtVerifier>> bad =
      JwtVerifier::create({{"broken", "broken", "not a pem"}}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::InvalidArgument);
  EXPECT_NE(bad.status().message().find("broken"), std::string::npos);
  test::TestKey p256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Result<std::unique_ptr<JwtVerifier>> wrong_curve =
      JwtVerifier::create({{"p256", "p256", test::publicKeyPem(p256.get())}}, {});
  ASSERT_FALSE(wrong_curve.ok());
  EXPECT_NE(wrong_curve.status().message().find("P-384"), std::string::npos);
}

TEST(Base64UrlTest, RoundTripsAndRefusesOtherAlphabets) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    std::string decoded;
    ASSERT_TRUE(base64UrlDecode(base64UrlEncode(text), decoded));
    EXPECT_EQ(decoded, text);
  }
  std::string out;
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64UrlDecode("ab+/", out));
  EXPECT_FALSE(base64UrlDecode("a", out));
  EXPECT_TRUE(base64UrlDecode("Zm9v", out));
  EXPECT_EQ(out, "foo");
}

}  // namespace
}  // namespace gw::fhirin
