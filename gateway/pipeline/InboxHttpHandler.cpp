// SPDX-License-Identifier: Apache-2.0
#include "gateway/pipeline/InboxHttpHandler.h"

#include "adapters/outbound/secure_inbox/InboxHttp.h"

namespace gw {
namespace {

// Largest form body the pages accept (a birth date, a code, a CSRF token, a reply id).
constexpr std::size_t kMaxFormBytes = 8 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), "" when absent.
std::string cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = header.find(';');
    const std::string_view pair = trim(header.substr(0, end));
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      return std::string(trim(pair.substr(eq + 1)));
    }
    if (end == std::string_view::npos) {
      break;
    }
    header.remove_prefix(end + 1);
  }
  return "";
}

}  // namespace

inbox::WebRequest InboxHttpHandler::toWebRequest(const http::HttpRequest& request) const {
  inbox::WebRequest web;
  web.method = request.method;
  web.path = request.path;
  web.client_ip = http::peerHost(request.peer);
  web.session_cookie = cookieValue(request.header("cookie"), inbox::InboxPages::kCookieName);
  if (web.method != "POST") {
    return web;
  }
  const std::string_view type = request.header("content-type");
  if (type.substr(0, 33) != "application/x-www-form-urlencoded") {
    web.body_rejected = true;
    web.body_status = 415;
    return web;
  }
  if (request.body.size() > kMaxFormBytes) {
    web.body_rejected = true;
    web.body_status = 413;
    return web;
  }
  Result<std::map<std::string, std::string>> form = inbox::parseForm(request.body);
  if (!form.ok()) {
    web.body_rejected = true;
    web.body_status = 400;
    return web;
  }
  web.form = std::move(*form);
  return web;
}

http::HttpResponse InboxHttpHandler::toResponse(inbox::WebResponse web) {
  http::HttpResponse response;
  response.status = web.status;
  response.content_type = std::move(web.content_type);
  response.headers = std::move(web.headers);
  response.body = std::move(web.body);
  return response;
}

http::HttpResponse InboxHttpHandler::handle(const http::HttpRequest& request) {
  return toResponse(pages_->handle(toWebRequest(request)));
}

http::HttpResponse InboxHttpHandler::reject(int status, std::string_view reason,
                                            const http::HttpRequest& request) {
  if (request.method != "POST" || (status != 400 && status != 413)) {
    return HttpHandler::reject(status, reason, request);  // timeouts, bugs: the server's answer
  }
  inbox::WebRequest web = toWebRequest(request);
  web.body_rejected = true;
  web.body_status = status;
  return toResponse(pages_->handle(web));
}

}  // namespace gw
