// file_identity.cc — the file's recorded identity and node id rotation.
#include "store/file_identity.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "store/schema.h"

namespace blaze::store {
namespace {

Result<std::optional<std::string>> ReadStoredIdentity(Connection& conn) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT value FROM blaze_meta WHERE key = ?"));
  stmt->BindText(1, kFileIdentityKey);
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(stmt->ColumnText(0)));
}

bool ReadOnly(Connection& conn) { return sqlite3_db_readonly(conn.raw(), "main") == 1; }

}  // namespace

Result<std::string> FileIdentityOf(const std::string& path) {
  uint64_t inode = 0;
  int64_t birth_sec = 0;
  int64_t birth_nsec = 0;
  bool known = false;
#if defined(__linux__) && defined(STATX_BTIME)
  struct statx stx;
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_INO | STATX_BTIME, &stx) == 0) {
    known = true;
    inode = stx.stx_ino;
    if (stx.stx_mask & STATX_BTIME) {
      birth_sec = stx.stx_btime.tv_sec;
      birth_nsec = stx.stx_btime.tv_nsec;
    }
  } else if (errno != ENOSYS && errno != EPERM) {  // an old kernel or a sandbox without statx: stat below
    return Status::IOError("cannot examine '" + path + "': " + std::strerror(errno));
  }
#endif
  if (!known) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return Status::IOError("cannot examine '" + path + "': " + std::strerror(errno));
    }
    inode = static_cast<uint64_t>(st.st_ino);
#if defined(__APPLE__)
    birth_sec = st.st_birthtimespec.tv_sec;
    birth_nsec = st.st_birthtimespec.tv_nsec;
#endif
  }
  return std::to_string(inode) + ":" + std::to_string(birth_sec) + "." + std::to_string(birth_nsec);
}

Status WriteFileIdentity(Connection& conn, const std::string& identity) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
      "INSERT INTO blaze_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  stmt->BindText(1, kFileIdentityKey);
  stmt->BindText(2, identity);
  return stmt->Run();
}

Result<NodeId> RotateNodeLocked(Connection& conn, Random* random) {
  BLAZE_ASSIGN_OR_RETURN(NodeRow row, ReadNodeRow(conn));
  BLAZE_ASSIGN_OR_RETURN(auto held, conn.Prepare("SELECT count(*) FROM blaze_vv WHERE origin = ?"));
  uint64_t fresh = 0;
  while (true) {
    random->Fill(&fresh, sizeof fresh);
    if (fresh == 0 || fresh == row.node.value) continue;
    held->BindInt(1, static_cast<int64_t>(fresh));
    BLAZE_ASSIGN_OR_RETURN(bool r, held->Step());
    const bool known = r && held->ColumnInt(0) > 0;
    held->Reset();
    if (!known) break;
  }
  row.node = NodeId{fresh};
  row.last_seq = 0;
  BLAZE_RETURN_IF_ERROR(WriteNodeRow(conn, row));
  return row.node;
}

Result<bool> CheckFileIdentity(Connection& conn, const std::string& path, Random* random) {
  BLAZE_ASSIGN_OR_RETURN(std::string now, FileIdentityOf(path));
  BLAZE_ASSIGN_OR_RETURN(std::optional<std::string> stored, ReadStoredIdentity(conn));
  if (stored == now) return false;
  if (ReadOnly(conn)) return false;
  Status begin = conn.Exec("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    // A file we may read but not write (permissions, a read-only medium):
    // this handle writes no changes, so its node id does not matter.
    if ((sqlite3_errcode(conn.raw()) & 0xFF) == SQLITE_READONLY || ReadOnly(conn)) return false;
    return begin;
  }
  bool rotated = false;
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(stored, ReadStoredIdentity(conn));  // another process may have done it
    if (stored == now) return Status::Ok();
    if (stored.has_value()) {
      BLAZE_RETURN_IF_ERROR(RotateNodeLocked(conn, random).status());
      rotated = true;
    }
    return WriteFileIdentity(conn, now);
  }();
  if (s.ok()) s = conn.Exec("COMMIT");
  if (!s.ok()) {
    const bool read_only = (sqlite3_errcode(conn.raw()) & 0xFF) == SQLITE_READONLY;
    conn.Exec("ROLLBACK").IgnoreError();
    if (read_only) return false;
    return s.WithContext("recording the identity of '" + path + "'");
  }
  return rotated;
}

}  // namespace blaze::store
