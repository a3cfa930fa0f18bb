// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/outbound/email/EmailSettings.h"
#include "gateway/configuration/ConfigParser.h"

namespace gw {
namespace {

struct Read {
  EmailSettings settings;
  ConfigErrors errors;
};

Read readText(const std::string& json) {
  Read r;
  Result<ConfigNode> node = config::parseJson(json, "gateway.json");
  EXPECT_TRUE(node.ok()) << node.status().toString();
  if (node.ok()) {
    readEmailSettings(*node, r.errors, "outbound.email", r.settings);
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

TEST(EmailSettingsTest, DefaultsArePickup) {
  const Read r = readText("{}");
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
  EXPECT_EQ(r.settings.transport, "pickup");
  EXPECT_EQ(r.settings.pickup_directory, "var/mail/pickup");
  EXPECT_EQ(r.settings.smtp.port, 587);
  EXPECT_EQ(r.settings.smtp.min_tls_version, "1.2");
  EXPECT_EQ(r.settings.smime.cipher, "aes-256-cbc");
}

TEST(EmailSettingsTest, ReadsEveryKey) {
  const Read r = readText(R"({
    "transport": "smtp", "from": "care@hospital.invalid", "message_id_domain": "mail.invalid",
    "phi_subject": "New message", "pickup": {"directory": "/tmp/x"},
    "smtp": {"host": "smtp.invalid", "port": 2525, "ca": "ca.pem", "min_tls_version": "1.3",
             "username": "gw", "password_file": "pw", "auth_method": "login",
             "helo_name": "gw.invalid", "pool_size": 8, "timeout_ms": 5000},
    "smime": {"certificate_directory": "certs", "signing_certificate": "sign.pem",
              "signing_key": "sign.key", "cipher": "aes-256-gcm"}})");
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
  const EmailSettings& s = r.settings;
  EXPECT_EQ(s.transport, "smtp");
  EXPECT_EQ(s.from, "care@hospital.invalid");
  EXPECT_EQ(s.message_id_domain, "mail.invalid");
  EXPECT_EQ(s.phi_subject, "New message");
  EXPECT_EQ(s.pickup_directory, "/tmp/x");
  EXPECT_EQ(s.smtp.host, "smtp.invalid");
  EXPECT_EQ(s.smtp.port, 2525);
  EXPECT_EQ(s.smtp.ca, "ca.pem");
  EXPECT_EQ(s.smtp.min_tls_version, "1.3");
  EXPECT_EQ(s.smtp.username, "gw");
  EXPECT_EQ(s.smtp.password_file, "pw");
  EXPECT_EQ(s.smtp.auth_method, "login");
  EXPECT_EQ(s.smtp.helo_name, "gw.invalid");
  EXPECT_EQ(s.smtp.pool_size, 8);
  EXPECT_EQ(s.smtp.timeout_ms, 5000);
  EXPECT_EQ(s.smime.certificate_directory, "certs");
  EXPECT_EQ(s.smime.signing_certificate, "sign.pem");
  EXPECT_EQ(s.smime.signing_key, "sign.key");
  EXPECT_EQ(s.smime.cipher, "aes-256-gcm");
}

TEST(EmailSettingsTest, ReportsEveryErrorWithItsPosition) {
  const Read r = readText(
      "{\n"
      "  \"transport\": \"carrier-pigeon\",\n"  // line 2
      "  \"from\": \"not an address\",\n"       // line 3
      "  \"smtp\": {\n"                         // line 4
      "    \"port\": 0,\n"                      // line 5
      "    \"min_tls_version\": \"1.0\",\n"     // line 6
      "    \"username\": \"gw\",\n"             // line 7
      "    \"pool_sise\": 3\n"                  // line 8
      "  },\n"
      "  \"smime\": {\"certificate_directory\": \"c\"}\n"  // line 10
      "}\n");
  EXPECT_TRUE(hasError(r.errors, "transport", 2)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "outbound.email.from", 3)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "port", 5)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "min_tls_version", 6)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "password_file", 7)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "pool_sise", 8)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "signing_certificate", 10)) << r.errors.toString();
  EXPECT_TRUE(hasError(r.errors, "signing_key", 10)) << r.errors.toString();
}

TEST(EmailSettingsTest, SmtpTransportNeedsAHost) {
  const Read r = readText("{\n\"transport\": \"smtp\"\n}");
  EXPECT_TRUE(hasError(r.errors, "smtp.host\" is required", 2)) << r.errors.toString();
}

TEST(EmailSettingsTest, RejectsMultiLinePhiSubject) {
  const Read r = readText("{\n\"phi_subject\": \"a\\r\\nBcc: x@example.invalid\"\n}");
  EXPECT_TRUE(hasError(r.errors, "phi_subject", 2)) << r.errors.toString();
}

}  // namespace
}  // namespace gw
