// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>

#include "adapters/outbound/messaging_api/MessagingApiChannel.h"
#include "adapters/outbound/messaging_api/MessagingApiSettings.h"
#include "gateway/configuration/ConfigParser.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

struct Read {
  MessagingApiSettings settings;
  ConfigErrors errors;
};

Read readText(const std::string& json) {
  Read r;
  Result<ConfigNode> node = config::parseJson(json, "gateway.json");
  EXPECT_TRUE(node.ok()) << node.status().toString();
  if (node.ok()) {
    readMessagingApiSettings(*node, r.errors, "outbound.messaging_api", r.settings);
  }
  return r;
}

bool hasError(const ConfigErrors& errors, const std::string& text, int line) {
  for (const Status& s : errors.all()) {
    if (s.message().find(text) != std::string::npos && s.position() && s.position()->line == line) {
      return true;
    }
  }
  return false;
}

TEST(MessagingApiSettingsTest, ReadsEveryKey) {
  const Read r = readText(R"({"url": "https://msg.example.invalid:8443/v1/messages",
      "ca": "ca.pem", "secret_file": "secret", "min_tls_version": "1.3", "timeout_ms": 2500,
      "inbound_tolerance_seconds": 120})");
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
  EXPECT_EQ(r.settings.url, "https://msg.example.invalid:8443/v1/messages");
  EXPECT_EQ(r.settings.ca, "ca.pem");
  EXPECT_EQ(r.settings.secret_file, "secret");
  EXPECT_EQ(r.settings.min_tls_version, "1.3");
  EXPECT_EQ(r.settings.timeout_ms, 2500);
  EXPECT_EQ(r.settings.inbound_tolerance_seconds, 120);
  EXPECT_FALSE(readText(R"({"url": "https://m.example.invalid/", "secret_file": "s",
      "inbound_tolerance_seconds": 5})")
                   .errors.empty());
}

TEST(MessagingApiSettingsTest, ReportsEveryErrorWithItsPosition) {
  const Read r = readText(
      "{\n"
      "  \"url\": \"http://msg.example.invalid/\",\n"   // line 2
      "  \"timeout_ms\": 5,\n"                          // line 3
      "  \"secret\": \"inline secrets are refused\"\n"  // line 4
      "}\n");
  EXPECT_TRUE(hasError(r.errors, "https://", 2)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "timeout_ms", 3)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "secret", 4)) << r.errors.toString();
  bool missing_secret_file = false;
  for (const Status& s : r.errors.all()) {
    missing_secret_file |= s.message().find("secret_file") != std::string::npos;
  }
  EXPECT_TRUE(missing_secret_file) << r.errors.toString();
}

TEST(MessagingApiSettingsTest, RefusesCredentialsInTheUrl) {
  const Read r = readText(
      "{\n\"url\": \"https://user:pw@msg.example.invalid/\",\n"
      "\"secret_file\": \"s\"}");
  EXPECT_TRUE(hasError(r.errors, "credentials", 2)) << r.errors.toString();
}

TEST(MessagingApiChannelTest, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 test case 2.
  const Result<std::string> sig = messagingApiSignature("Jefe", "what do ya want for nothing?");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(MessagingApiChannelTest, BodyCarriesTheMessage) {
  OutboundMessage m;
  m.message_id = 7;
  m.idempotency_key = "pm-7";
  m.purpose = "aftercare";
  m.content.language = "es";
  m.content.recipient_name = "Alexa \"Quote\" Testpatient";
  m.content.email = "alexa@example.invalid";
  m.content.text = "L\xc3\xadnea 1\nL\xc3\xadnea 2";
  m.content.quick_replies = {{"confirm", "Confirmar"}};
  const std::string body = messagingApiBody(m);
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["message_id"].GetInt64(), 7);
  EXPECT_STREQ(doc["idempotency_key"].GetString(), "pm-7");
  EXPECT_STREQ(doc["purpose"].GetString(), "aftercare");
  EXPECT_TRUE(doc["contains_phi"].GetBool());
  EXPECT_STREQ(doc["recipient"]["name"].GetString(), "Alexa \"Quote\" Testpatient");
  EXPECT_STREQ(doc["text"].GetString(), "L\xc3\xadnea 1\nL\xc3\xadnea 2");
  EXPECT_STREQ(doc["quick_replies"][0]["id"].GetString(), "confirm");
}

TEST(MessagingApiChannelTest, CreateChecksTheSecretFile) {
  test::TempDir dir;
  MessagingApiSettings s;
  s.url = "https://127.0.0.1:1/v1";
  s.secret_file = (dir.path() / "secret").string();
  EXPECT_EQ(MessagingApiChannel::create(s).status().code(), StatusCode::NotFound);
  test::writeFile(dir.path() / "secret", "0123456789abcdef0123\n");
  ::chmod(s.secret_file.c_str(), 0644);
  EXPECT_EQ(MessagingApiChannel::create(s).status().code(), StatusCode::PermissionDenied);
  ::chmod(s.secret_file.c_str(), 0600);
  EXPECT_TRUE(MessagingApiChannel::create(s).ok());
  test::writeFile(dir.path() / "secret", "short\n");
  EXPECT_EQ(MessagingApiChannel::create(s).status().code(), StatusCode::InvalidArgument);
}

TEST(MessagingApiChannelTest, RefusesMissingIdempotencyKeyBeforeConnecting) {
  test::TempDir dir;
  MessagingApiSettings s;
  s.url = "https://127.0.0.1:1/v1";
  s.secret_file = (dir.path() / "secret").string();
  test::writeFile(dir.path() / "secret", "0123456789abcdef0123\n");
  ::chmod(s.secret_file.c_str(), 0600);
  Result<std::shared_ptr<MessagingApiChannel>> channel = MessagingApiChannel::create(s);
  ASSERT_TRUE(channel.ok()) << channel.status().toString();
  OutboundMessage m;
  const Deadline deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  EXPECT_EQ((*channel)->deliver(m, deadline).status().code(), StatusCode::InvalidArgument);
  m.idempotency_key = "a\r\nX-Injected: 1";
  EXPECT_EQ((*channel)->deliver(m, deadline).status().code(), StatusCode::InvalidArgument);
}

}  // namespace
}  // namespace gw
