// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/MappingSet.h"

#include <date/tz.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gateway/configuration/ConfigParser.h"
#include "gateway/mapping/TemplateScan.h"

namespace gw::mapping {
namespace {

namespace fs = std::filesystem;

bool readText(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

SourcePosition at(const std::string& file, int line, int column) {
  SourcePosition p;
  p.file = file;
  p.line = line;
  p.column = column;
  return p;
}

// "HH:MM" to minutes after midnight, or -1.
int parseClock(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') {
    return -1;
  }
  for (std::size_t i : {0U, 1U, 3U, 4U}) {
    if (text[i] < '0' || text[i] > '9') {
      return -1;
    }
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  return h < 24 && m < 60 ? h * 60 + m : -1;
}

// The ConfigNode a JSON pointer (from the schema validator) points at, for its position.
const ConfigNode& nodeAtPointer(const ConfigNode& root, const std::string& pointer) {
  const ConfigNode* node = &root;
  std::size_t pos = 0;
  while (pos < pointer.size() && pointer[pos] == '/') {
    std::size_t next = pointer.find('/', pos + 1);
    std::string token =
        pointer.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    // RFC 6901 escapes.
    for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
      token.replace(i, 2, token.compare(i, 2, "~1") == 0 ? "/" : "~");
    }
    const ConfigNode* child = nullptr;
    if (node->isObject()) {
      child = node->find(token);
    } else if (node->isArray() && !token.empty() &&
               token.find_first_not_of("0123456789") == std::string::npos) {
      const std::size_t index = std::stoul(token);
      if (index < node->elements().size()) {
        child = &node->elements()[index];
      }
    }
    if (child == nullptr) {
      break;
    }
    node = child;
    pos = next == std::string::npos ? pointer.size() : next;
  }
  return *node;
}

std::string schemaMessage(const std::string& keyword, const std::string& pointer) {
  const std::string where = pointer.empty() ? "the mapping" : "\"" + pointer + "\"";
  if (keyword == "required") {
    return where + " lacks a required key (schema: required)";
  }
  if (keyword == "additionalProperties") {
    return where + " has a key the schema does not allow (schema: additionalProperties)";
  }
  if (keyword == "type") {
    return where + " has the wrong type (schema: type)";
  }
  if (keyword == "enum") {
    return where + " is not one of the allowed values (schema: enum)";
  }
  return where + " does not satisfy the schema keyword \"" + keyword + "\"";
}

// Reads a localized text: a string, or an object of language -> string.
bool readLocalized(const ConfigNode& node, const std::string& where, ConfigErrors& errors,
                   LocalizedText& out) {
  if (node.kind() == ConfigNode::Kind::String) {
    out[""] = node.text();
    return true;
  }
  if (!node.isObject()) {
    errors.add(node.position(),
               "\"" + where + "\" must be a string or an object of language -> text");
    return false;
  }
  for (const ConfigNode::Member& m : node.members()) {
    if (m.second.kind() != ConfigNode::Kind::String) {
      errors.add(m.second.position(), "\"" + where + "." + m.first + "\" must be a string");
      return false;
    }
    out[m.first] = m.second.text();
  }
  return true;
}

class Loader {
 public:
  Loader(const MappingSettings& settings, ConfigErrors& errors)
      : settings_(settings), errors_(errors) {}

