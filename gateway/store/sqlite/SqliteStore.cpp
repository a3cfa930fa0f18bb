// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteStore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "gateway/audit/AuditLeaf.h"
#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteSchema.h"

namespace gw {
namespace {

using sqlite::ResetOnExit;
using sqlite::sqliteError;
using sqlite::Statement;

// WAL checkpoints: a background thread copies the WAL into the database file once it holds
// kCheckpointFrames frames (SQLite's default auto-checkpoint size), so commits rarely wait for
// that copy and its fsync. Under constant writes the background run never catches up with the
// end of the WAL, and the WAL only restarts from its beginning after a checkpoint that copied
// everything; so the writer itself finishes the checkpoint when the background run has left at
// most kFinishInlineFrames (cheap), or, once the WAL reaches kForceCheckpointFrames, waits for the
// background run to end and copies the rest (a bound on the WAL size, ~16 MiB). SQLite answers
// BUSY to a checkpoint while another one runs, so runs are serialised by checkpoint_run_mu_.
constexpr int kCheckpointFrames = 1000;
constexpr int kFinishInlineFrames = 64;
constexpr int kForceCheckpointFrames = 4000;

constexpr const char* kEventColumns =
    "id, source, dedupe_key, listener, peer, sending_application, sending_facility, control_id, "
    "message_type, version, received_at, state, payload_bytes, duplicates";

struct CommitRequest {
  NewInboundEvent event;
  std::promise<Result<IntakeReceipt>> done;
};

// Several events from one caller, committed in one transaction, answered with one callback.
struct BatchCommitRequest {
  std::vector<NewInboundEvent> events;
  // Empty when every event is valid; else the error of each invalid event (OK for the others),
  // which is answered without touching the database.
  std::vector<Status> invalid;
  Store::InboundBatchDone done;
};

struct PayloadRequest {
  std::int64_t id = 0;
  AuditEntry audit;
  std::promise<Result<std::string>> done;
};

struct AuditRequest {
  AuditEntry entry;
  std::promise<Result<std::int64_t>> done;
};

struct CheckpointRequest {
  AuditCheckpoint checkpoint;
  std::promise<Result<std::int64_t>> done;
};

// Work of a store extension (SqliteStore::write), run in the batch transaction.
struct WorkRequest {
  SqliteWork work;
  std::promise<Status> done;
};

using Request = std::variant<CommitRequest, BatchCommitRequest, PayloadRequest, AuditRequest,
                             CheckpointRequest, WorkRequest>;

// Events a request adds to a transaction (max_batch and max_queue count events).
std::size_t weightOf(const Request& request) {
  const auto* batch = std::get_if<BatchCommitRequest>(&request);
  return batch != nullptr ? std::max<std::size_t>(batch->events.size(), 1) : 1;
}

// Statements of store extensions, prepared once per connection, keyed by their SQL text.
using StatementCache = std::map<std::string, Statement, std::less<>>;

Result<Statement*> cachedStatement(sqlite3* db, StatementCache& cache, std::string_view sql) {
  const auto it = cache.find(sql);
  if (it != cache.end()) {
    return &it->second;
  }
  GW_ASSIGN_OR_RETURN(Statement stmt, Statement::prepare(db, sql));
  return &cache.emplace(std::string(sql), std::move(stmt)).first->second;
}

// What one request produced inside the batch transaction; handed to its caller after COMMIT.
struct Outcome {
  Status status;
  IntakeReceipt receipt;
  std::vector<IntakeReceipt> receipts;  // of a BatchCommitRequest, one per event
  std::string payload;
  std::int64_t id = 0;  // seq of an appended audit record, id of an appended checkpoint
};

Status createParentDirectories(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::filesystem::path partial;
  for (const auto& part : parent) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::unavailable("cannot create directory " + partial.string() + ": " +
                                 std::strerror(errno));
    }
  }
  return Status::ok();
}

// Creates the database file owner-only before SQLite does (SQLite would use 0644 minus the
// umask); the -wal and -shm files inherit the database file's mode.
Status createDatabaseFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return Status::ok();
  }
  if (errno == EEXIST) {
    return Status::ok();
  }
  const std::string message = "cannot create database " + path + ": " + std::strerror(errno);
  return errno == EACCES || errno == EPERM ? Status::permissionDenied(message)
                                           : Status::unavailable(message);
}

Result<EventSource> parseSource(const std::string& text, std::int64_t id) {
  if (text == eventSourceName(EventSource::Hl7v2)) {
    return EventSource::Hl7v2;
  }
  if (text == eventSourceName(EventSource::Fhir)) {
    return EventSource::Fhir;
  }
  return Status::dataLoss("inbound event " + std::to_string(id) + " has unknown source '" + text +
                          "'");
}

Result<InboundState> parseState(const std::string& text, std::int64_t id) {
  for (const InboundState state :
       {InboundState::Received, InboundState::Mapped, InboundState::Held, InboundState::Ignored}) {
    if (text == inboundStateName(state)) {
      return state;
    }
  }
  return Status::dataLoss("inbound event " + std::to_string(id) + " has unknown state '" + text +
                          "'");
}

// Reads a row selected with kEventColumns.
Result<InboundEventRecord> readEvent(const Statement& row) {
  InboundEventRecord r;
  r.id = row.columnInt(0);
  GW_ASSIGN_OR_RETURN(r.source, parseSource(row.columnText(1), r.id));
  r.dedupe_key = row.columnText(2);
  r.listener = row.columnText(3);
  r.peer = row.columnText(4);
  r.sending_application = row.columnText(5);
  r.sending_facility = row.columnText(6);
  r.control_id = row.columnText(7);
  r.message_type = row.columnText(8);
  r.version = row.columnText(9);
  r.received_at = fromUnixMillis(row.columnInt(10));
  GW_ASSIGN_OR_RETURN(r.state, parseState(row.columnText(11), r.id));
  r.payload_bytes = static_cast<std::uint64_t>(row.columnInt(12));
  r.duplicates = row.columnInt(13);
  return r;
}

std::int64_t clampLimit(std::size_t limit) {
  return limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(limit);
}

Status prepareInto(sqlite3* db, Statement& stmt, const std::string& sql) {
  GW_ASSIGN_OR_RETURN(stmt, Statement::prepare(db, sql));
  return Status::ok();
}

