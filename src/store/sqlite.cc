// sqlite.cc — Status mapping, statements and the statement cache.
#include "store/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace blaze::store {

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += (db != nullptr && sqlite3_errcode(db) == rc) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return Status::IOError(std::move(msg));
    case SQLITE_TOOBIG:
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
      return Status::InvalidArgument(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

void Statement::BindValue(int i, const Value& v) {
  switch (v.type()) {
    case Value::Type::kInt: BindInt(i, v.as_int()); return;
    case Value::Type::kDouble: BindDouble(i, v.as_double()); return;
    case Value::Type::kString: BindText(i, v.as_string()); return;
    case Value::Type::kBool: BindInt(i, v.as_bool() ? 1 : 0); return;
    case Value::Type::kNull:
    case Value::Type::kBytes:
    case Value::Type::kArray:
    case Value::Type::kMap:
      BindNull(i);
      return;
  }
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, "executing SQL");
}

Status Statement::Run() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  return SqliteStatus(db_, rc, "executing SQL");
}

Result<VersionVector> ReadVersionVector(Statement& stmt) {
  VersionVector vv;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return vv;
    vv[NodeId{static_cast<uint64_t>(stmt.ColumnInt(0))}] = static_cast<Seq>(stmt.ColumnInt(1));
  }
}

namespace {

// SQLite keeps process-wide memory statistics by default, which takes one
// global mutex on every allocation: two threads each writing their own
// database (a writer and a sync engine applying to a replica) then queue on
// that mutex and run one at a time — the in-memory sync benchmark went from
// about 27k to 45k-80k updates/s without it. The setting can only change
// before SQLite initializes, so an application that wants the statistics
// (sqlite3_memory_used, sqlite3_soft_heap_limit64) calls sqlite3_initialize()
// before its first Database::Open, and this leaves them on (docs/performance.md).
void TurnOffMemoryStatisticsOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) return;  // already initialized: left alone
    sqlite3_initialize();
  });
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int flags, int busy_timeout_ms) {
  TurnOffMemoryStatisticsOnce();
  // A file we create is created 0600 (less if the umask says so) before
  // SQLite opens it: SQLite would make it 0644, and it gives the -wal and
  // -shm files the mode of the database file. Existing files keep theirs.
  bool created = false;
  if ((flags & SQLITE_OPEN_CREATE) != 0 && !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      ::close(fd);
      created = true;
    } else if (errno != EEXIST) {
      return Status::IOError("cannot create '" + path + "': " + std::strerror(errno));
    }
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(db, rc, "opening '" + path + "'");
    sqlite3_close_v2(db);
    if (created) ::unlink(path.c_str());
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

Status Connection::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "executing SQL");
  return Status::Ok();
}

Result<std::unique_ptr<Statement>> Connection::PrepareUncached(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db_, rc, "preparing SQL");
  }
  return std::make_unique<Statement>(db_, stmt);
}

Result<StatementLease> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, PrepareUncached(sql));
    it = cache_.emplace(sql, std::move(stmt)).first;
  }
  return StatementLease(it->second.get());
}

Status Connection::ExecCached(const std::string& sql) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, Prepare(sql));
  return stmt->Run();
}

Result<int64_t> Connection::QueryInt(const std::string& sql) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, Prepare(sql));
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row ? stmt->ColumnInt(0) : 0;
}

}  // namespace blaze::store
