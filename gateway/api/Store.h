// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/InboundEvent.h"
#include "gateway/api/Result.h"

namespace gw {

// States of an inbound event (DESIGN.md section 2).
enum class InboundState { Received, Mapped, Held, Ignored };
std::string_view inboundStateName(InboundState state);

// An event ready to be committed: metadata in clear, payload already sealed by a PayloadCipher.
struct NewInboundEvent : InboundEventMetadata {
  std::string dedupe_key;            // unique per committed event (hex digest)
  SystemTime received_at;
  std::uint64_t payload_bytes = 0;   // plaintext size
  std::string sealed_payload;        // PayloadCipher output (opaque)
};

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
  std::int64_t after_id = 0;         // keyset pagination: ids greater than this
  std::size_t limit = 1000;
};

// One audit record (no PHI in any field). The store writes it in the same transaction as the
// state change it records.
struct AuditEntry {
  SystemTime time;
  std::string actor;      // "listener:adt", "operator:alice", "system"
  std::string action;     // "received", "duplicate", "viewed_payload", ...
  std::string object;     // "inbound_event:42"
  std::string outcome;    // "ok" or a status code name
  std::string source;     // peer address when there is one
  std::string reason;     // free text without PHI
};

struct AuditRecord {
  std::int64_t seq = 0;
  AuditEntry entry;
  std::string leaf_hash;  // hex SHA-256(0x00 || canonical record), RFC 6962 leaf
};

// A signed tree head over the first tree_size audit records (gateway/audit writes and checks it).
struct AuditCheckpoint {
  std::int64_t id = 0;         // assigned by the store, increasing in append order
  std::int64_t tree_size = 0;  // records covered: seq 1..tree_size
  std::string root_hash;       // lower-case hex RFC 6962 Merkle tree hash of those records
  std::string note;            // the C2SP signed checkpoint note (text and signature lines)
  SystemTime created_at;
};

// Durable, transactional state of the gateway.
//
// Thread-safety: every method may be called concurrently. commitInbound() calls from all
// connections are batched into one transaction by the store's writer (group commit) and each
// returns only after that transaction is durable at the configured level.
// Errors: Unavailable (cannot commit now, or closed: nothing was stored), DeadlineExceeded (the
// deadline passed before the commit; the event may or may not be stored, and a resend is
// de-duplicated), DataLoss (database corrupt), Internal. Never throws.
class Store {
 public:
  Store() = default;
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Commits the event with a "received" audit record, or, when its dedupe_key is already
  // stored, counts a duplicate (with a "duplicate" audit record) and returns the earlier id.
  virtual Result<IntakeReceipt> commitInbound(NewInboundEvent event, Deadline deadline) = 0;

  virtual Result<std::vector<InboundEventRecord>> listInbound(const InboundQuery& query) = 0;
  virtual Result<InboundEventRecord> getInbound(std::int64_t id) = 0;
  // The sealed payload of an event; `audit` (an operator view) is written in the same transaction.
  virtual Result<std::string> readSealedPayload(std::int64_t id, const AuditEntry& audit) = 0;

  virtual Result<std::vector<AuditRecord>> listAudit(std::int64_t after_seq, std::size_t limit) = 0;
  // Appends a standalone audit record (an operator action with no other state change, e.g.
  // "key_rotated") in its own transaction and returns its seq. An `entry.time` left at the
  // epoch is set to the store's clock.
  virtual Result<std::int64_t> appendAudit(const AuditEntry& entry) = 0;

  // Audit checkpoints are append-only like the records: appendCheckpoint() stores one as given
  // (id and, when left at the epoch, created_at are filled by the store) and returns its id;
  // listCheckpoints() pages through them in id order; latestCheckpoint() is the one with the
  // highest id, nullopt when none was written yet. The store does not check the note: that is
  // gateway/audit's job.
  virtual Result<std::int64_t> appendCheckpoint(const AuditCheckpoint& checkpoint) = 0;
  virtual Result<std::vector<AuditCheckpoint>> listCheckpoints(std::int64_t after_id,
                                                               std::size_t limit) = 0;
  virtual Result<std::optional<AuditCheckpoint>> latestCheckpoint() = 0;

  // Drains pending commits and closes; later calls answer Unavailable. Idempotent.
  virtual void close() = 0;
};

using StorePtr = std::shared_ptr<Store>;

}  // namespace gw