// Applies the per-connection settings every connection needs.
Status configureConnection(sqlite3* db, const SqliteStoreSettings& settings) {
  const int rc = sqlite3_busy_timeout(db, settings.busy_timeout_ms);
  if (rc != SQLITE_OK) {
    return sqliteError(db, rc, "cannot set busy_timeout");
  }
  GW_RETURN_IF_ERROR(sqlite::exec(db, "PRAGMA foreign_keys=ON", "cannot enable foreign keys"));
  GW_RETURN_IF_ERROR(sqlite::exec(db, "PRAGMA trusted_schema=OFF", "cannot set trusted_schema"));
  // Deleted content (expired messages, purged payloads) is overwritten in the database file, not
  // just unlinked from the b-tree, so shredded ciphertext does not linger in free pages.
  GW_RETURN_IF_ERROR(sqlite::exec(db, "PRAGMA secure_delete=ON", "cannot set secure_delete"));
  return Status::ok();
}

}  // namespace

class SqliteStore::Impl {
 public:
  Impl(SqliteStoreSettings settings, ClockPtr clock)
      : settings_(std::move(settings)), clock_(std::move(clock)) {}
  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status open();
  void start() {
    writer_ = std::thread([this] { writerLoop(); });
    checkpointer_ = std::thread([this] { checkpointerLoop(); });
  }
  void close();

  Result<IntakeReceipt> commitInbound(NewInboundEvent event, Deadline deadline);
  void commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                          Store::InboundBatchDone done);
  Result<std::string> readSealedPayload(std::int64_t id, const AuditEntry& audit);
  Result<std::vector<InboundEventRecord>> listInbound(const InboundQuery& query);
  Result<InboundEventRecord> getInbound(std::int64_t id);
  Result<std::vector<AuditRecord>> listAudit(std::int64_t after_seq, std::size_t limit);
  Result<std::int64_t> appendStandaloneAudit(const AuditEntry& entry);
  Result<std::int64_t> appendCheckpoint(const AuditCheckpoint& checkpoint);
  Result<std::vector<AuditCheckpoint>> listCheckpoints(std::int64_t after_id, std::size_t limit);
  Result<std::optional<AuditCheckpoint>> latestCheckpoint();

  Status write(SqliteWork work);
  Status read(const SqliteWork& work);

  int schemaVersion() const { return schema_version_; }
  void holdWriter(bool held);
  void waitUntilQueued(std::size_t count);

 private:
  // Queues a request unless closing or full; notifies the writer.
  // Queues a request; wakes the writer thread only when asked (a commit first tries to lead).
  // Moves from `request` only when it is queued.
  Status enqueue(Request&& request, bool wake_writer);
  // Takes up to max_batch queued requests into batch_ and marks writing_; false when none.
  // Called with mu_ held.
  bool takeBatch();
  // Runs the queued batch on the calling thread when nobody is writing.
  void leadCommit();
  // Runs batch_, then releases writing_ and wakes the writer if more is queued or closing.
  void finishBatch();
  void writerLoop();
  void runBatch();
  Status runTransaction(std::int64_t now_ms);
  Status commitEvent(const NewInboundEvent& e, IntakeReceipt& receipt, std::int64_t now_ms);
  // Runs `query` (SELECT id ...) with `args`; sets `id` and `found` when it yields a row.
  Status findEvent(Statement& query, std::initializer_list<std::string_view> args,
                   std::int64_t& id, bool& found);
  // Answers a finished batch request (`failure` is the whole transaction's).
  static void completeBatch(BatchCommitRequest& batch, Outcome& outcome, const Status& failure);
  Status readPayload(PayloadRequest& request, Outcome& outcome, std::int64_t now_ms);
  Status runRequest(Request& request, Outcome& outcome, std::int64_t now_ms);
  Status runWork(WorkRequest& request, Outcome& outcome, std::int64_t now_ms);
  Status insertCheckpoint(const AuditCheckpoint& checkpoint, Outcome& outcome, std::int64_t now_ms);
  Status appendAudit(const AuditEntry& entry);
  Status stepDone(Statement& stmt, std::string_view what);
  // sqlite3_wal_hook callback, run by the writer after each commit.
  static int onWalCommit(void* self, sqlite3* db, const char* name, int frames);
  void checkpointerLoop();

  const SqliteStoreSettings settings_;
  const ClockPtr clock_;
  // commitInboundBatch() runs the commit on the caller's thread when nobody is writing and the
  // commit does not wait for an fsync ("process"); with "power" the writer thread commits, so
  // the caller (an adapter's I/O thread) keeps reading while the WAL is synced.
  const bool lead_batches_ = settings_.durability != "power";
  int schema_version_ = 0;

  // Queue between callers and the writer.
  std::mutex mu_;
  std::condition_variable work_cv_;    // the writer waits for work
  std::condition_variable queued_cv_;  // waitUntilQueued() waits for requests
  std::deque<Request> queue_;
  std::size_t queued_events_ = 0;  // sum of weightOf() over queue_
  bool closing_ = false;
  bool held_ = false;
  // A batch is being written, by the writer thread or by a caller leading the commit. Whoever
  // holds it owns write_db_ and batch_ (SQLite is opened NOMUTEX: one user at a time).
  bool writing_ = false;

  std::mutex close_mu_;  // serialises close()
  std::thread writer_;

  // Owned by the writer thread once started (by open()/close() before and after it).
  sqlite::Database write_db_;
  Statement begin_;
  Statement max_seq_;  // the audit sequence, read again in every transaction
  Statement commit_;
  Statement rollback_;
  Statement find_by_key_;
  Statement find_by_legacy_key_;
  Statement insert_event_;
  Statement count_duplicate_;
  Statement insert_audit_;
  Statement read_payload_;
  Statement insert_checkpoint_;
  std::int64_t next_seq_ = 1;
  StatementCache write_cache_;  // extensions' statements on write_db_
  std::vector<Request> batch_;
  std::vector<Outcome> outcomes_;
  AuditEntry audit_;  // reused for the records the writer makes
  std::string leaf_scratch_;
  std::string leaf_hex_;

  // The background checkpointer and its connection.
  std::thread checkpointer_;
  sqlite::Database checkpoint_db_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_requested_ = false;
  bool checkpoint_stop_ = false;
  std::atomic<int> checkpointed_frames_{0};  // WAL frames copied by the last background run
  std::mutex checkpoint_run_mu_;             // held while any checkpoint runs

  // The read connection.
  std::mutex read_mu_;
  bool read_closed_ = false;
  sqlite::Database read_db_;
  Statement get_event_;
  Statement list_all_;
  Statement list_by_control_id_;
  Statement list_by_state_;
  Statement list_by_both_;
  Statement list_audit_;
  Statement list_checkpoints_;
  Statement latest_checkpoint_;
  StatementCache read_cache_;  // extensions' statements on read_db_
};

