// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/MappingEngine.h"

#include <date/date.h>
#include <date/tz.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "gateway/crypto/Digest.h"

namespace gw::mapping {
namespace {

using kainjow::mustache::data;

// SHA-256 with the algorithm fetched once: EVP_sha256()/HMAC() fetch it from the provider on
// every call, which was a fifth of the engine's time. Falls back to gw_crypto when the fetch
// failed. Results are identical (checked by MappingEngineTest against gw::hmacSha256Hex).
const EVP_MD* sha256Algorithm() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

bool digest(const EVP_MD* md, std::string_view a, std::string_view b, unsigned char* out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) {
    return false;
  }
  unsigned int length = 0;
  const bool ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
                  EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, out, &length) == 1 && length == 32;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Result<std::string> fastSha256Hex(std::string_view bytes) {
  unsigned char out[32];
  const EVP_MD* md = sha256Algorithm();
  if (md == nullptr || !digest(md, bytes, {}, out)) {
    return sha256Hex(bytes);
  }
  return toHex(std::string_view(reinterpret_cast<const char*>(out), sizeof(out)));
}

// RFC 2104 HMAC over SHA-256 (block size 64).
Result<std::string> fastHmacSha256Hex(std::string_view key, std::string_view bytes) {
  const EVP_MD* md = sha256Algorithm();
  unsigned char key_block[64] = {};
  if (key.size() > sizeof(key_block)) {
    return hmacSha256Hex(key, bytes);
  }
  std::copy(key.begin(), key.end(), key_block);
  unsigned char ipad[64];
  unsigned char opad[64];
  for (std::size_t i = 0; i < 64; ++i) {
    ipad[i] = static_cast<unsigned char>(key_block[i] ^ 0x36);
    opad[i] = static_cast<unsigned char>(key_block[i] ^ 0x5c);
  }
  unsigned char inner[32];
  unsigned char outer[32];
  if (md == nullptr ||
      !digest(md, std::string_view(reinterpret_cast<const char*>(ipad), 64), bytes, inner) ||
      !digest(md, std::string_view(reinterpret_cast<const char*>(opad), 64),
              std::string_view(reinterpret_cast<const char*>(inner), 32), outer)) {
    return hmacSha256Hex(key, bytes);
  }
  return toHex(std::string_view(reinterpret_cast<const char*>(outer), sizeof(outer)));
}

// A variable's value: text, or a list for `many` variables. Empty means "the event lacks it".
struct Value {
  std::string text;  // formatted for templates
  std::string raw;   // the first value as the event has it (keys, schedules)
  std::vector<std::string> list;
  bool many = false;
  bool empty() const { return many ? list.empty() : text.empty(); }
};
using Values = std::map<std::string, Value>;

std::string digits(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() == max) {
      break;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      out.push_back(c);
    } else if (c == 'T' || c == '+' || c == 'Z' || (c == '-' && out.size() >= 8)) {
      if (c != 'T') {
        break;
      }
    }
  }
  return out;
}

std::string formatValue(const std::string& raw, Variable::Format format) {
  if (format == Variable::Format::Text) {
    return raw;
  }
  const std::string d = digits(raw, 12);  // YYYYMMDDHHMM of HL7 TS and ISO alike
  if (d.size() < 8) {
    return raw;  // not a date: shown as sent rather than dropped
  }
  std::string out = d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2);
  if (format == Variable::Format::DateTime && d.size() >= 12) {
    out += " " + d.substr(8, 2) + ":" + d.substr(10, 2);
  }
  return out;
}

// The template view: "patient.given" becomes {"patient": {"given": ...}}. Built in place (kainjow's
// set() copies its argument, so building children first would copy every subtree again).
data buildData(const Values& values) {
  data root{data::type::object};
  for (const auto& [name, value] : values) {
    if (value.empty()) {
      continue;  // absent: sections on it are false, and required ones were checked before
    }
    data* node = &root;
    std::size_t start = 0;
    for (std::size_t dot = name.find('.'); dot != std::string::npos;
         start = dot + 1, dot = name.find('.', start)) {
      const std::string part = name.substr(start, dot - start);
      const data* child = node->get(part);
      if (child == nullptr || !child->is_object()) {
        node->set(part, data(data::type::object));
        child = node->get(part);
      }
      // get() only offers const access; the tree is ours and not const.
      node = const_cast<data*>(child);
    }
    const std::string leaf = name.substr(start);
    if (value.many) {
      data list{data::type::list};
      for (const std::string& item : value.list) {
        list.push_back(data(item));
      }
      node->set(leaf, list);
    } else {
      node->set(leaf, data(value.text));
    }
  }
  return root;
}

