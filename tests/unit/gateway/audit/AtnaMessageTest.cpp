// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <map>
#include <memory>
#include <regex>
#include <vector>
#include <xercesc/dom/DOM.hpp>
#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/parsers/XercesDOMParser.hpp>
#include <xercesc/sax/HandlerBase.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/XMLString.hpp>

#include "gateway/audit/AtnaMessage.h"

namespace gw::atna {
namespace {

namespace x = xercesc;
using ::testing::HasSubstr;
using ::testing::Not;

AuditRecord record(std::int64_t seq, std::string action, std::string actor, std::string outcome,
                   std::string source, std::string reason = "") {
  AuditRecord r;
  r.seq = seq;
  r.entry.time = std::chrono::system_clock::from_time_t(1795000000) + std::chrono::milliseconds(7);
  r.entry.action = std::move(action);
  r.entry.actor = std::move(actor);
  r.entry.outcome = std::move(outcome);
  r.entry.source = std::move(source);
  r.entry.reason = std::move(reason);
  r.entry.object = "inbound_event:" + std::to_string(seq);
  r.leaf_hash = std::string(64, 'a');
  return r;
}

std::string text(const XMLCh* s) {
  if (s == nullptr) {
    return "";
  }
  char* c = x::XMLString::transcode(s);
  std::string out(c);
  x::XMLString::release(&c);
  return out;
}

std::string base64Decode(const std::string& in) {
  std::string out(in.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  EXPECT_GE(n, 0) << in;
  std::size_t padding = 0;  // EVP_DecodeBlock counts padding as zero bytes
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) {
    ++padding;
  }
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n) - padding);
  return out;
}

// A parsed element: name, attributes and children, from Xerces' DOM (so the test does not trust
// our own writer to check its output).
struct Element {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<Element> children;

  std::vector<const Element*> all(const std::string& child) const {
    std::vector<const Element*> out;
    for (const Element& c : children) {
      if (c.name == child) {
        out.push_back(&c);
      }
    }
    return out;
  }
  const Element& one(const std::string& child) const {
    const auto found = all(child);
    EXPECT_EQ(found.size(), 1u) << child;
    static const Element kNone;
    return found.empty() ? kNone : *found[0];
  }
  std::string operator[](const std::string& attribute) const {
    const auto it = attributes.find(attribute);
    return it == attributes.end() ? "<absent>" : it->second;
  }
};

Element convert(const x::DOMElement* e) {
  Element out;
  out.name = text(e->getTagName());
  const x::DOMNamedNodeMap* attributes = e->getAttributes();
  for (XMLSize_t i = 0; i < attributes->getLength(); ++i) {
    const x::DOMNode* a = attributes->item(i);
    out.attributes[text(a->getNodeName())] = text(a->getNodeValue());
  }
  for (const x::DOMElement* c = e->getFirstElementChild(); c != nullptr;
       c = c->getNextElementSibling()) {
    out.children.push_back(convert(c));
  }
  return out;
}

class AtnaMessageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { x::XMLPlatformUtils::Initialize(); }
  static void TearDownTestSuite() { x::XMLPlatformUtils::Terminate(); }

  // Parses well-formed XML (fails the test otherwise) into an Element tree.
  Element parse(const std::string& xml) {
    x::XercesDOMParser parser;
    parser.setDoNamespaces(false);
    parser.setLoadExternalDTD(false);
    x::HandlerBase errors;
    parser.setErrorHandler(&errors);
    x::MemBufInputSource source(reinterpret_cast<const XMLByte*>(xml.data()), xml.size(), "atna");
    try {
      parser.parse(source);
    } catch (const x::SAXParseException& e) {
      ADD_FAILURE() << "not well-formed: " << text(e.getMessage()) << " at column "
                    << e.getColumnNumber() << "\n"
                    << xml;
      return {};
    }
    EXPECT_EQ(parser.getErrorCount(), 0u) << xml;
    const x::DOMDocument* doc = parser.getDocument();
    if (doc == nullptr || doc->getDocumentElement() == nullptr) {
      ADD_FAILURE() << "no document element";
      return {};
    }
    return convert(doc->getDocumentElement());
  }

  std::map<std::string, std::string> details(const Element& object) {
    std::map<std::string, std::string> out;
    for (const Element* d : object.all("ParticipantObjectDetail")) {
      out[(*d)["type"]] = base64Decode((*d)["value"]);
    }
    return out;
  }
};

