// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxService.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

#include "adapters/outbound/secure_inbox/InboxCrypto.h"
#include "adapters/outbound/secure_inbox/InboxText.h"

namespace gw::inbox {
namespace {

constexpr int kSaveRetries = 5;
constexpr std::chrono::seconds kMinute{60};
constexpr std::chrono::seconds kHour{3600};
constexpr std::chrono::seconds kTouchInterval{15};

bool isDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// YYYY-MM-DD with a real month and day (leap years included), year 1900..2199.
bool isBirthDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !isDigits(s.substr(0, 4)) ||
      !isDigits(s.substr(5, 2)) || !isDigits(s.substr(8, 2))) {
    return false;
  }
  const int year = std::stoi(std::string(s.substr(0, 4)));
  const int month = std::stoi(std::string(s.substr(5, 2)));
  const int day = std::stoi(std::string(s.substr(8, 2)));
  if (year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// Tokens and session ids are 43 base64url characters (256 bits); anything else is not ours.
bool isToken(std::string_view s) {
  return s.size() == 43 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '-' || c == '_';
         });
}

bool isWithdrawn(MessageState state) {
  return state == MessageState::Retracted || state == MessageState::Superseded ||
         state == MessageState::Suppressed || state == MessageState::Dead;
}

std::string codeMac(std::string_view session_id, const std::string& token_hash,
                    std::string_view code) {
  return hmacSha256Hex(session_id, "inbox-code:" + token_hash + ":" + std::string(code));
}

}  // namespace

std::string pageLanguage(std::string_view tag, const std::string& fallback) {
  std::string lower;
  for (const char c : tag.substr(0, 2)) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (lower == "es" || lower == "en") {
    if (tag.size() == 2 || tag[2] == '-' || tag[2] == '_') {
      return lower;
    }
  }
  return fallback;
}

bool isKnownTimeZone(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

InboxService::InboxService(InboxSettings settings, InboxStorePtr store, PayloadCipherPtr cipher,
                           NotifierPtr notifier, ClockPtr clock, PatientStorePtr patients,
                           ReplySinkPtr replies)
    : settings_(std::move(settings)),
      base_url_(settings_.base_url),
      store_(std::move(store)),
      cipher_(std::move(cipher)),
      notifier_(std::move(notifier)),
      clock_(std::move(clock)),
      patients_(std::move(patients)),
      replies_(std::move(replies)) {}

std::string InboxService::csrfToken(std::string_view session_id) {
  return hmacSha256Hex(session_id, "inbox-csrf");
}

std::string InboxService::pickLanguage(const std::string& language) const {
  return pageLanguage(language, settings_.default_language);
}

AuditEntry InboxService::auditEntry(std::int64_t message_id, std::string action,
                                    std::string outcome, const std::string& client_ip,
                                    std::string reason) const {
  AuditEntry entry;
  entry.time = clock_->now();
  entry.actor = "patient:inbox";
  entry.action = std::move(action);
  entry.object = "patient_message:" + std::to_string(message_id);
  entry.outcome = std::move(outcome);
  entry.source = client_ip;
  entry.reason = std::move(reason);
  return entry;
}

std::string InboxService::linkUrl(const std::string& token) const {
  std::lock_guard<std::mutex> lock(base_url_mutex_);
  return base_url_ + "l/" + token;
}

Status InboxService::setDerivedBaseUrl(std::string url) {
  GW_RETURN_IF_ERROR(validateInboxBaseUrl(url));
  std::lock_guard<std::mutex> lock(base_url_mutex_);
  if (!base_url_.empty()) {
    return Status::invalidArgument("secure inbox base_url is already set");
  }
  base_url_ = std::move(url);
  return Status::ok();
}

Result<NewLink> InboxService::createLink(std::int64_t message_id, SystemTime message_expires_at) {
  const SystemTime now = clock_->now();
  SystemTime expires = now + std::chrono::hours(24) * settings_.link_validity_days;
  if (message_expires_at != SystemTime{} && message_expires_at < expires) {
    expires = message_expires_at;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    GW_ASSIGN_OR_RETURN(std::string token, randomToken(32));
    InboxLink link;
    link.token_hash = sha256Hex(token);
    link.message_id = message_id;
    link.created_at = now;
    link.expires_at = expires;
    const Status saved =
        store_->createLink(link, auditEntry(message_id, "inbox_link_created", "ok", ""));
    if (saved.code() == StatusCode::AlreadyExists) {
      continue;  // 2^-256: a broken RNG more likely than a collision; one more try
    }
    GW_RETURN_IF_ERROR(saved);
    return NewLink{token, expires};
  }
  return Status::internal("inbox link: token hash collision twice");
}

Result<MessageContent> InboxService::openContent(const InboxMessage& message) const {
  GW_ASSIGN_OR_RETURN(std::string json,
                      cipher_->open(message.sealed_content, message.associated_data));
  return parseMessageContent(json);
}

Result<Access> InboxService::checkMessage(const InboxLink& link, const std::string& client_ip) {
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(link.message_id));
  if (message.state == MessageState::Expired) {
    return Access::Expired;
  }
  if (isWithdrawn(message.state)) {
    return Access::Withdrawn;
  }
  const SystemTime now = clock_->now();
  const bool message_expired = message.expires_at != SystemTime{} && now >= message.expires_at;
  if (now >= link.expires_at || message_expired) {
    GW_RETURN_IF_ERROR(store_->expireMessage(
        link.message_id, auditEntry(link.message_id, "inbox_expired", "ok", client_ip,
                                    message_expired ? "message expired" : "link expired")));
    return Access::Expired;
  }
  return Access::Ok;
}

