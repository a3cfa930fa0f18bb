// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxPages.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <exception>
#include <kainjow/mustache.hpp>
#include <map>
#include <memory>
#include <string_view>

#include "adapters/outbound/secure_inbox/InboxCrypto.h"
#include "adapters/outbound/secure_inbox/InboxText.h"

namespace gw::inbox {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

constexpr std::string_view kCsp =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

// The one stylesheet (served from the prefix, so CSP style-src 'self' allows it).
constexpr std::string_view kStyle = R"css(
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 0 auto; padding: 1rem;
       line-height: 1.5; color: #1b1b1b; background: #fff; }
header { border-bottom: 2px solid #005ea2; margin-bottom: 1rem; }
h1 { font-size: 1.5rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
.hint { color: #555; font-size: 0.9rem; }
input[type=text] { font-size: 1.2rem; padding: 0.4rem; width: 12rem; }
button { font-size: 1rem; padding: 0.5rem 1rem; margin: 0.5rem 0.5rem 0.5rem 0; cursor: pointer;
         background: #005ea2; color: #fff; border: 0; border-radius: 4px; }
button.secondary { background: #fff; color: #005ea2; border: 1px solid #005ea2; }
button.stop { background: #b50909; }
.notice { border-left: 4px solid #005ea2; padding: 0.5rem 1rem; background: #eef5fb; }
.error { border-left: 4px solid #b50909; padding: 0.5rem 1rem; background: #fbeeee; }
.emergency { border: 2px solid #b50909; padding: 0.5rem 1rem; margin: 1rem 0; font-weight: 600; }
.body p { white-space: pre-line; }
textarea { display: block; width: 100%; font-size: 1rem; padding: 0.4rem; box-sizing: border-box; }
select { font-size: 1rem; padding: 0.4rem; }
footer { margin-top: 2rem; border-top: 1px solid #ccc; padding-top: 0.5rem; }
)css";

constexpr std::string_view kLayout = R"html(<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}}</title>
<link rel="stylesheet" href="{{prefix}}style.css">
</head>
<body>
<header><p>{{title}}</p></header>
<main id="page" data-page="{{page}}">
{{{content}}}
</main>
<footer><p class="emergency" id="emergency">{{emergency}}</p></footer>
</body>
</html>
)html";

constexpr std::string_view kInfoPage = R"html(<h1>{{heading}}</h1>
<p>{{text}}</p>
)html";

constexpr std::string_view kDobPage = R"html(<h1>{{heading}}</h1>
{{#error}}<p class="error" id="error" role="alert">{{error}}</p>{{/error}}
<p>{{intro}}</p>
<form method="post" action="{{prefix}}dob">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="dob">{{label}}</label>
<p class="hint" id="dob-hint">{{hint}}</p>
<input type="text" id="dob" name="dob" inputmode="numeric" autocomplete="bday" maxlength="10"
 aria-describedby="dob-hint" required>
<div><button type="submit" id="continue">{{button}}</button></div>
</form>
)html";

constexpr std::string_view kCodePage = R"html(<h1>{{heading}}</h1>
{{#error}}<p class="error" id="error" role="alert">{{error}}</p>{{/error}}
{{#notice}}<p class="notice" id="notice" role="status">{{notice}}</p>{{/notice}}
<p>{{intro}}</p>
<form method="post" action="{{prefix}}code">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="code">{{label}}</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code"
 maxlength="6" required>
<div><button type="submit" id="verify">{{button}}</button></div>
</form>
<form method="post" action="{{prefix}}resend">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" class="secondary" id="resend">{{resend}}</button>
</form>
)html";

constexpr std::string_view kMessagePage = R"html(<h1>{{heading}}</h1>
{{#notice}}<p class="notice" id="notice" role="status">{{notice}}</p>{{/notice}}
{{#subject}}<h2 id="subject">{{subject}}</h2>{{/subject}}
<div class="body" id="body">
{{#paragraphs}}<p>{{#parts}}{{#is_link}}<a href="{{text}}" rel="noopener noreferrer">{{text}}</a>{{/is_link}}{{^is_link}}{{text}}{{/is_link}}{{/parts}}</p>
{{/paragraphs}}
</div>
{{#has_links}}<h2>{{links_heading}}</h2>
<ul id="links">{{#links}}<li><a href="{{url}}" rel="noopener noreferrer">{{url}}</a></li>{{/links}}</ul>{{/has_links}}
<h2>{{replies_heading}}</h2>
<form method="post" action="{{prefix}}reply" id="replies">
<input type="hidden" name="csrf" value="{{csrf}}">
{{#replies}}<button type="submit" name="reply" value="{{id}}" id="reply-{{id}}">{{label}}</button>
{{/replies}}<button type="submit" name="reply" value="stop" id="reply-stop" class="stop">{{stop_label}}</button>
</form>
{{#text_replies}}<form method="post" action="{{prefix}}reply-text" id="text-reply">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="text">{{text_label}}</label>
<p class="hint" id="text-hint">{{text_hint}}</p>
<textarea id="text" name="text" maxlength="1000" rows="3" aria-describedby="text-hint"
 required></textarea>
<div><button type="submit" id="send-text">{{send_button}}</button></div>
</form>{{/text_replies}}
{{#prefs}}<p><a href="{{prefix}}preferences" id="preferences">{{prefs_link}}</a></p>{{/prefs}}
<form method="post" action="{{prefix}}signout">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" class="secondary" id="signout">{{sign_out}}</button>
</form>
)html";

constexpr std::string_view kPreferencesPage = R"html(<h1>{{heading}}</h1>
{{#error}}<p class="error" id="error" role="alert">{{error}}</p>{{/error}}
{{#notice}}<p class="notice" id="notice" role="status">{{notice}}</p>{{/notice}}
<p>{{intro}}</p>
<form method="post" action="{{prefix}}preferences" id="preferences-form">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="time_zone">{{tz_label}}</label>
<p class="hint" id="tz-hint">{{tz_hint}}</p>
<select id="time_zone" name="time_zone" aria-describedby="tz-hint">
{{#zones}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>
{{/zones}}</select>
<label for="delay_amount">{{delay_label}}</label>
<p class="hint" id="delay-hint">{{delay_hint}}</p>
<input type="text" id="delay_amount" name="delay_amount" inputmode="numeric" maxlength="4"
 value="{{amount}}" aria-describedby="delay-hint">
<select id="delay_unit" name="delay_unit" aria-label="{{delay_label}}">
<option value="hours"{{#hours}} selected{{/hours}}>{{delay_hours}}</option>
<option value="days"{{#days}} selected{{/days}}>{{delay_days}}</option>
</select>
<div><button type="submit" id="save">{{save_button}}</button></div>
</form>
<p><a href="{{prefix}}message" id="back">{{back}}</a></p>
)html";

// Zones offered on the preferences page (any zone of the tz database is accepted).
constexpr std::string_view kOfferedZones[] = {
    "America/New_York",    "America/Chicago",   "America/Denver",   "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico"};

constexpr std::string_view kThanksPage = R"html(<h1>{{heading}}</h1>
<p class="notice" id="notice" role="status">{{text}}</p>
{{#stop}}<p id="stop-notice">{{stop}}</p>{{/stop}}
<p><a href="{{prefix}}message" id="back">{{back}}</a></p>
)html";

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gw.outbound.secure_inbox");
  return instance;
}

std::string render(std::string_view tmpl, const data& values) {
  // Templates are compiled once per thread (kainjow's render() is not const, so compiled
  // templates are not shared between threads). Keyed by address: they are constants of this file.
  thread_local std::map<const char*, std::unique_ptr<mustache>> compiled;
  std::unique_ptr<mustache>& entry = compiled[tmpl.data()];
  if (entry == nullptr) {
    entry = std::make_unique<mustache>(std::string(tmpl));
  }
  if (!entry->is_valid()) {
    // A broken template is a bug, caught by the tests.
    return "<p>template error</p>";
  }
  return entry->render(values);
}

std::string minutesUntil(std::chrono::seconds seconds) {
  const auto minutes = std::max<std::int64_t>(1, (seconds.count() + 59) / 60);
  return std::to_string(minutes);
}

// Text paragraphs with https:// links split out so the template can make them anchors.
data paragraphsOf(const std::string& text, data& links, bool& has_links) {
  data paragraphs{data::type::list};
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::string paragraph = text.substr(start, end - start);
    if (!paragraph.empty()) {
      data parts{data::type::list};
      std::size_t at = 0;
      while (at < paragraph.size()) {
        const std::size_t link = paragraph.find("https://", at);
        if (link == std::string::npos) {
          data part;
          part.set("text", paragraph.substr(at));
          part.set("is_link", false);
          parts.push_back(part);
          break;
        }
        if (link > at) {
          data part;
          part.set("text", paragraph.substr(at, link - at));
          part.set("is_link", false);
          parts.push_back(part);
        }
        std::size_t link_end = paragraph.find_first_of(" \t\n\r<>\"'", link);
        if (link_end == std::string::npos) {
          link_end = paragraph.size();
        }
        // A sentence's full stop or closing parenthesis is not part of the URL.
        while (link_end > link + 8 &&
               std::string_view(".,;:)").find(paragraph[link_end - 1]) != std::string_view::npos) {
          --link_end;
        }
        const std::string url = paragraph.substr(link, link_end - link);
        data part;
        part.set("text", url);
        part.set("is_link", true);
        parts.push_back(part);
        links.push_back(data("url", url));
        has_links = true;
        at = link_end;
      }
      data item;
      item.set("parts", parts);
      paragraphs.push_back(item);
    }
    start = end + 2;
  }
  return paragraphs;
}

class Renderer {
 public:
  Renderer(const InboxSettings& settings, const std::string& language)
      : settings_(settings), text_(inboxText(language)) {}

  const InboxText& text() const { return text_; }

  WebResponse page(int status, const std::string& name, std::string_view tmpl, data values) const {
    values.set("prefix", settings_.path_prefix);
    data layout;
    layout.set("lang", text_.lang);
    layout.set("title", text_.title);
    layout.set("prefix", settings_.path_prefix);
    layout.set("page", name);
    layout.set("emergency", text_.emergency);
    layout.set("content", render(tmpl, values));
    WebResponse response;
    response.status = status;
    response.body = render(kLayout, layout);
    return response;
  }

  WebResponse info(int status, const std::string& name, const std::string& heading,
                   const std::string& body) const {
    data values;
    values.set("heading", heading);
    values.set("text", body);
    return page(status, name, kInfoPage, values);
  }

  WebResponse forAccess(const SessionContext& context) const {
    switch (context.access) {
      case Access::NotFound:
        return info(404, "not-found", text_.not_found_heading, text_.not_found_text);
      case Access::Expired:
        return info(410, "expired", text_.expired_heading, text_.expired_text);
      case Access::Withdrawn:
        return info(410, "withdrawn", text_.withdrawn_heading, text_.withdrawn_text);
      case Access::Locked:
        return info(403, "locked", text_.locked_heading, text_.locked_text);
      case Access::RateLimited: {
        WebResponse r =
            info(429, "rate-limited", text_.rate_limited_heading,
                 fill(text_.rate_limited_text, {{"minutes", minutesUntil(context.retry_after)}}));
        r.headers.emplace_back("Retry-After", std::to_string(context.retry_after.count()));
        return r;
      }
      case Access::NoSession:
      case Access::TimedOut:
      case Access::Ok:
        break;
    }
    return info(401, "timed-out", text_.timed_out_heading, text_.timed_out_text);
  }

  WebResponse dobForm(int status, const std::string& csrf, const std::string& error) const {
    data values;
    values.set("heading", text_.dob_heading);
    values.set("intro", text_.dob_intro);
    values.set("label", text_.dob_label);
    values.set("hint", text_.dob_hint);
    values.set("button", text_.continue_button);
    values.set("csrf", csrf);
    if (!error.empty()) {
      values.set("error", error);
    }
    return page(status, "dob", kDobPage, values);
  }

  WebResponse codeForm(int status, const std::string& csrf, const std::string& error,
                       const std::string& notice) const {
    data values;
    values.set("heading", text_.code_heading);
    values.set("intro", fill(text_.code_intro,
                             {{"minutes", std::to_string(settings_.code_validity_seconds / 60)}}));
    values.set("label", text_.code_label);
    values.set("button", text_.verify_button);
    values.set("resend", text_.resend_button);
    values.set("csrf", csrf);
    if (!error.empty()) {
      values.set("error", error);
    }
    if (!notice.empty()) {
      values.set("notice", notice);
    }
    return page(status, "code", kCodePage, values);
  }

  // The preferences form showing `zone` and the delay `amount` in `unit` ("hours"/"days").
  WebResponse preferencesForm(int status, const std::string& csrf, const std::string& zone,
                              const std::string& amount, const std::string& unit,
                              const std::string& error, const std::string& notice) const {
    data values;
    values.set("heading", text_.prefs_heading);
    values.set("intro", text_.prefs_intro);
    values.set("tz_label", text_.tz_label);
    values.set("tz_hint", text_.tz_hint);
    data zones{data::type::list};
    const auto option = [&zones](const std::string& value, const std::string& label,
                                 bool selected) {
      data item;
      item.set("value", value);
      item.set("label", label);
      item.set("selected", selected);
      zones.push_back(item);
    };
    option("", text_.tz_default, zone.empty());
    bool listed = zone.empty();
    for (const std::string_view offered : kOfferedZones) {
      option(std::string(offered), std::string(offered), zone == offered);
      listed = listed || zone == offered;
    }
    if (!listed && isKnownTimeZone(zone)) {
      option(zone, zone, true);  // saved earlier from a longer list, or by the EHR
    }
    values.set("zones", zones);
    values.set("delay_label", text_.delay_label);
    values.set("delay_hint", text_.delay_hint);
    values.set("amount", amount);
    values.set("hours", unit == "hours");
    values.set("days", unit != "hours");
    values.set("delay_hours", text_.delay_hours);
    values.set("delay_days", text_.delay_days);
    values.set("save_button", text_.save_button);
    values.set("back", text_.back_to_message);
    values.set("csrf", csrf);
    if (!error.empty()) {
      values.set("error", error);
    }
    if (!notice.empty()) {
      values.set("notice", notice);
    }
    return page(status, "preferences", kPreferencesPage, values);
  }

  WebResponse error() const { return info(500, "error", text_.error_heading, text_.error_text); }
  WebResponse unavailable() const {
    WebResponse r = info(503, "error", text_.error_heading, text_.error_text);
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }
  WebResponse badRequest(int status = 400) const {
    return info(status, "bad-request", text_.bad_request_heading, text_.bad_request_text);
  }

 private:
  const InboxSettings& settings_;
  const InboxText& text_;
};

WebResponse redirect(const std::string& location) {
  WebResponse response;
  response.status = 303;
  response.headers.emplace_back("Location", location);
  return response;
}

std::string formValue(const WebRequest& request, const std::string& name) {
  const auto it = request.form.find(name);
  return it == request.form.end() ? std::string() : it->second;
}

}  // namespace

std::string WebResponse::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

InboxPages::InboxPages(std::shared_ptr<InboxService> service) : service_(std::move(service)) {}

WebResponse InboxPages::handle(const WebRequest& request) const {
  WebResponse response;
  try {
    response = route(request);
  } catch (const std::exception& e) {  // only a bug gets here: answer generically, log the type
    poco_error(logger(), std::string("BUG: exception in inbox pages: ") + e.what());
    response = Renderer(service_->settings(), service_->settings().default_language).error();
  } catch (...) {
    poco_error(logger(), "BUG: unknown exception in inbox pages");
    response = Renderer(service_->settings(), service_->settings().default_language).error();
  }
  const InboxSettings& settings = service_->settings();
  response.headers.emplace_back("Content-Security-Policy", std::string(kCsp));
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Pragma", "no-cache");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  response.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  if (settings.secure_cookies) {
    response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  }
  return response;
}

WebResponse InboxPages::route(const WebRequest& request) const {
  const InboxSettings& settings = service_->settings();
  const std::string& prefix = settings.path_prefix;
  Renderer fallback(settings, settings.default_language);
  if (request.path.compare(0, prefix.size(), prefix) != 0) {
    return fallback.info(404, "not-found", fallback.text().not_found_heading,
                         fallback.text().not_found_text);
  }
  const std::string route = request.path.substr(prefix.size());
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";

  if (route == "style.css" && get) {
    WebResponse response;
    response.content_type = "text/css; charset=utf-8";
    response.body = std::string(kStyle);
    return response;
  }

  const auto sessionCookie = [&](const std::string& session_id) {
    std::string cookie = std::string(kCookieName) + "=" + session_id + "; Path=" + prefix +
                         "; HttpOnly; SameSite=Strict";
    if (settings.secure_cookies) {
      cookie += "; Secure";
    }
    return cookie;
  };
  const auto clearCookie = [&]() {
    std::string cookie =
        std::string(kCookieName) + "=; Path=" + prefix + "; Max-Age=0; HttpOnly; SameSite=Strict";
    if (settings.secure_cookies) {
      cookie += "; Secure";
    }
    return cookie;
  };
  const auto failure = [&](const Status& status, const Renderer& renderer) {
    poco_warning(logger(), "inbox request failed: " + std::string(statusCodeName(status.code())));
    return status.isRetryable() ? renderer.unavailable() : renderer.error();
  };

  // Opening a link: the token is the last path segment.
  if (route.compare(0, 2, "l/") == 0) {
    if (!get) {
      return fallback.badRequest(405);
    }
    Result<SessionContext> opened = service_->openLink(route.substr(2), request.client_ip);
    if (!opened.ok()) {
      return failure(opened.status(), fallback);
    }
    Renderer renderer(settings, opened->language);
    if (opened->access != Access::Ok) {
      return renderer.forAccess(*opened);
    }
    WebResponse response = renderer.dobForm(200, InboxService::csrfToken(opened->session_id), "");
    response.headers.emplace_back("Set-Cookie", sessionCookie(opened->session_id));
    return response;
  }

  static const std::vector<std::string> kRoutes = {"verify",     "dob",         "resend",
                                                   "code",       "message",     "reply",
                                                   "reply-text", "preferences", "signout"};
  if (std::find(kRoutes.begin(), kRoutes.end(), route) == kRoutes.end() ||
      (route == "preferences" && !service_->offersPreferences()) ||
      (route == "reply-text" && !service_->offersTextReplies())) {
    return fallback.info(404, "not-found", fallback.text().not_found_heading,
                         fallback.text().not_found_text);
  }
  const bool either = route == "preferences";
  const bool wants_get = route == "verify" || route == "message";
  if (!either && ((wants_get && !get) || (!wants_get && !post))) {
    WebResponse response = fallback.badRequest(405);
    response.headers.emplace_back("Allow", wants_get ? "GET, HEAD" : "POST");
    return response;
  }
  if (either && !get && !post) {
    WebResponse response = fallback.badRequest(405);
    response.headers.emplace_back("Allow", "GET, HEAD, POST");
    return response;
  }
  if (post && request.body_rejected) {
    return fallback.badRequest(request.body_status == 0 ? 400 : request.body_status);
  }

  Result<SessionContext> resumed = service_->resume(request.session_cookie, request.client_ip);
  if (!resumed.ok()) {
    return failure(resumed.status(), fallback);
  }
  SessionContext& context = *resumed;
  Renderer renderer(settings, context.language);
  if (context.access != Access::Ok) {
    WebResponse response = renderer.forAccess(context);
    if (context.access == Access::TimedOut || context.access == Access::NoSession) {
      response.headers.emplace_back("Set-Cookie", clearCookie());
    }
    return response;
  }
  const std::string csrf = InboxService::csrfToken(context.session_id);
  if (post && !equalConstantTime(formValue(request, "csrf"), csrf)) {
    poco_information(logger(), "inbox form without a valid CSRF token refused");
    return renderer.badRequest(403);
  }
  const InboxText& text = renderer.text();
  const InboxSession::Stage stage = context.session.stage;

  if (route == "signout") {
    const Status ended = service_->endSession(context);
    if (!ended.isOk()) {
      return failure(ended, renderer);
    }
    WebResponse response =
        renderer.info(200, "signed-out", text.signed_out_heading, text.signed_out_text);
    response.headers.emplace_back("Set-Cookie", clearCookie());
    return response;
  }

  if (route == "verify") {
    switch (stage) {
      case InboxSession::Stage::NeedBirthDate:
        return renderer.dobForm(200, csrf, "");
      case InboxSession::Stage::NeedCode:
        return renderer.codeForm(200, csrf, "", "");
      case InboxSession::Stage::Verified:
        return redirect(prefix + "message");
    }
  }

  if (route == "dob") {
    if (stage == InboxSession::Stage::Verified) {
      return redirect(prefix + "message");
    }
    Result<Step> step =
        service_->submitBirthDate(context, formValue(request, "dob"), request.client_ip);
    if (!step.ok()) {
      return failure(step.status(), renderer);
    }
    switch (step->outcome) {
      case StepOutcome::BadInput:
        return renderer.dobForm(422, csrf, text.bad_date);
      case StepOutcome::Locked:
        return renderer.forAccess(context);
      case StepOutcome::RateLimited:
        return renderer.dobForm(
            429, csrf,
            fill(text.code_rate_limited, {{"minutes", minutesUntil(step->retry_after)}}));
      case StepOutcome::Accepted:
      case StepOutcome::Rejected:
        break;
    }
    return renderer.codeForm(200, csrf, "", "");
  }

  if (route == "resend" || route == "code") {
    if (stage == InboxSession::Stage::Verified) {
      return redirect(prefix + "message");
    }
    if (stage == InboxSession::Stage::NeedBirthDate) {
      return renderer.dobForm(200, csrf, "");
    }
    if (route == "resend") {
      Result<Step> step = service_->resendCode(context, request.client_ip);
      if (!step.ok()) {
        if (step.status().isRetryable()) {
          return renderer.codeForm(503, csrf, text.code_send_failed, "");
        }
        return failure(step.status(), renderer);
      }
      if (step->outcome == StepOutcome::Locked) {
        return renderer.forAccess(context);
      }
      if (step->outcome == StepOutcome::RateLimited) {
        return renderer.codeForm(
            429, csrf, fill(text.code_rate_limited, {{"minutes", minutesUntil(step->retry_after)}}),
            "");
      }
      return renderer.codeForm(200, csrf, "", text.code_resent);
    }
    Result<Step> step =
        service_->submitCode(context, formValue(request, "code"), request.client_ip);
    if (!step.ok()) {
      return failure(step.status(), renderer);
    }
    switch (step->outcome) {
      case StepOutcome::Accepted: {
        WebResponse response = redirect(prefix + "message");
        response.headers.emplace_back("Set-Cookie", sessionCookie(context.session_id));
        return response;
      }
      case StepOutcome::BadInput:
        return renderer.codeForm(422, csrf, text.bad_code, "");
      case StepOutcome::Locked:
        return renderer.forAccess(context);
      case StepOutcome::Rejected:
      case StepOutcome::RateLimited:
        break;
    }
    return renderer.codeForm(
        422, csrf, fill(text.code_rejected, {{"attempts", std::to_string(step->attempts_left)}}),
        "");
  }

  // message and reply need a verified session.
  if (stage != InboxSession::Stage::Verified) {
    return redirect(prefix + "verify");
  }
  if (route == "reply") {
    const std::string reply_id = formValue(request, "reply");
    Result<std::string> replied = service_->reply(context, reply_id, request.client_ip);
    if (!replied.ok()) {
      if (replied.status().code() == StatusCode::InvalidArgument) {
        return renderer.badRequest(400);
      }
      if (context.access == Access::Expired) {
        return renderer.forAccess(context);
      }
      return failure(replied.status(), renderer);
    }
    const std::string label = reply_id == kStopReplyId ? text.stop_label : *replied;
    data values;
    values.set("heading", text.title);
    values.set("text", fill(text.reply_thanks, {{"label", label}}));
    if (reply_id == kStopReplyId) {
      values.set("stop", text.stop_thanks);
    }
    values.set("back", text.back_to_message);
    return renderer.page(200, "replied", kThanksPage, values);
  }

  if (route == "preferences") {
    if (post) {
      const std::string zone = formValue(request, "time_zone");
      const std::string amount = formValue(request, "delay_amount");
      const std::string unit = formValue(request, "delay_unit");
      Result<PreferencesOutcome> saved =
          service_->savePreferences(context, zone, amount, unit, request.client_ip);
      if (!saved.ok()) {
        return failure(saved.status(), renderer);
      }
      switch (*saved) {
        case PreferencesOutcome::BadTimeZone:
          return renderer.preferencesForm(422, csrf, "", amount, unit, text.bad_time_zone, "");
        case PreferencesOutcome::BadDelay:
          return renderer.preferencesForm(422, csrf, zone, amount, unit, text.bad_delay, "");
        case PreferencesOutcome::Saved:
          break;
      }
    }
    Result<PatientPreferenceRecord> current = service_->preferences(context);
    if (!current.ok()) {
      return failure(current.status(), renderer);
    }
    const auto hours = current->result_delay.count();
    const bool in_days = hours == 0 || hours % 24 == 0;
    return renderer.preferencesForm(200, csrf, current->time_zone,
                                    std::to_string(in_days ? hours / 24 : hours),
                                    in_days ? "days" : "hours", "", post ? text.prefs_saved : "");
  }

  if (route == "reply-text") {
    Result<TextReply> replied =
        service_->replyText(context, formValue(request, "text"), request.client_ip);
    if (!replied.ok()) {
      if (replied.status().code() == StatusCode::FailedPrecondition ||
          replied.status().code() == StatusCode::PermissionDenied) {
        return renderer.badRequest(400);
      }
      return failure(replied.status(), renderer);
    }
    data values;
    values.set("heading", text.title);
    values.set("back", text.back_to_message);
    if (replied->bad_input) {
      values.set("text", text.bad_text);
      return renderer.page(422, "reply-text", kThanksPage, values);
    }
    switch (replied->result.kind) {
      case ReplyResult::Kind::OptedOut:
        values.set("text", text.text_stopped);
        break;
      case ReplyResult::Kind::OptedIn:
        values.set("text", text.text_started);
        break;
      case ReplyResult::Kind::Help:
        values.set("text", replied->result.help_text);
        break;
      case ReplyResult::Kind::WorkItem:
      case ReplyResult::Kind::Duplicate:
        values.set("text", text.text_thanks);
        break;
    }
    return renderer.page(200, "replied", kThanksPage, values);
  }

  Result<MessageView> view = service_->view(context, request.client_ip);
  if (!view.ok()) {
    if (context.access == Access::Expired) {
      return renderer.forAccess(context);
    }
    return failure(view.status(), renderer);
  }
  const MessageContent& content = view->content;
  data values;
  values.set("heading", fill(text.message_from, {{"facility", content.facility_name}}));
  if (!content.subject.empty()) {
    values.set("subject", content.subject);
  }
  data links{data::type::list};
  bool has_links = false;
  values.set("paragraphs", paragraphsOf(content.text, links, has_links));
  values.set("links", links);
  values.set("has_links", has_links);
  values.set("links_heading", text.links_heading);
  values.set("replies_heading", text.replies_heading);
  data replies{data::type::list};
  for (const QuickReply& reply : content.quick_replies) {
    if (reply.id == kStopReplyId) {
      continue;
    }
    data item;
    item.set("id", reply.id);
    item.set("label", reply.label);
    replies.push_back(item);
  }
  values.set("replies", replies);
  values.set("stop_label", text.stop_label);
  values.set("text_replies", service_->offersTextReplies());
  values.set("text_label", text.text_label);
  values.set("text_hint", text.text_hint);
  values.set("send_button", text.send_button);
  values.set("prefs", service_->offersPreferences());
  values.set("prefs_link", text.prefs_link);
  values.set("sign_out", text.sign_out);
  values.set("csrf", csrf);
  return renderer.page(200, "message", kMessagePage, values);
}

}  // namespace gw::inbox
