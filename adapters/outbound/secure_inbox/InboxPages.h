// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/outbound/secure_inbox/InboxService.h"

namespace gw::inbox {

// One HTTP request as the pages see it (the POCO handler fills it; tests build it directly).
struct WebRequest {
  std::string method;                       // "GET", "POST", ...
  std::string path;                         // absolute path without query, e.g. "/inbox/code"
  std::string session_cookie;               // value of the inbox cookie, empty when absent
  std::map<std::string, std::string> form;  // decoded application/x-www-form-urlencoded fields
  std::string client_ip;
  bool body_rejected = false;  // the body was too large or not a form: answer 400/413/415
  int body_status = 0;         // that answer's status
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::string body;

  // The value of the first header `name` (exact case), empty if none.
  std::string header(const std::string& name) const;
};

// The inbox pages: routes under settings().path_prefix, server-rendered HTML (kainjow mustache)
// in the message's language, no JavaScript, security headers on every answer, CSRF tokens on
// every form, the session in an HttpOnly SameSite=Strict cookie. Error pages are generic and
// hold no PHI. Routes (relative to the prefix):
//   GET  l/<token>   open a link: new session, birth-date form
//   GET  verify      the form of the session's current step (or a redirect to message)
//   POST dob         birth date -> code form
//   POST resend      send a new code
//   POST code        code -> 303 to message, or the code form with the attempts left
//   GET  message     the message page (first view = read receipt)
//   POST reply       a quick reply (or STOP)
//   POST reply-text  a typed reply: STOP/START/HELP keywords or text for the care team
//                    (only when the service offersTextReplies())
//   GET|POST preferences  time zone and "delay my results" (only when offersPreferences())
//   POST signout     end the session
//   GET  style.css   the only stylesheet
// Thread-safety: handle() may be called concurrently. Never throws.
class InboxPages {
 public:
  explicit InboxPages(std::shared_ptr<InboxService> service);

  WebResponse handle(const WebRequest& request) const;
  const std::string& prefix() const { return service_->settings().path_prefix; }

  // Name of the session cookie.
  static constexpr const char* kCookieName = "gw_inbox";

 private:
  WebResponse route(const WebRequest& request) const;

  std::shared_ptr<InboxService> service_;
};

}  // namespace gw::inbox