Result<SessionContext> InboxService::openLink(std::string_view token,
                                              const std::string& client_ip) {
  SessionContext context;
  context.language = settings_.default_language;
  GW_ASSIGN_OR_RETURN(RateDecision by_ip,
                      store_->consumeRate("ip:" + client_ip, clock_->now(), kMinute,
                                          settings_.requests_per_ip_per_minute));
  if (!by_ip.allowed) {
    context.access = Access::RateLimited;
    context.retry_after = by_ip.retry_after;
    return context;
  }
  if (!isToken(token)) {
    context.access = Access::NotFound;
    return context;
  }
  Result<InboxLink> link = store_->findLink(sha256Hex(token));
  if (!link.ok()) {
    if (link.status().code() != StatusCode::NotFound) {
      return link.status();
    }
    context.access = Access::NotFound;
    return context;
  }
  context.link = *link;
  GW_ASSIGN_OR_RETURN(RateDecision by_link,
                      store_->consumeRate("link:" + link->token_hash, clock_->now(), kMinute,
                                          settings_.requests_per_link_per_minute));
  if (!by_link.allowed) {
    context.access = Access::RateLimited;
    context.retry_after = by_link.retry_after;
    return context;
  }
  GW_ASSIGN_OR_RETURN(context.access, checkMessage(*link, client_ip));
  if (context.access != Access::Ok) {
    return context;
  }
  if (link->locked) {
    context.access = Access::Locked;
    return context;
  }
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(link->message_id));
  GW_ASSIGN_OR_RETURN(MessageContent content, openContent(message));
  context.language = pickLanguage(content.language);

  GW_ASSIGN_OR_RETURN(context.session_id, randomToken(32));
  InboxSession& session = context.session;
  session.id_hash = sha256Hex(context.session_id);
  session.token_hash = link->token_hash;
  session.stage = InboxSession::Stage::NeedBirthDate;
  session.language = context.language;
  session.created_at = clock_->now();
  session.last_seen_at = session.created_at;
  GW_RETURN_IF_ERROR(store_->openSession(
      session, auditEntry(link->message_id, "inbox_opened", "ok", client_ip)));
  return context;
}

