// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/inbound/fhir/FhirSettings.h"
#include "gateway/configuration/ConfigParser.h"

namespace gw {
namespace {

// Reads `json` as an "inbound.fhir" object; returns every error as text ("" when none).
std::string read(const std::string& json, FhirSettings& settings) {
  Result<ConfigNode> root = config::parseJson(json, "gateway.json");
  EXPECT_TRUE(root.ok()) << root.status().toString();
  ConfigErrors errors;
  ConfigReader reader(*root, errors, "inbound.fhir");
  readFhirSettings(reader, *root, settings);
  return errors.toString();
}

TEST(FhirSettingsTest, ReadsEveryKey) {
  FhirSettings s;
  EXPECT_EQ(read(R"({"enabled": true, "name": "ehr", "base_path": "/r4", "host": "127.0.0.1",
      "port": 0, "allow_plain_http": true, "max_request_bytes": 2048, "max_depth": 32,
      "max_string_bytes": 4096, "commit_timeout_ms": 100, "retry_after_seconds": 9,
      "auth": {"audience": "https://gw.example.invalid/fhir", "leeway_seconds": 5,
        "clients": [{"id": "ehr-a", "public_key_file": "a.pub"},
                    {"id": "ehr-b", "issuer": "b-iss", "certificate_subjects": ["CN=ehr-b"]}]}})",
                 s),
            "");
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.name, "ehr");
  EXPECT_EQ(s.base_path, "/r4");
  EXPECT_EQ(s.server.port, 0);
  EXPECT_EQ(s.server.max_request_bytes, 2048);
  EXPECT_EQ(s.max_depth, 32);
  EXPECT_EQ(s.retry_after_seconds, 9);
  ASSERT_EQ(s.auth.clients.size(), 2U);
  EXPECT_EQ(s.auth.clients[0].issuer, "ehr-a");  // defaults to the id
  EXPECT_EQ(s.auth.clients[1].issuer, "b-iss");
  EXPECT_EQ(s.auth.clients[1].certificate_subjects, std::vector<std::string>{"CN=ehr-b"});
}

TEST(FhirSettingsTest, DefaultsAreSafe) {
  FhirSettings s;
  EXPECT_EQ(read("{}", s), "");
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.server.max_request_bytes, 10 * 1024 * 1024);
  EXPECT_FALSE(s.server.allow_plain_http);
  EXPECT_FALSE(s.auth.allow_unauthenticated);
}

TEST(FhirSettingsTest, ReportsEveryErrorWithItsPosition) {
  FhirSettings s;
  const std::string errors = read(R"({"enabled": true, "host": "0.0.0.0", "prot": 1,
      "max_request_bytes": 10, "base_path": "fhir",
      "auth": {"allow_unauthenticated": true,
        "clients": [{"id": "a", "public_key_file": "a.pub"}, {"id": "a"}]}})",
                                  s);
  EXPECT_NE(errors.find("gateway.json:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("prot"), std::string::npos) << errors;
  EXPECT_NE(errors.find("max_request_bytes"), std::string::npos) << errors;
  EXPECT_NE(errors.find("base_path"), std::string::npos) << errors;
  EXPECT_NE(errors.find("\"a\" is used twice"), std::string::npos) << errors;
  EXPECT_NE(errors.find("needs \"public_key_file\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("audience\" is required"), std::string::npos) << errors;
  EXPECT_NE(errors.find("allow_unauthenticated\" is only allowed"), std::string::npos) << errors;
  EXPECT_NE(errors.find("plain HTTP is only allowed on a loopback host"), std::string::npos)
      << errors;
}

TEST(FhirSettingsTest, TlsNeedsItsFilesAndMutualTlsItsCa) {
  FhirSettings s;
  const std::string errors =
      read(R"({"enabled": true, "tls": {"enabled": true, "require_client_certificate": true},
               "auth": {"clients": [{"id": "m", "certificate_subjects": ["m"]}]}})",
           s);
  EXPECT_NE(errors.find("certificate\" and"), std::string::npos) << errors;
  EXPECT_NE(errors.find("needs \"inbound.fhir.tls.ca\""), std::string::npos) << errors;
  EXPECT_EQ(errors.find("plain HTTP"), std::string::npos) << errors;
}

TEST(FhirSettingsTest, EnabledWithoutAnyWayToAuthenticateIsAnError) {
  FhirSettings s;
  EXPECT_NE(read(R"({"enabled": true, "allow_plain_http": true})", s).find("no client can"),
            std::string::npos);
}

}  // namespace
}  // namespace gw