  bool loadSchema(const std::string& schema_path) {
    std::string text;
    if (!readText(schema_path, text)) {
      errors_.add(at(schema_path, 1, 1), "cannot read the mapping schema");
      return false;
    }
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    if (doc.HasParseError()) {
      int line = 0;
      int column = 0;
      detail::lineColumn(text, doc.GetErrorOffset(), line, column);
      errors_.add(at(schema_path, line, column),
                  std::string("invalid JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()));
      return false;
    }
    schema_ = std::make_unique<rapidjson::SchemaDocument>(doc);
    return true;
  }

  void loadFile(const std::string& path, const std::string& directory, std::vector<Mapping>& out) {
    std::string text;
    if (!readText(path, text)) {
      errors_.add(at(path, 1, 1), "cannot read the mapping file");
      return;
    }
    Result<ConfigNode> root = config::parseJson(text, path);
    if (!root.ok()) {
      Status s = root.status();
      errors_.add(s.position() ? *s.position() : at(path, 1, 1), s.message());
      return;
    }
    const std::size_t errors_before = errors_.all().size();
    Mapping mapping;
    mapping.file = path;
    readMapping(*root, directory, mapping);
    const bool ours_failed = errors_.all().size() != errors_before;
    // The schema validator (RapidJSON 1.1 stops at its first finding) backs our own checks up:
    // its finding is reported when ours found nothing, so one mistake is not reported twice.
    if (schema_ && !ours_failed) {
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag>(text.c_str(),
                                                                                     text.size());
      rapidjson::SchemaValidator validator(*schema_);
      if (!doc.HasParseError() && !doc.Accept(validator)) {
        rapidjson::StringBuffer pointer;
        validator.GetInvalidDocumentPointer().StringifyUriFragment(pointer);
        std::string ptr = pointer.GetString();
        if (!ptr.empty() && ptr.front() == '#') {
          ptr.erase(0, 1);
        }
        errors_.add(nodeAtPointer(*root, ptr).position(),
                    schemaMessage(validator.GetInvalidSchemaKeyword(), ptr));
      }
    }
    if (errors_.all().size() == errors_before) {
      for (const Mapping& other : out) {
        if (other.id == mapping.id) {
          errors_.add(root->find("id") ? root->find("id")->position() : root->position(),
                      "mapping id \"" + mapping.id + "\" is also used by " + other.file);
        }
      }
      out.push_back(std::move(mapping));
    }
  }

 private:
  std::optional<EventPath> compilePath(const ConfigNode& node, const std::string& where,
                                       EventSource source) {
    if (node.kind() != ConfigNode::Kind::String) {
      errors_.add(node.position(), "\"" + where + "\" must be a path string");
      return std::nullopt;
    }
    Result<EventPath> path = EventPath::compile(source, node.text());
    if (!path.ok()) {
      int column = node.position().column + 1;  // after the opening quote
      if (path.status().message().find("column ") != std::string::npos) {
        const std::size_t c = path.status().message().find("column ");
        column += std::atoi(path.status().message().c_str() + c + 7) - 1;
      }
      SourcePosition p = node.position();
      p.column = column;
      errors_.add(p, "\"" + where + "\": " + path.status().message());
      return std::nullopt;
    }
    return std::move(path).value();
  }

  // Reads `key` of `object` (through its reader, so type errors are positioned and the key
  // counts as known) and compiles it.
  std::optional<EventPath> readPath(ConfigReader& r, const ConfigNode& object, std::string_view key,
                                    EventSource source, bool required) {
    std::string text;
    r.readString(key, text, required);
    const ConfigNode* node = object.find(key);
    if (text.empty() || node == nullptr) {
      return std::nullopt;
    }
    return compilePath(*node, r.where() + "." + std::string(key), source);
  }

  void readMapping(const ConfigNode& root, const std::string& directory, Mapping& m) {
    ConfigReader r(root, errors_, "mapping");
    if (!root.isObject()) {
      return;
    }
    std::string description;
    r.readString("$schema", description);
    r.readString("id", m.id, true);
    r.readString("description", description);
    r.readString("purpose", m.purpose, true);
    std::string action = "notify";
    r.readEnum("action", action, {"notify", "retract"});
    m.action = action == "retract" ? Mapping::Action::Retract : Mapping::Action::Notify;
    if (!m.id.empty()) {
      const std::string stem = fs::path(m.file).stem().string();
      if (stem != m.id) {
        errors_.add(root.find("id")->position(),
                    "mapping id \"" + m.id + "\" must equal the file name \"" + stem + "\"");
      }
    }

    // match
    const ConfigNode* match = r.object("match");
    if (match == nullptr) {
      if (root.find("match") == nullptr) {
        errors_.add(root.position(), "missing required key \"mapping.match\"");
      }
      r.finish();
      return;
    }
    ConfigReader mr(*match, errors_, "match");
    std::string source = "hl7v2";
    mr.readEnum("source", source, {"hl7v2", "fhir"});
    m.source = source == "fhir" ? EventSource::Fhir : EventSource::Hl7v2;
    mr.readStringList("event", m.events);
    if (m.events.empty()) {
      errors_.add(match->position(),
                  "\"match.event\" must list at least one event (\"ADT^A03\", \"Encounter\")");
    }
    if (const ConfigNode* conditions = mr.array("conditions")) {
      for (std::size_t i = 0; i < conditions->elements().size(); ++i) {
        readCondition(conditions->elements()[i], "match.conditions[" + std::to_string(i) + "]", m);
      }
    }
    mr.finish();

    // patient
    if (const ConfigNode* patient = r.object("patient")) {
      ConfigReader pr(*patient, errors_, "patient");
      if (auto p = readPath(pr, *patient, "identifier", m.source, true)) {
        m.patient_identifier = *p;
      }
      if (auto p = readPath(pr, *patient, "assigning_authority", m.source, true)) {
        m.assigning_authority = *p;
      }
      m.language = readPath(pr, *patient, "language", m.source, false);
      pr.finish();
    } else if (root.find("patient") == nullptr) {
      errors_.add(root.position(), "missing required key \"mapping.patient\"");
    }

    // extract
    std::set<std::string> known = {"facility.name", "is_update", "language"};
    if (const ConfigNode* extract = r.object("extract")) {
      for (const ConfigNode::Member& member : extract->members()) {
        readVariable(member, m, known);
      }
    }

    // lookups
    if (const ConfigNode* lookups = r.object("lookups")) {
      for (const ConfigNode::Member& member : lookups->members()) {
        readLookup(member, m, known);
      }
    }

    // keys
    if (const ConfigNode* keys = r.object("keys")) {
      ConfigReader kr(*keys, errors_, "keys");
      kr.readString("group", m.key_group, true);
      kr.readStringList("clinical", m.clinical_vars);
      kr.readStringList("version", m.version_vars);
      kr.readString("visit", m.visit_var);
      std::vector<std::string> all = m.clinical_vars;
      all.insert(all.end(), m.version_vars.begin(), m.version_vars.end());
      if (!m.visit_var.empty()) {
        all.push_back(m.visit_var);
      }
      for (const std::string& v : all) {
        if (!isExtracted(m, v)) {
          errors_.add(keys->position(),
                      "\"keys\" names \"" + v + "\", which \"extract\" does not define");
        }
      }
      if (m.clinical_vars.empty()) {
        errors_.add(keys->position(), "\"keys.clinical\" must name at least one variable");
      }
      kr.finish();
    } else if (root.find("keys") == nullptr) {
      errors_.add(root.position(), "missing required key \"mapping.keys\"");
    }

    readPolicy(r, root, m);

    if (m.action == Mapping::Action::Notify) {
      readRoute(r, root, m);
      readTemplates(r, root, directory, m, known);
    } else {
      for (const char* key : {"route", "templates"}) {
        if (const ConfigNode* n = root.find(key)) {
          errors_.add(n->position(),
                      std::string("a retract mapping has no \"") + key + "\" (it sends nothing)");
          r.object(key);
        }
      }
    }
    r.finish();
  }

  bool isExtracted(const Mapping& m, const std::string& name) const {
    return std::any_of(m.variables.begin(), m.variables.end(),
                       [&](const Variable& v) { return v.name == name; });
  }

  void readCondition(const ConfigNode& node, const std::string& where, Mapping& m) {
    ConfigReader cr(node, errors_, where);
    if (!node.isObject()) {
      return;
    }
    Condition c;
    auto path = readPath(cr, node, "path", m.source, true);
    int kinds = 0;
    std::string equals;
    if (node.find("equals") != nullptr) {
      cr.readString("equals", equals);
      c.kind = Condition::Kind::Equals;
      c.values = {equals};
      ++kinds;
    }
    if (node.find("in") != nullptr) {
      cr.readStringList("in", c.values);
      c.kind = Condition::Kind::In;
      ++kinds;
    }
    if (const ConfigNode* regex = node.find("regex")) {
      std::string pattern;
      cr.readString("regex", pattern);
      c.kind = Condition::Kind::Regex;
      ++kinds;
      try {
        c.regex = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        errors_.add(regex->position(),
                    "\"" + where + ".regex\" is not a valid regular expression: " + e.what());
      }
    }
    if (node.find("exists") != nullptr) {
      cr.readBool("exists", c.exists);
      c.kind = Condition::Kind::Exists;
      ++kinds;
    }
    if (kinds != 1) {
      errors_.add(
          node.position(),
          "\"" + where + "\" needs exactly one of \"equals\", \"in\", \"regex\", \"exists\"");
    }
    cr.finish();
    if (path && kinds == 1) {
      c.path = *path;
      m.conditions.push_back(std::move(c));
    }
  }

  void readVariable(const ConfigNode::Member& member, Mapping& m, std::set<std::string>& known) {
    const std::string where = "extract." + member.first;
    Variable v;
    v.name = member.first;
    if (v.name.empty() ||
        v.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.") != std::string::npos ||
        v.name.front() == '.' || v.name.back() == '.') {
      errors_.add(
          member.second.keyPosition(),
          "variable name \"" + v.name + "\" must be lower-case letters, digits, '_' and '.'");
      return;
    }
    std::optional<EventPath> path;
    if (member.second.kind() == ConfigNode::Kind::String) {
      path = compilePath(member.second, where, m.source);
    } else if (member.second.isObject()) {
      ConfigReader vr(member.second, errors_, where);
      path = readPath(vr, member.second, "path", m.source, true);
      vr.readBool("many", v.many);
      std::string format = "text";
      vr.readEnum("format", format, {"text", "date", "datetime"});
      v.format = format == "date"       ? Variable::Format::Date
                 : format == "datetime" ? Variable::Format::DateTime
                                        : Variable::Format::Text;
      vr.finish();
    } else {
      errors_.add(member.second.position(),
                  "\"" + where + "\" must be a path string or an object with \"path\"");
    }
    // Known even when its path is wrong, so templates using it do not add follow-on errors.
    known.insert(v.name);
    if (path) {
      v.path = *path;
      m.variables.push_back(std::move(v));
    }
  }

  void readLookupRow(const ConfigNode& node, const std::string& where, Lookup::Row& row,
                     std::set<std::string>& fields) {
    if (!node.isObject()) {
      errors_.add(node.position(), "\"" + where + "\" must be an object of field -> text");
      return;
    }
    for (const ConfigNode::Member& f : node.members()) {
      LocalizedText text;
      if (readLocalized(f.second, where + "." + f.first, errors_, text)) {
        row.values[f.first] = std::move(text);
        fields.insert(f.first);
      }
    }
  }

  void readLookup(const ConfigNode::Member& member, Mapping& m, std::set<std::string>& known) {
    const std::string where = "lookups." + member.first;
    ConfigReader lr(member.second, errors_, where);
    if (!member.second.isObject()) {
      return;
    }
    Lookup lookup;
    lookup.name = member.first;
    lr.readString("key", lookup.key_variable, true);
    std::string match = "exact";
    lr.readEnum("match", match, {"exact", "prefix"});
    lookup.prefix = match == "prefix";
    std::set<std::string> fields;
    if (const ConfigNode* rows = lr.object("rows")) {
      for (const ConfigNode::Member& row : rows->members()) {
        Lookup::Row r;
        r.code = row.first;
        readLookupRow(row.second, where + ".rows." + row.first, r, fields);
        lookup.rows.push_back(std::move(r));
      }
    }
    if (const ConfigNode* fallback = lr.object("default")) {
      Lookup::Row r;
      readLookupRow(*fallback, where + ".default", r, fields);
      lookup.fallback = std::move(r);
    }
    if (!lookup.key_variable.empty() && !isExtracted(m, lookup.key_variable)) {
      errors_.add(member.second.find("key")->position(),
                  "\"" + where + ".key\" names \"" + lookup.key_variable +
                      "\", which \"extract\" does not define");
    }
    lr.finish();
    for (const std::string& f : fields) {
      known.insert(lookup.name + "." + f);
    }
    m.lookups.push_back(std::move(lookup));
  }

  void readPolicy(ConfigReader& r, const ConfigNode& root, Mapping& m) {
    const ConfigNode* policy = r.object("policy");
    (void)root;
    m.quiet_start_minutes = parseClock(settings_.quiet_start);
    m.quiet_end_minutes = parseClock(settings_.quiet_end);
    if (policy == nullptr) {
      return;
    }
    ConfigReader pr(*policy, errors_, "policy");
    if (const ConfigNode* status = pr.object("status")) {
      ConfigReader sr(*status, errors_, "policy.status");
      m.status_path = readPath(sr, *status, "path", m.source, true);
      sr.readStringList("send", m.status_send);
      sr.readStringList("update", m.status_update);
      if (m.status_send.empty() && m.status_update.empty()) {
        errors_.add(status->position(),
                    "\"policy.status\" must list \"send\" or \"update\" values");
      }
      sr.finish();
    }
    if (const ConfigNode* retract = pr.object("retract")) {
      ConfigReader rr(*retract, errors_, "policy.retract");
      std::string by = "visit";
      rr.readEnum("by", by, {"visit", "clinical"});
      m.retract_by_visit = by == "visit";
      rr.readStringList("purposes", m.retract_purposes);
      rr.finish();
      if (m.action != Mapping::Action::Retract) {
        errors_.add(retract->position(), "\"policy.retract\" needs \"action\": \"retract\"");
      }
      if (m.retract_by_visit && m.visit_var.empty()) {
        errors_.add(retract->position(),
                    "\"policy.retract.by\" is \"visit\" but \"keys.visit\" is not set");
      }
    } else if (m.action == Mapping::Action::Retract) {
      errors_.add(policy->position(), "a retract mapping needs \"policy.retract\"");
    }
    if (const ConfigNode* sensitive = pr.object("sensitive")) {
      ConfigReader sr(*sensitive, errors_, "policy.sensitive");
      m.sensitive_path = readPath(sr, *sensitive, "path", m.source, true);
      sr.readStringList("codes", m.sensitive_codes);
      sr.finish();
    }
    int delay = 0;
    pr.readInt("release_delay_hours", delay, 0, 24 * 90);
    m.release_delay = std::chrono::hours(delay);
    pr.readBool("patient_result_delay", m.patient_result_delay);
    if (const ConfigNode* quiet = pr.object("quiet_hours")) {
      ConfigReader qr(*quiet, errors_, "policy.quiet_hours");
      qr.readBool("enabled", m.quiet_hours);
      for (const char* key : {"start", "end"}) {
        std::string text;
        qr.readString(key, text);
        if (text.empty()) {
          continue;
        }
        const int minutes = parseClock(text);
        if (minutes < 0) {
          errors_.add(quiet->find(key)->position(),
                      std::string("\"policy.quiet_hours.") + key + "\" must be HH:MM (24-hour)");
        } else {
          (std::string(key) == "start" ? m.quiet_start_minutes : m.quiet_end_minutes) = minutes;
        }
      }
      qr.finish();
    }
    std::string consent = "opt_out";
    pr.readEnum("consent", consent, {"opt_out", "opt_in"});
    m.consent_required = consent == "opt_in";
    if (const ConfigNode* schedule = pr.object("schedule")) {
      ConfigReader sr(*schedule, errors_, "policy.schedule");
      sr.readString("before", m.schedule_variable, true);
      int hours = 0;
      sr.readInt("hours", hours, 0, 24 * 60);
      m.schedule_before = std::chrono::hours(hours);
      sr.finish();
      if (!m.schedule_variable.empty() && !isExtracted(m, m.schedule_variable)) {
        errors_.add(schedule->position(), "\"policy.schedule.before\" names \"" +
                                              m.schedule_variable +
                                              "\", which \"extract\" does not define");
      }
    }
    pr.finish();
  }

  void readRoute(ConfigReader& r, const ConfigNode& root, Mapping& m) {
    const ConfigNode* route = r.object("route");
    if (route == nullptr) {
      if (root.find("route") == nullptr) {
        errors_.add(root.position(), "missing required key \"mapping.route\"");
      }
      return;
    }
    ConfigReader rr(*route, errors_, "route");
    std::string channel = "secure_inbox";
    rr.readEnum("channel", channel, {"secure_inbox", "email", "messaging_api"});
    m.channel = parseChannel(channel).value_or(ChannelKind::SecureInbox);
    rr.readInt("expires_after_days", m.expires_after_days, 1, 3650);
    rr.readBool("contains_phi", m.contains_phi);
    if (const ConfigNode* recipient = rr.object("recipient")) {
      ConfigReader cr(*recipient, errors_, "route.recipient");
      cr.readString("name", m.recipient_name_var);
      cr.readString("email", m.recipient_email_var);
      cr.readString("phone", m.recipient_phone_var);
      cr.readString("date_of_birth", m.recipient_birth_date_var);
      cr.finish();
      for (const std::string* v : {&m.recipient_name_var, &m.recipient_email_var,
                                   &m.recipient_phone_var, &m.recipient_birth_date_var}) {
        if (!v->empty() && !isExtracted(m, *v)) {
          errors_.add(recipient->position(), "\"route.recipient\" names \"" + *v +
                                                 "\", which \"extract\" does not define");
        }
      }
    }
    if ((m.channel == ChannelKind::Email || m.channel == ChannelKind::SecureInbox) &&
        m.recipient_email_var.empty()) {
      errors_.add(route->position(),
                  "\"route.recipient.email\" is required for channel \"" + channel + "\"");
    }
    if (m.channel == ChannelKind::MessagingApi && m.recipient_phone_var.empty()) {
      errors_.add(route->position(),
                  "\"route.recipient.phone\" is required for channel \"messaging_api\"");
    }
    if (const ConfigNode* replies = rr.array("quick_replies")) {
      for (std::size_t i = 0; i < replies->elements().size(); ++i) {
        const ConfigNode& e = replies->elements()[i];
        const std::string where = "route.quick_replies[" + std::to_string(i) + "]";
        ConfigReader qr(e, errors_, where);
        if (!e.isObject()) {
          continue;
        }
        QuickReplyDef q;
        qr.readString("id", q.id, true);
        if (const ConfigNode* label = e.find("label")) {
          qr.object("label");
          readLocalized(*label, where + ".label", errors_, q.label);
        } else {
          errors_.add(e.position(), "missing required key \"" + where + ".label\"");
        }
        qr.finish();
        m.quick_replies.push_back(std::move(q));
      }
    }
    rr.finish();
  }

  void readTemplates(ConfigReader& r, const ConfigNode& root, const std::string& directory,
                     Mapping& m, const std::set<std::string>& known) {
    const ConfigNode* templates = r.object("templates");
    if (templates == nullptr) {
      if (root.find("templates") == nullptr) {
        errors_.add(root.position(), "missing required key \"mapping.templates\"");
      }
      return;
    }
    ConfigReader tr(*templates, errors_, "templates");
    tr.readString("set", m.template_set, true);
    tr.readStringList("fallback", m.fallback_languages);
    tr.finish();
    if (m.template_set.empty()) {
      return;
    }
    const fs::path dir = fs::path(directory) / "templates" / m.template_set;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      errors_.add(templates->find("set")->position(), "template set \"" + m.template_set +
                                                          "\" not found (expected the directory " +
                                                          dir.string() + ")");
      return;
    }
    // Languages are the <lang> of <lang>.subject.mustache files.
    std::set<std::string> languages;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      const std::string suffix = ".subject.mustache";
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        languages.insert(name.substr(0, name.size() - suffix.size()));
      }
    }
    if (languages.empty()) {
      errors_.add(templates->find("set")->position(),
                  "template set \"" + m.template_set + "\" has no <lang>.subject.mustache file");
      return;
    }
    for (const std::string& f : m.fallback_languages) {
      if (languages.count(f) == 0) {
        errors_.add(templates->find("fallback")->position(),
                    "fallback language \"" + f + "\" has no templates in " + dir.string());
      }
    }
    for (const std::string& language : languages) {
      auto lt = std::make_shared<LanguageTemplates>();
      lt->language = language;
      std::set<std::string> required;
      bool ok = true;
      for (const char* part : {"subject", "txt", "html"}) {
        const std::string file = (dir / (language + "." + part + ".mustache")).string();
        std::string text;
        if (!readText(file, text)) {
          errors_.add(at(file, 1, 1),
                      "cannot read the template (every language needs "
                      "subject, txt and html)");
          ok = false;
          continue;
        }
        if (!checkTemplate(file, text, known, required)) {
          ok = false;
          continue;
        }
        kainjow::mustache::mustache compiled(text);
        if (!compiled.is_valid()) {
          errors_.add(at(file, 1, 1), "template does not parse: " + compiled.error_message());
          ok = false;
          continue;
        }
        if (std::string(part) != "html") {
          // Subject and plain text are not HTML: no entity escaping.
          compiled.set_custom_escape([](const std::string& s) { return s; });
        }
        (std::string(part) == "subject" ? lt->compiled.subject
         : std::string(part) == "txt"   ? lt->compiled.text
                                        : lt->compiled.html) = std::move(compiled);
      }
      if (ok) {
        lt->required.assign(required.begin(), required.end());
        m.templates.push_back(std::move(lt));
      }
    }
  }