Status SqliteStore::Impl::open() {
  const SqliteStoreSettings& s = settings_;
  if (s.path.empty() || s.path == ":memory:") {
    return Status::invalidArgument("store path must name a database file");
  }
  if (s.durability != "process" && s.durability != "power") {
    return Status::invalidArgument("store durability must be \"process\" or \"power\", not \"" +
                                   s.durability + "\"");
  }
  if (s.max_batch < 1 || s.max_queue < 1 || s.busy_timeout_ms < 0) {
    return Status::invalidArgument(
        "store max_batch and max_queue must be at least 1, busy_timeout_ms at least 0");
  }
  GW_RETURN_IF_ERROR(createParentDirectories(s.path));
  GW_RETURN_IF_ERROR(createDatabaseFile(s.path));

  GW_ASSIGN_OR_RETURN(write_db_, sqlite::openDatabase(s.path));
  sqlite3* db = write_db_.get();
  GW_RETURN_IF_ERROR(configureConnection(db, s));
  {
    GW_ASSIGN_OR_RETURN(Statement wal, Statement::prepare(db, "PRAGMA journal_mode=WAL"));
    const int rc = wal.step();
    if (rc != SQLITE_ROW) {
      return sqliteError(db, rc, "cannot open database " + s.path);
    }
    if (wal.columnText(0) != "wal") {
      return Status::unavailable("cannot switch database " + s.path + " to WAL mode");
    }
  }
  const char* synchronous =
      s.durability == "power" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  GW_RETURN_IF_ERROR(sqlite::exec(db, synchronous, "cannot set synchronous"));
  GW_RETURN_IF_ERROR(
      sqlite::migrate(db, toUnixMillis(clock_->now())).withContext("database " + s.path));
  GW_RETURN_IF_ERROR(sqlite::readSchemaVersion(db, schema_version_));
  {
    GW_ASSIGN_OR_RETURN(Statement max_seq,
                        Statement::prepare(db, "SELECT COALESCE(MAX(seq), 0) FROM audit_records"));
    const int rc = max_seq.step();
    if (rc != SQLITE_ROW) {
      return sqliteError(db, rc, "cannot read the last audit sequence number");
    }
    next_seq_ = max_seq.columnInt(0) + 1;
  }
  GW_RETURN_IF_ERROR(prepareInto(db, begin_, "BEGIN IMMEDIATE"));
  GW_RETURN_IF_ERROR(prepareInto(db, max_seq_, "SELECT COALESCE(MAX(seq), 0) FROM audit_records"));
  GW_RETURN_IF_ERROR(prepareInto(db, commit_, "COMMIT"));
  GW_RETURN_IF_ERROR(prepareInto(db, rollback_, "ROLLBACK"));
  GW_RETURN_IF_ERROR(
      prepareInto(db, find_by_key_, "SELECT id FROM inbound_events WHERE dedupe_key = ?"));
  // Through the control id index, whose pages for a sender's recent control ids are hot: the
  // unique index on dedupe_key would be a random page per lookup for the (hashed) legacy keys.
  GW_RETURN_IF_ERROR(
      prepareInto(db, find_by_legacy_key_,
                  "SELECT id FROM inbound_events INDEXED BY inbound_events_control_id "
                  "WHERE control_id = ? AND dedupe_key = ?"));
  GW_RETURN_IF_ERROR(prepareInto(
      db, insert_event_,
      "INSERT INTO inbound_events (source, dedupe_key, listener, peer, sending_application, "
      "sending_facility, control_id, message_type, version, received_at, state, payload_bytes, "
      "duplicates, sealed_payload, sealed_parsed_form) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "'received', ?, 0, ?, ?)"));
  GW_RETURN_IF_ERROR(prepareInto(
      db, count_duplicate_, "UPDATE inbound_events SET duplicates = duplicates + 1 WHERE id = ?"));
  GW_RETURN_IF_ERROR(prepareInto(
      db, insert_audit_,
      "INSERT INTO audit_records (seq, time, actor, action, object, outcome, source, reason, "
      "leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  GW_RETURN_IF_ERROR(
      prepareInto(db, read_payload_, "SELECT sealed_payload FROM inbound_events WHERE id = ?"));
  GW_RETURN_IF_ERROR(prepareInto(db, insert_checkpoint_,
                                 "INSERT INTO audit_checkpoints (tree_size, root_hash, note, "
                                 "created_at) VALUES (?, ?, ?, ?)"));
  batch_.reserve(static_cast<std::size_t>(std::min(s.max_batch, 4096)));
  // Replaces SQLite's inline auto-checkpoint (see kCheckpointFrames).
  sqlite3_wal_hook(db, &Impl::onWalCommit, this);

  GW_ASSIGN_OR_RETURN(checkpoint_db_, sqlite::openDatabase(s.path));
  GW_RETURN_IF_ERROR(configureConnection(checkpoint_db_.get(), s));
  GW_RETURN_IF_ERROR(sqlite::exec(checkpoint_db_.get(), synchronous, "cannot set synchronous"));

  GW_ASSIGN_OR_RETURN(read_db_, sqlite::openDatabase(s.path));
  sqlite3* rdb = read_db_.get();
  GW_RETURN_IF_ERROR(configureConnection(rdb, s));
  GW_RETURN_IF_ERROR(sqlite::exec(rdb, "PRAGMA query_only=ON", "cannot set query_only"));
  const std::string select_events =
      std::string("SELECT ") + kEventColumns + " FROM inbound_events ";
  GW_RETURN_IF_ERROR(prepareInto(rdb, get_event_, select_events + "WHERE id = ?1"));
  const std::string order = " AND received_at >= ?5 AND received_at < ?6 ORDER BY id LIMIT ?4";
  GW_RETURN_IF_ERROR(prepareInto(rdb, list_all_, select_events + "WHERE id > ?1" + order));
  GW_RETURN_IF_ERROR(prepareInto(rdb, list_by_control_id_,
                                 select_events + "WHERE id > ?1 AND control_id = ?2" + order));
  GW_RETURN_IF_ERROR(
      prepareInto(rdb, list_by_state_, select_events + "WHERE id > ?1 AND state = ?3" + order));
  GW_RETURN_IF_ERROR(
      prepareInto(rdb, list_by_both_,
                  select_events + "WHERE id > ?1 AND control_id = ?2 AND state = ?3" + order));
  GW_RETURN_IF_ERROR(
      prepareInto(rdb, list_audit_,
                  "SELECT seq, time, actor, action, object, outcome, source, reason, leaf_hash "
                  "FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?"));
  const std::string select_checkpoints =
      "SELECT id, tree_size, root_hash, note, created_at FROM audit_checkpoints ";
  GW_RETURN_IF_ERROR(
      prepareInto(rdb, list_checkpoints_, select_checkpoints + "WHERE id > ? ORDER BY id LIMIT ?"));
  GW_RETURN_IF_ERROR(
      prepareInto(rdb, latest_checkpoint_, select_checkpoints + "ORDER BY id DESC LIMIT 1"));
  return Status::ok();
}

void SqliteStore::Impl::close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    held_ = false;
  }
  work_cv_.notify_all();
  queued_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();  // after it has committed everything queued
  }
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) {
    checkpointer_.join();
  }
  checkpoint_db_.reset();
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    read_closed_ = true;
    get_event_ = Statement();
    list_all_ = Statement();
    list_by_control_id_ = Statement();
    list_by_state_ = Statement();
    list_by_both_ = Statement();
    list_audit_ = Statement();
    list_checkpoints_ = Statement();
    latest_checkpoint_ = Statement();
    read_cache_.clear();
    read_db_.reset();
  }
  // The writer's connection closes last, so SQLite checkpoints and removes the WAL file.
  for (Statement* stmt : {&begin_, &max_seq_, &commit_, &rollback_, &find_by_key_, &find_by_legacy_key_, &insert_event_,
                          &count_duplicate_, &insert_audit_, &read_payload_, &insert_checkpoint_}) {
    *stmt = Statement();
  }
  write_cache_.clear();
  write_db_.reset();
}

