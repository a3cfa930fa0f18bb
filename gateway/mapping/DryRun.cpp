// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/DryRun.h"

#include <date/date.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>

#include "gateway/crypto/Digest.h"
#include "gateway/fhir/Resource.h"
#include "gateway/hl7/Message.h"

namespace gw::mapping {
namespace {

class SteppedClock final : public Clock {
 public:
  explicit SteppedClock(SystemTime start) : now_(start.time_since_epoch().count()) {}
  SystemTime now() const override { return SystemTime(SystemTime::duration(now_.load())); }
  SteadyTime steadyNow() const override { return SteadyTime(); }
  void advance(std::chrono::minutes by) {
    now_ += std::chrono::duration_cast<SystemTime::duration>(by).count();
  }

 private:
  std::atomic<SystemTime::rep> now_;
};

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string stateName(MessageState s) {
  return std::string(messageStateName(s));
}

void writeResult(Writer& w, const std::string& input, std::size_t index, const MappingResult& r,
                 const std::vector<std::int64_t>& ids) {
  w.StartObject();
  str(w, "input", input);
  w.Key("index");
  w.Uint64(index);
  str(w, "outcome", std::string(eventOutcomeName(r.outcome)));
  str(w, "reason", r.reason);
  w.Key("decisions");
  w.StartArray();
  for (const MappingDecision& d : r.decisions) {
    w.StartObject();
    str(w, "mapping", d.mapping);
    str(w, "outcome", d.outcome);
    str(w, "policy", d.policy);
    str(w, "reason", d.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("transitions");
  w.StartArray();
  for (const MessageTransition& t : r.transitions) {
    w.StartObject();
    w.Key("message_id");
    w.Int64(t.message_id);
    str(w, "to", stateName(t.to));
    str(w, "reason", t.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("messages");
  w.StartArray();
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const NewPatientMessage& m = r.messages[i].message;
    const MessageContent& c = r.messages[i].content;
    w.StartObject();
    w.Key("id");
    w.Int64(ids[i]);
    str(w, "mapping", m.mapping);
    str(w, "state", stateName(m.state));
    str(w, "reason", m.reason);
    str(w, "channel", std::string(channelName(m.channel)));
    str(w, "purpose", m.purpose);
    w.Key("contains_phi");
    w.Bool(m.contains_phi);
    str(w, "not_before", formatUtc(m.not_before));
    str(w, "expires_at", formatUtc(m.expires_at));
    w.Key("supersedes");
    w.Int64(m.supersedes);
    // Keys are long digests; their first 12 characters are enough to compare in a report.
    str(w, "idempotency_key", m.idempotency_key.substr(0, 12));
    str(w, "clinical_key", m.clinical_key.substr(0, 12));
    str(w, "patient_key", m.patient_key.substr(0, 12));
    str(w, "visit_key", m.visit_key.substr(0, 12));
    w.Key("content");
    w.StartObject();
    str(w, "language", c.language);
    str(w, "recipient_name", c.recipient_name);
    str(w, "email", c.email);
    str(w, "date_of_birth", c.date_of_birth);
    str(w, "facility_name", c.facility_name);
    str(w, "subject", c.subject);
    str(w, "text", c.text);
    str(w, "html", c.html);
    w.Key("quick_replies");
    w.StartArray();
    for (const QuickReply& q : c.quick_replies) {
      w.StartObject();
      str(w, "id", q.id);
      str(w, "label", q.label);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::string> patientKey(const DryRunPatient& p) {
  return hmacSha256Hex(kDryRunPseudonymKey, p.assigning_authority + "|" + p.identifier);
}

Result<DryRunPatient> readPatient(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("assigning_authority") || !v.HasMember("identifier") ||
      !v["assigning_authority"].IsString() || !v["identifier"].IsString()) {
    return Status::parseError(
        "\"patient\" needs string \"assigning_authority\" and \"identifier\"");
  }
  return DryRunPatient{v["assigning_authority"].GetString(), v["identifier"].GetString()};
}

}  // namespace

std::string formatUtc(SystemTime t) {
  return date::format("%FT%TZ", date::floor<std::chrono::seconds>(t));
}

Result<DryRunSetup> parseDryRunSetup(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag>(json.c_str(),
                                                                                 json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Status::parseError("setup is not a JSON object");
  }
  DryRunSetup setup;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key = it->name.GetString();
    const rapidjson::Value& v = it->value;
    if (key == "now" && v.IsString()) {
      std::optional<SystemTime> t = parseEventTime(v.GetString(), "UTC");
      if (!t) {
        return Status::parseError("setup \"now\" is not an ISO 8601 time");
      }
      setup.now = t;
    } else if (key == "advance_minutes" && v.IsInt()) {
      setup.advance = std::chrono::minutes(v.GetInt());
    } else if (key == "mark_sent" && v.IsBool()) {
      setup.mark_sent = v.GetBool();
    } else if (key == "facility_time_zone" && v.IsString()) {
      setup.facility_time_zone = v.GetString();
    } else if (key == "consent" && v.IsArray()) {
      for (const rapidjson::Value& e : v.GetArray()) {
        DryRunSetup::ConsentEntry entry;
        if (!e.IsObject() || !e.HasMember("patient")) {
          return Status::parseError("setup consent entries need \"patient\"");
        }
        GW_ASSIGN_OR_RETURN(entry.patient, readPatient(e["patient"]));
        if (e.HasMember("channel")) {
          auto channel = parseChannel(e["channel"].IsString() ? e["channel"].GetString() : "");
          if (!channel) {
            return Status::parseError("setup consent \"channel\" is not a channel name");
          }
          entry.channel = *channel;
        }
        if (e.HasMember("purpose") && e["purpose"].IsString()) {
          entry.purpose = e["purpose"].GetString();
        }
        const std::string c =
            e.HasMember("consent") && e["consent"].IsString() ? e["consent"].GetString() : "";
        if (c != "opted_in" && c != "opted_out") {
          return Status::parseError("setup \"consent\" must be \"opted_in\" or \"opted_out\"");
        }
        entry.consent = c == "opted_in" ? Consent::OptedIn : Consent::OptedOut;
        setup.consent.push_back(std::move(entry));
      }
    } else if (key == "preferences" && v.IsArray()) {
      for (const rapidjson::Value& e : v.GetArray()) {
        DryRunSetup::PreferenceEntry entry;
        if (!e.IsObject() || !e.HasMember("patient")) {
          return Status::parseError("setup preference entries need \"patient\"");
        }
        GW_ASSIGN_OR_RETURN(entry.patient, readPatient(e["patient"]));
        if (e.HasMember("time_zone") && e["time_zone"].IsString()) {
          entry.preferences.time_zone = e["time_zone"].GetString();
        }
        if (e.HasMember("language") && e["language"].IsString()) {
          entry.preferences.language = e["language"].GetString();
        }
        if (e.HasMember("result_delay_hours") && e["result_delay_hours"].IsInt()) {
          entry.preferences.result_delay = std::chrono::hours(e["result_delay_hours"].GetInt());
        }
        setup.preferences.push_back(std::move(entry));
      }
    } else if (key == "before" && v.IsArray()) {
      for (const rapidjson::Value& e : v.GetArray()) {
        if (!e.IsString()) {
          return Status::parseError("setup \"before\" must list file names");
        }
        setup.before.emplace_back(e.GetString());
      }
    } else {
      return Status::parseError("setup key \"" + key + "\" is unknown or has the wrong type");
    }
  }
  return setup;
}

Result<std::string> dryRun(const MappingSet& set, const std::vector<std::string>& input_files,
                           const DryRunSetup& setup) {
  SteppedClock clock(setup.now ? *setup.now : std::chrono::system_clock::now());
  MappingEngine engine(clock);
  InMemoryPolicyState state;
  for (const DryRunSetup::ConsentEntry& c : setup.consent) {
    GW_ASSIGN_OR_RETURN(std::string key, patientKey(c.patient));
    state.setConsent(key, c.channel, c.purpose, c.consent);
  }
  for (const DryRunSetup::PreferenceEntry& p : setup.preferences) {
    GW_ASSIGN_OR_RETURN(std::string key, patientKey(p.patient));
    state.setPreferences(key, p.preferences);
  }
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartArray();
  std::vector<std::int64_t> to_mark_sent;
  std::int64_t event_id = 0;

  auto runOne = [&](const EventView& view, const std::string& input, std::size_t index) -> Status {
    for (std::int64_t id : to_mark_sent) {
      state.setState(id, MessageState::Sent);
    }
    to_mark_sent.clear();
    MapContext ctx;
    ctx.event_id = ++event_id;
    ctx.pseudonym_key = kDryRunPseudonymKey;
    ctx.state = &state;
    GW_ASSIGN_OR_RETURN(MappingResult result, engine.map(set, view, ctx));
    // What the store would do in the mapper's transaction.
    for (const MessageTransition& t : result.transitions) {
      state.setState(t.message_id, t.to);
    }
    std::vector<std::int64_t> ids;
    for (const ProducedMessage& m : result.messages) {
      ids.push_back(state.add(m.message));
      if (setup.mark_sent && m.message.state == MessageState::Pending) {
        to_mark_sent.push_back(ids.back());
      }
    }
    writeResult(w, input, index, result, ids);
    clock.advance(setup.advance);
    return Status::ok();
  };

  for (const std::string& file : input_files) {
    std::string bytes;
    if (!readFile(file, bytes)) {
      return Status::notFound("cannot read " + file);
    }
    const std::string name = file.substr(file.find_last_of('/') + 1);
    if (endsWith(file, ".json") || endsWith(file, ".xml")) {
      Result<fhir::Resource> resource =
          endsWith(file, ".json") ? fhir::parseJson(bytes) : fhir::parseXml(bytes);
      if (!resource.ok()) {
        return resource.status().withContext(file);
      }
      FhirEventView view(*resource);
      GW_RETURN_IF_ERROR(runOne(view, name, 0));
      continue;
    }
    const std::vector<std::string_view> messages = hl7::splitMessages(bytes);
    if (messages.empty()) {
      return Status::parseError(file + ": no HL7 v2 message (no MSH segment)");
    }
    for (std::size_t i = 0; i < messages.size(); ++i) {
      Result<hl7::Message> message = hl7::Message::parse(messages[i]);
      if (!message.ok()) {
        return message.status().withContext(file + " message " + std::to_string(i + 1));
      }
      Hl7EventView view(*message);
      GW_RETURN_IF_ERROR(runOne(view, name, i));
    }
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace gw::mapping
