// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditLog.h"

#include <exception>

#include "gateway/audit/Checkpoint.h"
#include "gateway/audit/AuditLeaf.h"

namespace gw {
namespace {

std::string seqText(std::int64_t seq) {
  return "audit record seq=" + std::to_string(seq);
}

// Calls `visit` for each audit record with seq <= `up_to` (all when up_to < 0), in seq order,
// one page at a time. Stops at the first error `visit` returns.
template <typename Visit>
Status forEachRecord(AuditStore& store, std::int64_t up_to, Visit&& visit) {
  std::int64_t after = 0;
  for (;;) {
    GW_ASSIGN_OR_RETURN(std::vector<AuditRecord> page,
                        store.listAudit(after, AuditLog::kPageSize));
    for (const AuditRecord& record : page) {
      if (up_to >= 0 && record.seq > up_to) {
        return Status::ok();
      }
      GW_RETURN_IF_ERROR(visit(record));
      after = record.seq;
    }
    if (page.size() < AuditLog::kPageSize) {
      return Status::ok();
    }
  }
}

}  // namespace

AuditLog::AuditLog(AuditStorePtr store, std::shared_ptr<const AuditSigner> signer)
    : store_(std::move(store)), signer_(std::move(signer)) {}

Result<AuditLog::CheckedCheckpoint> AuditLog::check(const AuditCheckpoint& row) const {
  const std::string what = "audit checkpoint id=" + std::to_string(row.id) + " (size " +
                           std::to_string(row.tree_size) + ")";
  Result<std::string> text = signer_->open(row.note);
  if (!text.ok()) {
    return Status::dataLoss(what + ": " + text.status().message());
  }
  Result<Checkpoint> parsed = parseCheckpoint(*text);
  if (!parsed.ok()) {
    return Status::dataLoss(what + ": signed note is not a checkpoint: " +
                            parsed.status().message());
  }
  if (parsed->origin != origin()) {
    return Status::dataLoss(what + ": origin \"" + parsed->origin + "\" is not this log's \"" +
                            origin() + "\"");
  }
  if (row.tree_size < 0 || parsed->tree_size != static_cast<std::uint64_t>(row.tree_size) ||
      merkle::toHex(parsed->root) != row.root_hash) {
    return Status::dataLoss(what + ": the stored size or root differs from the signed note");
  }
  return CheckedCheckpoint{row.id, parsed->tree_size, parsed->root};
}

Status AuditLog::appendRecord(const AuditRecord& record, std::int64_t expected_seq,
                              MerkleHash& leaf) {
  if (record.seq != expected_seq) {
    return Status::dataLoss(seqText(expected_seq) + ": missing (the next stored record is seq=" +
                            std::to_string(record.seq) + ")");
  }
  GW_RETURN_IF_ERROR(auditLeafHashInto(record.seq, record.entry, scratch_, hex_));
  if (hex_ != record.leaf_hash) {
    return Status::dataLoss(seqText(record.seq) +
                            ": leaf hash mismatch (the record was altered after it was written)");
  }
  leaf = *merkle::fromHex(hex_);
  return Status::ok();
}

Result<AuditVerifyReport> AuditLog::verify() {
  // Checkpoints first (small rows): each must verify, and sizes never shrink.
  std::vector<CheckedCheckpoint> checkpoints;
  AuditVerifyReport report;
  for (std::int64_t after = 0;;) {
    GW_ASSIGN_OR_RETURN(std::vector<AuditCheckpoint> page,
                        store_->listCheckpoints(after, kPageSize));
    for (const AuditCheckpoint& row : page) {
      GW_ASSIGN_OR_RETURN(CheckedCheckpoint checked, check(row));
      if (!checkpoints.empty() && checked.tree_size < checkpoints.back().tree_size) {
        return Status::dataLoss("audit checkpoint id=" + std::to_string(row.id) + ": size " +
                                std::to_string(checked.tree_size) +
                                " is smaller than the earlier checkpoint id=" +
                                std::to_string(checkpoints.back().id) + " (size " +
                                std::to_string(checkpoints.back().tree_size) + ")");
      }
      checkpoints.push_back(checked);
      report.latest = row;
      after = row.id;
    }
    if (page.size() < kPageSize) {
      break;
    }
  }

  // verify() keeps its own state so it can run beside writeCheckpoint().
  MerkleFrontier frontier;
  std::string scratch;
  std::string hex;
  std::size_t next_checkpoint = 0;
  std::uint64_t verified_size = 0;  // the last size whose root matched a checkpoint
  const auto matchCheckpoints = [&]() -> Status {
    while (next_checkpoint < checkpoints.size() &&
           checkpoints[next_checkpoint].tree_size == frontier.size()) {
      const CheckedCheckpoint& c = checkpoints[next_checkpoint];
      if (frontier.root() != c.root) {
        return Status::dataLoss(
            "audit records seq=" + std::to_string(verified_size + 1) + ".." +
            std::to_string(c.tree_size) + ": the tree does not match the signed checkpoint id=" +
            std::to_string(c.id) +
            " (a record in this range was altered together with its leaf hash)");
      }
      verified_size = c.tree_size;
      ++next_checkpoint;
      ++report.checkpoints;
    }
    return Status::ok();
  };
  GW_RETURN_IF_ERROR(matchCheckpoints());  // size-0 checkpoints
  std::int64_t expected_seq = 1;
  const Status walked = forEachRecord(*store_, -1, [&](const AuditRecord& record) -> Status {
    if (record.seq != expected_seq) {
      return Status::dataLoss(seqText(expected_seq) +
                              ": missing (the next stored record is seq=" +
                              std::to_string(record.seq) + ")");
    }
    GW_RETURN_IF_ERROR(auditLeafHashInto(record.seq, record.entry, scratch, hex));
    if (hex != record.leaf_hash) {
      return Status::dataLoss(seqText(record.seq) +
                              ": leaf hash mismatch (the record was altered after it was written)");
    }
    frontier.append(*merkle::fromHex(hex));
    ++expected_seq;
    return matchCheckpoints();
  });
  GW_RETURN_IF_ERROR(walked);
  if (next_checkpoint < checkpoints.size()) {
    const CheckedCheckpoint& c = checkpoints[next_checkpoint];
    return Status::dataLoss(seqText(expected_seq) + ": missing (the table ends at seq=" +
                            std::to_string(expected_seq - 1) + " but checkpoint id=" +
                            std::to_string(c.id) + " covers " + std::to_string(c.tree_size) +
                            " records: truncated)");
  }
  report.records = expected_seq - 1;
  report.root = frontier.root();
  return report;
}

Result<AuditInclusionProof> AuditLog::prove(std::uint64_t index) {
  GW_ASSIGN_OR_RETURN(std::optional<AuditCheckpoint> latest, store_->latestCheckpoint());
  if (!latest) {
    return Status::notFound("no audit checkpoint has been written yet");
  }
  GW_ASSIGN_OR_RETURN(CheckedCheckpoint checkpoint, check(*latest));
  if (index >= checkpoint.tree_size) {
    return Status::notFound("leaf index " + std::to_string(index) +
                            " is not covered by the latest checkpoint (size " +
                            std::to_string(checkpoint.tree_size) +
                            "); a later checkpoint will cover it");
  }
  AuditInclusionProof proof;
  proof.index = index;
  proof.seq = static_cast<std::int64_t>(index) + 1;
  proof.tree_size = checkpoint.tree_size;
  proof.root = checkpoint.root;
  proof.checkpoint_note = latest->note;

  MerkleRangeHasher ranges(merkle::inclusionPath(index, checkpoint.tree_size));
  MerkleFrontier frontier;
  std::string scratch;
  std::string hex;
  std::int64_t expected_seq = 1;
  const Status walked = forEachRecord(
      *store_, static_cast<std::int64_t>(checkpoint.tree_size),
      [&](const AuditRecord& record) -> Status {
        if (record.seq != expected_seq) {
          return Status::dataLoss(seqText(expected_seq) +
                                  ": missing (the next stored record is seq=" +
                                  std::to_string(record.seq) + ")");
        }
        GW_RETURN_IF_ERROR(auditLeafHashInto(record.seq, record.entry, scratch, hex));
        if (hex != record.leaf_hash) {
          return Status::dataLoss(
              seqText(record.seq) +
              ": leaf hash mismatch (the record was altered after it was written)");
        }
        const MerkleHash leaf = *merkle::fromHex(hex);
        const std::uint64_t leaf_index = static_cast<std::uint64_t>(record.seq - 1);
        if (leaf_index == index) {
          proof.leaf_hash = leaf;
        }
        ranges.add(leaf_index, leaf);
        frontier.append(leaf);
        ++expected_seq;
        return Status::ok();
      });
  GW_RETURN_IF_ERROR(walked);
  if (frontier.size() < checkpoint.tree_size) {
    return Status::dataLoss(seqText(expected_seq) + ": missing (the table ends at seq=" +
                            std::to_string(expected_seq - 1) + " but checkpoint id=" +
                            std::to_string(checkpoint.id) + " covers " +
                            std::to_string(checkpoint.tree_size) + " records: truncated)");
  }
  if (frontier.root() != checkpoint.root) {
    return Status::dataLoss("audit records seq=1.." + std::to_string(checkpoint.tree_size) +
                            ": the tree does not match the signed checkpoint id=" +
                            std::to_string(checkpoint.id));
  }
  GW_ASSIGN_OR_RETURN(proof.path, ranges.hashes());
  if (!merkle::verifyInclusion(index, proof.tree_size, proof.leaf_hash, proof.path, proof.root)) {
    return Status::internal("the inclusion proof just built does not verify (a bug)");
  }
  return proof;
}

Result<std::optional<AuditCheckpoint>> AuditLog::writeCheckpoint() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!loaded_) {
    GW_ASSIGN_OR_RETURN(std::optional<AuditCheckpoint> latest, store_->latestCheckpoint());
    if (latest) {
      GW_ASSIGN_OR_RETURN(last_checkpoint_, check(*latest));
    }
    loaded_ = true;
  }
  const auto anchorMatches = [&]() -> Status {
    if (last_checkpoint_ && frontier_.size() == last_checkpoint_->tree_size &&
        frontier_.root() != last_checkpoint_->root) {
      return Status::dataLoss("audit records seq=1.." + std::to_string(frontier_.size()) +
                              " no longer match the signed checkpoint id=" +
                              std::to_string(last_checkpoint_->id) + "; nothing signed");
    }
    return Status::ok();
  };
  GW_RETURN_IF_ERROR(anchorMatches());
  for (;;) {
    const std::int64_t after = static_cast<std::int64_t>(frontier_.size());
    GW_ASSIGN_OR_RETURN(std::vector<AuditRecord> page, store_->listAudit(after, kPageSize));
    for (const AuditRecord& record : page) {
      MerkleHash leaf{};
      GW_RETURN_IF_ERROR(appendRecord(record, static_cast<std::int64_t>(frontier_.size()) + 1,
                                      leaf).withContext("nothing signed"));
      frontier_.append(leaf);
      GW_RETURN_IF_ERROR(anchorMatches());
    }
    if (page.size() < kPageSize) {
      break;
    }
  }
  if (last_checkpoint_ && frontier_.size() < last_checkpoint_->tree_size) {
    return Status::dataLoss(seqText(static_cast<std::int64_t>(frontier_.size()) + 1) +
                            ": missing (the table ends before the " +
                            std::to_string(last_checkpoint_->tree_size) +
                            " records of checkpoint id=" + std::to_string(last_checkpoint_->id) +
                            "); nothing signed");
  }
  if (frontier_.size() == 0 ||
      (last_checkpoint_ && frontier_.size() == last_checkpoint_->tree_size)) {
    return std::optional<AuditCheckpoint>();
  }
  Checkpoint head;
  head.origin = origin();
  head.tree_size = frontier_.size();
  head.root = frontier_.root();
  GW_ASSIGN_OR_RETURN(std::string text, formatCheckpoint(head));
  AuditCheckpoint row;
  row.tree_size = static_cast<std::int64_t>(head.tree_size);
  row.root_hash = merkle::toHex(head.root);
  GW_ASSIGN_OR_RETURN(row.note, signer_->sign(text));
  GW_ASSIGN_OR_RETURN(row.id, store_->appendCheckpoint(row));
  last_checkpoint_ = CheckedCheckpoint{row.id, head.tree_size, head.root};
  return std::optional<AuditCheckpoint>(std::move(row));
}

