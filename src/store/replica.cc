// replica.cc — DatabaseAccess: the sync layer's entry points into the store.
#include "store/replica.h"

#include "store/database_impl.h"

namespace blaze {

NodeId DatabaseAccess::Node(Database& db) { return db.impl_->node_; }

Result<VersionVector> DatabaseAccess::GetVersionVector(Database& db) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->GetVersionVector();
}

Result<std::vector<store::Change>> DatabaseAccess::ChangesAfter(Database& db, NodeId origin, Seq after,
                                                                size_t limit) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->ChangesAfter(origin, after, limit);
}

Result<std::vector<std::pair<int64_t, store::Change>>> DatabaseAccess::LogAfter(Database& db, int64_t after,
                                                                                size_t limit) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->LogAfter(after, limit);
}

Result<bool> DatabaseAccess::Apply(Database& db, const store::Change& change, int64_t max_drift_ms) {
  store::BatchResult r = ApplyBatch(db, {change}, max_drift_ms);
  if (!r.error.ok()) return r.error;
  return r.applied == 1;
}

store::BatchResult DatabaseAccess::ApplyBatch(Database& db, const std::vector<store::Change>& changes,
                                             int64_t max_drift_ms) {
  store::BatchResult out;
  out.error = db.impl_->CheckNotInTransaction("ApplyBatch");
  if (!out.error.ok()) return out;
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->ApplyRemoteChanges(changes, max_drift_ms);
}

store::BatchResult DatabaseAccess::ApplyBatchChecked(Database& db, const std::vector<store::Change>& changes,
                                                    int64_t max_drift_ms, const store::ChangeCheck& check,
                                                    std::vector<std::pair<size_t, Status>>* refused) {
  store::BatchResult out;
  out.error = db.impl_->CheckNotInTransaction("ApplyBatchChecked");
  if (!out.error.ok()) return out;
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->ApplyRemoteChanges(changes, max_drift_ms, &check, refused);
}

Result<store::Snapshot> DatabaseAccess::ReadSnapshot(Database& db) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->ReadSnapshot();
}

Result<size_t> DatabaseAccess::ApplySnapshot(Database& db, const store::Snapshot& snapshot, int64_t max_drift_ms) {
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("ApplySnapshot"));
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  return db.impl_->ApplySnapshot(snapshot, max_drift_ms);
}

uint64_t DatabaseAccess::AddCommitHook(Database& db, std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  uint64_t id = db.impl_->next_hook_++;
  db.impl_->on_commit_.emplace(id, std::move(hook));
  return id;
}

void DatabaseAccess::RemoveCommitHook(Database& db, uint64_t id) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  db.impl_->on_commit_.erase(id);
}

void DatabaseAccess::SetWriteGuard(Database& db, std::function<Status(const store::Op&)> guard) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  db.impl_->write_guard_ = std::move(guard);
}

Status DatabaseAccess::SetWriteScope(Database& db, const store::WriteScope* scope) {
  if (scope != nullptr) return SetMeta(db, store::kWriteScopeMetaKey, scope->Encode());
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("SetWriteScope"));
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->Prepare("DELETE FROM blaze_meta WHERE key = ?"));
  stmt->BindText(1, store::kWriteScopeMetaKey);
  return stmt->Run();
}

namespace {
constexpr const char* kSentTable =
    "CREATE TABLE IF NOT EXISTS blaze_sent(peer INTEGER NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, "
    "PRIMARY KEY (peer, collection, id)) WITHOUT ROWID";
}  // namespace

Result<std::set<std::pair<std::string, std::string>>> DatabaseAccess::LoadSent(Database& db, NodeId peer) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  auto& conn = *db.impl_->conn_;
  std::set<std::pair<std::string, std::string>> out;
  BLAZE_ASSIGN_OR_RETURN(int64_t exists, conn.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'blaze_sent'"));
  if (exists == 0) return out;
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT collection, id FROM blaze_sent WHERE peer = ?"));
  stmt->BindInt(1, static_cast<int64_t>(peer.value));
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.emplace(std::string(stmt->ColumnText(0)), std::string(stmt->ColumnText(1)));
  }
  return out;
}

Status DatabaseAccess::AddSent(Database& db, NodeId peer, const std::vector<std::pair<std::string, std::string>>& keys) {
  if (keys.empty()) return Status::Ok();
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("AddSent"));
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  auto& conn = *db.impl_->conn_;
  BLAZE_RETURN_IF_ERROR(conn.Exec(kSentTable));
  BLAZE_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
        "INSERT INTO blaze_sent(peer, collection, id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
    for (const auto& [collection, id] : keys) {
      stmt->BindInt(1, static_cast<int64_t>(peer.value));
      stmt->BindText(2, collection);
      stmt->BindText(3, id);
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

Result<std::string> DatabaseAccess::GetMeta(Database& db, const std::string& key) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->Prepare("SELECT value FROM blaze_meta WHERE key = ?"));
  stmt->BindText(1, key);
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Status::NotFound("no meta value '" + key + "'");
  return std::string(stmt->ColumnText(0));
}

