// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "adapters/outbound/secure_inbox/InboxPages.h"
#include "gateway/http/HttpServer.h"

namespace gw {

// Mounts the secure inbox pages on the gateway's HTTP(S) server (gw_http): turns an
// http::HttpRequest into the pages' WebRequest (session cookie, form fields, client address)
// and the WebResponse back. Bodies other than application/x-www-form-urlencoded get 415, larger
// than the pages accept 413, undecodable forms 400, all as the inbox's own error pages.
class InboxHttpHandler final : public http::HttpHandler {
 public:
  explicit InboxHttpHandler(std::shared_ptr<inbox::InboxPages> pages) : pages_(std::move(pages)) {}

  http::HttpResponse handle(const http::HttpRequest& request) override;
  http::HttpResponse reject(int status, std::string_view reason,
                            const http::HttpRequest& request) override;

 private:
  inbox::WebRequest toWebRequest(const http::HttpRequest& request) const;
  static http::HttpResponse toResponse(inbox::WebResponse web);

  std::shared_ptr<inbox::InboxPages> pages_;
};

}  // namespace gw
