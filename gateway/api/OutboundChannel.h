// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/api/Clock.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/api/Result.h"

namespace gw {

// One patient message handed to a channel by the delivery worker.
struct OutboundMessage {
  std::int64_t message_id = 0;
  std::string
      idempotency_key;  // send to every peer that accepts one (a retry must not deliver twice)
  std::string purpose;  // "aftercare" | "result" | "reminder"
  bool contains_phi = true;
  bool plain_email_consented = false;  // the patient's recorded consent allows PHI in plain email
  int attempt = 1;                     // 1 for the first attempt
  MessageContent content;              // PHI: never logged
};

// What a channel reports when it took responsibility for a message.
struct DeliveryReceipt {
  // How it went, for the audit trail: "smime", "verified_tls", "pickup", "inbox_notification",
  // "messaging_api". No PHI.
  std::string method;
  std::string detail;  // peer's answer without PHI, e.g. "250 2.0.0 queued", "HTTP 202"
};

// An outbound channel (adapters/outbound/*).
//
// Errors tell the delivery worker what to do next:
//   Unavailable, DeadlineExceeded        retry later with backoff (peer down, 4xx SMTP, HTTP 5xx);
//   FailedPrecondition                   PHI could not be sent safely (no STARTTLS, certificate not
//                                        verified, no consent for plain email): nothing with PHI
//                                        left the gateway; the worker falls back to the secure
//                                        inbox notification and audits why;
//   InvalidArgument, PermissionDenied,
//   NotFound                             permanent: dead-letter with the reason (HTTP 4xx, 5xx SMTP
//                                        reply to RCPT, no recipient address).
// Messages in errors carry no PHI. Thread-safety: deliver() is called from several workers at once.
class OutboundChannel {
 public:
  OutboundChannel() = default;
  virtual ~OutboundChannel() = default;
  OutboundChannel(const OutboundChannel&) = delete;
  OutboundChannel& operator=(const OutboundChannel&) = delete;

  virtual ChannelKind kind() const = 0;
  virtual Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline deadline) = 0;
};

using OutboundChannelPtr = std::shared_ptr<OutboundChannel>;

}  // namespace gw
