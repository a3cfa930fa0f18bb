// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw {

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

// The append-only audit trail of a store: records (written by the store in the same transaction
// as each state change, or standalone for operator actions) and the signed checkpoints over them.
// gateway/audit builds the Merkle tree, signs and verifies on top of this.
//
// Thread-safety: every method may be called concurrently. Errors: Unavailable (closed or cannot
// write now), DataLoss (database corrupt), Internal. Never throws.
class AuditStore {
 public:
  AuditStore() = default;
  virtual ~AuditStore() = default;
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  // Records in seq order, seq > after_seq, at most `limit`.
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
};

using AuditStorePtr = std::shared_ptr<AuditStore>;

}  // namespace gw