Status SqliteStore::Impl::enqueue(Request&& request, bool wake_writer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      return Status::unavailable("store is closing");
    }
    const std::size_t weight = weightOf(request);
    if (!queue_.empty() &&
        queued_events_ + weight > static_cast<std::size_t>(settings_.max_queue)) {
      return Status::unavailable("store queue full");
    }
    queued_events_ += weight;
    queue_.push_back(std::move(request));
  }
  if (wake_writer) {
    work_cv_.notify_one();
  }
  queued_cv_.notify_all();
  return Status::ok();
}

bool SqliteStore::Impl::takeBatch() {
  // Up to max_batch events; a request is never split, and the first is always taken.
  const auto max_events = static_cast<std::size_t>(settings_.max_batch);
  std::size_t events = 0;
  while (!queue_.empty()) {
    const std::size_t weight = weightOf(queue_.front());
    if (!batch_.empty() && events + weight > max_events) {
      break;
    }
    events += weight;
    queued_events_ -= weight;
    batch_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  writing_ = !batch_.empty();
  return writing_;
}

void SqliteStore::Impl::leadCommit() {
  // Group commit without a thread hop when nobody else is writing: the caller runs the batch
  // (its own request and whatever queued with it) on its own thread. With one message in flight
  // this saves two context switches per commit; under load the writer thread and the callers
  // take turns, and every batch still holds everything queued before it started.
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || held_ || closing_ || !takeBatch()) {
      return;  // the current writer picks our request up in its next batch
    }
  }
  finishBatch();
}

void SqliteStore::Impl::finishBatch() {
  runBatch();
  batch_.clear();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    wake = !queue_.empty() || closing_;
  }
  if (wake) {
    work_cv_.notify_one();  // requests that queued while this batch was written, or close()
  }
}

Result<IntakeReceipt> SqliteStore::Impl::commitInbound(NewInboundEvent event, Deadline deadline) {
  if (event.dedupe_key.empty()) {
    return Status::invalidArgument("inbound event has an empty dedupe_key");
  }
  if (event.payload_bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return Status::invalidArgument("inbound event payload_bytes out of range");
  }
  if (clock_->steadyNow() >= deadline) {
    return Status::deadlineExceeded("deadline passed before the event reached the store");
  }
  std::promise<Result<IntakeReceipt>> promise;
  std::future<Result<IntakeReceipt>> done = promise.get_future();
  GW_RETURN_IF_ERROR(
      enqueue(CommitRequest{std::move(event), std::move(promise)}, /*wake_writer=*/false));
  leadCommit();
  // Capped: libstdc++ adds the wait to steady_clock::now(), which overflows for Deadline::max().
  constexpr auto kLongestWait = std::chrono::hours(24 * 365);
  const auto remaining =
      std::min<SteadyTime::duration>(deadline - clock_->steadyNow(), kLongestWait);
  if (done.wait_for(remaining) != std::future_status::ready) {
    return Status::deadlineExceeded(
        "store commit did not finish before the deadline (it may still commit)");
  }
  return done.get();
}

void SqliteStore::Impl::commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                                           Store::InboundBatchDone done) {
  if (events.empty()) {
    done({});
    return;
  }
  if (clock_->steadyNow() >= deadline) {
    done(std::vector<Result<IntakeReceipt>>(
        events.size(),
        Status::deadlineExceeded("deadline passed before the events reached the store")));
    return;
  }
  BatchCommitRequest request;
  for (std::size_t i = 0; i < events.size(); ++i) {
    Status invalid;
    if (events[i].dedupe_key.empty()) {
      invalid = Status::invalidArgument("inbound event has an empty dedupe_key");
    } else if (events[i].payload_bytes >
               static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      invalid = Status::invalidArgument("inbound event payload_bytes out of range");
    }
    if (!invalid.isOk()) {
      request.invalid.resize(events.size());
      request.invalid[i] = std::move(invalid);
    }
  }
  const std::size_t count = events.size();
  request.events = std::move(events);
  request.done = std::move(done);
  Request queued_request(std::move(request));
  const Status queued = enqueue(std::move(queued_request), /*wake_writer=*/!lead_batches_);
  if (!queued.isOk()) {  // not queued: the request, and its callback, are still here
    std::get<BatchCommitRequest>(queued_request)
        .done(std::vector<Result<IntakeReceipt>>(count, queued));
    return;
  }
  if (lead_batches_) {
    leadCommit();
  }
}

Result<std::string> SqliteStore::Impl::readSealedPayload(std::int64_t id, const AuditEntry& audit) {
  std::promise<Result<std::string>> promise;
  std::future<Result<std::string>> done = promise.get_future();
  GW_RETURN_IF_ERROR(enqueue(PayloadRequest{id, audit, std::move(promise)}, /*wake_writer=*/true));
  return done.get();  // the writer answers every queued request, also when closing
}

void SqliteStore::Impl::holdWriter(bool held) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = held && !closing_;
  }
  work_cv_.notify_all();
}

void SqliteStore::Impl::waitUntilQueued(std::size_t count) {
  std::unique_lock<std::mutex> lock(mu_);
  queued_cv_.wait(lock, [&] { return queue_.size() >= count || closing_; });
}

