// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditEventExport.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sstream>

#include "tests/support/InMemoryStore.h"

namespace gw {
namespace {

AuditRecord record(std::int64_t seq, std::string action, std::string actor, std::string outcome,
                   std::string source) {
  AuditRecord r;
  r.seq = seq;
  r.entry.time = std::chrono::system_clock::from_time_t(1795000000) + std::chrono::milliseconds(7);
  r.entry.action = std::move(action);
  r.entry.actor = std::move(actor);
  r.entry.outcome = std::move(outcome);
  r.entry.source = std::move(source);
  r.entry.object = "inbound_event:" + std::to_string(seq);
  r.leaf_hash = std::string(64, 'a');
  return r;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

TEST(AuditEventExportTest, ReceivedIsABalpImportWithTheListenerAsAgent) {
  const rapidjson::Document d =
      parse(toFhirAuditEvent(record(3, "received", "listener:adt", "ok", "10.0.0.5:4000"), "gw/audit"));
  EXPECT_STREQ(d["resourceType"].GetString(), "AuditEvent");
  EXPECT_STREQ(d["id"].GetString(), "gw-audit-3");
  EXPECT_STREQ(d["type"]["system"].GetString(), "http://dicom.nema.org/resources/ontology/DCM");
  EXPECT_STREQ(d["type"]["code"].GetString(), "110107");
  EXPECT_STREQ(d["action"].GetString(), "C");
  EXPECT_STREQ(d["outcome"].GetString(), "0");
  EXPECT_STREQ(d["recorded"].GetString(), "2026-11-18T11:06:40.007Z");
  const auto& subtypes = d["subtype"].GetArray();
  ASSERT_EQ(subtypes.Size(), 2u);
  EXPECT_STREQ(subtypes[1]["system"].GetString(), "urn:gateway:audit-action");
  EXPECT_STREQ(subtypes[1]["code"].GetString(), "received");
  const auto& agent = d["agent"][0];
  EXPECT_STREQ(agent["who"]["display"].GetString(), "listener:adt");
  EXPECT_FALSE(agent["requestor"].GetBool());
  EXPECT_STREQ(agent["network"]["address"].GetString(), "10.0.0.5:4000");
  EXPECT_STREQ(d["source"]["observer"]["display"].GetString(), "gw/audit");
  EXPECT_STREQ(d["entity"][0]["what"]["identifier"]["value"].GetString(), "inbound_event:3");
  EXPECT_STREQ(d["entity"][0]["detail"][1]["valueString"].GetString(), std::string(64, 'a').c_str());
}

TEST(AuditEventExportTest, EachActionFollowsItsPattern) {
  struct Case {
    const char* action;
    const char* type_code;
    const char* action_code;
  };
  for (const Case& c : {Case{"duplicate", "110107", "E"}, Case{"viewed_payload", "rest", "R"},
                        Case{"sent", "110106", "R"}, Case{"key_rotated", "110100", "E"}}) {
    const rapidjson::Document d =
        parse(toFhirAuditEvent(record(1, c.action, "operator:alice", "ok", "cli"), "o"));
    EXPECT_STREQ(d["type"]["code"].GetString(), c.type_code) << c.action;
    EXPECT_STREQ(d["action"].GetString(), c.action_code) << c.action;
    EXPECT_TRUE(d["agent"][0]["requestor"].GetBool()) << "an operator asked for it";
    EXPECT_FALSE(d["agent"][0].HasMember("network")) << "no network address for the CLI";
  }
}

TEST(AuditEventExportTest, FailuresMapToOutcomeCodes) {
  EXPECT_STREQ(parse(toFhirAuditEvent(record(1, "received", "a", "unavailable", ""), "o"))["outcome"]
                   .GetString(),
               "4");
  EXPECT_STREQ(parse(toFhirAuditEvent(record(1, "received", "a", "data_loss", ""), "o"))["outcome"]
                   .GetString(),
               "8");
}

TEST(AuditEventExportTest, EscapesWhatItWrites) {
  AuditRecord r = record(1, "viewed_payload", "operator:a\"b", "ok", "");
  r.entry.reason = "ticket \"42\"\n";
  const rapidjson::Document d = parse(toFhirAuditEvent(r, "o"));
  EXPECT_STREQ(d["agent"][0]["who"]["display"].GetString(), "operator:a\"b");
}

TEST(AuditEventExportTest, ExportsEveryRecordAsOneLine) {
  test::InMemoryStore store;
  for (int i = 0; i < 2500; ++i) {
    AuditEntry e;
    e.action = "key_rotated";
    e.actor = "operator:test";
    e.outcome = "ok";
    e.object = "kek:" + std::to_string(i);
    ASSERT_TRUE(store.appendAudit(e).ok());
  }
  std::ostringstream out;
  Result<std::uint64_t> written = exportFhirAuditEvents(store, out, "o");
  ASSERT_TRUE(written.ok()) << written.status().toString();
  EXPECT_EQ(*written, 2500u);
  std::istringstream lines(out.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const rapidjson::Document d = parse(line);
    EXPECT_STREQ(d["id"].GetString(), ("gw-audit-" + std::to_string(++n)).c_str());
  }
  EXPECT_EQ(n, 2500);
}

}  // namespace
}  // namespace gw