  // Checks one template's tags: every variable it uses is known (extracted, a lookup field or a
  // built-in); variables outside sections become required.
  bool checkTemplate(const std::string& file, const std::string& text,
                     const std::set<std::string>& known, std::set<std::string>& required) {
    const detail::TemplateScan scan = detail::scanTemplate(text);
    int line = 0;
    int column = 0;
    if (!scan.error.empty()) {
      detail::lineColumn(text, scan.error_offset, line, column);
      errors_.add(at(file, line, column), scan.error);
      return false;
    }
    bool ok = true;
    auto isKnown = [&](const std::string& name) {
      if (known.count(name) != 0) {
        return true;
      }
      // A section on an object ("{{#education}}") is known when a field below it is.
      const std::string prefix = name + ".";
      return std::any_of(known.begin(), known.end(), [&](const std::string& k) {
        return k.compare(0, prefix.size(), prefix) == 0;
      });
    };
    for (const detail::TemplateTag& tag : scan.tags) {
      if (tag.name == ".") {
        continue;
      }
      bool resolved = isKnown(tag.name);
      // Inside sections, a name may be relative to an enclosing object.
      for (const std::string& section : tag.enclosing) {
        resolved = resolved || isKnown(section + "." + tag.name);
      }
      if (!resolved) {
        detail::lineColumn(text, tag.offset, line, column);
        errors_.add(
            at(file, line, column),
            "template uses \"" + tag.name + "\", which the mapping neither extracts nor looks up");
        ok = false;
        continue;
      }
      if (!tag.section && tag.enclosing.empty()) {
        required.insert(tag.name);
      }
    }
    return ok;
  }

