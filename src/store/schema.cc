// schema.cc — recognising, creating and opening BlazeDB files.
#include "store/schema.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "store/file_identity.h"

namespace blaze::store {
namespace {

// Format 1 schema. Collections live in tables c1, c2, ... created on first
// use and listed in blaze_collections; see docs/on-disk-format.md.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE blaze_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE blaze_node(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  node_id INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  last_hlc INTEGER NOT NULL);
CREATE TABLE blaze_collections(name TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE) WITHOUT ROWID;
CREATE TABLE blaze_indexes(
  collection TEXT NOT NULL, field TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
  PRIMARY KEY (collection, field)) WITHOUT ROWID;
CREATE TABLE blaze_changes(
  local_seq INTEGER PRIMARY KEY,
  origin INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  hlc INTEGER NOT NULL,
  ops BLOB NOT NULL,
  effects BLOB NOT NULL,
  UNIQUE (origin, seq));
CREATE TABLE blaze_vv(origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE blaze_peers(
  peer INTEGER NOT NULL, origin INTEGER NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (peer, origin)) WITHOUT ROWID;
)sql";

// Added within format 1 (an empty table means "nothing pruned", exactly what
// a file from before it holds), so it is created when missing on open.
constexpr const char* kLogHorizonTable =
    "CREATE TABLE IF NOT EXISTS blaze_log_horizon("
    "origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hlc INTEGER NOT NULL)";

enum class FileKind { kMissing, kEmpty, kSqlite, kForeign };

Result<FileKind> Inspect(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileKind::kMissing;
    return Status::IOError("cannot stat '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("'" + path + "' is not a regular file");
  if (st.st_size == 0) return FileKind::kEmpty;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::IOError("cannot read '" + path + "': " + std::strerror(errno));
  char header[16] = {};
  size_t n = std::fread(header, 1, sizeof header, f);
  std::fclose(f);
  if (n == sizeof header && std::memcmp(header, "SQLite format 3", 16) == 0) return FileKind::kSqlite;
  return FileKind::kForeign;
}

// Connection settings; the busy timeout is already set (Connection::Open).
// `wal`: switch the file to WAL mode (every read-write file handle).
Status Configure(Connection& conn, const Options& options, bool in_memory, bool wal) {
  if (wal) {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.PrepareUncached("PRAGMA journal_mode=WAL"));
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row || stmt->ColumnText(0) != "wal") {
      return Status::IOError("could not switch the database to WAL mode");
    }
  }
  BLAZE_RETURN_IF_ERROR(conn.Exec("PRAGMA cache_size=-" + std::to_string(int64_t{options.cache_size_mb} * 1024)));
  if (!in_memory) {
    BLAZE_RETURN_IF_ERROR(conn.Exec("PRAGMA mmap_size=" + std::to_string(options.mmap_size_mb * 1024 * 1024)));
  }
  const char* sync = options.durability == Durability::kFull ? "FULL" : "NORMAL";
  return conn.Exec(std::string("PRAGMA synchronous=") + sync);
}

// `path` is empty for an in-memory database (it has no file identity).
Status CreateSchema(Connection& conn, Random* random, const std::string& path) {
  uint64_t node = 0;
  while (node == 0) random->Fill(&node, sizeof node);
  BLAZE_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  Status s = [&]() -> Status {
    // Another process may have created it between our check and the lock.
    BLAZE_ASSIGN_OR_RETURN(int64_t app, conn.QueryInt("PRAGMA application_id"));
    if (app == kAppId) return Status::Ok();
    BLAZE_RETURN_IF_ERROR(conn.Exec(kSchemaV1));
    BLAZE_RETURN_IF_ERROR(conn.Exec(kLogHorizonTable));
    BLAZE_RETURN_IF_ERROR(conn.Exec("PRAGMA application_id=" + std::to_string(kAppId)));
    BLAZE_RETURN_IF_ERROR(conn.Exec("PRAGMA user_version=" + std::to_string(kFormatVersion)));
    BLAZE_ASSIGN_OR_RETURN(auto meta, conn.Prepare("INSERT INTO blaze_meta(key, value) VALUES (?, ?)"));
    meta->BindText(1, "format_version");
    meta->BindInt(2, kFormatVersion);
    BLAZE_RETURN_IF_ERROR(meta->Run());
    if (!path.empty()) {
      BLAZE_ASSIGN_OR_RETURN(std::string identity, FileIdentityOf(path));
      BLAZE_RETURN_IF_ERROR(WriteFileIdentity(conn, identity));
    }
    return WriteNodeRow(conn, NodeRow{NodeId{node}, 0, Hlc{}});
  }();
  if (!s.ok()) {
    conn.Exec("ROLLBACK").IgnoreError();
    return s;
  }
  return conn.Exec("COMMIT");
}

// Reads the identification of an existing SQLite file without writing.
Status CheckIdentity(Connection& conn, const std::string& path, bool* is_blank) {
  BLAZE_ASSIGN_OR_RETURN(int64_t app, conn.QueryInt("PRAGMA application_id"));
  BLAZE_ASSIGN_OR_RETURN(int64_t version, conn.QueryInt("PRAGMA user_version"));
  BLAZE_ASSIGN_OR_RETURN(int64_t objects, conn.QueryInt("SELECT count(*) FROM sqlite_schema"));
  *is_blank = (app == 0 && version == 0 && objects == 0);
  if (*is_blank) return Status::Ok();
  if (app != kAppId) {
    return Status::Corruption("'" + path + "' is an SQLite database but not a BlazeDB database (application_id " +
                              std::to_string(app) + ", expected " + std::to_string(kAppId) + ")");
  }
  if (version > kFormatVersion) {
    return Status::NotSupported("'" + path + "' uses BlazeDB format " + std::to_string(version) +
                                "; this build reads formats up to " + std::to_string(kFormatVersion));
  }
  if (version < 1) return Status::Corruption("'" + path + "' has an invalid BlazeDB format version");
  return Status::Ok();
}

// `path` as the path part of an SQLite URI filename (percent-escapes what
// the URI syntax would otherwise read).
std::string UriPath(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7F) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// A read-only handle that never creates, changes or leaves behind a file
// (docs/on-disk-format.md, "Read-only access"). SQLite's plain read-only
// open creates the -wal and -shm files when they are missing, owned by the
// reader: for a reader running as another user they then block the owner's
// writes. So: while a writer has the file open (its -wal and -shm exist),
// read through them without write access (readonly_shm); when none has
// (every commit is in the main file), read the main file as immutable.
Result<std::unique_ptr<Connection>> OpenReadOnly(const Options& options, const std::string& path) {
  const bool wal = Exists(path + "-wal");
  const bool shm = Exists(path + "-shm");
  if (wal && !shm) {
    return Status::FailedPrecondition("'" + path +
                                      "' has a -wal file but no -shm file; a read-only open cannot "
                                      "recover it: open it once with write access");
  }
  const std::string uri = "file:" + UriPath(path) + (wal ? "?mode=ro&readonly_shm=1" : "?immutable=1");
  return Connection::Open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, options.busy_timeout_ms);
}

