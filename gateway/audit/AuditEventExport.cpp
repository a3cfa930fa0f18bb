// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditEventExport.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace gw {
namespace {

constexpr const char* kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr const char* kAuditEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr const char* kRestful = "http://hl7.org/fhir/restful-interaction";
constexpr const char* kLifecycle = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";
constexpr const char* kSourceType = "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr const char* kNetworkType = "http://hl7.org/fhir/network-type";  // "2" = IP address
constexpr const char* kOurActions = "urn:gateway:audit-action";

struct Coding {
  const char* system;
  const char* code;
  const char* display;
};

// The BALP pattern of one of our audit actions.
struct Pattern {
  Coding type;
  Coding subtype;  // system null: none besides our own action code
  const char* action;
};

Pattern patternFor(std::string_view action) {
  switch (classifyAuditAction(action)) {
    case AuditEventKind::Import:
      return {{kDicom, "110107", "Import"},
              {kLifecycle, "receive", "Receive/Retain Record Lifecycle Event"},
              "C"};
    case AuditEventKind::ImportRepeat:
      return {{kDicom, "110107", "Import"}, {nullptr, nullptr, nullptr}, "E"};
    case AuditEventKind::PayloadRead:
      return {{kAuditEventType, "rest", "Restful Operation"}, {kRestful, "read", "read"}, "R"};
    case AuditEventKind::Disclosure:
      return {{kDicom, "110106", "Export"},
              {kLifecycle, "disclose", "Disclose Record Lifecycle Event"},
              "R"};
    case AuditEventKind::ApplicationActivity:
      break;
  }
  return {{kDicom, "110100", "Application Activity"}, {nullptr, nullptr, nullptr}, "E"};
}

// FHIR AuditEvent.outcome: 0 success, 4 minor failure, 8 serious failure, 12 major failure.
const char* outcomeCode(std::string_view outcome) {
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

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void string(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void coding(Writer& w, const char* system, std::string_view code, std::string_view display) {
  w.StartObject();
  w.Key("system");
  w.String(system);
  w.Key("code");
  string(w, code);
  if (!display.empty()) {
    w.Key("display");
    string(w, display);
  }
  w.EndObject();
}

void detail(Writer& w, const char* type, std::string_view value) {
  w.StartObject();
  w.Key("type");
  w.String(type);
  w.Key("valueString");
  string(w, value);
  w.EndObject();
}

}  // namespace

AuditEventKind classifyAuditAction(std::string_view action) {
  if (action == "received") {
    return AuditEventKind::Import;
  }
  if (action == "duplicate") {
    return AuditEventKind::ImportRepeat;
  }
  if (action == "viewed_payload") {
    return AuditEventKind::PayloadRead;
  }
  if (action == "sent" || action == "delivered") {
    return AuditEventKind::Disclosure;
  }
  return AuditEventKind::ApplicationActivity;
}

std::string toFhirAuditEvent(const AuditRecord& record, std::string_view observer) {
  const AuditEntry& e = record.entry;
  const Pattern p = patternFor(e.action);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("resourceType");
  w.String("AuditEvent");
  w.Key("id");
  string(w, "gw-audit-" + std::to_string(record.seq));
  w.Key("type");
  coding(w, p.type.system, p.type.code, p.type.display);
  w.Key("subtype");
  w.StartArray();
  if (p.subtype.system != nullptr) {
    coding(w, p.subtype.system, p.subtype.code, p.subtype.display);
  }
  coding(w, kOurActions, e.action, "");
  w.EndArray();
  w.Key("action");
  w.String(p.action);
  w.Key("recorded");
  string(w, instant(e.time));
  w.Key("outcome");
  w.String(outcomeCode(e.outcome));
  if (e.outcome != "ok" && !e.outcome.empty()) {
    w.Key("outcomeDesc");
    string(w, e.outcome);
  }
  w.Key("agent");
  w.StartArray();
  w.StartObject();
  w.Key("who");
  w.StartObject();
  w.Key("display");
  string(w, e.actor.empty() ? "system" : e.actor);
  w.EndObject();
  w.Key("requestor");
  w.Bool(e.actor.rfind("operator:", 0) == 0);
  if (!e.source.empty() && e.source != "cli") {
    w.Key("network");
    w.StartObject();
    w.Key("address");
    string(w, e.source);
    w.Key("type");
    w.String("2");
    w.EndObject();
  }
  w.EndObject();
  w.EndArray();
  w.Key("source");
  w.StartObject();
  w.Key("observer");
  w.StartObject();
  w.Key("display");
  string(w, observer);
  w.EndObject();
  w.Key("type");
  w.StartArray();
  coding(w, kSourceType, "4", "Application Server");
  w.EndArray();
  w.EndObject();
  w.Key("entity");
  w.StartArray();
  w.StartObject();
  w.Key("what");
  w.StartObject();
  w.Key("identifier");
  w.StartObject();
  w.Key("value");
  string(w, e.object);
  w.EndObject();
  w.EndObject();
  w.Key("detail");
  w.StartArray();
  detail(w, "audit_seq", std::to_string(record.seq));
  detail(w, "leaf_hash", record.leaf_hash);
  if (!e.reason.empty()) {
    detail(w, "reason", e.reason);
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<std::uint64_t> exportFhirAuditEvents(AuditStore& store, std::ostream& out,
                                            std::string_view observer, std::int64_t after_seq) {
  constexpr std::size_t kPage = 1000;
  std::uint64_t written = 0;
  for (;;) {
    Result<std::vector<AuditRecord>> page = store.listAudit(after_seq, kPage);
    if (!page.ok()) {
      return page.status().withContext("reading audit records after seq " +
                                       std::to_string(after_seq));
    }
    for (const AuditRecord& record : *page) {
      out << toFhirAuditEvent(record, observer) << '\n';
      after_seq = record.seq;
      ++written;
    }
    if (!out) {
      return Status::unavailable("cannot write the export");
    }
    if (page->size() < kPage) {
      return written;
    }
  }
}

}  // namespace gw
