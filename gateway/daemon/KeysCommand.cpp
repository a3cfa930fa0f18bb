// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/KeysCommand.h"

#include <openssl/crypto.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <utility>

#include "gateway/api/PatientStore.h"
#include "gateway/api/Store.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/crypto/KeyRing.h"
#include "gateway/daemon/Gateway.h"
#include "gateway/daemon/GatewayConfig.h"
#include "gateway/store/sqlite/SqliteRows.h"

namespace gw {
namespace {

using sqlite::ResetOnExit;
using sqlite::Statement;

// Enough of an envelope for EnvelopeCipher::keyIdOf(): magic, version, id length, a key id of at
// most 64 bytes, the wrap (60) and the payload IV and tag (28).
constexpr int kHeaderBytes = 5 + 64 + 60 + 28;

// The header prefix every ciphertext under `key_id` starts with (EnvelopeCipher.h).
std::string headerPrefix(const std::string& key_id) {
  std::string prefix("GWE");
  prefix += static_cast<char>(EnvelopeCipher::kFormatVersion);
  prefix += static_cast<char>(key_id.size());
  prefix += key_id;
  return prefix;
}

// Wipes a plaintext before its memory is released.
struct Wiped {
  std::string text;
  ~Wiped() { OPENSSL_cleanse(text.data(), text.size()); }
};

// Loads the config; prints the error and sets `exit_code` on failure.
bool loadConfig(const std::string& config_path, GatewayConfig& config, int& exit_code) {
  std::string diagnostics;
  if (!loadGatewayConfig(config_path, config, diagnostics)) {
    std::cerr << diagnostics;
    exit_code = kExitConfigError;
    return false;
  }
  return true;
}

// The configured store, or null after printing why not.
std::shared_ptr<SqliteStore> openSqlite(const GatewayConfig& config, const char* command) {
  Result<std::shared_ptr<SqliteStore>> store =
      SqliteStore::open(config.store, std::make_shared<SystemClock>());
  if (!store.ok()) {
    std::cerr << command << ": " << store.status().toString() << "\n";
    return nullptr;
  }
  return *store;
}

// Prints the counts; true when every ciphertext is under `active`.
bool printCounts(const std::vector<SealedKeyCount>& counts, const std::string& active) {
  bool all_active = true;
  for (const SealedKeyCount& c : counts) {
    std::cout << c.table << "\t" << c.key_id << "\t" << c.count << "\n";
    all_active = all_active && c.key_id == active;
  }
  std::cout << "active\t" << active << "\n";
  return all_active;
}

}  // namespace

const std::vector<SealedColumn>& sealedColumns() {
  static const std::vector<SealedColumn> columns = {
      {"inbound_events", "inbound_events", "dedupe_key", "sealed_payload", "inbound_event"},
      {"inbound_events.parsed_form", "inbound_events", "dedupe_key", "sealed_parsed_form",
       "inbound_event", &parsedFormAssociatedData},
      {"patient_messages", "patient_messages", "idempotency_key", "sealed_content",
       "patient_message"},
      {"patient_replies", "patient_replies", "dedupe_key", "sealed_text", "patient_reply",
       &replyAssociatedData},
  };
  return columns;
}

Result<std::vector<SealedKeyCount>> countSealedByKey(SqliteStore& store) {
  std::vector<SealedKeyCount> counts;
  GW_RETURN_IF_ERROR(store.read([&](SqliteSession& session) -> Status {
    for (const SealedColumn& column : sealedColumns()) {
      GW_ASSIGN_OR_RETURN(
          Statement * stmt,
          session.statement(std::string("SELECT substr(") + column.sealed_column + ", 1, " +
                            std::to_string(kHeaderBytes) + ") FROM " + column.table + " WHERE " +
                            column.sealed_column + " IS NOT NULL"));
      ResetOnExit reset(*stmt);
      std::map<std::string, std::int64_t> by_key;
      int rc;
      while ((rc = stmt->step()) == SQLITE_ROW) {
        const Result<std::string> key_id = EnvelopeCipher::keyIdOf(stmt->columnBlob(0));
        ++by_key[key_id.ok() ? *key_id : std::string("(unreadable)")];
      }
      if (rc != SQLITE_DONE) {
        return sqlite::sqliteError(session.db(), rc,
                                   std::string("cannot count the keys of ") + column.table);
      }
      for (const auto& [key_id, count] : by_key) {
        counts.push_back({column.label, key_id, count});
      }
    }
    return Status::ok();
  }));
  return counts;
}

Result<RewrapBatch> rewrapBatch(SqliteStore& store, EnvelopeCipher& cipher,
                                const SealedColumn& column, std::int64_t& after_id,
                                std::size_t max_rows, const std::string& actor) {
  const std::string active = cipher.activeKeyId();
  const std::string prefix = headerPrefix(active);
  RewrapBatch batch;
  std::int64_t cursor = after_id;
  const Status written = store.write([&](SqliteSession& session) -> Status {
    GW_ASSIGN_OR_RETURN(
        Statement * select,
        session.statement(std::string("SELECT id, ") + column.aad_column + ", " +
                          column.sealed_column + " FROM " + column.table + " WHERE id > ? AND " +
                          column.sealed_column + " IS NOT NULL AND substr(" +
                          column.sealed_column + ", 1, ?) != ? ORDER BY id LIMIT ?"));
    GW_ASSIGN_OR_RETURN(Statement * update,
                        session.statement(std::string("UPDATE ") + column.table + " SET " +
                                          column.sealed_column + " = ? WHERE id = ?"));
    struct Row {
      std::int64_t id;
      std::string aad;
      std::string sealed;
    };
    std::vector<Row> rows;
    {
      ResetOnExit reset(*select);
      select->bindInt(1, cursor);
      select->bindInt(2, static_cast<std::int64_t>(prefix.size()));
      select->bindBlob(3, prefix);
      select->bindInt(4, static_cast<std::int64_t>(max_rows));
      int rc;
      while ((rc = select->step()) == SQLITE_ROW) {
        std::string aad = select->columnText(1);
        if (column.associated_data != nullptr) {
          aad = column.associated_data(aad);
        }
        rows.push_back({select->columnInt(0), std::move(aad), std::string(select->columnBlob(2))});
      }
      if (rc != SQLITE_DONE) {
        return sqlite::sqliteError(session.db(), rc,
                                   std::string("cannot select from ") + column.table);
      }
    }
    batch.done = rows.size() < max_rows;
    for (const Row& row : rows) {
      cursor = row.id;
      const std::string object = std::string(column.object) + ":" + std::to_string(row.id);
      const Result<std::string> old_key = EnvelopeCipher::keyIdOf(row.sealed);
      Result<std::string> plain = cipher.open(row.sealed, row.aad);
      if (!plain.ok()) {
        // Left as it is; the operator sees the count (and the reason, which names no content).
        std::cerr << "keys rewrap: " << object << ": " << plain.status().toString() << "\n";
        ++batch.failed;
        continue;
      }
      Wiped wiped{std::move(plain).value()};
      GW_ASSIGN_OR_RETURN(std::string resealed, cipher.seal(wiped.text, row.aad));
      {
        ResetOnExit reset(*update);
        update->bindBlob(1, resealed);
        update->bindInt(2, row.id);
        GW_RETURN_IF_ERROR(sqlite::stepDone(session, *update, "cannot store a re-wrapped value"));
      }
      AuditEntry audit;
      audit.actor = "operator:" + actor;
      audit.action = "key_rewrapped";
      audit.object = object;
      audit.outcome = "ok";
      audit.source = "cli";
      audit.reason = "kek " + (old_key.ok() ? *old_key : std::string("?")) + " -> " + active;
      GW_RETURN_IF_ERROR(session.appendAudit(audit));
      ++batch.rewrapped;
    }
    return Status::ok();
  });
  GW_RETURN_IF_ERROR(written.withContext(std::string("re-wrapping ") + column.table));
  after_id = cursor;
  return batch;
}

int keysStatus(const std::string& config_path) {
  GatewayConfig config;
  int exit_code = 0;
  if (!loadConfig(config_path, config, exit_code)) {
    return exit_code;
  }
  Result<KeyRing> ring = KeyRing::load(config.keys.key_file);
  if (!ring.ok()) {
    std::cerr << "keys status: " << ring.status().toString() << "\n";
    return 1;
  }
  std::shared_ptr<SqliteStore> store = openSqlite(config, "keys status");
  if (store == nullptr) {
    return 1;
  }
  Result<std::vector<SealedKeyCount>> counts = countSealedByKey(*store);
  store->close();
  if (!counts.ok()) {
    std::cerr << "keys status: " << counts.status().toString() << "\n";
    return 1;
  }
  printCounts(*counts, ring->active().id);
  return 0;
}

int rewrapKeys(const std::string& config_path, std::size_t batch, const std::string& actor) {
  GatewayConfig config;
  int exit_code = 0;
  if (!loadConfig(config_path, config, exit_code)) {
    return exit_code;
  }
  if (batch == 0) {
    std::cerr << "keys rewrap: --batch must be at least 1\n";
    return kExitConfigError;
  }
  if (!std::filesystem::exists(config.keys.key_file)) {  // never generate a key file here
    std::cerr << "keys rewrap: no key file " << config.keys.key_file << "\n";
    return 1;
  }
  Result<PayloadCipherPtr> opened = openCipher(config.keys);
  auto cipher = opened.ok() ? std::dynamic_pointer_cast<EnvelopeCipher>(*opened) : nullptr;
  if (cipher == nullptr) {
    std::cerr << "keys rewrap: "
              << (opened.ok() ? std::string("not an envelope cipher") : opened.status().toString())
              << "\n";
    return 1;
  }
  std::shared_ptr<SqliteStore> store = openSqlite(config, "keys rewrap");
  if (store == nullptr) {
    return 1;
  }
  std::size_t rewrapped = 0;
  std::size_t failed = 0;
  Status error;
  for (const SealedColumn& column : sealedColumns()) {
    std::int64_t after_id = 0;
    for (;;) {
      Result<RewrapBatch> done = rewrapBatch(*store, *cipher, column, after_id, batch, actor);
      if (!done.ok()) {
        error = done.status();
        break;
      }
      rewrapped += done->rewrapped;
      failed += done->failed;
      if (done->done) {
        break;
      }
    }
    if (!error.isOk()) {
      break;
    }
  }
  std::cerr << "keys rewrap: " << rewrapped << " ciphertext(s) re-wrapped under "
            << cipher->activeKeyId() << ", " << failed << " could not be opened\n";
  if (!error.isOk()) {
    std::cerr << "keys rewrap: " << error.toString() << " (run it again to continue)\n";
  }
  Result<std::vector<SealedKeyCount>> counts = countSealedByKey(*store);
  store->close();
  if (!counts.ok()) {
    std::cerr << "keys rewrap: " << counts.status().toString() << "\n";
    return 1;
  }
  const bool all_active = printCounts(*counts, cipher->activeKeyId());
  return error.isOk() && all_active ? 0 : 1;
}

}  // namespace gw