Result<SessionContext> InboxService::resume(std::string_view session_id,
                                            const std::string& client_ip) {
  SessionContext context;
  context.language = settings_.default_language;
  if (!isToken(session_id)) {
    context.access = Access::NoSession;
    return context;
  }
  const SystemTime now = clock_->now();
  GW_ASSIGN_OR_RETURN(
      RateDecision by_ip,
      store_->consumeRate("ip:" + client_ip, now, kMinute, settings_.requests_per_ip_per_minute));
  if (!by_ip.allowed) {
    context.access = Access::RateLimited;
    context.retry_after = by_ip.retry_after;
    return context;
  }
  const std::string id_hash = sha256Hex(session_id);
  Result<InboxSession> session = store_->findSession(id_hash);
  if (!session.ok()) {
    if (session.status().code() != StatusCode::NotFound) {
      return session.status();
    }
    context.access = Access::NoSession;
    return context;
  }
  context.session = *session;
  context.session_id = std::string(session_id);
  context.language = pickLanguage(session->language);
  if (now - session->last_seen_at > std::chrono::seconds(settings_.session_idle_timeout_seconds) ||
      now - session->created_at > std::chrono::seconds(settings_.session_max_age_seconds)) {
    GW_RETURN_IF_ERROR(store_->deleteSession(id_hash));
    context.access = Access::TimedOut;
    return context;
  }
  Result<InboxLink> link = store_->findLink(session->token_hash);
  if (!link.ok()) {
    if (link.status().code() != StatusCode::NotFound) {
      return link.status();
    }
    context.access = Access::NoSession;
    return context;
  }
  context.link = *link;
  GW_ASSIGN_OR_RETURN(RateDecision by_link,
                      store_->consumeRate("link:" + link->token_hash, now, kMinute,
                                          settings_.requests_per_link_per_minute));
  if (!by_link.allowed) {
    context.access = Access::RateLimited;
    context.retry_after = by_link.retry_after;
    return context;
  }
  GW_ASSIGN_OR_RETURN(context.access, checkMessage(*link, client_ip));
  if (context.access != Access::Ok) {
    return context;
  }
  if (link->locked) {
    context.access = Access::Locked;
    return context;
  }
  // Touching the session is a store write; at most every kTouchInterval keeps the idle timeout
  // accurate to that and spares the store a write per page.
  if (now - context.session.last_seen_at >= kTouchInterval) {
    context.session.last_seen_at = now;
    GW_RETURN_IF_ERROR(store_->saveSession(context.session));
  }
  return context;
}

Result<Step> InboxService::sendCode(SessionContext& context, const MessageContent& content,
                                    const std::string& client_ip) {
  GW_ASSIGN_OR_RETURN(std::string code, randomCode());
  const SystemTime now = clock_->now();
  for (int attempt = 0; attempt < kSaveRetries; ++attempt) {
    GW_ASSIGN_OR_RETURN(InboxLink link, store_->findLink(context.session.token_hash));
    if (link.locked) {
      context.access = Access::Locked;
      return Step{StepOutcome::Locked, 0, {}};
    }
    link.code_mac = codeMac(context.session_id, link.token_hash, code);
    link.code_expires_at = now + std::chrono::seconds(settings_.code_validity_seconds);
    InboxSession session = context.session;
    session.stage = InboxSession::Stage::NeedCode;
    session.birth_date_matched = true;
    session.last_seen_at = now;
    const Status saved = store_->saveLink(
        link, session,
        auditEntry(link.message_id, "inbox_code_sent", "ok", client_ip, "birth date matched"));
    if (saved.code() == StatusCode::FailedPrecondition) {
      continue;
    }
    GW_RETURN_IF_ERROR(saved);
    context.session = session;
    context.link = link;
    break;
  }
  if (context.session.stage != InboxSession::Stage::NeedCode) {
    return Status::unavailable("inbox link busy; try again");
  }
  if (content.email.empty()) {
    return Status::failedPrecondition("no address to send the code to");
  }
  const InboxText& text = inboxText(context.language);
  Notification note;
  note.to = content.email;
  note.subject = fill(text.code_subject, {{"facility", content.facility_name}});
  note.text =
      fill(text.code_body, {{"facility", content.facility_name},
                            {"code", code},
                            {"minutes", std::to_string(settings_.code_validity_seconds / 60)}});
  note.language = context.language;
  // Unique per code but unrelated to it: the key may end up in a Message-ID header.
  GW_ASSIGN_OR_RETURN(const std::string nonce, randomToken(16));
  note.idempotency_key = "inbox-code:" + nonce;
  GW_RETURN_IF_ERROR(notifier_->notify(
      note, clock_->steadyNow() + std::chrono::milliseconds(settings_.notify_timeout_ms)));
  return Step{StepOutcome::Accepted, settings_.max_attempts - context.link.failed_attempts, {}};
}

