// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/InboundEvent.h"
#include "gateway/api/Result.h"

namespace gw {

// States of an inbound event (DESIGN.md section 2).
enum class InboundState { Received, Mapped, Held, Ignored };
std::string_view inboundStateName(InboundState state);

// An event ready to be committed: metadata in clear, payload already sealed by a PayloadCipher.
struct NewInboundEvent : InboundEventMetadata {
  // Unique per committed event, opaque to the store; also the payload's associated data.
  std::string dedupe_key;
  // When not empty, an event committed under this key (same control_id) is a duplicate too: the
  // key an earlier version of the intake derived for the same message.
  std::string legacy_dedupe_key;
  SystemTime received_at;
  std::uint64_t payload_bytes = 0;   // plaintext size
  std::string sealed_payload;        // PayloadCipher output (opaque)
  // InboundEvent::parsed_form sealed with parsedFormAssociatedData(dedupe_key); "" when none.
  std::string sealed_parsed_form;
};

// The associated data that binds a sealed parsed form to its event (and keeps it from being
// opened as the payload, which is sealed with the bare dedupe key).
inline std::string parsedFormAssociatedData(const std::string& dedupe_key) {
  return dedupe_key + "\x1fparsed-form";
}

// A stored event's metadata (no PHI).
struct InboundEventRecord : InboundEventMetadata {
  std::int64_t id = 0;
  std::string dedupe_key;
  SystemTime received_at;
  InboundState state = InboundState::Received;
  std::uint64_t payload_bytes = 0;
  std::int64_t duplicates = 0;       // resends answered from this record
};

struct InboundQuery {
  std::optional<std::string> control_id;
  std::optional<InboundState> state;
  std::optional<SystemTime> received_from;    // received_at >= this
  std::optional<SystemTime> received_before;  // received_at < this
  std::int64_t after_id = 0;         // keyset pagination: ids greater than this
  std::size_t limit = 1000;
};

// Durable, transactional state of the gateway.
//
// Thread-safety: every method may be called concurrently. commitInbound() calls from all
// connections are batched into one transaction by the store's writer (group commit) and each
// returns only after that transaction is durable at the configured level.
// Errors: Unavailable (cannot commit now, or closed: nothing was stored), DeadlineExceeded (the
// deadline passed before the commit; the event may or may not be stored, and a resend is
// de-duplicated), DataLoss (database corrupt), Internal. Never throws.
// The audit trail's records and checkpoints are the AuditStore half of the same store, so an
// audit record commits in the same transaction as the state change it records.
class Store : public AuditStore {
 public:
  Store() = default;
  ~Store() override = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Commits the event with a "received" audit record, or, when its dedupe_key is already
  // stored, counts a duplicate (with a "duplicate" audit record) and returns the earlier id.
  virtual Result<IntakeReceipt> commitInbound(NewInboundEvent event, Deadline deadline) = 0;

  // Called once with one result per event of a batch, in the order the events were given.
  using InboundBatchDone = std::function<void(std::vector<Result<IntakeReceipt>>)>;
  // Commits `events` like commitInbound() each, in one transaction where the store can (an
  // event whose dedupe_key appeared earlier in the same batch is a duplicate of that one), and
  // calls `done` exactly once, after the commit, with one result per event. `done` may run on
  // the caller's thread before this returns or later on a store thread, so it must be cheap and
  // must not call back into the store. The store does not enforce `deadline` once the batch is
  // queued: a caller that stops waiting answers DeadlineExceeded itself (the batch may still
  // commit; a resend is de-duplicated). The default commits one event after the other on the
  // caller's thread.
  virtual void commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                                  InboundBatchDone done) {
    std::vector<Result<IntakeReceipt>> results;
    results.reserve(events.size());
    for (NewInboundEvent& event : events) {
      results.push_back(commitInbound(std::move(event), deadline));
    }
    done(std::move(results));
  }

  virtual Result<std::vector<InboundEventRecord>> listInbound(const InboundQuery& query) = 0;
  virtual Result<InboundEventRecord> getInbound(std::int64_t id) = 0;
  // The sealed payload of an event; `audit` (an operator view) is written in the same transaction.
  virtual Result<std::string> readSealedPayload(std::int64_t id, const AuditEntry& audit) = 0;

  // Drains pending commits and closes; later calls answer Unavailable. Idempotent.
  virtual void close() = 0;
};

using StorePtr = std::shared_ptr<Store>;

}  // namespace gw
