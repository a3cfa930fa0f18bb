// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "gateway/api/Clock.h"
#include "gateway/api/InboundSink.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Store.h"

namespace gw {

// Limits intake applies to every event, whatever adapter it came from.
struct IntakeSettings {
  // Longest accepted control id (MSH-10 is ST, 199 characters since v2.5).
  std::size_t max_control_id_length = 199;
  // Longest accepted sending application / facility text (MSH-3 / MSH-4, HD).
  std::size_t max_sender_length = 227;
};

struct IntakeStats {
  std::uint64_t accepted = 0;    // newly committed
  std::uint64_t duplicates = 0;  // resends answered from an earlier commit
  std::uint64_t rejected = 0;    // broke our rules (AE)
  std::uint64_t failed = 0;      // could not commit (AR)
};

// The durable intake behind every inbound adapter: validates the metadata, derives the dedupe
// key (DESIGN.md section 3: listener, MSH-3, MSH-4, MSH-10), seals the payload on the caller's
// thread and commits through the store's group commit. accept() returns OK only after the
// commit. Thread-safe.
class Intake final : public InboundSink {
 public:
  Intake(StorePtr store, PayloadCipherPtr cipher, ClockPtr clock, IntakeSettings settings = {});

  // InboundSink
  Result<IntakeReceipt> accept(InboundEvent event, Deadline deadline) override;
  // Validates, derives the dedupe key and seals every event on the caller's thread exactly as
  // accept() does, then hands the valid ones to Store::commitInboundBatch() as one batch;
  // events that fail before the store get their error at their place in the results. `done`
  // runs where the store completes the batch (see Store::commitInboundBatch()); when no event
  // reaches the store it runs on the caller's thread before this returns.
  void acceptBatch(std::vector<InboundEvent> events, Deadline deadline, BatchDone done) override;

  // After this, accept() answers Unavailable ("gateway is shutting down").
  void beginShutdown() { shutting_down_.store(true); }
  // Called after a commit that stored at least one new event (once per accept() or batch, on
  // the thread that completed the commit; never for duplicates only), so the mapper looks at
  // once instead of at its next poll. Set it before the first accept(); it must be cheap.
  void setOnCommitted(std::function<void()> on_committed) {
    on_committed_ = std::move(on_committed);
  }
  IntakeStats stats() const;

  // The control id, a unit separator (0x1F), then legacyDedupeKey(): the control id first keeps
  // the keys of a sender's (usually increasing) control ids next to each other in the store's
  // unique index, so a batch of inserts touches a few index pages instead of one random page
  // per event. Empty when no digest can be computed.
  static std::string dedupeKey(const InboundEvent& event);
  // Hex SHA-256 over the source, listener and sender-scoped control id: the whole dedupe key
  // before the control id prefix was added; events committed under it are still duplicates.
  static std::string legacyDedupeKey(const InboundEvent& event);

 private:
  Status validate(const InboundEvent& event) const;
  // Everything accept() does before the commit: the record to commit, or the error to answer
  // (counted as rejected or failed).
  Result<NewInboundEvent> prepare(InboundEvent event);
  // Counts a commit outcome; true when it stored a new event.
  bool count(const Result<IntakeReceipt>& receipt);

  StorePtr store_;
  PayloadCipherPtr cipher_;
  ClockPtr clock_;
  IntakeSettings settings_;
  std::function<void()> on_committed_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace gw
