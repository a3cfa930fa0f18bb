// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "gateway/api/Clock.h"
#include "gateway/api/InboundEvent.h"
#include "gateway/api/Result.h"

namespace gw {

// Durable intake. accept() returns OK only once the event is committed to the store, so the
// caller may acknowledge it (AA / 2xx). A resend of an already committed dedupe key returns the
// earlier event id with duplicate=true and stores nothing new.
//
// Thread-safety: accept() is called concurrently from every connection thread.
// Errors: InvalidArgument (the event breaks our rules: answer AE / 422), PermissionDenied
// (sender not allowed: AR / 403), Unavailable or DeadlineExceeded (store down, shutting down,
// queue full: AR / 503, the sender may resend), Internal (bug: AR / 500). Never throws.
class InboundSink {
 public:
  InboundSink() = default;
  virtual ~InboundSink() = default;
  InboundSink(const InboundSink&) = delete;
  InboundSink& operator=(const InboundSink&) = delete;

  virtual Result<IntakeReceipt> accept(InboundEvent event, Deadline deadline) = 0;
};

}  // namespace gw
