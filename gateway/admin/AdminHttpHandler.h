// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "gateway/admin/AdminService.h"
#include "gateway/http/HttpServer.h"

namespace gw::admin {

// The admin API's JSON endpoints on the gateway's web server (gw_http), under the service's
// path_prefix (default "/admin/api/"). Requests carry "Authorization: Bearer <token>" from
// POST login; every answer is JSON with Cache-Control: no-store, errors as {"error": "..."}
// with 400 (bad input), 401 (no or dead session, failed login), 403 (role too low), 404
// (unknown id or route), 405 (method), 409 (state conflict), 413 (body too large), 415 (body
// not JSON), 429 (too many logins from one address, with Retry-After), 503 (store unavailable,
// with Retry-After) or 500 (a bug; no detail). The README in
// this folder lists the endpoints.
class AdminHttpHandler final : public http::HttpHandler {
 public:
  explicit AdminHttpHandler(std::shared_ptr<AdminService> service);

  // The prefix to mount() on the server ("/admin/api", without the trailing slash).
  const std::string& mountPrefix() const { return prefix_; }

  http::HttpResponse handle(const http::HttpRequest& request) override;
  http::HttpResponse reject(int status, std::string_view reason,
                            const http::HttpRequest& request) override;

 private:
  http::HttpResponse route(const http::HttpRequest& request);

  std::shared_ptr<AdminService> service_;
  std::string prefix_;
};

// {"error": message} with `status` and no-store.
http::HttpResponse jsonError(int status, std::string_view message);

}  // namespace gw::admin
