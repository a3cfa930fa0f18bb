// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/api/Result.h"

namespace gw {

class EnvelopeCipher;
class SqliteStore;

// A column holding PayloadCipher output, with the column its associated data comes from.
struct SealedColumn {
  const char* label;  // what `keys status` prints: the table, or table.column for a second one
  const char* table;
  const char* aad_column;
  const char* sealed_column;
  const char* object;  // audit object prefix, e.g. "inbound_event" ("inbound_event:<id>")
  // The associated data from the aad column's value; nullptr: the value itself.
  std::string (*associated_data)(const std::string& aad_column_value) = nullptr;
};

// Every sealed column of the schema. A new one must be added here: `keys status` would otherwise
// report an old key as unused while ciphertexts still name it.
const std::vector<SealedColumn>& sealedColumns();

// How many stored ciphertexts of one table name a key-encryption key.
struct SealedKeyCount {
  std::string table;
  std::string key_id;  // "(unreadable)" for a value that is not an envelope
  std::int64_t count = 0;
};

// Counts the ciphertexts of every sealed column by the KEK id in their header (on the read
// connection; shredded values, NULL, are not counted), ordered by table and key id.
Result<std::vector<SealedKeyCount>> countSealedByKey(SqliteStore& store);

// What one re-wrap batch did.
struct RewrapBatch {
  std::size_t rewrapped = 0;  // re-encrypted under the active key, one audit record each
  std::size_t failed = 0;     // could not be opened (left as they are, skipped by the cursor)
  bool done = false;          // nothing under another key after the cursor
};

// Re-encrypts up to `max_rows` ciphertexts of `column` whose id is above `after_id` and whose
// header names another key than `cipher`'s active one: opened and sealed again with the same
// associated data (the payload's authentication covers the KEK id, so the whole envelope is
// renewed, with a fresh data key), written in one store transaction with a "key_rewrapped" audit
// record per ciphertext (actor "operator:<actor>", reason "kek <old> -> <new>"). `after_id` moves
// past every row looked at, so a run continues where it stopped and skips rows that fail.
Result<RewrapBatch> rewrapBatch(SqliteStore& store, EnvelopeCipher& cipher,
                                const SealedColumn& column, std::int64_t& after_id,
                                std::size_t max_rows, const std::string& actor);

// `gateway keys status`: one line per table and key id with the number of ciphertexts naming
// it, then the active key. Exit 0, 1 on errors, 78 on a config error.
int keysStatus(const std::string& config_path);

// `gateway keys rewrap [--batch N]`: re-wraps every ciphertext not under the active key in
// batches of `batch` (one transaction each), then prints the counts as `keys status` does. Run it
// after the gateway restarted with the rotated key file: a gateway still running with the old
// ring cannot open what is re-wrapped under a key it has not loaded. Interrupted, it is simply run
// again. Exit 0 when every ciphertext is under the active key, 1 otherwise, 78 on a config error.
int rewrapKeys(const std::string& config_path, std::size_t batch, const std::string& actor);

}  // namespace gw
