// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::inbox {

// The reply id of the always-offered STOP button (opt-out, noted in the consent ledger).
inline constexpr std::string_view kStopReplyId = "stop";

// Every user-visible string of the inbox pages and notifications in one language. Strings may
// hold {{name}} placeholders, filled by fill() (notifications) or mustache (pages). None holds
// PHI; the facility name is the only message detail a notification shows.
struct InboxText {
  std::string lang;
  std::string title;
  std::string emergency;
  std::string dob_heading, dob_intro, dob_label, dob_hint, continue_button, bad_date;
  std::string code_heading, code_intro, code_label, verify_button, resend_button, bad_code;
  std::string code_rejected, code_resent, code_rate_limited, code_send_failed;
  std::string locked_heading, locked_text;
  std::string expired_heading, expired_text;
  std::string withdrawn_heading, withdrawn_text;
  std::string not_found_heading, not_found_text;
  std::string timed_out_heading, timed_out_text;
  std::string rate_limited_heading, rate_limited_text;
  std::string error_heading, error_text;
  std::string bad_request_heading, bad_request_text;
  std::string message_from, links_heading, replies_heading, stop_label;
  std::string reply_thanks, stop_thanks, back_to_message, sign_out, signed_out_heading,
      signed_out_text;
  std::string notify_subject, notify_body, code_subject, code_body;
  // Preferences page and typed replies.
  std::string prefs_link, prefs_heading, prefs_intro, tz_label, tz_hint, tz_default;
  std::string delay_label, delay_hint, delay_hours, delay_days, save_button, prefs_saved;
  std::string bad_time_zone, bad_delay;
  std::string text_label, text_hint, send_button, text_thanks, text_stopped, text_started, bad_text;
};

// "es" gives Spanish, anything else English.
const InboxText& inboxText(std::string_view lang);

// Replaces each {{name}} in `text` with its value (no escaping: for plain-text notifications).
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace gw::inbox
