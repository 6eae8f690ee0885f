// reads.cc — Get, FetchAll, Query, Count, Explain, indexes and row I/O
// (the change log reader behind watchers is in watch_source.cc).
#include <algorithm>

#include "blaze/json.h"
#include "store/database_impl.h"
#include "store/document.h"

namespace blaze {

using store::RecordState;

Result<std::optional<RecordState>> Database::Impl::LoadState(const store::TableInfo& table, std::string_view id) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(table.select_state));
  stmt->BindText(1, id);
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<RecordState>();
  BLAZE_ASSIGN_OR_RETURN(RecordState st, RecordState::Decode(stmt->ColumnBlob(0)));
  return std::optional<RecordState>(std::move(st));
}

Status Database::Impl::SaveRow(const store::TableInfo& table, std::string_view id, const std::string& state,
                               const Value* visible_doc, bool must_be_new) {
  if (state.size() > kMaxDocumentBytes) {
    return Status::InvalidArgument("record '" + std::string(id) + "' would take " + std::to_string(state.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxDocumentBytes));
  }
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(must_be_new ? table.insert : table.upsert));
  stmt->BindText(1, id);
  if (visible_doc != nullptr) {
    stmt->BindText(2, ToJson(*visible_doc));
  } else {
    stmt->BindNull(2);
  }
  stmt->BindBlob(3, state);
  Status s = stmt->Run();
  if (!s.ok() && must_be_new && s.code() == StatusCode::kInvalidArgument) {
    return Status::AlreadyExists("record '" + std::string(id) + "' already exists");
  }
  return s;
}

Result<Value> Database::Impl::GetLocked(std::string_view collection, std::string_view id) {
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_RETURN_IF_ERROR(ValidateRecordId(id));
  BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, catalog_.Find(collection));
  if (table != nullptr) {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(table->select_state));
    stmt->BindText(1, id);
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) {
      BLAZE_ASSIGN_OR_RETURN(std::optional<Value> doc, RecordState::DecodeVisibleDoc(stmt->ColumnBlob(0)));
      if (doc) return std::move(*doc);
    }
  }
  return Status::NotFound("record '" + std::string(id) + "' does not exist in collection '" +
                          std::string(collection) + "'");
}

Result<std::optional<Database::Impl::CompiledQuery>> Database::Impl::CompileQuery(std::string_view collection,
                                                                                  const QueryOptions& q,
                                                                                  const char* select) {
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_ASSIGN_OR_RETURN(query::Query parsed, query::Parse(q.where));
  BLAZE_ASSIGN_OR_RETURN(query::BoundQuery bound, query::Bind(parsed, q.vars));
  if (q.offset < 0) return Status::InvalidArgument("offset must be >= 0");
  if (q.limit && *q.limit < 0) return Status::InvalidArgument("limit must be >= 0");
  std::string order = "id";
  if (!q.order_by.empty()) {
    BLAZE_ASSIGN_OR_RETURN(query::Path path, query::ParsePath(q.order_by));
    order = query::FieldSql(path);
  }
  BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, catalog_.Find(collection));
  if (table == nullptr) return std::optional<CompiledQuery>();
  query::SqlExpr where = query::ToSql(bound);
  CompiledQuery c;
  c.sql = std::string(select) + " FROM " + table->name + " WHERE doc IS NOT NULL AND (" + where.sql + ")";
  c.params = std::move(where.params);
  if (std::string_view(select).find("count(") == std::string_view::npos) {
    const char* dir = q.descending ? " DESC" : "";
    c.sql += " ORDER BY " + order + dir;
    if (order != "id") c.sql += std::string(", id") + dir;
    c.sql += " LIMIT " + std::to_string(q.limit ? *q.limit : -1) + " OFFSET " + std::to_string(q.offset);
  }
  return std::optional<CompiledQuery>(std::move(c));
}

Result<int64_t> Database::Impl::MaxLocalSeq() {
  return conn_->QueryInt(std::string("SELECT ") + store::kLastLocalSeqSql);
}

// --- public reads -----------------------------------------------------------

