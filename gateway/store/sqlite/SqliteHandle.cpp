// SPDX-License-Identifier: Apache-2.0
#include "gateway/store/sqlite/SqliteHandle.h"

#include <sqlite3.h>

#include <limits>

namespace gw::sqlite {

Status sqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  // The connection's message belongs to its last call; fall back to the code's text.
  const int db_rc = db != nullptr ? sqlite3_extended_errcode(db) : 0;
  if (db != nullptr && (db_rc & 0xFF) == (rc & 0xFF)) {
    message += sqlite3_errmsg(db);
  } else {
    message += sqlite3_errstr(rc);
  }
  message += " (" + std::to_string(rc) + ")";
  switch (rc & 0xFF) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::dataLoss(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
    case SQLITE_INTERRUPT:
      return Status::unavailable(std::move(message));
    default:
      return Status::internal(std::move(message));
  }
}

void DatabaseClose::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

Result<Database> openDatabase(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) {
    return sqliteError(db.get(), rc, "cannot open database " + path);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

Status exec(sqlite3* db, const char* sql, std::string_view what) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    Status status = sqliteError(db, rc, what);
    sqlite3_free(error);
    return status;
  }
  return Status::ok();
}

Statement::Statement(Statement&& other) noexcept : stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    bind_rc_ = other.bind_rc_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return sqliteError(db, rc, "cannot prepare statement");
  }
  return Statement(stmt);
}

void Statement::bindInt(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == 0) {
    bind_rc_ = rc;
  }
}

void Statement::bindText(int index, std::string_view value) {
  // A non-null pointer even for "" so the value is an empty text, not NULL.
  const int rc = value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())
                     ? SQLITE_TOOBIG
                     : sqlite3_bind_text(stmt_, index, value.empty() ? "" : value.data(),
                                         static_cast<int>(value.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_rc_ == 0) {
    bind_rc_ = rc;
  }
}

void Statement::bindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == 0) {
    bind_rc_ = rc;
  }
}

void Statement::bindBlob(int index, std::string_view value) {
  const int rc = sqlite3_bind_blob64(stmt_, index, value.empty() ? "" : value.data(), value.size(),
                                     SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_rc_ == 0) {
    bind_rc_ = rc;
  }
}

int Statement::step() {
  if (bind_rc_ != 0) {
    return bind_rc_;
  }
  return sqlite3_step(stmt_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = 0;
}

bool Statement::columnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::int64_t Statement::columnInt(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::columnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  const int bytes = sqlite3_column_bytes(stmt_, index);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), bytes);
}

std::string_view Statement::columnBlob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  const int bytes = sqlite3_column_bytes(stmt_, index);
  return blob == nullptr
             ? std::string_view()
             : std::string_view(static_cast<const char*>(blob), static_cast<std::size_t>(bytes));
}

sqlite3* Statement::db() const {
  return sqlite3_db_handle(stmt_);
}

}  // namespace gw::sqlite