  const MappingSettings& settings_;
  ConfigErrors& errors_;
  std::unique_ptr<rapidjson::SchemaDocument> schema_;
};

bool checkSettings(const MappingSettings& settings, ConfigErrors& errors) {
  bool ok = true;
  try {
    (void)date::locate_zone(settings.facility_time_zone);
  } catch (const std::exception&) {
    errors.add(at("mappings", 0, 0), "facility time zone \"" + settings.facility_time_zone +
                                         "\" is not in the system tz database");
    ok = false;
  }
  if (parseClock(settings.quiet_start) < 0 || parseClock(settings.quiet_end) < 0) {
    errors.add(at("mappings", 0, 0), "default quiet hours must be HH:MM (24-hour)");
    ok = false;
  }
  return ok;
}

}  // namespace

std::unique_ptr<LanguageTemplates::Copies> LanguageTemplates::acquire() const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!pool_.empty()) {
      std::unique_ptr<Copies> copies = std::move(pool_.back());
      pool_.pop_back();
      return copies;
    }
  }
  return std::make_unique<Copies>(compiled);
}

void LanguageTemplates::release(std::unique_ptr<Copies> copies) const {
  constexpr std::size_t kMaxPooled = 16;  // more than the threads that render at once
  std::lock_guard<std::mutex> lock(mutex_);
  if (pool_.size() < kMaxPooled) {
    pool_.push_back(std::move(copies));
  }
}

