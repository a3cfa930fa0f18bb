// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/api/Result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace gw::sqlite {

// Status for a failed SQLite call: "<what>: <sqlite message> (<extended code>)". The code is
// DataLoss for a corrupt or non-database file, Unavailable for what may pass (busy, locked,
// I/O, disk full, read-only, cannot open), Internal otherwise (a bug such as bad SQL).
Status sqliteError(sqlite3* db, int rc, std::string_view what);

struct DatabaseClose {
  void operator()(sqlite3* db) const;
};
using Database = std::unique_ptr<sqlite3, DatabaseClose>;

// Opens a read-write connection (created when missing) in multi-thread mode: the caller makes
// sure one thread at a time uses it.
Result<Database> openDatabase(const std::string& path);

// Runs SQL without results (may hold several statements).
Status exec(sqlite3* db, const char* sql, std::string_view what);

// A prepared statement kept for a connection's life. Binds never copy (SQLITE_STATIC): the bound
// memory must stay valid until reset(). A failed bind is reported by the next step().
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  static Result<Statement> prepare(sqlite3* db, std::string_view sql);

  void bindInt(int index, std::int64_t value);
  void bindText(int index, std::string_view value);
  void bindBlob(int index, std::string_view value);
  void bindNull(int index);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  // Ends the current use: resets the statement (releasing its read snapshot) and clears binds.
  void reset();

  bool columnIsNull(int index) const;
  std::int64_t columnInt(int index) const;
  std::string columnText(int index) const;
  std::string_view columnBlob(int index) const;  // valid until the next step() or reset()

  sqlite3* db() const;

 private:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // first failed bind since reset(), 0 when none
};

// Resets a statement when a scope ends, whatever path leaves it.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& stmt_;
};

}  // namespace gw::sqlite