// kainjow's context resolves "a.b" by splitting the name with an istringstream on every lookup,
// which dominated rendering time; this one splits in place and otherwise behaves the same (the
// innermost section first, then outwards, {{.}} the current item).
class FastContext final : public kainjow::mustache::basic_context<std::string> {
 public:
  explicit FastContext(const data* root) { items_.push_back(root); }
  void push(const data* item) override { items_.push_back(item); }
  void pop() override { items_.pop_back(); }
  const data* get(const std::string& name) const override {
    if (name == ".") {
      return items_.back();
    }
    for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
      const data* var = *it;
      std::size_t start = 0;
      while (var != nullptr) {
        const std::size_t dot = name.find('.', start);
        var = var->get(dot == std::string::npos && start == 0
                           ? name
                           : name.substr(start, dot == std::string::npos ? dot : dot - start));
        if (dot == std::string::npos) {
          break;
        }
        start = dot + 1;
      }
      if (var != nullptr) {
        return var;
      }
    }
    return nullptr;
  }
  const data* get_partial(const std::string&) const override { return nullptr; }

 private:
  std::vector<const data*> items_;
};

// The "stream" kainjow renders into: appends to a string.
struct StringSink {
  std::string& out;
  StringSink& operator<<(const std::string& piece) {
    out += piece;
    return *this;
  }
};

std::string escapeHtml(const std::string& s) {
  std::string out;
  for (char c : s) {
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
      default:
        out.push_back(c);
    }
  }
  return out;
}