void SqliteStore::Impl::writerLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return !writing_ && (closing_ || (!queue_.empty() && !held_)); });
      if (queue_.empty()) {
        return;  // closing, and everything queued is committed
      }
      takeBatch();
    }
    finishBatch();
  }
}

void SqliteStore::Impl::runBatch() {
  if (outcomes_.size() < batch_.size()) {
    outcomes_.resize(batch_.size());
  }
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    outcomes_[i].status = Status::ok();
    outcomes_[i].payload.clear();
    outcomes_[i].id = 0;
  }
  const std::int64_t first_seq = next_seq_;
  Status failure;
  try {
    failure = runTransaction(toUnixMillis(clock_->now()));
  } catch (const std::exception& e) {  // only a bug (or out of memory) gets here
    failure = Status::internal(std::string("exception in the store writer: ") + e.what());
  }
  if (!failure.isOk()) {
    if (sqlite3_get_autocommit(write_db_.get()) == 0) {
      rollback_.step();
      rollback_.reset();
    }
    next_seq_ = first_seq;
    failure = Status(
        failure.code() == StatusCode::DataLoss ? StatusCode::DataLoss : StatusCode::Unavailable,
        "store commit failed, nothing was stored: " + failure.message());
  }
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    Outcome& outcome = outcomes_[i];
    if (auto* batch = std::get_if<BatchCommitRequest>(&batch_[i])) {
      completeBatch(*batch, outcome, failure);
    } else if (auto* commit = std::get_if<CommitRequest>(&batch_[i])) {
      if (!failure.isOk()) {
        commit->done.set_value(failure);
      } else if (!outcome.status.isOk()) {
        commit->done.set_value(outcome.status);
      } else {
        commit->done.set_value(outcome.receipt);
      }
    } else if (auto* read = std::get_if<PayloadRequest>(&batch_[i])) {
      if (!failure.isOk()) {
        read->done.set_value(failure);
      } else if (!outcome.status.isOk()) {
        read->done.set_value(outcome.status);
      } else {
        read->done.set_value(std::move(outcome.payload));
      }
    } else if (auto* work = std::get_if<WorkRequest>(&batch_[i])) {
      work->done.set_value(failure.isOk() ? outcome.status : failure);
    } else {
      std::promise<Result<std::int64_t>>& done = std::holds_alternative<AuditRequest>(batch_[i])
                                                     ? std::get<AuditRequest>(batch_[i]).done
                                                     : std::get<CheckpointRequest>(batch_[i]).done;
      if (!failure.isOk()) {
        done.set_value(failure);
      } else if (!outcome.status.isOk()) {
        done.set_value(outcome.status);
      } else {
        done.set_value(outcome.id);
      }
    }
  }
}

Status SqliteStore::Impl::runTransaction(std::int64_t now_ms) {
  sqlite3* db = write_db_.get();
  if (sqlite3_get_autocommit(db) == 0) {  // left open by a failed ROLLBACK
    rollback_.step();
    rollback_.reset();
  }
  GW_RETURN_IF_ERROR(stepDone(begin_, "cannot begin a transaction"));
  {
    // Other processes (the operator CLI: `messages show --payload`, `messages replay`, `keys
    // rotate`) append audit records too; inside BEGIN IMMEDIATE nobody else can, so the next
    // sequence number is read here rather than trusted from memory. O(1): seq is the rowid.
    ResetOnExit reset(max_seq_);
    const int rc = max_seq_.step();
    if (rc != SQLITE_ROW) {
      return sqliteError(db, rc, "cannot read the last audit sequence number");
    }
    next_seq_ = max_seq_.columnInt(0) + 1;
  }
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    GW_RETURN_IF_ERROR(runRequest(batch_[i], outcomes_[i], now_ms));
  }
  return stepDone(commit_, "cannot commit");
}

Status SqliteStore::Impl::runRequest(Request& request, Outcome& outcome, std::int64_t now_ms) {
  if (auto* commit = std::get_if<CommitRequest>(&request)) {
    return commitEvent(commit->event, outcome.receipt, now_ms);
  }
  if (auto* batch = std::get_if<BatchCommitRequest>(&request)) {
    outcome.receipts.assign(batch->events.size(), IntakeReceipt{});
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      if (batch->invalid.empty() || batch->invalid[i].isOk()) {
        GW_RETURN_IF_ERROR(commitEvent(batch->events[i], outcome.receipts[i], now_ms));
      }
    }
    return Status::ok();
  }
  if (auto* read = std::get_if<PayloadRequest>(&request)) {
    return readPayload(*read, outcome, now_ms);
  }
  if (auto* work = std::get_if<WorkRequest>(&request)) {
    return runWork(*work, outcome, now_ms);
  }
  if (auto* audit = std::get_if<AuditRequest>(&request)) {
    if (audit->entry.time == SystemTime()) {
      audit->entry.time = fromUnixMillis(now_ms);
    }
    outcome.id = next_seq_;
    return appendAudit(audit->entry);
  }
  return insertCheckpoint(std::get<CheckpointRequest>(request).checkpoint, outcome, now_ms);
}

namespace {

// The writer's connection as lent to one WorkRequest.
class WriterSession final : public SqliteSession {
 public:
  WriterSession(sqlite3* db, StatementCache& cache, std::int64_t now_ms,
                std::function<Status(const AuditEntry&)> append)
      : db_(db), cache_(cache), now_ms_(now_ms), append_(std::move(append)) {}
  sqlite3* db() override { return db_; }
  Result<Statement*> statement(std::string_view sql) override {
    return cachedStatement(db_, cache_, sql);
  }
  std::int64_t nowMillis() const override { return now_ms_; }
  Status appendAudit(const AuditEntry& entry) override {
    if (entry.time != SystemTime()) {
      return append_(entry);
    }
    AuditEntry timed = entry;
    timed.time = fromUnixMillis(now_ms_);
    return append_(timed);
  }

 private:
  sqlite3* db_;
  StatementCache& cache_;
  std::int64_t now_ms_;
  std::function<Status(const AuditEntry&)> append_;
};

class ReaderSession final : public SqliteSession {
 public:
  ReaderSession(sqlite3* db, StatementCache& cache, std::int64_t now_ms)
      : db_(db), cache_(cache), now_ms_(now_ms) {}
  sqlite3* db() override { return db_; }
  Result<Statement*> statement(std::string_view sql) override {
    return cachedStatement(db_, cache_, sql);
  }
  std::int64_t nowMillis() const override { return now_ms_; }
  Status appendAudit(const AuditEntry&) override {
    return Status::internal("audit records are written by the store writer only");
  }

