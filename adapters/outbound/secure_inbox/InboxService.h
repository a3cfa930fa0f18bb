// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "adapters/outbound/secure_inbox/InboxSettings.h"
#include "gateway/api/Clock.h"
#include "gateway/api/InboxStore.h"
#include "gateway/api/Notifier.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/api/PatientStore.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Result.h"

namespace gw::inbox {

// Where a request stands, whatever page it asked for.
enum class Access {
  Ok,           // the session (or link) may proceed
  NoSession,    // no cookie or unknown session id
  TimedOut,     // idle or absolute session timeout: open the link again
  NotFound,     // unknown link token
  Expired,      // the link or message expired: content shredded
  Withdrawn,    // retracted, superseded, suppressed or dead: not shown
  Locked,       // too many failed attempts
  RateLimited,  // too many requests from this IP or for this link
};

// The outcome of a birth-date or code step.
enum class StepOutcome {
  Accepted,     // birth date taken (the page does not say whether it matched), code right
  Rejected,     // wrong code (or a code after a wrong birth date); attempts_left says how many
  Locked,       // this attempt reached the limit
  RateLimited,  // too many codes requested; retry_after says when
  BadInput,     // not a date / not 6 digits: not counted as an attempt
};

struct Step {
  StepOutcome outcome = StepOutcome::Accepted;
  int attempts_left = 0;
  std::chrono::seconds retry_after{0};
};

// A request's session after the checks of resume(); what the pages need to know.
struct SessionContext {
  Access access = Access::NoSession;
  std::string session_id;  // the cookie value (a secret: never logged)
  InboxSession session;
  InboxLink link;
  std::string language;  // "en" or "es"
  std::chrono::seconds retry_after{0};
};

// A new link: the token (the only copy, for the notification) and when the link expires.
struct NewLink {
  std::string token;
  SystemTime expires_at;
};

// The message page's content.
struct MessageView {
  MessageContent content;
  bool first_view = false;
};

// The outcome of saving the preferences form.
enum class PreferencesOutcome {
  Saved,
  BadTimeZone,  // not "" and not a zone of the tz database: nothing saved
  BadDelay,     // not a whole number, unit not hours/days, or over 30 days: nothing saved
};

// The outcome of a reply typed into the message page.
struct TextReply {
  bool bad_input = false;  // empty or longer than kMaxTextReplyBytes: nothing stored
  ReplyResult result;
};

inline constexpr std::size_t kMaxTextReplyBytes = 1000;

// The secure inbox's rules, without HTTP: link tokens, the birth-date and one-time-code checks
// with lock-out and rate limits, sessions, viewing, replies and expiry. Every state change goes
// through InboxStore with its audit record. Errors returned are the store's, cipher's or
// notifier's (Unavailable etc.); patient mistakes are outcomes, not errors.
//
// One-time codes are stored as HMAC-SHA256 keyed with the session id (256 random bits, itself
// stored only as a hash) over the link's token hash and the code. A stolen database therefore
// holds nothing that a 10^6 brute force can test, a KDF's cost is not needed, and a code only
// works in the browser session that asked for it.
//
// Thread-safety: all methods may be called concurrently (state is in the store; saveLink's
// version check serialises attempts on one link).
class InboxService {
 public:
  // `patients` (preferences) and `replies` (typed replies) are optional: without them the
  // pages offer neither.
  InboxService(InboxSettings settings, InboxStorePtr store, PayloadCipherPtr cipher,
               NotifierPtr notifier, ClockPtr clock, PatientStorePtr patients = nullptr,
               ReplySinkPtr replies = nullptr);

  const InboxSettings& settings() const { return settings_; }
  Notifier& notifier() const { return *notifier_; }

  // Creates a link for a message and returns its token (the only copy). The link expires after
  // link_validity_days or with the message, whichever is first.
  Result<NewLink> createLink(std::int64_t message_id, SystemTime message_expires_at);
  // The URL for a token: base_url + "l/" + token.
  std::string linkUrl(const std::string& token) const;
  // Sets the base URL when settings().base_url was empty (the daemon derives it from the web
  // server's bound address once that is known). InvalidArgument when `url` is not acceptable
  // (see validateInboxBaseUrl) or a base URL is already set.
  Status setDerivedBaseUrl(std::string url);

