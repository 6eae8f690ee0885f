// catalog.cc — collection tables and indexes.
#include "store/catalog.h"

namespace blaze::store {

std::string SqlQuote(std::string_view name) {
  std::string out = "'";
  for (char c : name) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

const TableInfo* Catalog::Remember(std::string_view collection, std::string table) {
  TableInfo t;
  t.select_state = "SELECT state FROM " + table + " WHERE id = ?";
  t.insert = "INSERT INTO " + table + "(id, doc, state) VALUES (?, ?, ?)";
  t.upsert = t.insert + " ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, state = excluded.state";
  t.name = std::move(table);
  return &tables_.insert_or_assign(std::string(collection), std::move(t)).first->second;
}

Result<const TableInfo*> Catalog::Find(std::string_view collection) {
  auto it = tables_.find(collection);
  if (it != tables_.end()) return &it->second;
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("SELECT tbl FROM blaze_collections WHERE name = ?"));
  stmt->BindText(1, collection);
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return static_cast<const TableInfo*>(nullptr);
  return Remember(collection, std::string(stmt->ColumnText(0)));
}

Result<const TableInfo*> Catalog::Require(std::string_view collection) {
  BLAZE_ASSIGN_OR_RETURN(const TableInfo* found, Find(collection));
  if (found == nullptr) {
    return Status::Corruption("collection '" + std::string(collection) + "' is listed but has no table");
  }
  return found;
}

Result<const TableInfo*> Catalog::Ensure(std::string_view collection) {
  BLAZE_ASSIGN_OR_RETURN(const TableInfo* found, Find(collection));
  if (found != nullptr) return found;
  BLAZE_ASSIGN_OR_RETURN(int64_t n, conn_->QueryInt("SELECT count(*) FROM blaze_collections"));
  std::string tbl = "c" + std::to_string(n + 1);
  BLAZE_RETURN_IF_ERROR(conn_->Exec("CREATE TABLE " + tbl +
                                    "(id TEXT PRIMARY KEY NOT NULL, doc TEXT, state BLOB NOT NULL) WITHOUT ROWID"));
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("INSERT INTO blaze_collections(name, tbl) VALUES (?, ?)"));
  stmt->BindText(1, collection);
  stmt->BindText(2, tbl);
  BLAZE_RETURN_IF_ERROR(stmt->Run());
  created_.emplace_back(collection);
  return Remember(collection, std::move(tbl));
}

Result<std::vector<std::string>> Catalog::List() {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("SELECT name FROM blaze_collections ORDER BY name"));
  std::vector<std::string> out;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.emplace_back(stmt->ColumnText(0));
  }
  return out;
}

Status Catalog::EnsureIndex(std::string_view collection, std::string_view field, const std::string& field_sql) {
  BLAZE_ASSIGN_OR_RETURN(const TableInfo* table, Ensure(collection));
  const std::string& tbl = table->name;
  BLAZE_ASSIGN_OR_RETURN(auto find, conn_->Prepare("SELECT 1 FROM blaze_indexes WHERE collection = ? AND field = ?"));
  find->BindText(1, collection);
  find->BindText(2, field);
  BLAZE_ASSIGN_OR_RETURN(bool exists, find->Step());
  if (exists) return Status::Ok();
  BLAZE_ASSIGN_OR_RETURN(int64_t n, conn_->QueryInt("SELECT count(*) FROM blaze_indexes"));
  std::string name = "ix" + std::to_string(n + 1);
  BLAZE_RETURN_IF_ERROR(conn_->Exec("CREATE INDEX " + name + " ON " + tbl + "(" + field_sql + ")"));
  BLAZE_ASSIGN_OR_RETURN(auto add, conn_->Prepare("INSERT INTO blaze_indexes(collection, field, name) VALUES (?, ?, ?)"));
  add->BindText(1, collection);
  add->BindText(2, field);
  add->BindText(3, name);
  return add->Run();
}

void Catalog::RollbackTo(size_t mark) {
  while (created_.size() > mark) {
    tables_.erase(created_.back());
    created_.pop_back();
  }
}

}  // namespace blaze::store