 private:
  sqlite3* db_;
  StatementCache& cache_;
  std::int64_t now_ms_;
};

}  // namespace

// An extension's work runs in a SAVEPOINT so that its own error undoes only its changes (and its
// audit sequence numbers); the rest of the batch commits.
Status SqliteStore::Impl::runWork(WorkRequest& request, Outcome& outcome, std::int64_t now_ms) {
  sqlite3* db = write_db_.get();
  GW_RETURN_IF_ERROR(sqlite::exec(db, "SAVEPOINT extension_work", "cannot begin a savepoint"));
  const std::int64_t first_seq = next_seq_;
  WriterSession session(db, write_cache_, now_ms,
                        [this](const AuditEntry& entry) { return appendAudit(entry); });
  Status status;
  try {
    status = request.work(session);
  } catch (const std::exception& e) {  // only a bug (or out of memory) gets here
    status = Status::internal(std::string("exception in store work: ") + e.what());
  }
  if (!status.isOk()) {
    next_seq_ = first_seq;
    GW_RETURN_IF_ERROR(
        sqlite::exec(db, "ROLLBACK TO extension_work", "cannot roll back to a savepoint"));
    outcome.status = std::move(status);
  }
  return sqlite::exec(db, "RELEASE extension_work", "cannot release a savepoint");
}

Status SqliteStore::Impl::write(SqliteWork work) {
  std::promise<Status> promise;
  std::future<Status> done = promise.get_future();
  GW_RETURN_IF_ERROR(
      enqueue(WorkRequest{std::move(work), std::move(promise)}, /*wake_writer=*/true));
  return done.get();  // the writer answers every queued request, also when closing
}

Status SqliteStore::Impl::read(const SqliteWork& work) {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (read_closed_) {
    return Status::unavailable("store is closed");
  }
  ReaderSession session(read_db_.get(), read_cache_, toUnixMillis(clock_->now()));
  try {
    return work(session);
  } catch (const std::exception& e) {  // only a bug (or out of memory) gets here
    return Status::internal(std::string("exception in store read: ") + e.what());
  }
}

Status SqliteStore::Impl::insertCheckpoint(const AuditCheckpoint& checkpoint, Outcome& outcome,
                                           std::int64_t now_ms) {
  Statement& s = insert_checkpoint_;
  s.bindInt(1, checkpoint.tree_size);
  s.bindText(2, checkpoint.root_hash);
  s.bindText(3, checkpoint.note);
  s.bindInt(4,
            checkpoint.created_at == SystemTime() ? now_ms : toUnixMillis(checkpoint.created_at));
  GW_RETURN_IF_ERROR(stepDone(s, "cannot append an audit checkpoint"));
  outcome.id = sqlite3_last_insert_rowid(write_db_.get());
  return Status::ok();
}

Status SqliteStore::Impl::stepDone(Statement& stmt, std::string_view what) {
  ResetOnExit reset(stmt);
  const int rc = stmt.step();
  if (rc != SQLITE_DONE) {
    return sqliteError(write_db_.get(), rc, what);
  }
  return Status::ok();
}

int SqliteStore::Impl::onWalCommit(void* self, sqlite3* db, const char* name, int frames) {
  auto* impl = static_cast<Impl*>(self);
  if (frames < kCheckpointFrames) {
    return SQLITE_OK;
  }
  // A count from before the WAL last restarted can exceed `frames`: then it says nothing.
  const int checkpointed = impl->checkpointed_frames_.load(std::memory_order_relaxed);
  const int left = checkpointed <= frames ? frames - checkpointed : frames;
  if (frames >= kForceCheckpointFrames) {
    std::lock_guard<std::mutex> run(impl->checkpoint_run_mu_);
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK) {
      impl->checkpointed_frames_.store(0, std::memory_order_relaxed);
    }
    return SQLITE_OK;  // a failure only delays the checkpoint to a later commit
  }
  if (left <= kFinishInlineFrames) {
    std::unique_lock<std::mutex> run(impl->checkpoint_run_mu_, std::try_to_lock);
    if (run.owns_lock()) {  // else a background run is busy: ask for another one below
      if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
          SQLITE_OK) {
        impl->checkpointed_frames_.store(0, std::memory_order_relaxed);
      }
      return SQLITE_OK;
    }
  }
  {
    std::lock_guard<std::mutex> lock(impl->checkpoint_mu_);
    impl->checkpoint_requested_ = true;
  }
  impl->checkpoint_cv_.notify_one();
  return SQLITE_OK;
}

void SqliteStore::Impl::checkpointerLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [&] { return checkpoint_requested_ || checkpoint_stop_; });
      if (checkpoint_stop_) {
        return;
      }
      checkpoint_requested_ = false;
    }
    // PASSIVE does not block the writer's commits: it copies what is committed and leaves the
    // rest for the next run. An error (busy, I/O) leaves the WAL longer until a later run or the
    // writer's forced checkpoint succeeds.
    int log_frames = 0;
    int checkpointed = 0;
    std::lock_guard<std::mutex> run(checkpoint_run_mu_);
    if (sqlite3_wal_checkpoint_v2(checkpoint_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                  &log_frames, &checkpointed) == SQLITE_OK) {
      checkpointed_frames_.store(checkpointed, std::memory_order_relaxed);
    }
  }
}

void SqliteStore::Impl::completeBatch(BatchCommitRequest& batch, Outcome& outcome,
                                      const Status& failure) {
  std::vector<Result<IntakeReceipt>> results;
  results.reserve(batch.events.size());
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    if (!batch.invalid.empty() && !batch.invalid[i].isOk()) {
      results.push_back(batch.invalid[i]);
    } else if (!failure.isOk()) {
      results.push_back(failure);
    } else if (i < outcome.receipts.size()) {
      results.push_back(outcome.receipts[i]);
    } else {
      results.push_back(Status::internal("no receipt for a batch event"));
    }
  }
  try {
    batch.done(std::move(results));
  } catch (...) {  // the callback's bug must not take the writer (and every caller) down
  }
}