Result<Step> InboxService::countFailure(SessionContext& context, const std::string& action,
                                        const std::string& outcome, const std::string& client_ip) {
  for (int attempt = 0; attempt < kSaveRetries; ++attempt) {
    GW_ASSIGN_OR_RETURN(InboxLink link, store_->findLink(context.session.token_hash));
    if (link.locked) {
      context.access = Access::Locked;
      return Step{StepOutcome::Locked, 0, {}};
    }
    ++link.failed_attempts;
    const bool lock = link.failed_attempts >= settings_.max_attempts;
    InboxSession session = context.session;
    if (session.stage == InboxSession::Stage::NeedBirthDate) {
      session.stage = InboxSession::Stage::NeedCode;
      session.birth_date_matched = false;
    }
    session.last_seen_at = clock_->now();
    AuditEntry audit = auditEntry(link.message_id, action, outcome, client_ip,
                                  "failed attempt " + std::to_string(link.failed_attempts) +
                                      " of " + std::to_string(settings_.max_attempts));
    if (lock) {
      link.locked = true;
      link.code_mac.clear();
      audit.action = "inbox_locked";
      audit.reason += " (" + action + " " + outcome + ")";
    }
    const Status saved = store_->saveLink(link, session, audit);
    if (saved.code() == StatusCode::FailedPrecondition) {
      continue;
    }
    GW_RETURN_IF_ERROR(saved);
    context.session = session;
    context.link = link;
    if (lock) {
      context.access = Access::Locked;
      return Step{StepOutcome::Locked, 0, {}};
    }
    return Step{StepOutcome::Rejected, settings_.max_attempts - link.failed_attempts, {}};
  }
  return Status::unavailable("inbox link busy; try again");
}

Result<Step> InboxService::submitBirthDate(SessionContext& context, std::string_view birth_date,
                                           const std::string& client_ip) {
  if (!isBirthDate(birth_date)) {
    return Step{StepOutcome::BadInput, settings_.max_attempts - context.link.failed_attempts, {}};
  }
  // Counted for matches and mismatches alike, so hitting the limit says nothing about the date.
  GW_ASSIGN_OR_RETURN(RateDecision codes,
                      store_->consumeRate("codes:" + context.link.token_hash, clock_->now(), kHour,
                                          settings_.codes_per_hour));
  if (!codes.allowed) {
    return Step{StepOutcome::RateLimited, 0, codes.retry_after};
  }
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(context.link.message_id));
  GW_ASSIGN_OR_RETURN(MessageContent content, openContent(message));
  if (!content.date_of_birth.empty() && equalConstantTime(birth_date, content.date_of_birth)) {
    return sendCode(context, content, client_ip);
  }
  GW_ASSIGN_OR_RETURN(Step step, countFailure(context, "inbox_dob", "mismatch", client_ip));
  if (step.outcome == StepOutcome::Rejected) {
    step.outcome = StepOutcome::Accepted;  // the code page follows as if the date matched
  }
  return step;
}

