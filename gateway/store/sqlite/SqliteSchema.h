// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "gateway/api/Status.h"

struct sqlite3;

namespace gw::sqlite {

// The schema version this code creates and understands (the last migration's number).
int latestSchemaVersion();

// Brings the database up to latestSchemaVersion(): each missing numbered migration runs in its
// own BEGIN IMMEDIATE transaction together with its row in schema_migrations (version,
// applied_at in ms since the epoch). DataLoss when the database is newer than this code.
Status migrate(sqlite3* db, std::int64_t now_ms);

// The highest applied migration, 0 for an empty database.
Status readSchemaVersion(sqlite3* db, int& version);

}  // namespace gw::sqlite