Status SqliteStore::Impl::commitEvent(const NewInboundEvent& e, IntakeReceipt& receipt,
                                      std::int64_t now_ms) {
  std::int64_t id = 0;
  bool duplicate = false;
  // Also finds an event inserted earlier in this same batch (same transaction).
  GW_RETURN_IF_ERROR(findEvent(find_by_key_, {e.dedupe_key}, id, duplicate));
  if (!duplicate && !e.legacy_dedupe_key.empty()) {
    GW_RETURN_IF_ERROR(
        findEvent(find_by_legacy_key_, {e.control_id, e.legacy_dedupe_key}, id, duplicate));
  }
  if (duplicate) {
    count_duplicate_.bindInt(1, id);
    GW_RETURN_IF_ERROR(stepDone(count_duplicate_, "cannot count a duplicate"));
  } else {
    Statement& s = insert_event_;
    s.bindText(1, eventSourceName(e.source));
    s.bindText(2, e.dedupe_key);
    s.bindText(3, e.listener);
    s.bindText(4, e.peer);
    s.bindText(5, e.sending_application);
    s.bindText(6, e.sending_facility);
    s.bindText(7, e.control_id);
    s.bindText(8, e.message_type);
    s.bindText(9, e.version);
    s.bindInt(10, toUnixMillis(e.received_at));
    s.bindInt(11, static_cast<std::int64_t>(e.payload_bytes));
    s.bindBlob(12, e.sealed_payload);
    if (e.sealed_parsed_form.empty()) {
      s.bindNull(13);
    } else {
      s.bindBlob(13, e.sealed_parsed_form);
    }
    GW_RETURN_IF_ERROR(stepDone(s, "cannot insert an inbound event"));
    id = sqlite3_last_insert_rowid(write_db_.get());
  }
  receipt.event_id = id;
  receipt.duplicate = duplicate;

  audit_.time = fromUnixMillis(now_ms);
  audit_.actor.assign("listener:").append(e.listener);
  audit_.action.assign(duplicate ? "duplicate" : "received");
  audit_.object.assign("inbound_event:").append(std::to_string(id));
  audit_.outcome.assign("ok");
  audit_.source.assign(e.peer);
  audit_.reason.assign(duplicate ? "resend of an already committed event" : "");
  if (!e.answer_on_commit.empty()) {
    // The acknowledgment is sent only after this transaction commits; recording it here keeps
    // "received/duplicate, answered AA" one record in the same transaction.
    audit_.reason.append(duplicate ? "; answered " : "answered ").append(e.answer_on_commit);
  }
  return appendAudit(audit_);
}

Status SqliteStore::Impl::readPayload(PayloadRequest& request, Outcome& outcome,
                                      std::int64_t now_ms) {
  {
    ResetOnExit reset(read_payload_);
    read_payload_.bindInt(1, request.id);
    const int rc = read_payload_.step();
    if (rc == SQLITE_DONE) {
      outcome.status = Status::notFound("no inbound event with id " + std::to_string(request.id));
      return Status::ok();  // nothing viewed, nothing to audit; the batch goes on
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(write_db_.get(), rc, "cannot read a sealed payload");
    }
    if (read_payload_.columnIsNull(0)) {
      outcome.status = Status::notFound("the payload of inbound event " +
                                        std::to_string(request.id) + " has been shredded");
      return Status::ok();
    }
    const std::string_view blob = read_payload_.columnBlob(0);
    outcome.payload.assign(blob.data(), blob.size());
  }
  if (request.audit.time == SystemTime()) {
    request.audit.time = fromUnixMillis(now_ms);
  }
  return appendAudit(request.audit);
}

Status SqliteStore::Impl::findEvent(Statement& query, std::initializer_list<std::string_view> args,
                                    std::int64_t& id, bool& found) {
  ResetOnExit reset(query);
  int index = 1;
  for (const std::string_view arg : args) {
    query.bindText(index++, arg);
  }
  const int rc = query.step();
  if (rc == SQLITE_ROW) {
    id = query.columnInt(0);
    found = true;
  } else if (rc != SQLITE_DONE) {
    return sqliteError(write_db_.get(), rc, "cannot look up a dedupe key");
  }
  return Status::ok();
}

Status SqliteStore::Impl::appendAudit(const AuditEntry& entry) {
  const std::int64_t seq = next_seq_;
  // Hash what is stored: the time at millisecond precision.
  const std::int64_t time_ms = toUnixMillis(entry.time);
  const AuditEntry* hashed = &entry;
  AuditEntry truncated;
  if (fromUnixMillis(time_ms) != entry.time) {
    truncated = entry;
    truncated.time = fromUnixMillis(time_ms);
    hashed = &truncated;
  }
  GW_RETURN_IF_ERROR(auditLeafHashInto(seq, *hashed, leaf_scratch_, leaf_hex_));
  Statement& s = insert_audit_;
  s.bindInt(1, seq);
  s.bindInt(2, time_ms);
  s.bindText(3, entry.actor);
  s.bindText(4, entry.action);
  s.bindText(5, entry.object);
  s.bindText(6, entry.outcome);
  s.bindText(7, entry.source);
  s.bindText(8, entry.reason);
  s.bindText(9, leaf_hex_);
  GW_RETURN_IF_ERROR(stepDone(s, "cannot append an audit record"));
  ++next_seq_;
  return Status::ok();
}

Result<std::int64_t> SqliteStore::Impl::appendStandaloneAudit(const AuditEntry& entry) {
  std::promise<Result<std::int64_t>> promise;
  std::future<Result<std::int64_t>> done = promise.get_future();
  GW_RETURN_IF_ERROR(enqueue(AuditRequest{entry, std::move(promise)}, /*wake_writer=*/true));
  return done.get();  // the writer answers every queued request, also when closing
}

Result<std::int64_t> SqliteStore::Impl::appendCheckpoint(const AuditCheckpoint& checkpoint) {
  if (checkpoint.tree_size < 0) {
    return Status::invalidArgument("audit checkpoint tree_size is negative");
  }
  std::promise<Result<std::int64_t>> promise;
  std::future<Result<std::int64_t>> done = promise.get_future();
  GW_RETURN_IF_ERROR(
      enqueue(CheckpointRequest{checkpoint, std::move(promise)}, /*wake_writer=*/true));
  return done.get();
}

namespace {

AuditCheckpoint readCheckpoint(const Statement& row) {
  AuditCheckpoint c;
  c.id = row.columnInt(0);
  c.tree_size = row.columnInt(1);
  c.root_hash = row.columnText(2);
  c.note = row.columnText(3);
  c.created_at = fromUnixMillis(row.columnInt(4));
  return c;
}

}  // namespace

Result<std::vector<AuditCheckpoint>> SqliteStore::Impl::listCheckpoints(std::int64_t after_id,
                                                                        std::size_t limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (read_closed_) {
    return Status::unavailable("store is closed");
  }
  Statement& s = list_checkpoints_;
  ResetOnExit reset(s);
  s.bindInt(1, after_id);
  s.bindInt(2, clampLimit(limit));
  std::vector<AuditCheckpoint> out;
  for (;;) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return out;
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(read_db_.get(), rc, "cannot list audit checkpoints");
    }
    out.push_back(readCheckpoint(s));
  }
}

