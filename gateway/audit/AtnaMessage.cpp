// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AtnaMessage.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "gateway/audit/AuditEventExport.h"

namespace gw::atna {
namespace {

constexpr const char* kDcm = "DCM";
constexpr const char* kLifecycle = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";
constexpr const char* kOurActions = "urn:gateway:audit-action";
constexpr const char* kOurObjects = "urn:gateway:object-type";
constexpr int kFacilityAuthPriv = 10;  // RFC 5424 table 1: security/authorization messages

struct Code {
  const char* code;
  const char* system;
  const char* text;
};

// DICOM PS3.15 A.5.1 event coding of one BALP kind (AuditEventExport.h).
struct EventCoding {
  Code id;
  Code lifecycle;  // code null: none
  const char* action;
};

EventCoding codingFor(AuditEventKind kind) {
  switch (kind) {
    case AuditEventKind::Import:
      return {{"110107", kDcm, "Import"},
              {"receive", kLifecycle, "Receive/Retain Record Lifecycle Event"},
              "C"};
    case AuditEventKind::ImportRepeat:
      return {{"110107", kDcm, "Import"}, {nullptr, nullptr, nullptr}, "E"};
    case AuditEventKind::PayloadRead:
      // BALP codes this as a FHIR RESTful read; in the DICOM vocabulary it is a read of a patient
      // record.
      return {{"110110", kDcm, "Patient Record"},
              {"access", kLifecycle, "Access/View Record Lifecycle Event"},
              "R"};
    case AuditEventKind::Disclosure:
      return {{"110106", kDcm, "Export"},
              {"disclose", kLifecycle, "Disclose Record Lifecycle Event"},
              "R"};
    case AuditEventKind::ApplicationActivity:
      break;
  }
  return {{"110100", kDcm, "Application Activity"}, {nullptr, nullptr, nullptr}, "E"};
}

const char* outcomeIndicator(std::string_view outcome) {
  if (outcome == "ok") {
    return "0";
  }
  if (outcome == "internal" || outcome == "data_loss") {
    return "8";
  }
  return "4";
}

std::string instant(SystemTime t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", date, static_cast<int>(ms % 1000));
  return out;
}

// Length of the well-formed UTF-8 sequence at s[i] that XML 1.0 may carry, or 0.
std::size_t validUtf8At(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t length = 0;
  char32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + length > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  const bool overlong = (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000);
  const bool excluded =
      (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF;
  return overlong || excluded ? 0 : length;
}

// Appends `s` escaped for an XML attribute value in double quotes.
void appendAttributeText(std::string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t length = validUtf8At(s, i);
      if (length == 0) {
        out += '?';
        ++i;
      } else {
        out.append(s.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += c < 0x20 || c == 0x7F ? '?' : static_cast<char>(c);
    }
    ++i;
  }
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

// A small writer for the flat element/attribute structure of the audit message.
class Xml {
 public:
  explicit Xml(std::string& out) : out_(out) {}
  Xml& open(const char* name) {
    out_ += '<';
    out_ += name;
    return *this;
  }
  Xml& attr(const char* name, std::string_view value) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    appendAttributeText(out_, value);
    out_ += '"';
    return *this;
  }
  void endEmpty() { out_ += "/>"; }
  void endStart() { out_ += '>'; }
  void close(const char* name) {
    out_ += "</";
    out_ += name;
    out_ += '>';
  }
  // A CodedValueType element (csd-code, codeSystemName, originalText).
  void code(const char* element, std::string_view code, std::string_view system,
            std::string_view text) {
    open(element).attr("csd-code", code).attr("codeSystemName", system).attr("originalText", text);
    endEmpty();
  }

 private:
  std::string& out_;
};

// "10.0.0.5:4000" -> "10.0.0.5", "[::1]:4000" -> "::1"; anything else unchanged.
std::string_view hostOf(std::string_view address) {
  if (!address.empty() && address.front() == '[') {
    const std::size_t end = address.find(']');
    return end == std::string_view::npos ? address : address.substr(1, end - 1);
  }
  const std::size_t colon = address.rfind(':');
  if (colon != std::string_view::npos && address.find(':') == colon) {
    return address.substr(0, colon);
  }
  return address;
}

void participant(Xml& xml, std::string_view user_id, bool requestor, std::string_view address,
                 const Code* role) {
  xml.open("ActiveParticipant")
      .attr("UserID", user_id)
      .attr("UserIsRequestor", requestor ? "true" : "false");
  if (!address.empty()) {
    xml.attr("NetworkAccessPointID", hostOf(address)).attr("NetworkAccessPointTypeCode", "2");
  }
  if (role == nullptr) {
    xml.endEmpty();
    return;
  }
  xml.endStart();
  xml.code("RoleIDCode", role->code, role->system, role->text);
  xml.close("ActiveParticipant");
}

void detail(Xml& xml, const char* type, std::string_view value) {
  xml.open("ParticipantObjectDetail").attr("type", type).attr("value", base64(value));
  xml.endEmpty();
}

}  // namespace

int syslogPriority(std::string_view outcome) {
  return kFacilityAuthPriv * 8 + (outcome == "ok" ? 5 : 4);
}

Status checkHeaderField(std::string_view field, std::string_view value, std::size_t max_length) {
  if (value.empty() || value.size() > max_length) {
    return Status::invalidArgument(std::string(field) + " must be 1.." +
                                   std::to_string(max_length) + " characters");
  }
  for (const char c : value) {
    if (c < 33 || c > 126) {
      return Status::invalidArgument(std::string(field) +
                                     " may contain only printable ASCII without spaces");
    }
  }
  return Status::ok();
}

std::string toAuditMessageXml(const AuditRecord& record, std::string_view audit_source_id) {
  static const Code kSourceRole{"110153", kDcm, "Source Role ID"};
  static const Code kDestinationRole{"110152", kDcm, "Destination Role ID"};
  const AuditEntry& e = record.entry;
  const AuditEventKind kind = classifyAuditAction(e.action);
  const EventCoding coding = codingFor(kind);
  const std::string actor = e.actor.empty() ? "system" : e.actor;
  const bool operator_actor = actor.rfind("operator:", 0) == 0;
  const std::string_view peer = e.source == "cli" ? std::string_view() : std::string_view(e.source);

  std::string out;
  out.reserve(1536);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  Xml xml(out);
  xml.open("AuditMessage").endStart();

  xml.open("EventIdentification")
      .attr("EventActionCode", coding.action)
      .attr("EventDateTime", instant(e.time))
      .attr("EventOutcomeIndicator", outcomeIndicator(e.outcome))
      .endStart();
  xml.code("EventID", coding.id.code, coding.id.system, coding.id.text);
  if (coding.lifecycle.code != nullptr) {
    xml.code("EventTypeCode", coding.lifecycle.code, coding.lifecycle.system,
             coding.lifecycle.text);
  }
  xml.code("EventTypeCode", e.action, kOurActions, e.action);
  xml.close("EventIdentification");

  if (kind == AuditEventKind::Import && !peer.empty()) {
    participant(xml, peer, true, peer, &kSourceRole);
    participant(xml, actor, false, "", &kDestinationRole);
  } else if (kind == AuditEventKind::Disclosure) {
    participant(xml, actor, operator_actor, peer, &kSourceRole);
  } else {
    participant(xml, actor, operator_actor, peer, nullptr);
  }

  xml.open("AuditSourceIdentification").attr("AuditSourceID", audit_source_id).endStart();
  xml.code("AuditSourceTypeCode", "4", kDcm, "Application Server Process");
  xml.close("AuditSourceIdentification");

  const std::string_view object = e.object;
  const std::size_t colon = object.find(':');
  const std::string_view object_kind =
      colon == std::string_view::npos ? object : object.substr(0, colon);
  const bool clinical = object_kind == "inbound_event" || object_kind == "patient_message";
  xml.open("ParticipantObjectIdentification")
      .attr("ParticipantObjectID", object.empty() ? std::string_view("-") : object)
      .attr("ParticipantObjectTypeCode", "2")                       // system object
      .attr("ParticipantObjectTypeCodeRole", clinical ? "3" : "4")  // report / resource
      .endStart();
  xml.code("ParticipantObjectIDTypeCode", object_kind.empty() ? std::string_view("-") : object_kind,
           kOurObjects, object_kind.empty() ? std::string_view("-") : object_kind);
  detail(xml, "audit_seq", std::to_string(record.seq));
  detail(xml, "leaf_hash", record.leaf_hash);
  if (e.outcome != "ok" && !e.outcome.empty()) {
    detail(xml, "outcome", e.outcome);
  }
  if (!e.reason.empty()) {
    detail(xml, "reason", e.reason);
  }
  xml.close("ParticipantObjectIdentification");
  xml.close("AuditMessage");
  return out;
}

std::string toSyslogMessage(const AuditRecord& record, const SyslogHeader& header,
                            std::string_view xml) {
  // Header fields are checked at config time; anything unexpected still cannot break the
  // header's space-separated syntax.
  const auto field = [](std::string_view value, std::size_t max_length) {
    std::string out;
    for (const char c : value.substr(0, max_length)) {
      out += c >= 33 && c <= 126 ? c : '_';
    }
    return out.empty() ? std::string("-") : out;
  };
  std::string out;
  out.reserve(xml.size() + 128);
  out += '<';
  out += std::to_string(syslogPriority(record.entry.outcome));
  out += ">1 ";
  out += instant(record.entry.time);
  out += ' ';
  out += field(header.hostname, 255);
  out += ' ';
  out += field(header.app_name, 48);
  out += ' ';
  out += field(header.procid, 128);
  out += ' ';
  out += field(header.msgid, 32);
  out += " - \xEF\xBB\xBF";  // no structured data; BOM: the message is UTF-8 (section 6.4)
  out += xml;
  return out;
}

std::string octetCountedFrame(std::string_view syslog_message) {
  std::string out = std::to_string(syslog_message.size());
  out += ' ';
  out += syslog_message;
  return out;
}

}  // namespace gw::atna
