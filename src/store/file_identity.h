// file_identity.h — noticing that a database file is not the file it was,
// and continuing under a fresh node id when it is not.
//
// Every change a file writes is named (node id, seq), and that pair must name
// one change everywhere. A copy of the file (`cp`, `cp -a`, a backup restored
// under the name) carries the node id and the seq counter with it: if the
// copy and the original both write, two different changes claim one
// (origin, seq), and sync keeps whichever a replica saw first. So a file
// records which file it is — its inode number and birth time, the two things
// a copy never keeps and `mv` within one filesystem always keeps — in
// blaze_meta.file_identity, and every read-write open compares that with the
// file found at the path. A different file takes a fresh node id: the old
// origin's changes stay as they are (they are history every replica may
// hold), new writes use the new node (docs/on-disk-format.md, "File
// identity").
//
// What this cannot see (docs/sync-protocol.md covers it at sync time): a
// backup copied back over the original in place (same inode), a filesystem
// snapshot rolled back, a file from before this record copied before its
// first open by this build.
//
// Thread safety: these functions use the given connection only; call them
// where nothing else uses it at the same time (while opening, or under the
// database lock).
#ifndef BLAZE_STORE_FILE_IDENTITY_H_
#define BLAZE_STORE_FILE_IDENTITY_H_

#include <string>

#include "blaze/database.h"
#include "store/sqlite.h"

namespace blaze::store {

inline constexpr const char* kFileIdentityKey = "file_identity";

// The identity of the file at `path`: "<inode>:<birth seconds>.<nanoseconds>"
// (the birth time is 0.0 where the filesystem does not keep one). Errors
// only when the file cannot be examined.
Result<std::string> FileIdentityOf(const std::string& path);

// Stores `identity` as this file's (inside the caller's write transaction).
Status WriteFileIdentity(Connection& conn, const std::string& identity);

// Compares the stored identity with the file at `path`. Nothing stored (a
// file from an older build): stores it and keeps the node id. A different
// file: takes a fresh node id and stores the new identity, in one
// transaction (another process opening the same copy at the same time finds
// it done and keeps that node). A handle that cannot write (read-only file or
// connection) changes nothing and does not fail: it writes no changes
// either. Returns true when the node id changed.
Result<bool> CheckFileIdentity(Connection& conn, const std::string& path, Random* random);

// Replaces the node id with a fresh random one (never 0, never an origin the
// file already holds) and restarts its seq at 0, inside the caller's write
// transaction. The clock reading is kept. Returns the new id.
Result<NodeId> RotateNodeLocked(Connection& conn, Random* random);

}  // namespace blaze::store

#endif  // BLAZE_STORE_FILE_IDENTITY_H_
