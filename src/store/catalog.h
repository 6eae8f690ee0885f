// catalog.h — which SQLite table holds which collection, and its indexes.
//
// Collection "bugs" lives in table c<N> (id TEXT PRIMARY KEY, doc TEXT,
// state BLOB) WITHOUT ROWID; `doc` is the JSON of the visible document (NULL
// for a deleted record) that queries and expression indexes read, `state` the
// RecordState with every stamp. The mapping is cached; tables created inside a
// transaction that rolls back are forgotten with Rollback().
//
// Not thread-safe: used under the Database mutex.
#ifndef BLAZE_STORE_CATALOG_H_
#define BLAZE_STORE_CATALOG_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite.h"

namespace blaze::store {

// A collection's table and the SQL the hot paths run against it, built once.
struct TableInfo {
  std::string name;          // c<N>
  std::string select_state;  // the state of one record by id
  std::string insert;        // a new row; fails if the id exists
  std::string upsert;        // insert or replace doc and state
};

class Catalog {
 public:
  explicit Catalog(Connection* conn) : conn_(conn) {}

  // The table of `collection`, or OK with nullptr if it has none yet (a
  // collection never written): every caller must handle nullptr. The pointer
  // stays valid until the transaction that created the table rolls back.
  Result<const TableInfo*> Find(std::string_view collection);
  // The table of a collection that must have one (a name from List()): never
  // nullptr; kCorruption if the catalog has no table for it.
  Result<const TableInfo*> Require(std::string_view collection);
  // The table of `collection`, creating it (inside the caller's transaction).
  Result<const TableInfo*> Ensure(std::string_view collection);
  Result<std::vector<std::string>> List();
  // Creates the expression index on `field_sql` (e.g. json_extract(doc,'$.a'))
  // for `field` unless it exists. Caller holds a write transaction.
  Status EnsureIndex(std::string_view collection, std::string_view field, const std::string& field_sql);

  // Transaction bracketing for the cache. Mark/RollbackTo bracket a
  // savepoint: tables created after the mark are forgotten.
  void Commit() { created_.clear(); }
  void Rollback() { RollbackTo(0); }
  size_t Mark() const { return created_.size(); }
  void RollbackTo(size_t mark);

 private:
  Connection* conn_;
  const TableInfo* Remember(std::string_view collection, std::string table);
  std::map<std::string, TableInfo, std::less<>> tables_;
  std::vector<std::string> created_;  // cache entries added in the open transaction
};

// `name` quoted as an SQL string literal ('it''s').
std::string SqlQuote(std::string_view name);

}  // namespace blaze::store

#endif  // BLAZE_STORE_CATALOG_H_