AuditCheckpointer::AuditCheckpointer(std::shared_ptr<AuditLog> log, std::chrono::seconds interval,
                                     ResultListener on_result)
    : log_(std::move(log)), interval_(interval), on_result_(std::move(on_result)) {}

AuditCheckpointer::~AuditCheckpointer() {
  // Without stop() (an error path in the daemon) only the thread ends; no final checkpoint.
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void AuditCheckpointer::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!thread_.joinable() && !stopping_) {
    thread_ = std::thread([this] { run(); });
  }
}

void AuditCheckpointer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
      return;
    }
    lock.unlock();
    report(log_->writeCheckpoint());
    lock.lock();
  }
}

void AuditCheckpointer::report(const Result<std::optional<AuditCheckpoint>>& result) {
  if (!on_result_) {
    return;
  }
  std::optional<AuditCheckpoint> written;
  if (result.ok()) {
    written = *result;
  }
  try {
    on_result_(result.status(), written);
  } catch (const std::exception&) {  // a listener only logs; never let it end the thread
  }
}

Status AuditCheckpointer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return Status::ok();
    }
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  Result<std::optional<AuditCheckpoint>> final_checkpoint = log_->writeCheckpoint();
  report(final_checkpoint);
  return final_checkpoint.status();
}

}  // namespace gw
