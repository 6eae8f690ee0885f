// sqlite.h — a thin RAII layer over the SQLite C API: a Connection that owns
// its prepared statements, and Statement leases that reset on release.
//
// Every SQLite error becomes a Status carrying SQLite's own message and the
// code mapped onto BlazeDB's catalogue (SqliteStatus). Not thread-safe: a
// Connection belongs to whoever holds the Database mutex.
#ifndef BLAZE_STORE_SQLITE_H_
#define BLAZE_STORE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "blaze/status.h"
#include "blaze/types.h"
#include "blaze/value.h"

namespace blaze::store {

// Maps an SQLite result code to a Status: CORRUPT/NOTADB -> kCorruption,
// BUSY/LOCKED -> kBusy, IOERR/FULL/CANTOPEN/READONLY/PERM -> kIOError, others
// kInternal. `what` says what BlazeDB was doing.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind* take 1-based parameter indexes; text and blobs are copied by SQLite.
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // null, int, double or string; anything else binds NULL.
  void BindValue(int i, const Value& v);

  // true: a row is ready; false: done. Errors as Status.
  Result<bool> Step();
  // Steps a statement that returns no rows.
  Status Run();
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t ColumnInt(int c) const { return sqlite3_column_int64(stmt_, c); }
  bool ColumnIsNull(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::string_view ColumnText(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c))) : std::string_view();
  }
  std::string_view ColumnBlob(int c) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c))) : std::string_view();
  }
  sqlite3_stmt* raw() { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// A cached statement borrowed for one use; resets it when it goes away.
class StatementLease {
 public:
  explicit StatementLease(Statement* s) : s_(s) {}
  ~StatementLease() {
    if (s_) s_->Reset();
  }
  StatementLease(StatementLease&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StatementLease(const StatementLease&) = delete;
  Statement* operator->() { return s_; }
  Statement& operator*() { return *s_; }

 private:
  Statement* s_;
};

// Reads every (origin, seq) row of a statement into a version vector.
Result<VersionVector> ReadVersionVector(Statement& stmt);

class Connection {
 public:
  // `flags` are sqlite3_open_v2 flags. The busy timeout is set before any
  // statement runs, so nothing this connection does fails at once with
  // SQLITE_BUSY while another process holds a lock.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(const std::string& sql);
  // One statement without parameters, prepared on first use and kept: for
  // the transaction control every commit runs (BEGIN, COMMIT, SAVEPOINT...),
  // which Exec would parse again each time.
  Status ExecCached(const std::string& sql);
  // A cached prepared statement for `sql` (prepared on first use).
  Result<StatementLease> Prepare(const std::string& sql);
  // A one-off statement (not cached), for dynamic SQL such as queries.
  Result<std::unique_ptr<Statement>> PrepareUncached(const std::string& sql);
  // First column of the first row as an integer (0 if no row). Cached like
  // Prepare: the watcher asks `PRAGMA data_version` on every round.
  Result<int64_t> QueryInt(const std::string& sql);
  sqlite3* raw() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_SQLITE_H_
