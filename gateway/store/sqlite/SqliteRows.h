// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/api/PatientMessage.h"
#include "gateway/store/sqlite/SqliteHandle.h"
#include "gateway/store/sqlite/SqliteStore.h"

// Helpers shared by the store extensions (SqliteMessageStore, SqliteInboxStore, SqliteAdminStore).
namespace gw::sqlite {

// Steps a statement that returns no rows; an SQLite error names `what`.
inline Status stepDone(SqliteSession& session, Statement& stmt, std::string_view what) {
  const int rc = stmt.step();
  if (rc != SQLITE_DONE) {
    return sqliteError(session.db(), rc, what);
  }
  return Status::ok();
}

// Steps a statement that returns at most one row: OK with the row ready to read, NotFound with
// `missing` when there is none, or an SQLite error naming `what`.
inline Status stepOneRow(SqliteSession& session, Statement& stmt, std::string_view missing,
                         std::string_view what) {
  const int rc = stmt.step();
  if (rc == SQLITE_DONE) {
    return Status::notFound(std::string(missing));
  }
  if (rc != SQLITE_ROW) {
    return sqliteError(session.db(), rc, what);
  }
  return Status::ok();
}

// A patient message's state as stored; an unknown name is DataLoss naming the message.
inline Result<MessageState> storedMessageState(const std::string& text, std::int64_t id) {
  const auto state = parseMessageState(text);
  if (!state) {
    return Status::dataLoss("patient message " + std::to_string(id) + " has unknown state '" +
                            text + "'");
  }
  return *state;
}

}  // namespace gw::sqlite