Result<Step> InboxService::resendCode(SessionContext& context, const std::string& client_ip) {
  GW_ASSIGN_OR_RETURN(RateDecision codes,
                      store_->consumeRate("codes:" + context.link.token_hash, clock_->now(), kHour,
                                          settings_.codes_per_hour));
  if (!codes.allowed) {
    return Step{StepOutcome::RateLimited, 0, codes.retry_after};
  }
  if (!context.session.birth_date_matched) {
    return Step{StepOutcome::Accepted, settings_.max_attempts - context.link.failed_attempts, {}};
  }
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(context.link.message_id));
  GW_ASSIGN_OR_RETURN(MessageContent content, openContent(message));
  return sendCode(context, content, client_ip);
}

Result<Step> InboxService::submitCode(SessionContext& context, std::string_view code,
                                      const std::string& client_ip) {
  if (code.size() != 6 || !isDigits(code)) {
    return Step{StepOutcome::BadInput, settings_.max_attempts - context.link.failed_attempts, {}};
  }
  const SystemTime now = clock_->now();
  for (int attempt = 0; attempt < kSaveRetries; ++attempt) {
    GW_ASSIGN_OR_RETURN(InboxLink link, store_->findLink(context.session.token_hash));
    if (link.locked) {
      context.access = Access::Locked;
      return Step{StepOutcome::Locked, 0, {}};
    }
    std::string outcome;
    if (!context.session.birth_date_matched || link.code_mac.empty()) {
      outcome = "no_code";
    } else if (now >= link.code_expires_at) {
      outcome = "expired_code";
    } else if (!equalConstantTime(codeMac(context.session_id, link.token_hash, code),
                                  link.code_mac)) {
      outcome = "wrong_code";
    }
    if (!outcome.empty()) {
      return countFailure(context, "inbox_code", outcome, client_ip);
    }
    link.failed_attempts = 0;
    link.code_mac.clear();
    // A verified session gets a new id (no session fixation across the privilege change).
    GW_ASSIGN_OR_RETURN(std::string new_id, randomToken(32));
    InboxSession session = context.session;
    session.id_hash = sha256Hex(new_id);
    session.stage = InboxSession::Stage::Verified;
    session.last_seen_at = now;
    const Status saved =
        store_->saveLink(link, session, auditEntry(link.message_id, "inbox_code", "ok", client_ip));
    if (saved.code() == StatusCode::FailedPrecondition) {
      continue;
    }
    GW_RETURN_IF_ERROR(saved);
    // Best effort: an old id left behind is unverified and times out on its own.
    (void)store_->deleteSession(context.session.id_hash);
    context.session = session;
    context.session_id = new_id;
    context.link = link;
    return Step{StepOutcome::Accepted, settings_.max_attempts, {}};
  }
  return Status::unavailable("inbox link busy; try again");
}

Result<MessageView> InboxService::view(SessionContext& context, const std::string& client_ip) {
  if (context.session.stage != InboxSession::Stage::Verified) {
    return Status::permissionDenied("session not verified");
  }
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(context.link.message_id));
  if (message.state == MessageState::Expired || message.sealed_content.empty()) {
    context.access = Access::Expired;
    return Status::notFound("message content expired");
  }
  MessageView view;
  GW_ASSIGN_OR_RETURN(view.content, openContent(message));
  GW_ASSIGN_OR_RETURN(
      view.first_view,
      store_->recordView(message.message_id, clock_->now(),
                         auditEntry(message.message_id, "inbox_viewed", "ok", client_ip)));
  return view;
}

Result<std::string> InboxService::reply(SessionContext& context, std::string_view reply_id,
                                        const std::string& client_ip) {
  if (context.session.stage != InboxSession::Stage::Verified) {
    return Status::permissionDenied("session not verified");
  }
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(context.link.message_id));
  if (message.state == MessageState::Expired || message.sealed_content.empty()) {
    context.access = Access::Expired;
    return Status::failedPrecondition("message content expired");
  }
  GW_ASSIGN_OR_RETURN(MessageContent content, openContent(message));
  std::string label;
  bool offered = reply_id == kStopReplyId;
  for (const QuickReply& r : content.quick_replies) {
    if (!offered && r.id == reply_id) {
      offered = true;
      label = r.label;
    }
  }
  if (!offered) {
    return Status::invalidArgument("reply is not offered by this message");
  }
  InboxReply stored;
  stored.message_id = message.message_id;
  stored.reply_id = std::string(reply_id);
  stored.received_at = clock_->now();
  stored.opt_out = reply_id == kStopReplyId;
  GW_RETURN_IF_ERROR(store_->saveReply(stored, auditEntry(message.message_id, "inbox_reply", "ok",
                                                          client_ip, "reply=" + stored.reply_id)));
  return label;
}

