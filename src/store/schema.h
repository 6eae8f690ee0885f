// schema.h — opening a database file: recognising it, refusing what is not
// ours, creating the BlazeDB schema in a new file, and the node row.
//
// A BlazeDB file is an SQLite database with PRAGMA application_id = kAppId
// ("Blz1") and PRAGMA user_version = the format version (docs/on-disk-format.md).
// Open() reads both before writing anything, so a foreign, corrupt or newer
// file is refused untouched.
#ifndef BLAZE_STORE_SCHEMA_H_
#define BLAZE_STORE_SCHEMA_H_

#include <memory>
#include <string>

#include "blaze/database.h"
#include "store/sqlite.h"

namespace blaze::store {

inline constexpr int32_t kAppId = 0x426C7A31;  // "Blz1"

// The change log's local_seq only grows. Compaction may delete the log's
// tail; before it does it records the highest local_seq given so far in
// blaze_meta.local_seq_floor, and new entries are numbered after both the
// table's last row and that floor (docs/on-disk-format.md).
inline constexpr const char* kLocalSeqFloorKey = "local_seq_floor";
#define BLAZE_LAST_LOCAL_SEQ_SQL                                   \
  "max((SELECT coalesce(max(local_seq), 0) FROM blaze_changes), " \
  "(SELECT coalesce(max(value), 0) FROM blaze_meta WHERE key = 'local_seq_floor'))"
// An SQL expression: the highest local_seq ever given in this file.
inline constexpr const char* kLastLocalSeqSql = BLAZE_LAST_LOCAL_SEQ_SQL;
// An SQL expression: the local_seq of the next log entry.
inline constexpr const char* kNextLocalSeqSql = "(1 + " BLAZE_LAST_LOCAL_SEQ_SQL ")";
#undef BLAZE_LAST_LOCAL_SEQ_SQL

struct OpenedFile {
  std::unique_ptr<Connection> conn;
  NodeId node;
};

Result<OpenedFile> OpenDatabaseFile(const Options& options, const std::string& path, Random* random);

// The node row: this file's identity, its last seq and last HLC reading.
struct NodeRow {
  NodeId node;
  Seq last_seq = 0;
  Hlc last_hlc;
};
Result<NodeRow> ReadNodeRow(Connection& conn);
Status WriteNodeRow(Connection& conn, const NodeRow& row);

}  // namespace blaze::store

#endif  // BLAZE_STORE_SCHEMA_H_
