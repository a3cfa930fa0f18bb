// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "adapters/outbound/messaging_api/MessagingApiSettings.h"
#include "gateway/api/OutboundChannel.h"

namespace gw {

// Delivers a patient message to a hospital's secure messaging platform (OutboundChannel, kind
// MessagingApi): one HTTPS POST of the message as JSON (application/json, UTF-8) to the
// configured URL, over TLS 1.2+ with the certificate chain and the host name verified, with
//   Idempotency-Key: <the message's idempotency key>     (a retry must not deliver twice)
//   X-Signature: sha256=<hex HMAC-SHA256(secret, body)>  (the platform authenticates us)
// Body: {"message_id", "idempotency_key", "purpose", "contains_phi", "language",
//        "recipient": {"name", "email", "phone"}, "subject", "text", "html",
//        "quick_replies": [{"id", "label"}]}.
// Answers: 2xx -> receipt "messaging_api" ("HTTP 202"); 5xx, 408, 429, timeouts and connection
// failures -> Unavailable / DeadlineExceeded (retry); other 4xx -> InvalidArgument with the
// status (dead letter); a certificate that does not verify -> FailedPrecondition (nothing was
// sent). Error messages carry the status code, never the platform's answer body. Thread-safe:
// each delivery uses its own connection.
class MessagingApiChannel final : public OutboundChannel {
 public:
  // Builds the TLS context and reads the secret file. Initialises POCO's SSL library and ignores
  // SIGPIPE process-wide (once). Errors: InvalidArgument naming the setting, PermissionDenied for
  // a secret file readable by group or others.
  static Result<std::shared_ptr<MessagingApiChannel>> create(const MessagingApiSettings& settings);
  ~MessagingApiChannel() override;

  // OutboundChannel
  ChannelKind kind() const override { return ChannelKind::MessagingApi; }
  Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline deadline) override;

  struct Impl;
  explicit MessagingApiChannel(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// The JSON body deliver() posts for `message` (tests, and platforms that want to see it).
std::string messagingApiBody(const OutboundMessage& message);

// The shared secret from settings.secret_file (trailing line break dropped). PermissionDenied for
// a file readable by group or others, InvalidArgument when it holds fewer than 16 bytes.
Result<std::string> readMessagingApiSecret(const MessagingApiSettings& settings);

// "sha256=<64 lower-case hex>" of the body under the secret. Internal on an OpenSSL failure.
Result<std::string> messagingApiSignature(std::string_view secret, std::string_view body);

}  // namespace gw