Result<PatientPreferenceRecord> InboxService::preferences(const SessionContext& context) {
  if (context.session.stage != InboxSession::Stage::Verified) {
    return Status::permissionDenied("session not verified");
  }
  if (!patients_) {
    return Status::failedPrecondition("preferences are not offered");
  }
  GW_ASSIGN_OR_RETURN(InboxMessage message, store_->inboxMessage(context.link.message_id));
  if (message.patient_key.empty()) {
    return Status::failedPrecondition("the message has no patient key");
  }
  GW_ASSIGN_OR_RETURN(std::optional<PatientPreferenceRecord> stored,
                      patients_->preferences(message.patient_key));
  if (stored) {
    return *stored;
  }
  PatientPreferenceRecord empty;
  empty.patient_key = message.patient_key;
  return empty;
}

Result<PreferencesOutcome> InboxService::savePreferences(SessionContext& context,
                                                         std::string_view time_zone,
                                                         std::string_view amount,
                                                         std::string_view unit,
                                                         const std::string& client_ip) {
  GW_ASSIGN_OR_RETURN(PatientPreferenceRecord record, preferences(context));
  if (!time_zone.empty() && !isKnownTimeZone(time_zone)) {
    return PreferencesOutcome::BadTimeZone;
  }
  const std::string_view digits = amount.empty() ? std::string_view("0") : amount;
  if (digits.size() > 4 || !isDigits(digits) || (unit != "hours" && unit != "days")) {
    return PreferencesOutcome::BadDelay;
  }
  const std::chrono::hours delay =
      std::chrono::hours(std::stoi(std::string(digits)) * (unit == "days" ? 24 : 1));
  if (delay > kMaxResultDelay) {
    return PreferencesOutcome::BadDelay;
  }
  record.time_zone = std::string(time_zone);
  record.result_delay = delay;
  record.source = "inbox";
  record.updated_at = clock_->now();
  // The zone itself stays out of the audit trail (the row holds it); say what changed.
  GW_RETURN_IF_ERROR(patients_->savePreferences(
      record, auditEntry(context.link.message_id, "inbox_preferences", "ok", client_ip,
                         std::string(time_zone.empty() ? "facility time zone" : "own time zone") +
                             ", result delay " + std::to_string(delay.count()) + " h")));
  return PreferencesOutcome::Saved;
}

Result<TextReply> InboxService::replyText(SessionContext& context, std::string_view text,
                                          const std::string& client_ip) {
  if (context.session.stage != InboxSession::Stage::Verified) {
    return Status::permissionDenied("session not verified");
  }
  if (!replies_) {
    return Status::failedPrecondition("typed replies are not offered");
  }
  TextReply outcome;
  const bool blank =
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
  if (blank || text.size() > kMaxTextReplyBytes) {
    outcome.bad_input = true;
    return outcome;
  }
  InboundReply reply;
  reply.channel = ChannelKind::SecureInbox;
  reply.message_id = context.link.message_id;
  reply.text = std::string(text);
  GW_ASSIGN_OR_RETURN(reply.provider_id, randomToken(16));  // each typed reply is its own
  reply.source = client_ip;
  GW_ASSIGN_OR_RETURN(outcome.result, replies_->acceptReply(reply));
  return outcome;
}

Status InboxService::endSession(const SessionContext& context) {
  if (context.session.id_hash.empty()) {
    return Status::ok();
  }
  return store_->deleteSession(context.session.id_hash);
}

}  // namespace gw::inbox
