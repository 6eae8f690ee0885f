// refusals.cc — the records of changes a receiver's check refused, per
// origin (table blaze_refused): a cross-app owner keeps them until the app's
// replica, which still holds the refused writes, has taken the owner's state
// of those records back (docs/cross-app.md, "A refused change does not leave
// the replica diverged"). Written in the transaction that refuses the change,
// so no refusal outlives its record of it, not even across a crash.
//
// Thread safety: RecordRefusal runs with the database lock held inside the
// apply transaction; the DatabaseAccess calls take the lock.
#include "store/database_impl.h"
#include "store/replica.h"

namespace blaze {

namespace {

constexpr const char* kRefusedTable =
    "CREATE TABLE IF NOT EXISTS blaze_refused(origin INTEGER NOT NULL, collection TEXT NOT NULL, "
    "id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (origin, collection, id)) WITHOUT ROWID";

}  // namespace

Status Database::Impl::RecordRefusal(const store::Change& change) {
  if (change.ops.empty()) return Status::Ok();
  BLAZE_RETURN_IF_ERROR(conn_->Exec(kRefusedTable));
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(
      "INSERT INTO blaze_refused(origin, collection, id, seq) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(origin, collection, id) DO UPDATE SET seq = max(seq, excluded.seq)"));
  for (const store::Op& op : change.ops) {
    stmt->BindInt(1, static_cast<int64_t>(change.origin.value));
    stmt->BindText(2, op.collection);
    stmt->BindText(3, op.id);
    stmt->BindInt(4, static_cast<int64_t>(change.seq));
    BLAZE_RETURN_IF_ERROR(stmt->Run());
    stmt->Reset();
  }
  return Status::Ok();
}

Result<std::map<DatabaseAccess::RecordKey, Seq>> DatabaseAccess::LoadRefused(Database& db, NodeId origin,
                                                                             const std::set<RecordKey>* only) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  auto& conn = *db.impl_->conn_;
  std::map<RecordKey, Seq> out;
  BLAZE_ASSIGN_OR_RETURN(int64_t exists, conn.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'blaze_refused'"));
  if (exists == 0) return out;
  if (only != nullptr) {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
        "SELECT seq FROM blaze_refused WHERE origin = ? AND collection = ? AND id = ?"));
    for (const RecordKey& key : *only) {
      stmt->BindInt(1, static_cast<int64_t>(origin.value));
      stmt->BindText(2, key.first);
      stmt->BindText(3, key.second);
      BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (row) out.emplace(key, static_cast<Seq>(stmt->ColumnInt(0)));
      stmt->Reset();
    }
    return out;
  }
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT collection, id, seq FROM blaze_refused WHERE origin = ?"));
  stmt->BindInt(1, static_cast<int64_t>(origin.value));
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.emplace(RecordKey(std::string(stmt->ColumnText(0)), std::string(stmt->ColumnText(1))),
                static_cast<Seq>(stmt->ColumnInt(2)));
  }
  return out;
}

Status DatabaseAccess::SettleRefused(Database& db, NodeId origin, const std::map<RecordKey, Seq>& settled) {
  if (settled.empty()) return Status::Ok();
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("SettleRefused"));
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  auto& conn = *db.impl_->conn_;
  BLAZE_RETURN_IF_ERROR(conn.Exec(kRefusedTable));
  BLAZE_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
        "DELETE FROM blaze_refused WHERE origin = ? AND collection = ? AND id = ? AND seq <= ?"));
    for (const auto& [key, seq] : settled) {
      stmt->BindInt(1, static_cast<int64_t>(origin.value));
      stmt->BindText(2, key.first);
      stmt->BindText(3, key.second);
      stmt->BindInt(4, static_cast<int64_t>(seq));
      BLAZE_RETURN_IF_ERROR(stmt->Run());
      stmt->Reset();
    }
    return Status::Ok();
  }();
  if (!s.ok()) {
    conn.Exec("ROLLBACK").IgnoreError();
    return s;
  }
  return conn.Exec("COMMIT");
}

}  // namespace blaze