// A read-write handle writes the file and creates its -wal and -shm files
// when no other handle has them.
Status CheckWritable(const std::string& path, FileKind kind) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (kind != FileKind::kMissing && ::access(path.c_str(), W_OK) != 0) {
    return Status::PermissionDenied("cannot write '" + path + "': " + std::strerror(errno) +
                                    "; a read-write open needs write access to the file (Options::read_only does not)");
  }
  if (!Exists(path + "-wal") && ::access(dir.c_str(), W_OK) != 0) {
    return Status::PermissionDenied("cannot create files in '" + dir + "' (" + std::strerror(errno) +
                                    "), which a writer needs for '" + path +
                                    "-wal' (Options::read_only does not)");
  }
  return Status::Ok();
}

}  // namespace

Result<OpenedFile> OpenDatabaseFile(const Options& options, const std::string& path, Random* random) {
  const bool in_memory = options.in_memory;
  OpenedFile out;
  if (in_memory) {
    BLAZE_ASSIGN_OR_RETURN(
        out.conn, Connection::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout_ms));
    BLAZE_RETURN_IF_ERROR(Configure(*out.conn, options, true, false));
    BLAZE_RETURN_IF_ERROR(CreateSchema(*out.conn, random, ""));
  } else {
    if (path.empty()) return Status::InvalidArgument("database path is empty");
    BLAZE_ASSIGN_OR_RETURN(FileKind kind, Inspect(path));
    if (kind == FileKind::kForeign) {
      return Status::Corruption("'" + path + "' is not a BlazeDB database (no SQLite header); refusing to open it");
    }
    // A missing or zero-byte file is created only when asked to; otherwise it
    // is left exactly as it is.
    if (kind == FileKind::kMissing || kind == FileKind::kEmpty) {
      const std::string what = kind == FileKind::kMissing
                                   ? "database '" + path + "' does not exist"
                                   : "'" + path + "' is an empty file (0 bytes), not a BlazeDB database yet";
      if (options.read_only) return Status::NotFound(what + "; a read-only open never creates one");
      if (!options.create_if_missing) return Status::NotFound(what + " (create_if_missing is off)");
    }
    if (options.read_only) {
      BLAZE_ASSIGN_OR_RETURN(out.conn, OpenReadOnly(options, path));
    } else {
      // SQLite would quietly fall back to reading, creating -wal and -shm
      // files owned by this user that then block the owner's writes.
      BLAZE_RETURN_IF_ERROR(CheckWritable(path, kind));
      int flags = SQLITE_OPEN_READWRITE | (kind == FileKind::kMissing ? SQLITE_OPEN_CREATE : 0);
      BLAZE_ASSIGN_OR_RETURN(out.conn, Connection::Open(path, flags, options.busy_timeout_ms));
    }
    bool blank = true;
    if (kind == FileKind::kSqlite) {
      BLAZE_RETURN_IF_ERROR(CheckIdentity(*out.conn, path, &blank));
      if (blank) {
        return Status::Corruption("'" + path + "' is an empty SQLite database, not a BlazeDB database");
      }
    }
    BLAZE_RETURN_IF_ERROR(Configure(*out.conn, options, false, !options.read_only));
    if (options.read_only) {
      // Nothing is written: an older file without blaze_log_horizon reads the
      // same, and a copy keeps the old node id (a read-only handle writes no changes).
    } else if (blank) {
      BLAZE_RETURN_IF_ERROR(CreateSchema(*out.conn, random, path));
    } else {
      BLAZE_RETURN_IF_ERROR(out.conn->Exec(kLogHorizonTable));
      // A copy or a restored backup continues under a fresh node id.
      BLAZE_RETURN_IF_ERROR(CheckFileIdentity(*out.conn, path, random).status());
    }
  }
  BLAZE_ASSIGN_OR_RETURN(NodeRow row, ReadNodeRow(*out.conn));
  out.node = row.node;
  return out;
}

Result<NodeRow> ReadNodeRow(Connection& conn) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT node_id, last_seq, last_hlc FROM blaze_node WHERE id = 1"));
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Status::Corruption("the node row is missing");
  NodeRow r;
  r.node.value = static_cast<uint64_t>(stmt->ColumnInt(0));
  r.last_seq = static_cast<Seq>(stmt->ColumnInt(1));
  r.last_hlc.value = static_cast<uint64_t>(stmt->ColumnInt(2));
  if (r.node.value == 0) return Status::Corruption("the node id is zero");
  return r;
}

Status WriteNodeRow(Connection& conn, const NodeRow& row) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
      "INSERT INTO blaze_node(id, node_id, last_seq, last_hlc) VALUES (1, ?, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET node_id = excluded.node_id, last_seq = excluded.last_seq, "
      "last_hlc = excluded.last_hlc"));
  stmt->BindInt(1, static_cast<int64_t>(row.node.value));
  stmt->BindInt(2, static_cast<int64_t>(row.last_seq));
  stmt->BindInt(3, static_cast<int64_t>(row.last_hlc.value));
  return stmt->Run();
}

}  // namespace blaze::store
