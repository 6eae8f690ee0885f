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
