// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <kainjow/mustache.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "gateway/api/ConfigNode.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/mapping/EventView.h"

namespace gw::mapping {

// Engine-wide settings (from the gateway config; the defaults suit the shipped mappings).
struct MappingSettings {
  // IANA time zone of the facility: quiet hours and HL7 times without an offset use it.
  std::string facility_time_zone = "America/New_York";
  // Shown in messages ({{facility.name}}) and notifications.
  std::string facility_name = "Demo Hospital";
  // Appended to every message's text and HTML body; on by default.
  bool emergency_notice = true;
  // Notice text per language; a language without one gets "en".
  std::map<std::string, std::string> notice_text = {
      {"en",
       "This message is not monitored for emergencies. If this is an emergency, call 911 or "
       "go to the nearest emergency department."},
      {"es",
       "Este mensaje no se supervisa para emergencias. Si se trata de una emergencia, llame al "
       "911 o acuda al servicio de urgencias más cercano."}};
  // Language of last resort when neither the patient nor the mapping's fallbacks match.
  std::string default_language = "en";
  // Quiet hours (local time of the patient) for mappings that do not set their own.
  std::string quiet_start = "21:00";
  std::string quiet_end = "08:00";
};

// A condition of a mapping's `match`.
struct Condition {
  enum class Kind { Equals, In, Regex, Exists };
  EventPath path;
  Kind kind = Kind::Exists;
  std::vector<std::string> values;  // Equals (one), In
  std::shared_ptr<const std::regex> regex;
  bool exists = true;
};

// A named variable of `extract`.
struct Variable {
  enum class Format { Text, Date, DateTime };
  std::string name;  // dotted: "patient.given"
  EventPath path;
  bool many = false;  // a list ({{#tests}}{{.}}{{/tests}})
  Format format = Format::Text;
};

// Text that may differ per language: key "" holds a language-independent value.
using LocalizedText = std::map<std::string, std::string>;

// A lookup table (`lookups`): a code from a variable picks a row whose values become variables
// "<lookup>.<field>" (e.g. education links by ICD-10 prefix).
struct Lookup {
  struct Row {
    std::string code;  // exact code or prefix
    std::map<std::string, LocalizedText> values;
  };
  std::string name;
  std::string key_variable;
  bool prefix = false;  // longest matching prefix instead of an exact code
  std::vector<Row> rows;
  std::optional<Row> fallback;  // `default`
};

// One language's templates. kainjow's render() keeps its error state inside the template object,
// so concurrent renders each need their own copy: acquire() hands out a copy from a small pool
// (made on demand), release() returns it. Thread-safe.
struct LanguageTemplates {
  struct Copies {
    kainjow::mustache::mustache subject{""};
    kainjow::mustache::mustache text{""};
    kainjow::mustache::mustache html{""};
  };
  std::string language;
  Copies compiled;
  // Variables used outside any section: an event without one is held ("missing <name>").
  std::vector<std::string> required;

  std::unique_ptr<Copies> acquire() const;
  // Returns a copy whose renders all succeeded (a failed one is dropped, not reused).
  void release(std::unique_ptr<Copies> copies) const;

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Copies>> pool_;
};

struct QuickReplyDef {
  std::string id;
  LocalizedText label;
};

// One mapping file (mappings/<id>.json), compiled.
struct Mapping {
  enum class Action { Notify, Retract };
  std::string id;
  std::string file;  // for messages: "mappings/discharge-aftercare.json"
  std::string purpose;
  Action action = Action::Notify;

  // match
  EventSource source = EventSource::Hl7v2;
  std::vector<std::string> events;
  std::vector<Condition> conditions;

  // patient identity and language
  EventPath patient_identifier;
  EventPath assigning_authority;
  std::optional<EventPath> language;

  std::vector<Variable> variables;
  std::vector<Lookup> lookups;

  // keys (variable names)
  std::string key_group;
  std::vector<std::string> clinical_vars;
  std::vector<std::string> version_vars;
  std::string visit_var;

  // retract (Action::Retract)
  bool retract_by_visit = true;  // else by clinical key
  std::vector<std::string> retract_purposes;

  // status policy: only `send` values produce messages; `update` values supersede/update
  std::optional<EventPath> status_path;
  std::vector<std::string> status_send;
  std::vector<std::string> status_update;

  // holds and delays
  std::optional<EventPath> sensitive_path;
  std::vector<std::string> sensitive_codes;
  std::chrono::hours release_delay{0};
  bool patient_result_delay = false;
  bool quiet_hours = true;
  int quiet_start_minutes = 21 * 60;
  int quiet_end_minutes = 8 * 60;
  bool consent_required = false;  // true: Unknown consent suppresses too (opt-in purposes)

  // schedule relative to a time variable (appointment reminders)
  std::string schedule_variable;
  std::chrono::hours schedule_before{0};

  // route
  ChannelKind channel = ChannelKind::SecureInbox;
  int expires_after_days = 30;
  std::vector<QuickReplyDef> quick_replies;
  std::string recipient_name_var;
  std::string recipient_email_var;
  std::string recipient_phone_var;
  std::string recipient_birth_date_var;
  bool contains_phi = true;

  // templates
  std::string template_set;
  std::vector<std::string> fallback_languages;
  std::vector<std::shared_ptr<const LanguageTemplates>> templates;

  const LanguageTemplates* templatesFor(const std::string& wanted) const;
};

// Every mapping of a directory, validated and compiled. Immutable; share it between threads and
// swap the pointer on reload.
class MappingSet {
 public:
  // Loads <directory>/*.json (sorted by name) against <directory>/mapping.schema.json (RapidJSON
  // schema validator), compiles paths and templates (<directory>/templates/<set>/<lang>.
  // {subject,txt,html}.mustache) and checks that every variable a template uses is extracted.
  // Every problem goes to `errors` as "mappings/x.json:LINE:COL: error: ..." (file names as
  // `directory` + "/" + name); returns nullptr when there was any.
  static std::shared_ptr<const MappingSet> load(const std::string& directory,
                                                const MappingSettings& settings,
                                                ConfigErrors& errors);
  // Loads one mapping file, with the schema and templates of the directory it is in.
  static std::shared_ptr<const MappingSet> loadFile(const std::string& file,
                                                    const MappingSettings& settings,
                                                    ConfigErrors& errors);

  const std::vector<Mapping>& mappings() const { return mappings_; }
  const MappingSettings& settings() const { return settings_; }

 private:
  std::vector<Mapping> mappings_;
  MappingSettings settings_;
};

}  // namespace gw::mapping
