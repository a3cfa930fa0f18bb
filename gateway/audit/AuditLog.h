// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/audit/AuditSigner.h"
#include "gateway/audit/MerkleTree.h"

namespace gw {

// What AuditLog::verify() checked.
struct AuditVerifyReport {
  std::int64_t records = 0;                      // audit records, seq 1..records
  MerkleHash root{};                             // Merkle tree hash over all of them
  std::int64_t checkpoints = 0;                  // signed checkpoints verified
  std::optional<AuditCheckpoint> latest;         // the newest checkpoint, if any
};

// An inclusion proof (RFC 6962 section 2.1.1) of one audit record against a signed checkpoint.
struct AuditInclusionProof {
  std::uint64_t index = 0;        // leaf index, from 0 (the record's seq is index + 1)
  std::int64_t seq = 0;
  std::uint64_t tree_size = 0;    // the checkpoint's size
  MerkleHash leaf_hash{};
  MerkleHash root{};              // the checkpoint's root
  std::vector<MerkleHash> path;   // audit path, from the leaf up
  std::string checkpoint_note;    // the signed checkpoint the proof is against
};

// The tamper-evident view of the store's audit records (RFC 6962 Merkle tree over their leaf
// hashes, see gateway/audit/AuditLeaf.h) and the signed checkpoints over it (C2SP
// tlog-checkpoint notes, signed by `signer`, whose key name is the log's origin).
//
// Records are read through Store::listAudit() in pages and never held all at once: verify() and
// prove() use O(log n) memory. Every leaf hash is recomputed from the record's fields; the
// stored leaf_hash column must agree.
//
// Thread-safety: every method may be called concurrently (writeCheckpoint() calls are
// serialised). The store must outlive the log. Never throws.
class AuditLog {
 public:
  static constexpr std::size_t kPageSize = 4096;

  AuditLog(AuditStorePtr store, std::shared_ptr<const AuditSigner> signer);

  // Recomputes every leaf and the tree, and checks each checkpoint's signature, its row and its
  // root at its size. DataLoss names the first thing that no longer matches:
  //   "audit record seq=K: leaf hash mismatch ..."   a field (or the leaf hash) was edited
  //   "audit record seq=K: missing ..."              deleted (a gap) or truncated (the table
  //                                                  ends before the last checkpoint's size)
  //   "audit records seq=A..B: ..."                  fields and leaf hash rewritten together: the
  //                                                  root at checkpoint size B differs
  //   "audit checkpoint id=X: ..."                   bad signature, row/note mismatch, rollback
  // Reordered records show as a leaf hash mismatch at the first moved record (seq is hashed).
  // Other errors come from the store.
  Result<AuditVerifyReport> verify();

  // The inclusion proof of leaf `index` against the latest checkpoint (verified before it is
  // returned). NotFound when there is no checkpoint or it does not cover `index` yet; DataLoss
  // as in verify() when the records up to the checkpoint no longer match it.
  Result<AuditInclusionProof> prove(std::uint64_t index);

  // Reads the records appended since the previous call (on the first call: all of them, checking
  // the tree against the latest stored checkpoint first) and, when the tree grew past the latest
  // checkpoint, signs and stores a new one, which it returns; nullopt when the tree did not grow.
  // DataLoss (nothing signed) when the records no longer match the latest checkpoint or a leaf
  // hash, so a tampered history is never signed over.
  Result<std::optional<AuditCheckpoint>> writeCheckpoint();

  const std::string& origin() const { return signer_->keyName(); }
  // The signed-note verifier key third parties need to check the checkpoints.
  std::string verifierKey() const { return signer_->verifierKey(); }

 private:
  // A checkpoint row whose note was opened and matched against the row.
  struct CheckedCheckpoint {
    std::int64_t id = 0;
    std::uint64_t tree_size = 0;
    MerkleHash root{};
  };
  Result<CheckedCheckpoint> check(const AuditCheckpoint& row) const;
  Status appendRecord(const AuditRecord& record, std::int64_t expected_seq, MerkleHash& leaf);

  const AuditStorePtr store_;
  const std::shared_ptr<const AuditSigner> signer_;

  // writeCheckpoint() state, guarded by mu_.
  std::mutex mu_;
  bool loaded_ = false;
  std::optional<CheckedCheckpoint> last_checkpoint_;
  MerkleFrontier frontier_;
  std::string scratch_;
  std::string hex_;
};

// The daemon's audit checkpoint timer (DESIGN.md section 7): every `interval` it calls
// AuditLog::writeCheckpoint() on its own thread; stop() ends the thread and writes a final
// checkpoint (call it after the store has drained, before it closes). `on_result` (optional) is
// called on that thread with each outcome, for logging: OK with the checkpoint written or
// nullopt, or the error.
class AuditCheckpointer {
 public:
  using ResultListener =
      std::function<void(const Status& status, const std::optional<AuditCheckpoint>& written)>;

  AuditCheckpointer(std::shared_ptr<AuditLog> log, std::chrono::seconds interval,
                    ResultListener on_result = nullptr);
  ~AuditCheckpointer();
  AuditCheckpointer(const AuditCheckpointer&) = delete;
  AuditCheckpointer& operator=(const AuditCheckpointer&) = delete;

  void start();
  // Stops the timer (waiting for a checkpoint in progress) and writes the final checkpoint;
  // returns its status. Later calls do nothing and return OK.
  Status stop();

 private:
  void run();
  void report(const Result<std::optional<AuditCheckpoint>>& result);

  const std::shared_ptr<AuditLog> log_;
  const std::chrono::seconds interval_;
  const ResultListener on_result_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace gw
