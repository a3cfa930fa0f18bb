// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxHttp.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NameValueCollection.h>

#include <exception>
#include <istream>

namespace gw::inbox {
namespace {

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gw.outbound.secure_inbox");
  return instance;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

Result<std::string> decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) {
        return Status::invalidArgument("form: truncated %-escape");
      }
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return Status::invalidArgument("form: bad %-escape");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

class InboxRequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit InboxRequestHandler(std::shared_ptr<InboxPages> pages) : pages_(std::move(pages)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    try {
      send(pages_->handle(toWebRequest(request)), request, response);
    } catch (const std::exception& e) {  // only a bug gets here: answer if we still can
      poco_error(logger(), std::string("BUG: exception in inbox handler: ") + e.what());
      answerBug(response);
    } catch (...) {
      poco_error(logger(), "BUG: unknown exception in inbox handler");
      answerBug(response);
    }
  }

 private:
  static WebRequest toWebRequest(Poco::Net::HTTPServerRequest& request) {
    WebRequest web;
    web.method = request.getMethod();
    std::string uri = request.getURI();
    const std::size_t query = uri.find_first_of("?#");
    web.path = uri.substr(0, query);
    web.client_ip = request.clientAddress().host().toString();
    Poco::Net::NameValueCollection cookies;
    request.getCookies(cookies);
    web.session_cookie = cookies.get(InboxPages::kCookieName, "");
    if (web.method != "POST") {
      return web;
    }
    const std::string type = request.getContentType();
    if (type.compare(0, 33, "application/x-www-form-urlencoded") != 0) {
      web.body_rejected = true;
      web.body_status = 415;
      return web;
    }
    if (request.hasContentLength() &&
        request.getContentLength64() > static_cast<Poco::Int64>(kMaxFormBytes)) {
      web.body_rejected = true;
      web.body_status = 413;
      return web;
    }
    std::string body(kMaxFormBytes + 1, '\0');
    std::istream& in = request.stream();
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(in.gcount()));
    if (body.size() > kMaxFormBytes) {
      web.body_rejected = true;
      web.body_status = 413;
      return web;
    }
    Result<std::map<std::string, std::string>> form = parseForm(body);
    if (!form.ok()) {
      web.body_rejected = true;
      web.body_status = 400;
      return web;
    }
    web.form = std::move(*form);
    return web;
  }

  static void send(const WebResponse& web, const Poco::Net::HTTPServerRequest& request,
                   Poco::Net::HTTPServerResponse& response) {
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(web.status));
    response.setContentType(web.content_type);
    for (const auto& [name, value] : web.headers) {
      response.add(name, value);
    }
    response.setContentLength64(static_cast<Poco::Int64>(web.body.size()));
    if (request.getMethod() == "HEAD") {
      response.send();
      return;
    }
    response.sendBuffer(web.body.data(), web.body.size());
  }

  static void answerBug(Poco::Net::HTTPServerResponse& response) {
    if (response.sent()) {
      return;
    }
    try {
      static const std::string kBody = "<!DOCTYPE html><title>Error</title><p>Error</p>";
      response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
      response.setContentType("text/html; charset=utf-8");
      response.set("Cache-Control", "no-store");
      response.set("Content-Security-Policy", "default-src 'none'");
      response.sendBuffer(kBody.data(), kBody.size());
    } catch (...) {  // the peer is gone; nothing more to do
    }
  }

  std::shared_ptr<InboxPages> pages_;
};

}  // namespace

Result<std::map<std::string, std::string>> parseForm(const std::string& body) {
  std::map<std::string, std::string> fields;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) {
      end = body.size();
    }
    const std::string_view pair(body.data() + start, end - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      GW_ASSIGN_OR_RETURN(std::string name, decode(pair.substr(0, eq)));
      std::string value;
      if (eq != std::string_view::npos) {
        GW_ASSIGN_OR_RETURN(value, decode(pair.substr(eq + 1)));
      }
      fields.emplace(std::move(name), std::move(value));
    }
    start = end + 1;
  }
  return fields;
}

InboxRequestHandlerFactory::InboxRequestHandlerFactory(std::shared_ptr<InboxPages> pages)
    : pages_(std::move(pages)), prefix_(pages_->prefix()) {}

bool InboxRequestHandlerFactory::handles(const std::string& path) const {
  return path.compare(0, prefix_.size(), prefix_) == 0;
}

Poco::Net::HTTPRequestHandler* InboxRequestHandlerFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest& request) {
  const std::string& uri = request.getURI();
  if (!handles(uri.substr(0, uri.find_first_of("?#")))) {
    return nullptr;
  }
  return new InboxRequestHandler(pages_);
}

}  // namespace gw::inbox
