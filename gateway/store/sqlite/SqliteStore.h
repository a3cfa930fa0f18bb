// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/api/Clock.h"
#include "gateway/api/Store.h"

struct sqlite3;

namespace gw {

namespace sqlite {
class Statement;
}

// A connection lent to store extensions (e.g. SqliteMessageStore) for one piece of work: on the
// writer inside its group-commit transaction, or on the read connection.
class SqliteSession {
 public:
  virtual ~SqliteSession() = default;
  virtual sqlite3* db() = 0;
  // A statement prepared once per connection and kept; reset it after use (ResetOnExit).
  virtual Result<sqlite::Statement*> statement(std::string_view sql) = 0;
  // The store clock's now() in ms since the Unix epoch (the same for the whole batch).
  virtual std::int64_t nowMillis() const = 0;
  // Appends an audit record in the current transaction (writer only; Internal on the reader).
  // An entry.time left at the epoch is set to nowMillis().
  virtual Status appendAudit(const AuditEntry& entry) = 0;
};

using SqliteWork = std::function<Status(SqliteSession&)>;

// Settings of the embedded SQLite store ("store" in gateway.json).
struct SqliteStoreSettings {
  // Database file. Created with mode 0600 (and missing parent directories with 0700).
  std::string path;
  // "process": a commit survives a crash or kill -9 of the gateway (WAL, synchronous=NORMAL);
  // "power": it also survives an OS crash or power loss (synchronous=FULL, one fsync per batch).
  std::string durability = "process";
  // Most events (and payload reads) written in one group-commit transaction (a batch from
  // commitInboundBatch() is never split, so one larger than this is written alone).
  int max_batch = 1024;
  // Most events waiting for the writer; beyond it commitInbound() answers Unavailable.
  int max_queue = 10000;
  // How long a statement waits for a lock held by another connection or process, in ms.
  int busy_timeout_ms = 5000;
};

// Store on SQLite in WAL mode (DESIGN.md section 4).
//
// One writer thread owns the write connection and commits in groups: it takes up to max_batch
// queued requests, runs them in one BEGIN IMMEDIATE transaction (each event with its audit
// record) and completes every caller after COMMIT. If any statement or the COMMIT fails, the
// whole batch is rolled back and every caller in it gets Unavailable (DataLoss if the database
// is corrupt): nothing is half-stored. Reads (listInbound, getInbound, listAudit) use a second,
// query-only connection guarded by a mutex, which WAL lets run during writes.
// readSealedPayload() goes through the writer so its audit record commits with the read.
// WAL checkpoints (copying the WAL into the database file) run on a background thread with its
// own connection, so commits do not wait for them.
//
// The schema is versioned by numbered migrations (table schema_migrations), applied at open();
// a database newer than this code is refused. Only metadata is stored in clear: the payload
// arrives sealed and is kept as an opaque blob.
//
// Thread-safety: every method may be called from any thread. Lifecycle: open() starts the
// writer; close() (also run by the destructor) drains it. Never throws.
class SqliteStore final : public Store {
 public:
  // Opens (creating and migrating as needed) the database and starts the writer. Errors:
  // InvalidArgument (settings), Unavailable (cannot open/create the file, locked by another
  // process past busy_timeout_ms), DataLoss (not a database, corrupt, or a newer schema),
  // Internal.
  static Result<std::shared_ptr<SqliteStore>> open(const SqliteStoreSettings& settings,
                                                   ClockPtr clock);

  ~SqliteStore() override;

  // Store
  // Errors besides the Store contract: InvalidArgument (empty dedupe_key), Unavailable "store
  // queue full" (max_queue requests already waiting) and "store is closing".
  Result<IntakeReceipt> commitInbound(NewInboundEvent event, Deadline deadline) override;
  // One request in the group-commit queue (its events count towards max_batch and max_queue;
  // a batch is never split across transactions). With durability "process" the caller commits
  // it on its own thread when nobody is writing (no thread hop; `done` runs before this
  // returns); with "power" the writer thread commits it and runs `done`, so the caller is not
  // blocked by the fsync. A full queue or a closing store answers every event Unavailable.
  void commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                          InboundBatchDone done) override;
  Result<std::vector<InboundEventRecord>> listInbound(const InboundQuery& query) override;
  // NotFound for an unknown id.
  Result<InboundEventRecord> getInbound(std::int64_t id) override;
  // NotFound for an unknown id (and then no audit record). An `audit.time` left at the epoch is
  // set to the clock's now().
  Result<std::string> readSealedPayload(std::int64_t id, const AuditEntry& audit) override;
  Result<std::vector<AuditRecord>> listAudit(std::int64_t after_seq, std::size_t limit) override;
  // Goes through the writer like a commit (its own group-commit batch slot).
  Result<std::int64_t> appendAudit(const AuditEntry& entry) override;
  // Through the writer as well; InvalidArgument for a negative tree_size.
  Result<std::int64_t> appendCheckpoint(const AuditCheckpoint& checkpoint) override;
  Result<std::vector<AuditCheckpoint>> listCheckpoints(std::int64_t after_id,
                                                       std::size_t limit) override;
  Result<std::optional<AuditCheckpoint>> latestCheckpoint() override;
  void close() override;

  // Extensions: runs `work` inside the writer's next group-commit transaction, in a SAVEPOINT of
  // its own: an error from `work` undoes only its changes and is returned; OK means committed
  // (durable at the configured level). Unavailable when the store is closing or its queue is full.
  Status write(SqliteWork work);
  // Runs `work` on the read connection (serialised with the store's other reads).
  Status read(const SqliteWork& work);

  // The applied schema version (the latest this code knows).
  int schemaVersion() const;

  // Test hooks: while held, the writer takes no request (close() releases it), so a test can
  // queue several requests and have them committed in one batch.
  void holdWriterForTest();
  void releaseWriterForTest();
  // Blocks until at least `count` requests are queued.
  void waitUntilQueuedForTest(std::size_t count);

 private:
  class Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace gw