const std::string& localized(const LocalizedText& text, const std::string& language) {
  static const std::string kEmpty;
  for (const std::string& key : {language, std::string(), std::string("en")}) {
    if (auto it = text.find(key); it != text.end()) {
      return it->second;
    }
  }
  return text.empty() ? kEmpty : text.begin()->second;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool isSent(MessageState s) {
  return s == MessageState::Sent || s == MessageState::Delivered || s == MessageState::Read;
}

class Run {
 public:
  Run(const MappingSet& set, const Mapping& mapping, const EventView& event,
      const MapContext& context, SystemTime now, MappingResult& result)
      : set_(set), m_(mapping), event_(event), ctx_(context), now_(now), result_(result) {
    decision_.mapping = m_.id;
  }

  // Errors are PolicyState's; everything about the event becomes a decision.
  Result<EventOutcome> execute() {
    GW_ASSIGN_OR_RETURN(bool matched, matches());
    if (!matched) {
      return EventOutcome::Ignored;  // not recorded as a decision: the mapping did not apply
    }
    GW_ASSIGN_OR_RETURN(EventOutcome outcome, apply());
    result_.decisions.push_back(decision_);
    return outcome;
  }

 private:
  Result<bool> matches() {
    if (event_.source() != m_.source) {
      return false;
    }
    const auto event = std::find_if(m_.events.begin(), m_.events.end(),
                                    [&](const std::string& e) { return event_.isEvent(e); });
    if (event == m_.events.end()) {
      return false;
    }
    // For reasons: "ADT^A13" as the message says, or the FHIR resource type that matched.
    matched_event_ = m_.source == EventSource::Hl7v2 ? event_.describe() : *event;
    for (const Condition& c : m_.conditions) {
      Result<std::vector<std::string>> values = event_.values(c.path);
      if (!values.ok()) {
        return false;  // a condition that cannot be evaluated does not hold
      }
      bool holds = false;
      switch (c.kind) {
        case Condition::Kind::Equals:
        case Condition::Kind::In:
          holds = std::any_of(values->begin(), values->end(),
                              [&](const std::string& v) { return contains(c.values, v); });
          break;
        case Condition::Kind::Regex:
          holds = std::any_of(values->begin(), values->end(),
                              [&](const std::string& v) { return std::regex_search(v, *c.regex); });
          break;
        case Condition::Kind::Exists: {
          const bool any = std::any_of(values->begin(), values->end(),
                                       [](const std::string& v) { return !v.empty(); });
          holds = any == c.exists;
          break;
        }
      }
      if (!holds) {
        return false;
      }
    }
    return true;
  }

  EventOutcome decide(EventOutcome outcome, std::string what, std::string policy,
                      std::string reason) {
    decision_.outcome = std::move(what);
    decision_.policy = std::move(policy);
    decision_.reason = std::move(reason);
    return outcome;
  }

  EventOutcome hold(const std::string& policy, const std::string& reason) {
    return decide(EventOutcome::Held, "held", policy, reason);
  }

  Result<EventOutcome> apply() {
    // Variables.
    for (const Variable& v : m_.variables) {
      Result<std::vector<std::string>> got = event_.values(v.path);
      if (!got.ok()) {
        return hold("mapping_error", "path of " + v.name + " failed: " + got.status().message());
      }
      Value value;
      value.many = v.many;
      if (v.many) {
        for (const std::string& s : *got) {
          if (!s.empty()) {
            value.list.push_back(formatValue(s, v.format));
          }
        }
      } else if (!got->empty()) {
        value.text = formatValue(got->front(), v.format);
      }
      if (!got->empty()) {
        value.raw = got->front();
      }
      values_[v.name] = std::move(value);
    }

    // Patient identity.
    Result<std::string> identifier = event_.first(m_.patient_identifier);
    Result<std::string> authority = event_.first(m_.assigning_authority);
    if (!identifier.ok() || identifier->empty()) {
      return hold("missing_data", "missing patient identifier");
    }
    if (!authority.ok() || authority->empty()) {
      return hold("missing_data", "missing patient assigning authority");
    }
    GW_ASSIGN_OR_RETURN(patient_key_,
                        fastHmacSha256Hex(ctx_.pseudonym_key, *authority + "|" + *identifier));

    // Keys.
    std::string clinical = "clinical|" + m_.key_group + "|" + patient_key_;
    for (const std::string& name : m_.clinical_vars) {
      const Value& v = values_[name];
      if (v.empty()) {
        return hold("missing_data", "missing " + name);
      }
      clinical += "|" + v.raw;
    }
    GW_ASSIGN_OR_RETURN(clinical_key_, fastSha256Hex(clinical));
    if (!m_.visit_var.empty() && !values_[m_.visit_var].empty()) {
      GW_ASSIGN_OR_RETURN(visit_key_,
                          fastSha256Hex("visit|" + patient_key_ + "|" + values_[m_.visit_var].raw));
    }

    if (m_.action == Mapping::Action::Retract) {
      return retract();
    }
    return notify();
  }

  Result<EventOutcome> retract() {
    if (m_.retract_by_visit && visit_key_.empty()) {
      return hold("missing_data", "missing " + m_.visit_var);
    }
    GW_ASSIGN_OR_RETURN(std::vector<PriorMessage> priors,
                        m_.retract_by_visit ? ctx_.state->byVisitKey(visit_key_)
                                            : ctx_.state->byClinicalKey(clinical_key_));
    int retracted = 0;
    int already_sent = 0;
    for (const PriorMessage& p : priors) {
      if (!m_.retract_purposes.empty() && !contains(m_.retract_purposes, p.purpose)) {
        continue;
      }
      if (isUnsent(p.state)) {
        result_.transitions.push_back(
            {p.id, MessageState::Retracted, "cancelled by " + matched_event_});
        ++retracted;
      } else if (isSent(p.state)) {
        ++already_sent;
      }
    }
    std::string reason = std::to_string(retracted) + " unsent message(s) retracted";
    if (already_sent > 0) {
      reason += ", " + std::to_string(already_sent) + " already sent";
    }
    return decide(EventOutcome::Mapped, "retract", "cancel", reason);
  }

  Result<EventOutcome> notify() {
    // Status: final only by default; corrections/updates supersede or update.
    bool update = false;
    std::string version;
    if (m_.status_path) {
      Result<std::string> status = event_.first(*m_.status_path);
      if (!status.ok()) {
        return hold("mapping_error", "status path failed: " + status.status().message());
      }
      if (contains(m_.status_update, *status)) {
        update = true;
      } else if (!contains(m_.status_send, *status)) {
        auto join = [](const std::vector<std::string>& list) {
          std::string out;
          for (const std::string& item : list) {
            out += (out.empty() ? "" : ", ") + item;
          }
          return out.empty() ? std::string("none") : out;
        };
        return decide(EventOutcome::Ignored, "ignored", "status",
                      "status \"" + status->substr(0, 16) + "\" is not sent (sent: " +
                          join(m_.status_send) + "; updates: " + join(m_.status_update) + ")");
      }
      version = *status;
    }
    for (const std::string& name : m_.version_vars) {
      const Value& v = values_[name];
      version += "|" + v.raw;
    }
    GW_ASSIGN_OR_RETURN(std::string idempotency_key,
                        fastSha256Hex("idem|" + m_.id + "|" + clinical_key_ + "|" + version + "|" +
                                      std::string(channelName(m_.channel))));
    GW_ASSIGN_OR_RETURN(bool seen, ctx_.state->idempotencyKeyExists(idempotency_key));
    if (seen) {
      return decide(EventOutcome::Mapped, "duplicate", "idempotency",
                    "this event was already mapped by " + m_.id);
    }

    // Earlier messages about the same clinical event.
    GW_ASSIGN_OR_RETURN(std::vector<PriorMessage> priors, ctx_.state->byClinicalKey(clinical_key_));
    std::int64_t supersedes = 0;
    bool updates_sent = false;
    std::vector<MessageTransition> superseded;
    for (const PriorMessage& p : priors) {
      if (p.mapping != m_.id) {
        continue;
      }
      if (isUnsent(p.state)) {
        superseded.push_back({p.id, MessageState::Superseded,
                              update ? "superseded by an update" : "superseded by a newer event"});
        supersedes = std::max(supersedes, p.id);
      } else if (isSent(p.state)) {
        supersedes = std::max(supersedes, p.id);
        updates_sent = update;
      }
    }

    // Language and preferences.
    GW_ASSIGN_OR_RETURN(PatientPreferences prefs, ctx_.state->preferences(patient_key_));
    std::string preferred = prefs.language;
    if (preferred.empty() && m_.language) {
      Result<std::string> lang = event_.first(*m_.language);
      if (lang.ok()) {
        preferred = *lang;
      }
    }
    const MappingSettings& settings = set_.settings();
    const std::string language = chooseLanguage(m_, preferred, settings.default_language);
    const LanguageTemplates* templates = m_.templatesFor(language);
    if (templates == nullptr) {
      return hold("mapping_error", "no templates for language " + language);
    }

    // Lookups and built-ins.
    for (const Lookup& lookup : m_.lookups) {
      const std::string& code = values_[lookup.key_variable].text;
      const Lookup::Row* row = nullptr;
      std::size_t best = 0;
      for (const Lookup::Row& r : lookup.rows) {
        const bool hit =
            lookup.prefix ? code.compare(0, r.code.size(), r.code) == 0 : code == r.code;
        if (hit && !code.empty() && (row == nullptr || r.code.size() > best)) {
          row = &r;
          best = r.code.size();
        }
      }
      if (row == nullptr && lookup.fallback) {
        row = &*lookup.fallback;
      }
      if (row != nullptr) {
        for (const auto& [field, text] : row->values) {
          values_[lookup.name + "." + field].text = localized(text, language);
        }
      }
    }
    values_["facility.name"].text = settings.facility_name;
    values_["language"].text = language;
    if (updates_sent) {
      values_["is_update"].text = "true";
    }

    // A template variable the event lacks is never rendered blank.
    for (const std::string& name : templates->required) {
      if (values_[name].empty()) {
        return hold("missing_data", "missing " + name);
      }
    }
    auto text = [&](const std::string& name) -> std::string {
      return name.empty() ? std::string() : values_[name].text;
    };
    MessageContent content;
    content.language = language;
    content.recipient_name = text(m_.recipient_name_var);
    content.email = text(m_.recipient_email_var);
    content.phone = text(m_.recipient_phone_var);
    content.date_of_birth = text(m_.recipient_birth_date_var);
    content.facility_name = settings.facility_name;
    if ((m_.channel != ChannelKind::MessagingApi) && content.email.empty()) {
      return hold("missing_contact", "missing " + m_.recipient_email_var);
    }
    if (m_.channel == ChannelKind::MessagingApi && content.phone.empty()) {
      return hold("missing_contact", "missing " + m_.recipient_phone_var);
    }

    // Render on a pooled copy (kainjow keeps render state in the template object).
    const data view = buildData(values_);
    std::unique_ptr<LanguageTemplates::Copies> copies = templates->acquire();
    auto render = [&view](kainjow::mustache::mustache& tmpl, std::string& out) {
      FastContext ctx(&view);
      StringSink sink{out};
      tmpl.render(ctx, sink);
      return tmpl.is_valid();
    };
    const bool rendered = render(copies->subject, content.subject) &&
                          render(copies->text, content.text) && render(copies->html, content.html);
    if (!rendered) {
      return hold("mapping_error", "template rendering failed");
    }
    templates->release(std::move(copies));
    while (!content.subject.empty() &&
           (content.subject.back() == '\n' || content.subject.back() == ' ')) {
      content.subject.pop_back();
    }
    if (settings.emergency_notice) {
      auto it = settings.notice_text.find(language);
      if (it == settings.notice_text.end()) {
        it = settings.notice_text.find("en");
      }
      if (it != settings.notice_text.end()) {
        content.text += (content.text.empty() || content.text.back() == '\n' ? "\n" : "\n\n") +
                        it->second + "\n";
        content.html += "<p class=\"emergency-notice\">" + escapeHtml(it->second) + "</p>\n";
      }
    }
    for (const QuickReplyDef& q : m_.quick_replies) {
      content.quick_replies.push_back({q.id, localized(q.label, language)});
    }

    // Timing: schedule, release delays, quiet hours.
    NewPatientMessage message;
    message.state = MessageState::Pending;
    SystemTime not_before = now_;
    std::vector<std::string> reasons;
    if (!m_.schedule_variable.empty()) {
      std::optional<SystemTime> at =
          parseEventTime(values_[m_.schedule_variable].raw, settings.facility_time_zone);
      if (!at) {
        return hold("missing_data", "missing " + m_.schedule_variable);
      }
      if (*at <= now_) {
        return decide(EventOutcome::Ignored, "ignored", "schedule",
                      m_.schedule_variable + " is in the past");
      }
      if (*at - m_.schedule_before > now_) {
        not_before = *at - m_.schedule_before;
        reasons.push_back("scheduled");
      }
    }
    if (m_.release_delay.count() > 0 && now_ + m_.release_delay > not_before) {
      not_before = now_ + m_.release_delay;
      reasons.push_back("release_delay");
    }
    if (m_.patient_result_delay && prefs.result_delay && now_ + *prefs.result_delay > not_before) {
      not_before = now_ + *prefs.result_delay;
      reasons.push_back("patient_delay");
    }
    if (m_.quiet_hours) {
      std::string zone = prefs.time_zone.empty() ? settings.facility_time_zone : prefs.time_zone;
      try {
        (void)date::locate_zone(zone);
      } catch (const std::exception&) {
        zone = settings.facility_time_zone;  // an unknown preference falls back, never blocks
      }
      const SystemTime moved =
          outsideQuietHours(not_before, zone, m_.quiet_start_minutes, m_.quiet_end_minutes);
      if (moved != not_before) {
        not_before = moved;
        reasons.push_back("quiet_hours");
      }
    }
    std::string policy = reasons.empty() ? "send" : reasons.back();
    if (m_.sensitive_path) {
      Result<std::vector<std::string>> codes = event_.values(*m_.sensitive_path);
      if (codes.ok() && std::any_of(codes->begin(), codes->end(), [&](const std::string& c) {
            return contains(m_.sensitive_codes, c);
          })) {
        message.state = MessageState::Held;
        reasons.insert(reasons.begin(), "sensitive_result");
        policy = "sensitive_result";
      }
    }
    GW_ASSIGN_OR_RETURN(Consent consent, ctx_.state->consent(patient_key_, m_.channel, m_.purpose));
    if (consent == Consent::OptedOut || (m_.consent_required && consent != Consent::OptedIn)) {
      message.state = MessageState::Suppressed;
      const std::string why = consent == Consent::OptedOut ? "consent_opt_out" : "consent_missing";
      reasons.insert(reasons.begin(), why);
      policy = "consent";
    }

    std::string reason;
    for (const std::string& r : reasons) {
      reason += (reason.empty() ? "" : ",") + r;
    }
    message.event_id = ctx_.event_id;
    message.mapping = m_.id;
    message.idempotency_key = idempotency_key;
    message.clinical_key = clinical_key_;
    message.patient_key = patient_key_;
    message.visit_key = visit_key_;
    message.channel = m_.channel;
    message.purpose = m_.purpose;
    message.contains_phi = m_.contains_phi;
    message.reason = reason;
    message.not_before = not_before;
    message.expires_at = not_before + std::chrono::hours(24 * m_.expires_after_days);
    message.supersedes = supersedes;
    result_.transitions.insert(result_.transitions.end(), superseded.begin(), superseded.end());
    result_.messages.push_back({std::move(message), std::move(content)});
    const std::string what = result_.messages.back().message.state == MessageState::Suppressed
                                 ? "suppressed"
                             : result_.messages.back().message.state == MessageState::Held
                                 ? "held_message"
                                 : (updates_sent ? "update" : "message");
    return decide(EventOutcome::Mapped, what, policy, reason);
  }

  const MappingSet& set_;
  const Mapping& m_;
  const EventView& event_;
  const MapContext& ctx_;
  SystemTime now_;
  MappingResult& result_;
  MappingDecision decision_;
  Values values_;
  std::string patient_key_;
  std::string clinical_key_;
  std::string visit_key_;
  std::string matched_event_;
};

}  // namespace