const LanguageTemplates* Mapping::templatesFor(const std::string& wanted) const {
  for (const auto& t : templates) {
    if (t->language == wanted) {
      return t.get();
    }
  }
  return nullptr;
}

std::shared_ptr<const MappingSet> MappingSet::load(const std::string& directory,
                                                   const MappingSettings& settings,
                                                   ConfigErrors& errors) {
  const std::size_t before = errors.all().size();
  checkSettings(settings, errors);
  Loader loader(settings, errors);
  loader.loadSchema((fs::path(directory) / "mapping.schema.json").string());
  std::vector<std::string> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(directory, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && e.path().extension() == ".json" && name != "mapping.schema.json") {
      files.push_back(name);
    }
  }
  if (ec) {
    errors.add(at(directory, 0, 0), "cannot read the mappings directory: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  std::vector<Mapping> mappings;
  for (const std::string& name : files) {
    loader.loadFile(directory + "/" + name, directory, mappings);
  }
  if (errors.all().size() != before) {
    return nullptr;
  }
  auto set = std::make_shared<MappingSet>();
  set->mappings_ = std::move(mappings);
  set->settings_ = settings;
  return set;
}

std::shared_ptr<const MappingSet> MappingSet::loadFile(const std::string& file,
                                                       const MappingSettings& settings,
                                                       ConfigErrors& errors) {
  const std::size_t before = errors.all().size();
  checkSettings(settings, errors);
  std::string directory = fs::path(file).parent_path().string();
  if (directory.empty()) {
    directory = ".";
  }
  Loader loader(settings, errors);
  loader.loadSchema((fs::path(directory) / "mapping.schema.json").string());
  std::vector<Mapping> mappings;
  loader.loadFile(file, directory, mappings);
  if (errors.all().size() != before) {
    return nullptr;
  }
  auto set = std::make_shared<MappingSet>();
  set->mappings_ = std::move(mappings);
  set->settings_ = settings;
  return set;
}

}  // namespace gw::mapping