  // Opens a link: checks it, starts a session (context.session_id is the new cookie value).
  Result<SessionContext> openLink(std::string_view token, const std::string& client_ip);
  // Finds the session of a request, applies the idle and absolute timeouts, the link's expiry
  // and lock, the per-IP and per-link rate limits, and touches the session (a store write at
  // most every 15 seconds per session).
  Result<SessionContext> resume(std::string_view session_id, const std::string& client_ip);

  // Birth date "YYYY-MM-DD". A match sends a one-time code; a mismatch counts as a failed
  // attempt; either way the session moves to the code step (Accepted), so the page does not
  // tell which dates are right. The link may lock here.
  Result<Step> submitBirthDate(SessionContext& context, std::string_view birth_date,
                               const std::string& client_ip);
  // Sends a new code (when the birth date matched; otherwise only pretends), rate-limited.
  Result<Step> resendCode(SessionContext& context, const std::string& client_ip);
  // Six digits. Right: the session is Verified under a new session id (context.session_id: the
  // caller sets the new cookie) and the attempt counter resets.
  Result<Step> submitCode(SessionContext& context, std::string_view code,
                          const std::string& client_ip);

  // The message of a Verified session; the first view moves it to Read (audited every view).
  // Expired when the content is gone (context.access is updated).
  Result<MessageView> view(SessionContext& context, const std::string& client_ip);
  // Stores a quick reply and returns the label of the button (empty for STOP). InvalidArgument
  // for a reply id the message does not offer ("stop" is always offered).
  Result<std::string> reply(SessionContext& context, std::string_view reply_id,
                            const std::string& client_ip);
  // Ends the session (sign out).
  Status endSession(const SessionContext& context);

  bool offersPreferences() const { return patients_ != nullptr; }
  bool offersTextReplies() const { return replies_ != nullptr; }
  // The preferences of the patient of a Verified session's message (empty ones when none were
  // saved). FailedPrecondition when preferences are not offered.
  Result<PatientPreferenceRecord> preferences(const SessionContext& context);
  // Validates and saves the preferences form (time zone "" = the facility's; delay `amount` in
  // `unit` "hours" or "days", 0..30 days) with an audit record "inbox_preferences".
  Result<PreferencesOutcome> savePreferences(SessionContext& context, std::string_view time_zone,
                                             std::string_view amount, std::string_view unit,
                                             const std::string& client_ip);
  // A reply typed into the message page, handed to the ReplySink as a reply on the secure inbox
  // channel to the session's message (the session is the identity check). FailedPrecondition
  // when typed replies are not offered.
  Result<TextReply> replyText(SessionContext& context, std::string_view text,
                              const std::string& client_ip);

  // The CSRF token of a session: HMAC of a fixed label keyed with the session id, so it needs no
  // storage and is useless without the HttpOnly cookie.
  static std::string csrfToken(std::string_view session_id);

 private:
  AuditEntry auditEntry(std::int64_t message_id, std::string action, std::string outcome,
                        const std::string& client_ip, std::string reason = "") const;
  Result<MessageContent> openContent(const InboxMessage& message) const;
  // Expires the message behind `link` when the link or message is past its time; returns the
  // resulting access (Ok, Expired or Withdrawn).
  Result<Access> checkMessage(const InboxLink& link, const std::string& client_ip);
  Result<Step> sendCode(SessionContext& context, const MessageContent& content,
                        const std::string& client_ip);
  Result<Step> countFailure(SessionContext& context, const std::string& action,
                            const std::string& outcome, const std::string& client_ip);
  std::string pickLanguage(const std::string& language) const;

  const InboxSettings settings_;
  mutable std::mutex base_url_mutex_;
  std::string base_url_;  // settings_.base_url, or the derived one; guarded by base_url_mutex_
  const InboxStorePtr store_;
  const PayloadCipherPtr cipher_;
  const NotifierPtr notifier_;
  const ClockPtr clock_;
  const PatientStorePtr patients_;
  const ReplySinkPtr replies_;
};

// True when `name` is a zone of the tz database ("America/Chicago"); "" is not.
bool isKnownTimeZone(std::string_view name);

// "Name of page strings" for a language tag: "es" for any Spanish tag, else `fallback`.
std::string pageLanguage(std::string_view tag, const std::string& fallback);

}  // namespace gw::inbox