TEST_F(AtnaMessageTest, ReceivedIsADicomImportWithTheEhrAsSource) {
  const Element m = parse(toAuditMessageXml(
      record(3, "received", "listener:adt", "ok", "10.0.0.5:4000"), "gw.invalid/audit"));
  EXPECT_EQ(m.name, "AuditMessage");
  ASSERT_EQ(m.children.size(), 5u);  // event, two participants, source, object (schema order)
  EXPECT_EQ(m.children[0].name, "EventIdentification");
  EXPECT_EQ(m.children[1].name, "ActiveParticipant");
  EXPECT_EQ(m.children[2].name, "ActiveParticipant");
  EXPECT_EQ(m.children[3].name, "AuditSourceIdentification");
  EXPECT_EQ(m.children[4].name, "ParticipantObjectIdentification");

  const Element& event = m.one("EventIdentification");
  EXPECT_EQ(event["EventActionCode"], "C");
  EXPECT_EQ(event["EventDateTime"], "2026-11-18T11:06:40.007Z");
  EXPECT_EQ(event["EventOutcomeIndicator"], "0");
  const Element& id = event.one("EventID");
  EXPECT_EQ(id["csd-code"], "110107");
  EXPECT_EQ(id["codeSystemName"], "DCM");
  EXPECT_EQ(id["originalText"], "Import");
  const auto types = event.all("EventTypeCode");
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ((*types[0])["csd-code"], "receive");
  EXPECT_EQ((*types[1])["csd-code"], "received");
  EXPECT_EQ((*types[1])["codeSystemName"], "urn:gateway:audit-action");

  const Element& ehr = m.children[1];
  EXPECT_EQ(ehr["UserID"], "10.0.0.5:4000");
  EXPECT_EQ(ehr["UserIsRequestor"], "true");
  EXPECT_EQ(ehr["NetworkAccessPointID"], "10.0.0.5");
  EXPECT_EQ(ehr["NetworkAccessPointTypeCode"], "2");
  EXPECT_EQ(ehr.one("RoleIDCode")["csd-code"], "110153");
  const Element& us = m.children[2];
  EXPECT_EQ(us["UserID"], "listener:adt");
  EXPECT_EQ(us["UserIsRequestor"], "false");
  EXPECT_EQ(us.one("RoleIDCode")["csd-code"], "110152");

  const Element& source = m.one("AuditSourceIdentification");
  EXPECT_EQ(source["AuditSourceID"], "gw.invalid/audit");
  EXPECT_EQ(source.one("AuditSourceTypeCode")["csd-code"], "4");

  const Element& object = m.one("ParticipantObjectIdentification");
  EXPECT_EQ(object["ParticipantObjectID"], "inbound_event:3");
  EXPECT_EQ(object["ParticipantObjectTypeCode"], "2");
  EXPECT_EQ(object.one("ParticipantObjectIDTypeCode")["csd-code"], "inbound_event");
  const auto d = details(object);
  EXPECT_EQ(d.at("audit_seq"), "3");
  EXPECT_EQ(d.at("leaf_hash"), std::string(64, 'a'));
  EXPECT_EQ(d.count("outcome"), 0u);
}

TEST_F(AtnaMessageTest, EachActionUsesTheSharedClassification) {
  struct Case {
    const char* action;
    const char* actor;
    const char* event_id;
    const char* action_code;
    const char* requestor;
  };
  for (const Case& c : {Case{"duplicate", "listener:adt", "110107", "E", "false"},
                        Case{"viewed_payload", "operator:alice", "110110", "R", "true"},
                        Case{"sent", "system", "110106", "R", "false"},
                        Case{"delivered", "system", "110106", "R", "false"},
                        Case{"replayed", "operator:bob", "110100", "E", "true"},
                        Case{"key_rotated", "operator:root", "110100", "E", "true"}}) {
    const Element m = parse(toAuditMessageXml(record(9, c.action, c.actor, "ok", "cli"), "gw"));
    const Element& event = m.one("EventIdentification");
    EXPECT_EQ(event.one("EventID")["csd-code"], c.event_id) << c.action;
    EXPECT_EQ(event["EventActionCode"], c.action_code) << c.action;
    const auto participants = m.all("ActiveParticipant");
    ASSERT_EQ(participants.size(), 1u) << c.action;
    EXPECT_EQ((*participants[0])["UserID"], c.actor);
    EXPECT_EQ((*participants[0])["UserIsRequestor"], c.requestor) << c.action;
    // "cli" is not a network address.
    EXPECT_EQ((*participants[0])["NetworkAccessPointID"], "<absent>");
    const auto types = event.all("EventTypeCode");
    ASSERT_FALSE(types.empty());
    EXPECT_EQ((*types.back())["csd-code"], c.action);
  }
}

