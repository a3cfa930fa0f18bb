// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <utility>
#include <vector>

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

  // Called once with one result per event of a batch, in the order the events were given.
  using BatchDone = std::function<void(std::vector<Result<IntakeReceipt>>)>;
  // accept() for several events at once, committed together where the store can (one
  // transaction, one fsync), for adapters that read many events per wake-up. Never blocks on
  // the commit when the sink can avoid it: `done` is called exactly once, after the commit,
  // either on the caller's thread before this returns or later on another thread, so it must be
  // cheap and must not call back into the sink. Each result means what accept() would have
  // returned; a resend of an event earlier in the same batch is its duplicate. The deadline is
  // the caller's to enforce while it waits for `done` (late results still arrive). The default
  // calls accept() for each event on the caller's thread.
  virtual void acceptBatch(std::vector<InboundEvent> events, Deadline deadline, BatchDone done) {
    std::vector<Result<IntakeReceipt>> results;
    results.reserve(events.size());
    for (InboundEvent& event : events) {
      results.push_back(accept(std::move(event), deadline));
    }
    done(std::move(results));
  }
};

}  // namespace gw