std::string_view eventOutcomeName(EventOutcome outcome) {
  switch (outcome) {
    case EventOutcome::Mapped:
      return "mapped";
    case EventOutcome::Held:
      return "held";
    case EventOutcome::Ignored:
      break;
  }
  return "ignored";
}

std::string normaliseLanguage(std::string_view tag) {
  std::string primary;
  for (char c : tag) {
    if (c == '-' || c == '_') {
      break;
    }
    primary.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  // ISO 639-2 codes some EHRs send in PID-15.
  static const std::map<std::string, std::string> kThreeLetter = {
      {"eng", "en"}, {"spa", "es"}, {"fre", "fr"}, {"fra", "fr"}, {"ger", "de"}, {"deu", "de"},
      {"por", "pt"}, {"chi", "zh"}, {"zho", "zh"}, {"vie", "vi"}, {"kor", "ko"}, {"ara", "ar"}};
  if (auto it = kThreeLetter.find(primary); it != kThreeLetter.end()) {
    return it->second;
  }
  return primary;
}

std::string chooseLanguage(const Mapping& mapping, const std::string& preferred,
                           const std::string& default_language) {
  std::vector<std::string> chain;
  if (!preferred.empty()) {
    chain.push_back(normaliseLanguage(preferred));
  }
  chain.insert(chain.end(), mapping.fallback_languages.begin(), mapping.fallback_languages.end());
  chain.push_back(default_language);
  for (const std::string& language : chain) {
    if (mapping.templatesFor(language) != nullptr) {
      return language;
    }
  }
  return mapping.templates.empty() ? default_language : mapping.templates.front()->language;
}

SystemTime outsideQuietHours(SystemTime t, const std::string& zone, int start_minutes,
                             int end_minutes) {
  if (start_minutes == end_minutes) {
    return t;
  }
  const date::time_zone* tz = nullptr;
  try {
    tz = date::locate_zone(zone);
  } catch (const std::exception&) {
    return t;
  }
  const auto local = tz->to_local(date::floor<std::chrono::seconds>(t));
  const auto day = date::floor<date::days>(local);
  const auto minute_of_day = std::chrono::duration_cast<std::chrono::minutes>(local - day).count();
  date::local_seconds end;
  if (start_minutes < end_minutes) {
    if (minute_of_day < start_minutes || minute_of_day >= end_minutes) {
      return t;
    }
    end = day + std::chrono::minutes(end_minutes);
  } else if (minute_of_day >= start_minutes) {
    end = day + date::days(1) + std::chrono::minutes(end_minutes);
  } else if (minute_of_day < end_minutes) {
    end = day + std::chrono::minutes(end_minutes);
  } else {
    return t;
  }
  // A nonexistent local end (inside a spring-forward gap) maps to the moment of the change;
  // an ambiguous one (fall back) to its first occurrence.
  return tz->to_sys(end, date::choose::earliest);
}

std::optional<SystemTime> parseEventTime(std::string_view text, const std::string& zone) {
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    if (pos + len > text.size()) {
      return -1;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) {
        return -1;
      }
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  int y = number(0, 4);
  if (y < 0 || text.size() < 8) {
    return std::nullopt;
  }
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  std::size_t pos = 0;
  const bool iso = text[4] == '-';
  if (iso) {
    mo = number(5, 2);
    d = number(8, 2);
    pos = 10;
    if (pos < text.size() && text[pos] == 'T') {
      h = number(11, 2);
      mi = number(14, 2);
      pos = 16;
      if (pos < text.size() && text[pos] == ':') {
        s = number(17, 2);
        pos = 19;
      }
    }
  } else {
    mo = number(4, 2);
    d = number(6, 2);
    pos = 8;
    if (number(8, 2) >= 0) {
      h = number(8, 2);
      pos = 10;
      if (number(10, 2) >= 0) {
        mi = number(10, 2);
        pos = 12;
        if (number(12, 2) >= 0) {
          s = number(12, 2);
          pos = 14;
        }
      }
    }
  }
  while (pos < text.size() &&
         (text[pos] == '.' || std::isdigit(static_cast<unsigned char>(text[pos])))) {
    ++pos;  // fractions of a second
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
      s > 60) {
    return std::nullopt;
  }
  const date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                                 date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  const auto clock = std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
  if (pos == text.size()) {
    try {
      const date::time_zone* tz = date::locate_zone(zone);
      return tz->to_sys(date::local_days(ymd) + clock, date::choose::earliest);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  std::chrono::minutes offset{0};
  if (text[pos] == 'Z' && pos + 1 == text.size()) {
    offset = std::chrono::minutes(0);
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    int oh = number(pos + 1, 2);
    int om =
        text.size() > pos + 3 && text[pos + 3] == ':' ? number(pos + 4, 2) : number(pos + 3, 2);
    if (oh < 0 || om < 0) {
      return std::nullopt;
    }
    offset = std::chrono::minutes(sign * (oh * 60 + om));
  } else {
    return std::nullopt;
  }
  return date::sys_days(ymd) + clock - offset;
}

Result<MappingResult> MappingEngine::map(const MappingSet& set, const EventView& event,
                                         const MapContext& context) const {
  if (context.state == nullptr) {
    return Status::invalidArgument("MapContext.state is required");
  }
  MappingResult result;
  const SystemTime now = clock_.now();
  bool matched = false;
  bool held = false;
  bool mapped = false;
  for (const Mapping& mapping : set.mappings()) {
    Run run(set, mapping, event, context, now, result);
    const std::size_t decisions = result.decisions.size();
    GW_ASSIGN_OR_RETURN(EventOutcome outcome, run.execute());
    if (result.decisions.size() == decisions) {
      continue;  // did not match
    }
    matched = true;
    const MappingDecision& d = result.decisions.back();
    if (outcome == EventOutcome::Held && !held) {
      held = true;
      result.reason = d.reason;
    } else if (outcome == EventOutcome::Mapped) {
      mapped = true;
    } else if (outcome == EventOutcome::Ignored && !mapped && !held && result.reason.empty()) {
      result.reason = d.mapping + ": " + d.reason;
    }
  }
  if (held) {
    result.outcome = EventOutcome::Held;
  } else if (mapped) {
    result.outcome = EventOutcome::Mapped;
    result.reason.clear();
  } else {
    result.outcome = EventOutcome::Ignored;
    if (!matched) {
      result.reason = "no mapping matched " + std::string(eventSourceName(event.source())) + " " +
                      event.describe();
    }
  }
  return result;
}

}  // namespace gw::mapping
