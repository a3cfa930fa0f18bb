// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "gateway/api/Clock.h"
#include "gateway/api/Status.h"

namespace gw {

// A notification to a patient that carries no PHI by construction: "you have a new message from
// <facility>" with an inbox link, or a one-time code. The secure inbox composes it; a transport
// (adapters/outbound/email: SMTP or the pickup directory; later SMS) sends it.
struct Notification {
  std::string to;               // recipient address (itself PHI: never logged)
  std::string subject;          // no PHI
  std::string text;             // no PHI
  std::string html;             // optional HTML alternative, no PHI
  std::string language;         // BCP 47 tag of subject/text
  std::string idempotency_key;  // e.g. "inbox-notify:<message id>"; sent as Message-ID seed
};

// Errors as for OutboundChannel (Unavailable/DeadlineExceeded retryable; InvalidArgument
// permanent). Thread-safety: notify() is called from several threads at once.
class Notifier {
 public:
  Notifier() = default;
  virtual ~Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  virtual Status notify(const Notification& notification, Deadline deadline) = 0;
};

using NotifierPtr = std::shared_ptr<Notifier>;

}  // namespace gw
