// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteSchema.h"

#include <sqlite3.h>

#include <string>

#include "gateway/store/sqlite/SqliteHandle.h"

namespace gw::sqlite {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Append only: a released migration is never edited, a change is a new migration.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE inbound_events (
  id                  INTEGER PRIMARY KEY,
  source              TEXT    NOT NULL,
  dedupe_key          TEXT    NOT NULL UNIQUE,
  listener            TEXT    NOT NULL,
  peer                TEXT    NOT NULL,
  sending_application TEXT    NOT NULL,
  sending_facility    TEXT    NOT NULL,
  control_id          TEXT    NOT NULL,
  message_type        TEXT    NOT NULL,
  version             TEXT    NOT NULL,
  received_at         INTEGER NOT NULL,  -- ms since the Unix epoch, UTC
  state               TEXT    NOT NULL,
  payload_bytes       INTEGER NOT NULL,  -- plaintext size
  duplicates          INTEGER NOT NULL DEFAULT 0,
  sealed_payload      BLOB                -- PayloadCipher output; NULL once shredded
);
CREATE INDEX inbound_events_control_id ON inbound_events (control_id);
CREATE INDEX inbound_events_state_id ON inbound_events (state, id);

CREATE TABLE audit_records (
  seq       INTEGER PRIMARY KEY,
  time      INTEGER NOT NULL,  -- ms since the Unix epoch, UTC
  actor     TEXT    NOT NULL,
  action    TEXT    NOT NULL,
  object    TEXT    NOT NULL,
  outcome   TEXT    NOT NULL,
  source    TEXT    NOT NULL,
  reason    TEXT    NOT NULL,
  leaf_hash TEXT    NOT NULL   -- hex SHA-256(0x00 || canonical record), see AuditLeaf.h
);
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
)sql"},
    {2, R"sql(
CREATE TABLE audit_checkpoints (
  id         INTEGER PRIMARY KEY,
  tree_size  INTEGER NOT NULL,  -- audit records covered: seq 1..tree_size
  root_hash  TEXT    NOT NULL,  -- hex RFC 6962 Merkle tree hash of those records
  note       TEXT    NOT NULL,  -- C2SP signed checkpoint note, see gateway/audit/Checkpoint.h
  created_at INTEGER NOT NULL   -- ms since the Unix epoch, UTC
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
)sql"},
    {3, R"sql(
CREATE TABLE patient_messages (
  id              INTEGER PRIMARY KEY,
  event_id        INTEGER NOT NULL REFERENCES inbound_events (id),
  mapping         TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL UNIQUE,  -- same event + mapping never yields a second message
  clinical_key    TEXT    NOT NULL,         -- digests only (DESIGN.md section 3)
  patient_key     TEXT    NOT NULL,
  visit_key       TEXT    NOT NULL,
  channel         TEXT    NOT NULL,
  purpose         TEXT    NOT NULL,
  contains_phi    INTEGER NOT NULL,
  state           TEXT    NOT NULL,
  reason          TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,         -- ms since the Unix epoch, UTC
  updated_at      INTEGER NOT NULL,
  not_before      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  supersedes      INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  delivery_method TEXT    NOT NULL DEFAULT '',
  sealed_content  BLOB                      -- PayloadCipher output; NULL once shredded
);
CREATE INDEX patient_messages_due ON patient_messages (channel, state, not_before);
CREATE INDEX patient_messages_clinical ON patient_messages (clinical_key);
CREATE INDEX patient_messages_visit ON patient_messages (visit_key);
CREATE INDEX patient_messages_patient ON patient_messages (patient_key);
CREATE INDEX patient_messages_event ON patient_messages (event_id);
CREATE TABLE consent_ledger (
  id          INTEGER PRIMARY KEY,
  patient_key TEXT    NOT NULL,
  channel     TEXT    NOT NULL,
  purpose     TEXT    NOT NULL,  -- or '*'
  opted_in    INTEGER NOT NULL,
  source      TEXT    NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE INDEX consent_ledger_lookup ON consent_ledger (patient_key, channel, purpose, id);
CREATE TRIGGER consent_ledger_no_update BEFORE UPDATE ON consent_ledger
BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
)sql"},
    {4, R"sql(
CREATE TABLE inbox_links (
  token_hash      TEXT    PRIMARY KEY,      -- SHA-256 of the link token; the token is never stored
  message_id      INTEGER NOT NULL REFERENCES patient_messages (id),
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked          INTEGER NOT NULL DEFAULT 0,
  code_mac        TEXT    NOT NULL DEFAULT '',  -- HMAC of the current one-time code
  code_expires_at INTEGER NOT NULL DEFAULT 0,
  version         INTEGER NOT NULL
);
CREATE INDEX inbox_links_message ON inbox_links (message_id);
CREATE TABLE inbox_sessions (
  id_hash            TEXT    PRIMARY KEY,   -- SHA-256 of the session cookie
  token_hash         TEXT    NOT NULL,
  stage              TEXT    NOT NULL,
  birth_date_matched INTEGER NOT NULL,
  language           TEXT    NOT NULL,
  created_at         INTEGER NOT NULL,
  last_seen_at       INTEGER NOT NULL
);
CREATE TABLE inbox_rate_windows (
  bucket       TEXT    NOT NULL,
  window_start INTEGER NOT NULL,
  hits         INTEGER NOT NULL,
  PRIMARY KEY (bucket, window_start)
) WITHOUT ROWID;
CREATE TABLE inbox_replies (
  id          INTEGER PRIMARY KEY,
  message_id  INTEGER NOT NULL REFERENCES patient_messages (id),
  reply_id    TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  opt_out     INTEGER NOT NULL
);
CREATE INDEX inbox_replies_message ON inbox_replies (message_id);
CREATE TABLE operator_work_items (
  id         INTEGER PRIMARY KEY,
  kind       TEXT    NOT NULL,   -- "reply", ...
  object     TEXT    NOT NULL,   -- "patient_message:42"
  detail     TEXT    NOT NULL,   -- no PHI
  created_at INTEGER NOT NULL,
  state      TEXT    NOT NULL    -- "open" | "done"
);
CREATE INDEX operator_work_items_state ON operator_work_items (state, id);
)sql"},
    {5, R"sql(
-- Why an event is held or ignored (no PHI), for the operator's work list.
ALTER TABLE inbound_events ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
)sql"},
    {6, R"sql(
-- Operator accounts of the admin API (issue #7). Passwords only as KDF hash strings.
CREATE TABLE admin_users (
  username      TEXT    PRIMARY KEY,
  role          TEXT    NOT NULL,              -- "viewer" | "operator" | "admin"
  password_hash TEXT    NOT NULL,              -- PHC-style "$scrypt$ln=..,r=..,p=..$salt$hash"
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until  INTEGER NOT NULL DEFAULT 0,    -- ms since the Unix epoch; 0: not locked
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
-- Login sessions; the bearer token is never stored, only its SHA-256.
CREATE TABLE admin_sessions (
  token_hash   TEXT    PRIMARY KEY,
  username     TEXT    NOT NULL REFERENCES admin_users (username),
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  source       TEXT    NOT NULL
);
CREATE INDEX admin_sessions_username ON admin_sessions (username);
)sql"},
    {7, R"sql(
-- What patients told us (issue 5). Preferences are not identifying (an IANA zone, a number of
-- hours) and stay in clear, keyed by the patient key (an HMAC) like the consent ledger.
CREATE TABLE patient_preferences (
  patient_key        TEXT    PRIMARY KEY,
  time_zone          TEXT    NOT NULL,   -- IANA name, '' = the facility's
  result_delay_hours INTEGER NOT NULL,   -- "delay my results", 0 = none
  source             TEXT    NOT NULL,   -- "inbox", "ehr", "operator"
  updated_at         INTEGER NOT NULL
);
-- Replies (text keywords, free text typed in the inbox); the text itself only sealed.
CREATE TABLE patient_replies (
  id          INTEGER PRIMARY KEY,
  message_id  INTEGER NOT NULL REFERENCES patient_messages (id),
  channel     TEXT    NOT NULL,
  keyword     TEXT    NOT NULL,         -- stop, stopall, start, help, none
  dedupe_key  TEXT    NOT NULL UNIQUE,  -- the provider's id of the reply: a retry is a no-op
  received_at INTEGER NOT NULL,
  sealed_text BLOB                      -- PayloadCipher output; NULL when not kept
);
CREATE INDEX patient_replies_message ON patient_replies (message_id);
)sql"},
    {8, R"sql(
-- The parsed form intake kept for the mapper (PayloadCipher output, PHI); NULL when none, and
-- once shredded with the payload.
ALTER TABLE inbound_events ADD COLUMN sealed_parsed_form BLOB;
-- SMART Backend Services client assertions already used (jti), kept until they expire.
CREATE TABLE fhir_token_ids (
  client     TEXT    NOT NULL,
  jti        TEXT    NOT NULL,
  expires_at INTEGER NOT NULL,  -- ms since the Unix epoch, UTC
  PRIMARY KEY (client, jti)
) WITHOUT ROWID;
CREATE INDEX fhir_token_ids_expiry ON fhir_token_ids (expires_at);
-- Subscriptions R5 Backport notifications per (client, subscription): no PHI.
CREATE TABLE fhir_subscriptions (
  client            TEXT    NOT NULL,
  subscription      TEXT    NOT NULL,  -- the reference as sent
  highest_event     INTEGER NOT NULL,  -- highest event number seen (eventsSinceSubscriptionStart)
  gaps              INTEGER NOT NULL DEFAULT 0,  -- gaps noticed
  missed_events     INTEGER NOT NULL DEFAULT 0,  -- events in those gaps
  last_gap          TEXT    NOT NULL DEFAULT '', -- the latest gap warning
  last_type         TEXT    NOT NULL DEFAULT '', -- latest notification type
  last_status       TEXT    NOT NULL DEFAULT '', -- latest SubscriptionStatus.status, if sent
  updated_at        INTEGER NOT NULL,            -- ms since the Unix epoch, UTC
  PRIMARY KEY (client, subscription)
) WITHOUT ROWID;
)sql"},
    // Housekeeping without full-table scans inside the writer (measured by bench/e2e_bench: 48 %
    // of all CPU at 120,000 messages with a 1 s interval): expiry, lease recovery and the
    // payload purge each read only the rows they may act on.
    {9, R"sql(
CREATE INDEX patient_messages_expiry ON patient_messages (expires_at, id) WHERE state <> 'expired';
CREATE INDEX patient_messages_leases ON patient_messages (lease_until) WHERE state = 'sending';
CREATE INDEX inbound_events_purge ON inbound_events (received_at) WHERE sealed_payload IS NOT NULL;
)sql"},
};

class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin() {
    GW_RETURN_IF_ERROR(exec(db_, "BEGIN IMMEDIATE", "cannot begin a migration"));
    open_ = true;
    return Status::ok();
  }
  Status commit() {
    GW_RETURN_IF_ERROR(exec(db_, "COMMIT", "cannot commit a migration"));
    open_ = false;
    return Status::ok();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace

int latestSchemaVersion() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Status readSchemaVersion(sqlite3* db, int& version) {
  GW_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  const int rc = stmt.step();
  if (rc != SQLITE_ROW) {
    return sqliteError(db, rc, "cannot read the schema version");
  }
  version = static_cast<int>(stmt.columnInt(0));
  return Status::ok();
}

Status migrate(sqlite3* db, std::int64_t now_ms) {
  GW_RETURN_IF_ERROR(exec(db,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                          "cannot create schema_migrations"));
  const auto newer = [](int version) {
    return Status::dataLoss("database schema version " + std::to_string(version) +
                            " is newer than this gateway understands (" +
                            std::to_string(latestSchemaVersion()) +
                            "); run a newer gateway or restore a matching backup");
  };
  int version = 0;
  GW_RETURN_IF_ERROR(readSchemaVersion(db, version));
  if (version > latestSchemaVersion()) {
    return newer(version);
  }
  for (const Migration& migration : kMigrations) {
    if (version >= migration.version) {
      continue;
    }
    Transaction tx(db);
    GW_RETURN_IF_ERROR(tx.begin());
    // Read again inside the write transaction: another process may have migrated meanwhile.
    GW_RETURN_IF_ERROR(readSchemaVersion(db, version));
    if (version > latestSchemaVersion()) {
      return newer(version);
    }
    if (version >= migration.version) {
      continue;
    }
    const std::string what = "migration " + std::to_string(migration.version) + " failed";
    GW_RETURN_IF_ERROR(exec(db, migration.sql, what));
    GW_ASSIGN_OR_RETURN(
        Statement record,
        Statement::prepare(db,
                           "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"));
    record.bindInt(1, migration.version);
    record.bindInt(2, now_ms);
    const int rc = record.step();
    if (rc != SQLITE_DONE) {
      return sqliteError(db, rc, what);
    }
    record.reset();
    GW_RETURN_IF_ERROR(tx.commit());
    version = migration.version;
  }
  return Status::ok();
}

}  // namespace gw::sqlite
