// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/outbound/secure_inbox/InboxSettings.h"
#include "gateway/configuration/ConfigParser.h"

namespace gw {
namespace {

ConfigErrors read(const std::string& json, InboxSettings& settings) {
  ConfigErrors errors;
  const Result<ConfigNode> node = config::parseJson(json, "gateway.json");
  EXPECT_TRUE(node.ok()) << node.status().toString();
  readInboxSettings(*node, errors, settings);
  return errors;
}

TEST(InboxSettingsTest, ReadsEveryKey) {
  InboxSettings s;
  const ConfigErrors errors = read(R"({
    "base_url": "https://patients.example.invalid/inbox/",
    "path_prefix": "/patients/",
    "link_validity_days": 14,
    "code_validity_seconds": 300,
    "max_attempts": 3,
    "session_idle_timeout_seconds": 300,
    "session_max_age_seconds": 1800,
    "codes_per_hour": 4,
    "requests_per_ip_per_minute": 120,
    "requests_per_link_per_minute": 20,
    "secure_cookies": true,
    "default_language": "es",
    "notify_timeout_ms": 5000
  })",
                                   s);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(s.base_url, "https://patients.example.invalid/inbox/");
  EXPECT_EQ(s.path_prefix, "/patients/");
  EXPECT_EQ(s.link_validity_days, 14);
  EXPECT_EQ(s.code_validity_seconds, 300);
  EXPECT_EQ(s.max_attempts, 3);
  EXPECT_EQ(s.session_idle_timeout_seconds, 300);
  EXPECT_EQ(s.session_max_age_seconds, 1800);
  EXPECT_EQ(s.codes_per_hour, 4);
  EXPECT_EQ(s.requests_per_ip_per_minute, 120);
  EXPECT_EQ(s.requests_per_link_per_minute, 20);
  EXPECT_EQ(s.default_language, "es");
  EXPECT_EQ(s.notify_timeout_ms, 5000);
  EXPECT_TRUE(validateInboxSettings(s).isOk());
}

TEST(InboxSettingsTest, DefaultsFollowTheIssue) {
  InboxSettings s;
  EXPECT_EQ(s.link_validity_days, 30);
  EXPECT_EQ(s.code_validity_seconds, 600);
  EXPECT_EQ(s.max_attempts, 5);
  EXPECT_TRUE(s.secure_cookies);
  EXPECT_EQ(validateInboxSettings(s).code(), StatusCode::InvalidArgument);  // base_url missing
}

TEST(InboxSettingsTest, ReportsEveryErrorWithItsPosition) {
  InboxSettings s;
  const ConfigErrors errors = read(R"({
  "base_url": "http://patients.example.invalid/inbox/",
  "max_attempts": 50,
  "path_prefix": "inbox",
  "retires": 3
})",
                                   s);
  const std::string text = errors.toString();
  EXPECT_EQ(errors.all().size(), 4U) << text;
  EXPECT_NE(text.find("gateway.json:2:"), std::string::npos) << text;
  EXPECT_NE(text.find("https://"), std::string::npos) << text;
  EXPECT_NE(text.find("max_attempts"), std::string::npos) << text;
  EXPECT_NE(text.find("retires"), std::string::npos) << text;
  EXPECT_NE(text.find("path_prefix"), std::string::npos) << text;
}

TEST(InboxSettingsTest, PlainHttpOnlyOnLoopback) {
  InboxSettings s;
  s.base_url = "http://127.0.0.1:8080/inbox/";
  EXPECT_TRUE(validateInboxSettings(s).isOk());
  s.base_url = "http://10.0.0.5/inbox/";
  EXPECT_FALSE(validateInboxSettings(s).isOk());
  s.base_url = "https://patients.example.invalid/inbox";
  EXPECT_FALSE(validateInboxSettings(s).isOk());  // no trailing '/'
}

TEST(InboxSettingsTest, EmptyBaseUrlIsReadAndLeftToTheDaemon) {
  InboxSettings s;
  const ConfigErrors errors = read(R"({"base_url": "", "path_prefix": "/patients/"})", s);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_TRUE(s.base_url.empty());
  EXPECT_FALSE(validateInboxSettings(s).isOk());  // the service needs one...
  EXPECT_TRUE(validateInboxSettings(s, /*allow_derived_base_url=*/true).isOk());  // ...later
  InboxSettings absent;
  EXPECT_TRUE(read(R"({"path_prefix": "/inbox/"})", absent).empty());
}

TEST(InboxSettingsTest, DerivesTheBaseUrlFromTheBoundAddress) {
  Result<std::string> plain = derivedInboxBaseUrl("127.0.0.1:41234", false, "/inbox/");
  ASSERT_TRUE(plain.ok()) << plain.status().toString();
  EXPECT_EQ(*plain, "http://127.0.0.1:41234/inbox/");
  Result<std::string> tls = derivedInboxBaseUrl("10.1.2.3:8444", true, "/patients/");
  ASSERT_TRUE(tls.ok()) << tls.status().toString();
  EXPECT_EQ(*tls, "https://10.1.2.3:8444/patients/");
  Result<std::string> v6 = derivedInboxBaseUrl("[::1]:8444", false, "/inbox/");
  ASSERT_TRUE(v6.ok()) << v6.status().toString();
  EXPECT_EQ(*v6, "http://[::1]:8444/inbox/");
}

TEST(InboxSettingsTest, RefusesToDeriveWhatPatientsCouldNotOpen) {
  // Every address: no host to put in a link.
  Result<std::string> any = derivedInboxBaseUrl("0.0.0.0:8444", true, "/inbox/");
  ASSERT_FALSE(any.ok());
  EXPECT_NE(any.status().toString().find("base_url"), std::string::npos);
  EXPECT_FALSE(derivedInboxBaseUrl("[::]:8444", true, "/inbox/").ok());
  // Plain http off loopback, malformed addresses and prefixes.
  EXPECT_FALSE(derivedInboxBaseUrl("10.1.2.3:8444", false, "/inbox/").ok());
  EXPECT_FALSE(derivedInboxBaseUrl("", false, "/inbox/").ok());
  EXPECT_FALSE(derivedInboxBaseUrl("127.0.0.1", false, "/inbox/").ok());
  EXPECT_FALSE(derivedInboxBaseUrl("127.0.0.1:8444", false, "inbox").ok());
}

}  // namespace
}  // namespace gw