Status DatabaseAccess::DeleteMeta(Database& db, const std::vector<std::string>& keys) {
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("DeleteMeta"));
  if (keys.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  BLAZE_RETURN_IF_ERROR(db.impl_->conn_->ExecCached("BEGIN IMMEDIATE"));
  Status s;
  for (const std::string& key : keys) {
    auto stmt = db.impl_->conn_->Prepare("DELETE FROM blaze_meta WHERE key = ?");
    if (!stmt.ok()) {
      s = stmt.status();
      break;
    }
    (*stmt)->BindText(1, key);
    s = (*stmt)->Run();
    if (!s.ok()) break;
  }
  if (s.ok()) s = db.impl_->conn_->ExecCached("COMMIT");
  if (!s.ok()) db.impl_->conn_->ExecCached("ROLLBACK").IgnoreError();
  return s;
}

Result<std::vector<std::pair<std::string, std::string>>> DatabaseAccess::ListMeta(Database& db,
                                                                                   const std::string& prefix) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  // key >= prefix AND key < prefix + U+10FFFF-ish: a range scan, no LIKE escaping.
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->Prepare(
      "SELECT key, value FROM blaze_meta WHERE key >= ? AND substr(key, 1, ?) = ? ORDER BY key"));
  stmt->BindText(1, prefix);
  stmt->BindInt(2, static_cast<int64_t>(prefix.size()));
  stmt->BindText(3, prefix);
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return out;
    out.emplace_back(std::string(stmt->ColumnText(0)), std::string(stmt->ColumnText(1)));
  }
}

Status DatabaseAccess::SetMeta(Database& db, const std::string& key, const std::string& value) {
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("SetMeta"));
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->Prepare(
      "INSERT INTO blaze_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  stmt->BindText(1, key);
  stmt->BindText(2, value);
  return stmt->Run();
}

Result<std::vector<store::SnapshotRecord>> DatabaseAccess::ReadStates(
    Database& db, const std::vector<std::pair<std::string, std::string>>& keys) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  auto& impl = *db.impl_;
  BLAZE_RETURN_IF_ERROR(impl.conn_->ExecCached("BEGIN"));
  std::vector<store::SnapshotRecord> out;
  Status s = [&]() -> Status {
    for (const auto& [collection, id] : keys) {
      auto table = impl.catalog_.Find(collection);
      if (!table.ok()) {
        if (table.status().IsNotFound()) continue;
        return table.status();
      }
      if (*table == nullptr) continue;  // no such collection: nothing stored
      BLAZE_ASSIGN_OR_RETURN(auto stmt, impl.conn_->Prepare("SELECT state FROM " + (*table)->name + " WHERE id = ?"));
      stmt->BindText(1, id);
      BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (row) out.push_back(store::SnapshotRecord{collection, id, std::string(stmt->ColumnBlob(0))});
    }
    return Status::Ok();
  }();
  impl.conn_->ExecCached("COMMIT").IgnoreError();
  if (!s.ok()) return s;
  return out;
}

Result<VersionVector> DatabaseAccess::LoadCheckpoint(Database& db, NodeId peer) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->Prepare("SELECT origin, seq FROM blaze_peers WHERE peer = ? AND origin <> 0"));
  stmt->BindInt(1, static_cast<int64_t>(peer.value));
  return store::ReadVersionVector(*stmt);
}

Status DatabaseAccess::DeleteCheckpoint(Database& db, NodeId peer) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->Prepare("DELETE FROM blaze_peers WHERE peer = ?"));
  stmt->BindInt(1, static_cast<int64_t>(peer.value));
  return stmt->Run();
}

Status DatabaseAccess::SaveCheckpoint(Database& db, NodeId peer, const VersionVector& acked) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  auto& conn = *db.impl_->conn_;
  BLAZE_RETURN_IF_ERROR(conn.ExecCached("BEGIN IMMEDIATE"));
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
        "INSERT INTO blaze_peers(peer, origin, seq) VALUES (?, ?, ?) "
        "ON CONFLICT(peer, origin) DO UPDATE SET seq = max(seq, excluded.seq)"));
    // The (peer, 0, 0) row marks the peer known even while it holds nothing:
    // compaction must then keep what it lacks (compaction.cc).
    VersionVector rows = acked;
    rows.emplace(NodeId{0}, 0);
    for (const auto& [origin, seq] : rows) {
      stmt->BindInt(1, static_cast<int64_t>(peer.value));
      stmt->BindInt(2, static_cast<int64_t>(origin.value));
      stmt->BindInt(3, static_cast<int64_t>(seq));
      BLAZE_RETURN_IF_ERROR(stmt->Run());
      stmt->Reset();
    }
    return Status::Ok();
  }();
  if (s.ok()) s = conn.ExecCached("COMMIT");
  if (!s.ok()) conn.ExecCached("ROLLBACK").IgnoreError();
  return s;
}

Result<std::map<std::string, std::map<std::string, std::string>>> DatabaseAccess::DumpStates(Database& db) {
  std::lock_guard<std::mutex> lock(db.impl_->mu_);
  std::map<std::string, std::map<std::string, std::string>> out;
  BLAZE_ASSIGN_OR_RETURN(std::vector<std::string> names, db.impl_->catalog_.List());
  for (const auto& name : names) {
    BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, db.impl_->catalog_.Require(name));
    BLAZE_ASSIGN_OR_RETURN(auto stmt, db.impl_->conn_->PrepareUncached("SELECT id, state FROM " + table->name));
    auto& coll = out[name];
    while (true) {
      BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      coll.emplace(std::string(stmt->ColumnText(0)), std::string(stmt->ColumnBlob(1)));
    }
  }
  return out;
}

}  // namespace blaze
