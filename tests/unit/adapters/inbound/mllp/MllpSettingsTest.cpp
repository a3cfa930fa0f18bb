// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "adapters/inbound/mllp/MllpSettings.h"

namespace gw {
namespace {

// Builds ConfigNode trees by hand; every node gets its own line so positions are distinct.
class Tree {
 public:
  ConfigNode str(std::string value) {
    ConfigNode n(ConfigNode::Kind::String, next());
    n.setText(std::move(value));
    return n;
  }
  ConfigNode num(std::string text) {
    ConfigNode n(ConfigNode::Kind::Number, next());
    n.setText(std::move(text));
    return n;
  }
  ConfigNode boolean(bool value) {
    ConfigNode n(ConfigNode::Kind::Bool, next());
    n.setBool(value);
    return n;
  }
  ConfigNode list(std::vector<ConfigNode> elements) {
    ConfigNode n(ConfigNode::Kind::Array, next());
    n.mutableElements() = std::move(elements);
    return n;
  }
  ConfigNode object(std::vector<ConfigNode::Member> members) {
    ConfigNode n(ConfigNode::Kind::Object, next());
    n.mutableMembers() = std::move(members);
    return n;
  }

 private:
  SourcePosition next() { return SourcePosition{"gateway.json", ++line_, 5}; }
  int line_ = 0;
};

struct Read {
  MllpSettings settings;
  ConfigErrors errors;
};

Read readFrom(const ConfigNode& node) {
  Read r;
  ConfigReader reader(node, r.errors, "inbound.mllp[0]");
  readMllpSettings(reader, r.settings);
  return r;
}

bool samePosition(const SourcePosition& a, const SourcePosition& b) {
  return a.file == b.file && a.line == b.line && a.column == b.column;
}

// The error whose message contains `text`, or nullptr.
const Status* findError(const ConfigErrors& errors, const std::string& text) {
  for (const Status& s : errors.all()) {
    if (s.message().find(text) != std::string::npos) {
      return &s;
    }
  }
  return nullptr;
}

TEST(MllpSettingsTest, KeepsDefaultsForMissingKeys) {
  Tree t;
  const ConfigNode node = t.object({{"name", t.str("adt")}});
  const Read r = readFrom(node);
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
  const MllpSettings& s = r.settings;
  EXPECT_EQ(s.name, "adt");
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 2575);
  EXPECT_EQ(s.max_frame_bytes, 1048576);
  EXPECT_EQ(s.idle_timeout_seconds, 300);
  EXPECT_EQ(s.partial_frame_timeout_seconds, 30);
  EXPECT_EQ(s.max_connections, 64);
  EXPECT_EQ(s.commit_timeout_ms, 5000);
  EXPECT_TRUE(s.allowed_sending_facilities.empty());
  EXPECT_FALSE(s.tls.enabled);
  EXPECT_TRUE(s.tls.certificate.empty());
  EXPECT_TRUE(s.tls.private_key.empty());
  EXPECT_TRUE(s.tls.ca.empty());
  EXPECT_FALSE(s.tls.require_client_certificate);
  EXPECT_TRUE(s.tls.allowed_client_subjects.empty());
  EXPECT_EQ(s.tls.min_version, "1.2");
}

TEST(MllpSettingsTest, ReadsEveryKey) {
  Tree t;
  const ConfigNode node = t.object({
      {"name", t.str("lab")},
      {"host", t.str("0.0.0.0")},
      {"port", t.num("0")},
      {"max_frame_bytes", t.num("2048")},
      {"idle_timeout_seconds", t.num("60")},
      {"partial_frame_timeout_seconds", t.num("5")},
      {"max_connections", t.num("3")},
      {"commit_timeout_ms", t.num("250")},
      {"allowed_sending_facilities", t.list({t.str("HOSP"), t.str("CLINIC")})},
      {"tls", t.object({
                  {"enabled", t.boolean(true)},
                  {"certificate", t.str("/etc/gw/server.pem")},
                  {"private_key", t.str("/etc/gw/server.key")},
                  {"ca", t.str("/etc/gw/ca.pem")},
                  {"require_client_certificate", t.boolean(true)},
                  {"allowed_client_subjects", t.list({t.str("ehr-prod"), t.str("CN=ehr,O=H")})},
                  {"min_version", t.str("1.3")},
              })},
  });
  const Read r = readFrom(node);
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
  const MllpSettings& s = r.settings;
  EXPECT_EQ(s.name, "lab");
  EXPECT_EQ(s.host, "0.0.0.0");
  EXPECT_EQ(s.port, 0);
  EXPECT_EQ(s.max_frame_bytes, 2048);
  EXPECT_EQ(s.idle_timeout_seconds, 60);
  EXPECT_EQ(s.partial_frame_timeout_seconds, 5);
  EXPECT_EQ(s.max_connections, 3);
  EXPECT_EQ(s.commit_timeout_ms, 250);
  EXPECT_EQ(s.allowed_sending_facilities, (std::vector<std::string>{"HOSP", "CLINIC"}));
  EXPECT_TRUE(s.tls.enabled);
  EXPECT_EQ(s.tls.certificate, "/etc/gw/server.pem");
  EXPECT_EQ(s.tls.private_key, "/etc/gw/server.key");
  EXPECT_EQ(s.tls.ca, "/etc/gw/ca.pem");
  EXPECT_TRUE(s.tls.require_client_certificate);
  EXPECT_EQ(s.tls.allowed_client_subjects, (std::vector<std::string>{"ehr-prod", "CN=ehr,O=H"}));
  EXPECT_EQ(s.tls.min_version, "1.3");
}

TEST(MllpSettingsTest, MissingNameIsAnError) {
  Tree t;
  const Read r = readFrom(t.object({{"port", t.num("2575")}}));
  EXPECT_NE(findError(r.errors, "missing required key \"inbound.mllp[0].name\""), nullptr)
      << r.errors.toString();
}

TEST(MllpSettingsTest, UnknownKeyIsAnErrorAtItsPosition) {
  Tree t;
  const ConfigNode node = t.object({{"name", t.str("adt")}, {"prot", t.num("2575")}});
  const Read r = readFrom(node);
  ASSERT_EQ(r.errors.all().size(), 1U) << r.errors.toString();
  const Status& error = r.errors.all()[0];
  EXPECT_NE(error.message().find("unknown key \"prot\" in inbound.mllp[0]"), std::string::npos);
  EXPECT_NE(error.message().find("did you mean \"port\""), std::string::npos);
  ASSERT_TRUE(error.position().has_value());
  EXPECT_TRUE(samePosition(*error.position(), node.find("prot")->position()));
}

TEST(MllpSettingsTest, UnknownKeyInTlsIsAnError) {
  Tree t;
  const ConfigNode node =
      t.object({{"name", t.str("adt")}, {"tls", t.object({{"enable", t.boolean(true)}})}});
  const Read r = readFrom(node);
  const Status* error = findError(r.errors, "unknown key \"enable\" in inbound.mllp[0].tls");
  ASSERT_NE(error, nullptr) << r.errors.toString();
  EXPECT_TRUE(samePosition(*error->position(), node.find("tls")->find("enable")->position()));
}

TEST(MllpSettingsTest, OutOfRangeAndWrongTypesAreErrorsAtTheirPositions) {
  Tree t;
  const ConfigNode node = t.object({
      {"name", t.str("adt")},
      {"port", t.num("65536")},
      {"max_frame_bytes", t.num("1023")},
      {"idle_timeout_seconds", t.num("0")},
      {"max_connections", t.str("64")},
      {"allowed_sending_facilities", t.str("HOSP")},
  });
  const Read r = readFrom(node);
  EXPECT_EQ(r.errors.all().size(), 5U) << r.errors.toString();
  const Status* port = findError(r.errors, "\"inbound.mllp[0].port\" is 65536");
  ASSERT_NE(port, nullptr) << r.errors.toString();
  EXPECT_TRUE(samePosition(*port->position(), node.find("port")->position()));
  EXPECT_NE(findError(r.errors, "\"inbound.mllp[0].max_frame_bytes\" is 1023"), nullptr);
  EXPECT_NE(findError(r.errors, "\"inbound.mllp[0].idle_timeout_seconds\" is 0"), nullptr);
  EXPECT_NE(findError(r.errors, "\"inbound.mllp[0].max_connections\" must be a number"), nullptr);
  EXPECT_NE(findError(r.errors, "\"inbound.mllp[0].allowed_sending_facilities\" must be an array"),
            nullptr);
  EXPECT_EQ(r.settings.port, 2575);  // defaults kept
  EXPECT_EQ(r.settings.max_frame_bytes, 1048576);
}

TEST(MllpSettingsTest, AcceptsRangeLimits) {
  Tree t;
  const Read r = readFrom(t.object({
      {"name", t.str("adt")},
      {"port", t.num("65535")},
      {"max_frame_bytes", t.num("67108864")},
  }));
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
  EXPECT_EQ(r.settings.port, 65535);
  EXPECT_EQ(r.settings.max_frame_bytes, 64 * 1024 * 1024);
}

TEST(MllpSettingsTest, TlsEnabledWithoutCertificateOrKeyIsAnError) {
  Tree t;
  const ConfigNode node =
      t.object({{"name", t.str("adt")}, {"tls", t.object({{"enabled", t.boolean(true)}})}});
  const Read r = readFrom(node);
  EXPECT_EQ(r.errors.all().size(), 2U) << r.errors.toString();
  const Status* certificate =
      findError(r.errors, "\"inbound.mllp[0].tls.certificate\" is required when TLS is enabled");
  ASSERT_NE(certificate, nullptr) << r.errors.toString();
  EXPECT_TRUE(
      samePosition(*certificate->position(), node.find("tls")->find("enabled")->position()));
  EXPECT_NE(findError(r.errors, "\"inbound.mllp[0].tls.private_key\" is required"), nullptr);
}

TEST(MllpSettingsTest, MutualTlsWithoutCaIsAnError) {
  Tree t;
  const ConfigNode node = t.object({
      {"name", t.str("adt")},
      {"tls", t.object({{"enabled", t.boolean(true)},
                        {"certificate", t.str("s.pem")},
                        {"private_key", t.str("s.key")},
                        {"require_client_certificate", t.boolean(true)}})},
  });
  const Read r = readFrom(node);
  ASSERT_EQ(r.errors.all().size(), 1U) << r.errors.toString();
  const Status& error = r.errors.all()[0];
  EXPECT_NE(error.message().find("needs \"inbound.mllp[0].tls.ca\""), std::string::npos);
  EXPECT_TRUE(samePosition(*error.position(),
                           node.find("tls")->find("require_client_certificate")->position()));
}

TEST(MllpSettingsTest, SubjectAllowListWithoutMutualTlsIsAnError) {
  Tree t;
  const ConfigNode node = t.object({
      {"name", t.str("adt")},
      {"tls", t.object({{"enabled", t.boolean(true)},
                        {"certificate", t.str("s.pem")},
                        {"private_key", t.str("s.key")},
                        {"allowed_client_subjects", t.list({t.str("ehr")})}})},
  });
  const Read r = readFrom(node);
  ASSERT_EQ(r.errors.all().size(), 1U) << r.errors.toString();
  EXPECT_NE(r.errors.all()[0].message().find("needs \"inbound.mllp[0].tls.require_client_"),
            std::string::npos);
}

TEST(MllpSettingsTest, UnknownMinVersionIsAnError) {
  Tree t;
  const Read r = readFrom(t.object({
      {"name", t.str("adt")},
      {"tls", t.object({{"min_version", t.str("1.1")}})},
  }));
  EXPECT_NE(findError(r.errors, "\"inbound.mllp[0].tls.min_version\" is \"1.1\""), nullptr)
      << r.errors.toString();
  EXPECT_EQ(r.settings.tls.min_version, "1.2");
}

TEST(MllpSettingsTest, ReadsIoModelAndRefusesUnknownOnes) {
  Tree t;
  EXPECT_EQ(readFrom(t.object({{"name", t.str("adt")}})).settings.io_model, "auto");
  const Read threads = readFrom(t.object({{"name", t.str("adt")}, {"io_model", t.str("threads")}}));
  EXPECT_TRUE(threads.errors.empty()) << threads.errors.toString();
  EXPECT_EQ(threads.settings.io_model, "threads");
  const Read unknown = readFrom(t.object({{"name", t.str("adt")}, {"io_model", t.str("fibers")}}));
  EXPECT_NE(findError(unknown.errors, "\"inbound.mllp[0].io_model\" is \"fibers\""), nullptr)
      << unknown.errors.toString();
}

TEST(MllpSettingsTest, ReactorWithTlsIsAnErrorAtTlsEnabled) {
  Tree t;
  const ConfigNode node = t.object({
      {"name", t.str("adt")},
      {"io_model", t.str("reactor")},
      {"tls", t.object({{"enabled", t.boolean(true)},
                        {"certificate", t.str("s.pem")},
                        {"private_key", t.str("s.key")}})},
  });
  const Read r = readFrom(node);
  ASSERT_EQ(r.errors.all().size(), 1U) << r.errors.toString();
  const Status& error = r.errors.all()[0];
  EXPECT_NE(error.message().find("\"inbound.mllp[0].io_model\" is \"reactor\""), std::string::npos)
      << error.message();
  EXPECT_TRUE(samePosition(*error.position(), node.find("tls")->find("enabled")->position()));
}

TEST(MllpSettingsTest, NonLoopbackHostWithoutTlsIsAllowed) {
  Tree t;
  const Read r = readFrom(t.object({{"name", t.str("adt")}, {"host", t.str("0.0.0.0")}}));
  EXPECT_TRUE(r.errors.empty()) << r.errors.toString();
}

}  // namespace
}  // namespace gw