Result<std::optional<AuditCheckpoint>> SqliteStore::Impl::latestCheckpoint() {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (read_closed_) {
    return Status::unavailable("store is closed");
  }
  Statement& s = latest_checkpoint_;
  ResetOnExit reset(s);
  const int rc = s.step();
  if (rc == SQLITE_DONE) {
    return std::optional<AuditCheckpoint>();
  }
  if (rc != SQLITE_ROW) {
    return sqliteError(read_db_.get(), rc, "cannot read the latest audit checkpoint");
  }
  return std::optional<AuditCheckpoint>(readCheckpoint(s));
}

Result<InboundEventRecord> SqliteStore::Impl::getInbound(std::int64_t id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (read_closed_) {
    return Status::unavailable("store is closed");
  }
  ResetOnExit reset(get_event_);
  get_event_.bindInt(1, id);
  const int rc = get_event_.step();
  if (rc == SQLITE_ROW) {
    return readEvent(get_event_);
  }
  if (rc == SQLITE_DONE) {
    return Status::notFound("no inbound event with id " + std::to_string(id));
  }
  return sqliteError(read_db_.get(), rc, "cannot read an inbound event");
}

Result<std::vector<InboundEventRecord>> SqliteStore::Impl::listInbound(const InboundQuery& query) {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (read_closed_) {
    return Status::unavailable("store is closed");
  }
  Statement& s = query.control_id && query.state ? list_by_both_
                 : query.control_id              ? list_by_control_id_
                 : query.state                   ? list_by_state_
                                                 : list_all_;
  ResetOnExit reset(s);
  s.bindInt(1, query.after_id);
  if (query.control_id) {
    s.bindText(2, *query.control_id);
  }
  if (query.state) {
    s.bindText(3, inboundStateName(*query.state));
  }
  s.bindInt(4, clampLimit(query.limit));
  s.bindInt(5, query.received_from ? toUnixMillis(*query.received_from)
                                   : std::numeric_limits<std::int64_t>::min());
  s.bindInt(6, query.received_before ? toUnixMillis(*query.received_before)
                                     : std::numeric_limits<std::int64_t>::max());
  std::vector<InboundEventRecord> out;
  out.reserve(std::min<std::size_t>(query.limit, 1024));
  for (;;) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return out;
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(read_db_.get(), rc, "cannot list inbound events");
    }
    GW_ASSIGN_OR_RETURN(InboundEventRecord record, readEvent(s));
    out.push_back(std::move(record));
  }
}

Result<std::vector<AuditRecord>> SqliteStore::Impl::listAudit(std::int64_t after_seq,
                                                              std::size_t limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  if (read_closed_) {
    return Status::unavailable("store is closed");
  }
  Statement& s = list_audit_;
  ResetOnExit reset(s);
  s.bindInt(1, after_seq);
  s.bindInt(2, clampLimit(limit));
  std::vector<AuditRecord> out;
  out.reserve(std::min<std::size_t>(limit, 1024));
  for (;;) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return out;
    }
    if (rc != SQLITE_ROW) {
      return sqliteError(read_db_.get(), rc, "cannot list audit records");
    }
    AuditRecord r;
    r.seq = s.columnInt(0);
    r.entry.time = fromUnixMillis(s.columnInt(1));
    r.entry.actor = s.columnText(2);
    r.entry.action = s.columnText(3);
    r.entry.object = s.columnText(4);
    r.entry.outcome = s.columnText(5);
    r.entry.source = s.columnText(6);
    r.entry.reason = s.columnText(7);
    r.leaf_hash = s.columnText(8);
    out.push_back(std::move(r));
  }
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() {
  close();
}

Result<std::shared_ptr<SqliteStore>> SqliteStore::open(const SqliteStoreSettings& settings,
                                                       ClockPtr clock) {
  if (clock == nullptr) {
    return Status::invalidArgument("SqliteStore needs a clock");
  }
  auto impl = std::make_unique<Impl>(settings, std::move(clock));
  GW_RETURN_IF_ERROR(impl->open());
  impl->start();
  return std::shared_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

Result<IntakeReceipt> SqliteStore::commitInbound(NewInboundEvent event, Deadline deadline) {
  return impl_->commitInbound(std::move(event), deadline);
}

void SqliteStore::commitInboundBatch(std::vector<NewInboundEvent> events, Deadline deadline,
                                     InboundBatchDone done) {
  impl_->commitInboundBatch(std::move(events), deadline, std::move(done));
}

Result<std::vector<InboundEventRecord>> SqliteStore::listInbound(const InboundQuery& query) {
  return impl_->listInbound(query);
}

Result<InboundEventRecord> SqliteStore::getInbound(std::int64_t id) {
  return impl_->getInbound(id);
}

Result<std::string> SqliteStore::readSealedPayload(std::int64_t id, const AuditEntry& audit) {
  return impl_->readSealedPayload(id, audit);
}

Result<std::vector<AuditRecord>> SqliteStore::listAudit(std::int64_t after_seq, std::size_t limit) {
  return impl_->listAudit(after_seq, limit);
}

Result<std::int64_t> SqliteStore::appendAudit(const AuditEntry& entry) {
  return impl_->appendStandaloneAudit(entry);
}

Result<std::int64_t> SqliteStore::appendCheckpoint(const AuditCheckpoint& checkpoint) {
  return impl_->appendCheckpoint(checkpoint);
}

Result<std::vector<AuditCheckpoint>> SqliteStore::listCheckpoints(std::int64_t after_id,
                                                                  std::size_t limit) {
  return impl_->listCheckpoints(after_id, limit);
}

Result<std::optional<AuditCheckpoint>> SqliteStore::latestCheckpoint() {
  return impl_->latestCheckpoint();
}

void SqliteStore::close() {
  impl_->close();
}

Status SqliteStore::write(SqliteWork work) {
  return impl_->write(std::move(work));
}

Status SqliteStore::read(const SqliteWork& work) {
  return impl_->read(work);
}

int SqliteStore::schemaVersion() const {
  return impl_->schemaVersion();
}

void SqliteStore::holdWriterForTest() {
  impl_->holdWriter(true);
}

void SqliteStore::releaseWriterForTest() {
  impl_->holdWriter(false);
}

void SqliteStore::waitUntilQueuedForTest(std::size_t count) {
  impl_->waitUntilQueued(count);
}

}  // namespace gw