namespace {

Status ReadRecords(store::Statement& stmt, std::vector<Record>* out) {
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Ok();
    BLAZE_ASSIGN_OR_RETURN(std::optional<Value> doc, RecordState::DecodeVisibleDoc(stmt.ColumnBlob(1)));
    if (!doc) return Status::Corruption("a record row has a document but its state says it is deleted");
    out->push_back(Record{std::string(stmt.ColumnText(0)), std::move(*doc)});
  }
}

}  // namespace

Result<Value> Database::Get(std::string_view collection, std::string_view id) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Get"));
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->GetLocked(collection, id);
}

Result<std::vector<Record>> Database::FetchAll(std::string_view collection) { return Query(collection, {}); }

Result<std::vector<Record>> Database::Query(std::string_view collection, const QueryOptions& query) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Query"));
  std::lock_guard<std::mutex> lock(impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto compiled, impl_->CompileQuery(collection, query, "SELECT id, state"));
  std::vector<Record> out;
  if (!compiled) return out;
  BLAZE_ASSIGN_OR_RETURN(auto stmt, impl_->conn_->Prepare(compiled->sql));
  for (size_t i = 0; i < compiled->params.size(); ++i) stmt->BindValue(static_cast<int>(i + 1), compiled->params[i]);
  BLAZE_RETURN_IF_ERROR(ReadRecords(*stmt, &out));
  return out;
}

Result<int64_t> Database::Count(std::string_view collection, std::string_view where,
                                const std::map<std::string, Value, std::less<>>& vars) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Count"));
  std::lock_guard<std::mutex> lock(impl_->mu_);
  QueryOptions q;
  q.where = std::string(where);
  q.vars = vars;
  BLAZE_ASSIGN_OR_RETURN(auto compiled, impl_->CompileQuery(collection, q, "SELECT count(*)"));
  if (!compiled) return int64_t{0};
  BLAZE_ASSIGN_OR_RETURN(auto stmt, impl_->conn_->Prepare(compiled->sql));
  for (size_t i = 0; i < compiled->params.size(); ++i) stmt->BindValue(static_cast<int>(i + 1), compiled->params[i]);
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row ? stmt->ColumnInt(0) : 0;
}

Result<std::string> Database::Explain(std::string_view collection, const QueryOptions& query) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Explain"));
  std::lock_guard<std::mutex> lock(impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto compiled, impl_->CompileQuery(collection, query, "SELECT id, state"));
  if (!compiled) return std::string("collection '" + std::string(collection) + "' does not exist yet\n");
  BLAZE_ASSIGN_OR_RETURN(auto stmt, impl_->conn_->PrepareUncached("EXPLAIN QUERY PLAN " + compiled->sql));
  for (size_t i = 0; i < compiled->params.size(); ++i) stmt->BindValue(static_cast<int>(i + 1), compiled->params[i]);
  std::string plan;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    plan += stmt->ColumnText(3);
    plan += '\n';
  }
  return plan;
}

Result<std::vector<std::string>> Database::Collections() {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Collections"));
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->catalog_.List();
}

Status Database::CreateIndex(std::string_view collection, std::string_view field) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("CreateIndex"));
  BLAZE_RETURN_IF_ERROR(impl_->CheckWritable("CreateIndex"));
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_ASSIGN_OR_RETURN(query::Path path, query::ParsePath(field));
  if (path.IsId()) return Status::Ok();  // the primary key already indexes ids
  std::lock_guard<std::mutex> lock(impl_->mu_);
  auto& conn = *impl_->conn_;
  BLAZE_RETURN_IF_ERROR(conn.ExecCached("BEGIN IMMEDIATE"));
  Status s = impl_->catalog_.EnsureIndex(collection, path.ToString(), query::FieldSql(path));
  if (s.ok()) s = conn.ExecCached("COMMIT");
  if (!s.ok()) {
    conn.ExecCached("ROLLBACK").IgnoreError();
    impl_->catalog_.Rollback();
    return s;
  }
  impl_->catalog_.Commit();
  return Status::Ok();
}

}  // namespace blaze
