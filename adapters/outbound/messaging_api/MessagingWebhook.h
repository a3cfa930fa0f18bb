// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "adapters/outbound/messaging_api/MessagingApiSettings.h"
#include "gateway/api/Clock.h"
#include "gateway/api/PatientStore.h"
#include "gateway/http/HttpServer.h"

namespace gw {

// The messaging platform's inbound webhook: a patient's text reply, POSTed to
// kMessagingWebhookPath on the gateway's "web" server.
//
//   POST /hooks/messaging/inbound
//   Content-Type: application/json
//   X-Timestamp: <Unix seconds when the platform signed it>
//   X-Signature: sha256=<hex HMAC-SHA256(secret, X-Timestamp + "." + body)>
//   {"id": "<platform id of this reply>", "from": "<sender number or address>",
//    "text": "<what the patient wrote>", "in_reply_to": "<Idempotency-Key of our message>"}
//
// The secret is the outbound one (settings.secret_file). The signature is compared in constant
// time; a timestamp more than inbound_tolerance_seconds from now is refused (replay). Nothing
// else is read before the signature verified. Then the ReplySink decides (the sender must be
// the recipient of the message replied to).
//
// Answers (application/json, never echoing input or PHI): 200 {"outcome": "opted_out" |
// "opted_in" | "help" | "work_item" | "duplicate"}; 401 missing, malformed, wrong or stale
// signature; 400 body not JSON or a field missing; 415 not application/json; 405 not POST;
// 404 another path; 422 in_reply_to names no message we sent; 403 the sender is not that
// message's recipient or it went out on another channel; 503 + Retry-After store unavailable;
// 500 a bug. Logs status codes only. Thread-safe.
class MessagingWebhook final : public http::HttpHandler {
 public:
  // Reads the secret (errors as readMessagingApiSecret).
  static Result<std::unique_ptr<MessagingWebhook>> create(const MessagingApiSettings& settings,
                                                          ReplySinkPtr sink, ClockPtr clock);
  ~MessagingWebhook() override;

  http::HttpResponse handle(const http::HttpRequest& request) override;

 private:
  MessagingWebhook(std::string secret, int tolerance_seconds, ReplySinkPtr sink, ClockPtr clock);
  http::HttpResponse route(const http::HttpRequest& request);

  std::string secret_;
  const int tolerance_seconds_;
  const ReplySinkPtr sink_;
  const ClockPtr clock_;
};

constexpr const char* kMessagingWebhookPath = "/hooks/messaging/inbound";

// "sha256=<hex>" over timestamp + "." + body: what the platform sends (tests, platform docs).
Result<std::string> messagingWebhookSignature(std::string_view secret, std::string_view timestamp,
                                              std::string_view body);

}  // namespace gw