TEST_F(AtnaMessageTest, FailureOutcomesAndReasonsAreCarried) {
  const Element m = parse(toAuditMessageXml(
      record(4, "received", "listener:adt", "data_loss", "", "store said \"no\" <&>"), "gw"));
  EXPECT_EQ(m.one("EventIdentification")["EventOutcomeIndicator"], "8");
  const auto d = details(m.one("ParticipantObjectIdentification"));
  EXPECT_EQ(d.at("outcome"), "data_loss");
  EXPECT_EQ(d.at("reason"), "store said \"no\" <&>");
  EXPECT_EQ(m.all("ActiveParticipant").size(), 1u);  // no peer address: only the actor
  const Element other =
      parse(toAuditMessageXml(record(5, "received", "listener:adt", "invalid_argument", ""), "gw"));
  EXPECT_EQ(other.one("EventIdentification")["EventOutcomeIndicator"], "4");
}

TEST_F(AtnaMessageTest, HostileCharactersStayWellFormed) {
  AuditRecord r = record(6, "rep\"layed", "operator:<script>&", "ok", "[::1]:99");
  r.entry.object = std::string("patient_message:7\x01\x1f\n\t", 22);
  r.entry.object += "\xff\xc3\x28 \xe2\x82\xac";  // invalid UTF-8, then a valid euro sign
  const std::string xml = toAuditMessageXml(r, "gw&co");
  const Element m = parse(xml);
  EXPECT_EQ(m.one("ActiveParticipant")["UserID"], "operator:<script>&");
  EXPECT_EQ(m.one("ActiveParticipant")["NetworkAccessPointID"], "::1");
  EXPECT_EQ(m.one("AuditSourceIdentification")["AuditSourceID"], "gw&co");
  EXPECT_THAT(m.one("ParticipantObjectIdentification")["ParticipantObjectID"],
              HasSubstr("patient_message:7??"));
  EXPECT_THAT(xml, HasSubstr("\xe2\x82\xac"));
  EXPECT_THAT(xml, Not(HasSubstr("\xff")));
}

TEST_F(AtnaMessageTest, SyslogHeaderFollowsRfc5424) {
  const AuditRecord r = record(3, "received", "listener:adt", "ok", "10.0.0.5:4000");
  SyslogHeader header;
  header.hostname = "gw1.example.invalid";
  header.app_name = "ehr-gateway";
  header.procid = "4242";
  const std::string xml = toAuditMessageXml(r, "gw");
  const std::string message = toSyslogMessage(r, header, xml);
  // PRI = facility 10 (authpriv) * 8 + severity 5 (notice), VERSION 1.
  const std::string expected_header =
      "<85>1 2026-11-18T11:06:40.007Z gw1.example.invalid ehr-gateway 4242 IHE+RFC-3881 - ";
  ASSERT_EQ(message.substr(0, expected_header.size()), expected_header);
  EXPECT_EQ(message.substr(expected_header.size(), 3), "\xEF\xBB\xBF");
  EXPECT_EQ(message.substr(expected_header.size() + 3), xml);
  const std::regex rfc5424(
      R"(^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) - )");
  EXPECT_TRUE(std::regex_search(message, rfc5424));

  header.hostname = "";
  header.procid = "with space";
  const AuditRecord failed = record(4, "received", "listener:adt", "unavailable", "");
  const std::string degraded = toSyslogMessage(failed, header, "<x/>");
  EXPECT_EQ(degraded.substr(0, 4), "<84>");  // severity 4 (warning) for a failure
  EXPECT_THAT(degraded, HasSubstr(" - ehr-gateway with_space IHE+RFC-3881 - "));
  EXPECT_TRUE(std::regex_search(degraded, rfc5424));
}

TEST_F(AtnaMessageTest, OctetCountingFramesCountBytes) {
  EXPECT_EQ(octetCountedFrame("abc"), "3 abc");
  const std::string euro = "\xe2\x82\xac";
  EXPECT_EQ(octetCountedFrame(euro), "3 " + euro);
  const AuditRecord r = record(3, "received", "listener:adt", "ok", "");
  const std::string message =
      toSyslogMessage(r, SyslogHeader{"h", "a", "1"}, toAuditMessageXml(r, "gw"));
  const std::string frame = octetCountedFrame(message);
  const std::size_t space = frame.find(' ');
  EXPECT_EQ(std::stoul(frame.substr(0, space)), message.size());
  EXPECT_EQ(frame.substr(space + 1), message);
  EXPECT_NE(frame[0], '0');
}

TEST_F(AtnaMessageTest, HeaderFieldsAreChecked) {
  EXPECT_TRUE(checkHeaderField("app_name", "ehr-gateway", 48).isOk());
  EXPECT_EQ(checkHeaderField("app_name", "", 48).code(), StatusCode::InvalidArgument);
  EXPECT_EQ(checkHeaderField("app_name", "two words", 48).code(), StatusCode::InvalidArgument);
  EXPECT_EQ(checkHeaderField("app_name", std::string(49, 'a'), 48).code(),
            StatusCode::InvalidArgument);
  EXPECT_EQ(checkHeaderField("app_name", "caf\xc3\xa9", 48).code(), StatusCode::InvalidArgument);
}

}  // namespace
}  // namespace gw::atna
