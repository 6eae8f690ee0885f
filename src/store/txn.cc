// txn.cc — the local write path.
//
// Each write becomes one or more operations. Each operation takes the next
// stamp (base + index), is folded into the stored RecordState by the LWW rules
// and written through to the record's row at once, so reads inside the
// transaction see it. Finish() appends the change {origin, seq, hlc, ops} and
// the advanced node row; the caller commits all of it as one SQLite
// transaction, or rolls all of it back.
#include <algorithm>
#include <exception>

#include "blaze/json.h"
#include "store/database_impl.h"
#include "store/document.h"
#include "store/watcher.h"

namespace blaze {

using store::Effect;
using store::RecordState;

Status Txn::Impl::Load(std::string_view collection, std::string_view id, const store::TableInfo** table,
                       std::optional<RecordState>* st) {
  if (!poisoned_.ok()) return poisoned_;
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_RETURN_IF_ERROR(ValidateRecordId(id));
  BLAZE_ASSIGN_OR_RETURN(*table, db_->catalog_.Ensure(collection));
  BLAZE_ASSIGN_OR_RETURN(*st, db_->LoadState(**table, id));
  return Status::Ok();
}

void Txn::Impl::Touch(std::string_view collection, std::string_view id, bool was_visible, bool now_visible,
                      const Value* doc) {
  std::string key;
  key.reserve(collection.size() + id.size() + 1);
  key.append(collection).append(1, '\0').append(id);
  auto [it, first] = touches_.try_emplace(std::move(key));
  if (first) it->second.was_visible = was_visible;
  it->second.now_visible = now_visible;
  it->second.last_op = n_ops_ - 1;
  if (capture_) it->second.doc = (now_visible && doc != nullptr) ? *doc : Value();
}

std::vector<ChangeEvent> Txn::Impl::TakeEvents() {
  std::vector<std::pair<size_t, ChangeEvent>> ordered;
  for (auto& [key, t] : touches_) {
    if (t.was_visible == t.now_visible && !t.now_visible) continue;
    ChangeEvent e;
    e.kind = !t.now_visible ? ChangeEvent::Kind::kDeleted
             : t.was_visible ? ChangeEvent::Kind::kUpdated
                             : ChangeEvent::Kind::kInserted;
    size_t zero = key.find('\0');
    e.collection = key.substr(0, zero);
    e.id = key.substr(zero + 1);
    e.doc = std::move(t.doc);
    e.origin = origin_;
    e.seq = seq_;
    ordered.emplace_back(t.last_op, std::move(e));
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ChangeEvent> out;
  for (auto& [op, e] : ordered) out.push_back(std::move(e));
  return out;
}

Status Txn::Impl::Guard(std::string_view collection, std::string_view id, const Write& w) {
  if (remote_ || (!db_->write_guard_ && !db_->scope_)) return Status::Ok();
  store::Op op;
  op.collection = std::string(collection);
  op.id = std::string(id);
  auto check = [&]() -> Status {
    if (db_->write_guard_) BLAZE_RETURN_IF_ERROR(db_->write_guard_(op));
    if (db_->scope_) BLAZE_RETURN_IF_ERROR(db_->scope_->Check(op));  // holds on every handle of the file
    return Status::Ok();
  };
  if (w.put != nullptr) {
    op.type = store::Op::Type::kPut;
    op.fields = *w.put;
    BLAZE_RETURN_IF_ERROR(check());
  }
  if (!w.unset.empty()) {
    op.type = store::Op::Type::kUnset;
    op.fields.clear();
    op.names = w.unset;
    BLAZE_RETURN_IF_ERROR(check());
  }
  if (w.del) {
    op.type = store::Op::Type::kDelete;
    op.fields.clear();
    op.names.clear();
    BLAZE_RETURN_IF_ERROR(check());
  }
  return Status::Ok();
}

Status Txn::Impl::Apply(std::string_view collection, std::string_view id, const store::TableInfo& table,
                        RecordState& st, const Write& w, const Value* visible_doc) {
  BLAZE_RETURN_IF_ERROR(Guard(collection, id, w));
  const bool was_visible = st.visible();
  size_t k = n_ops_;
  if (w.put != nullptr) st.ApplyPut(StampAt(k++), *w.put);
  if (!w.unset.empty()) st.ApplyUnset(StampAt(k++), w.unset);
  if (w.del) st.ApplyDelete(StampAt(k++));
  Value computed;
  if (st.visible() && visible_doc == nullptr) {
    computed = st.VisibleDoc();
    visible_doc = &computed;
  }
  Status s = db_->SaveRow(table, id, st.Encode(), st.visible() ? visible_doc : nullptr, false);
  if (!s.ok()) {
    poisoned_ = s;
    return s;
  }
  if (w.put != nullptr) store::AppendPutOp(&ops_body_, collection, id, *w.put);
  if (!w.unset.empty()) store::AppendUnsetOp(&ops_body_, collection, id, w.unset);
  if (w.del) store::AppendDeleteOp(&ops_body_, collection, id);
  n_ops_ = k;
  Touch(collection, id, was_visible, st.visible(), visible_doc);
  return Status::Ok();
}

Result<std::string> Txn::Impl::Insert(std::string_view collection, const Value& doc) {
  if (!poisoned_.ok()) return poisoned_;
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_RETURN_IF_ERROR(store::ValidateDocument(doc));
  BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, db_->catalog_.Ensure(collection));
  std::string id = db_->ids_.Next();
  {
    Write w;
    w.put = &doc.as_map();
    BLAZE_RETURN_IF_ERROR(Guard(collection, id, w));
  }
  // A generated id is new: the state is one put, encoded without building it.
  Status s = db_->SaveRow(*table, id, RecordState::EncodeFresh(StampAt(n_ops_), doc.as_map()), &doc,
                          /*must_be_new=*/true);
  if (!s.ok()) {
    poisoned_ = s;
    return s;
  }
  store::AppendPutOp(&ops_body_, collection, id, doc.as_map());
  ++n_ops_;
  Touch(collection, id, false, true, &doc);
  return id;
}

Status Txn::Impl::Put(std::string_view collection, std::string_view id, const Value& doc) {
  BLAZE_RETURN_IF_ERROR(store::ValidateDocument(doc));
  const store::TableInfo* table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  RecordState st = loaded ? std::move(*loaded) : RecordState();
  Write w;
  w.put = &doc.as_map();
  if (st.visible()) {
    // Put replaces the document: fields it does not name are unset.
    for (const auto& [name, f] : st.fields()) {
      if (f.present && st.delete_stamp() < f.stamp && doc.Find(name) == nullptr) w.unset.push_back(name);
    }
  }
  return Apply(collection, id, *table, st, w, &doc);
}

Status Txn::Impl::Patch(std::string_view collection, std::string_view id, const Value& patch) {
  BLAZE_RETURN_IF_ERROR(store::ValidatePatch(patch));
  const store::TableInfo* table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  if (!loaded || !loaded->visible()) {
    return Status::NotFound("record '" + std::string(id) + "' does not exist in collection '" +
                            std::string(collection) + "'");
  }
  RecordState& st = *loaded;
  Value current = st.VisibleDoc();
  Value::Map put;
  Write w;
  for (const auto& [name, v] : patch.as_map()) {
    const Value* old = current.Find(name);
    if (v.is_null()) {
      if (old != nullptr) w.unset.push_back(name);
    } else {
      put.emplace(name, store::MergePatchValue(old, v));
    }
  }
  if (!put.empty()) w.put = &put;
  if (w.put == nullptr && w.unset.empty()) return Status::Ok();  // nothing to change: no change is logged
  return Apply(collection, id, *table, st, w, nullptr);
}

Status Txn::Impl::Delete(std::string_view collection, std::string_view id) {
  const store::TableInfo* table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  if (!loaded || !loaded->visible()) {
    return Status::NotFound("record '" + std::string(id) + "' does not exist in collection '" +
                            std::string(collection) + "'");
  }
  Write w;
  w.del = true;
  return Apply(collection, id, *table, *loaded, w, nullptr);
}

Status Txn::Impl::ApplyRemoteOp(const store::Op& op) {
  const store::TableInfo* table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(op.collection, op.id, &table, &loaded));
  RecordState st = loaded ? std::move(*loaded) : RecordState();
  Write w;
  switch (op.type) {
    case store::Op::Type::kPut:
      BLAZE_RETURN_IF_ERROR(store::ValidateFields(op.fields));
      w.put = &op.fields;
      break;
    case store::Op::Type::kUnset:
      if (op.names.empty()) return Status::InvalidArgument("remote unset names no field");
      w.unset = op.names;
      break;
    case store::Op::Type::kDelete:
      w.del = true;
      break;
  }
  return Apply(op.collection, op.id, *table, st, w, nullptr);
}

Status Txn::Impl::MergeState(std::string_view collection, std::string_view id, const RecordState& incoming) {
  const store::TableInfo* table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  RecordState st = loaded ? std::move(*loaded) : RecordState();
  const bool was_visible = st.visible();
  RecordState before = st;
  st.Merge(incoming);
  if (loaded && st == before) return Status::Ok();  // nothing new: no row write, no event
  Value doc;
  if (st.visible()) doc = st.VisibleDoc();
  Status s = db_->SaveRow(*table, id, st.Encode(), st.visible() ? &doc : nullptr, false);
  if (!s.ok()) {
    poisoned_ = s;
    return s;
  }
  // The log entry names the record (a delete if it disappeared) for watchers.
  if (was_visible && !st.visible()) {
    store::AppendDeleteOp(&ops_body_, collection, id);
  } else {
    store::AppendPutOp(&ops_body_, collection, id, Value::Map{});
  }
  ++n_ops_;
  snapshot_max_ = std::max(snapshot_max_, st.MaxStamp().hlc);
  Touch(collection, id, was_visible, st.visible(), &doc);
  return Status::Ok();
}

Status Txn::Impl::Evict(std::string_view collection, std::string_view id) {
  if (!poisoned_.ok()) return poisoned_;
  auto table = db_->catalog_.Find(collection);
  if (!table.ok()) return table.status().IsNotFound() ? Status::Ok() : table.status();
  if (*table == nullptr) return Status::Ok();  // no such collection here: nothing to evict
  BLAZE_ASSIGN_OR_RETURN(std::optional<RecordState> loaded, db_->LoadState(**table, id));
  if (!loaded) return Status::Ok();
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db_->conn_->Prepare("DELETE FROM " + (*table)->name + " WHERE id = ?"));
  stmt->BindText(1, id);
  Status s = stmt->Run();
  if (!s.ok()) {
    poisoned_ = s;
    return s;
  }
  store::AppendDeleteOp(&ops_body_, collection, id);
  ++n_ops_;
  Touch(collection, id, loaded->visible(), false, nullptr);
  return Status::Ok();
}

Status Txn::Impl::Finish() {
  if (!poisoned_.ok()) return poisoned_;
  // A remote change without ops (filtered or refused upstream) still takes
  // its seq; a local transaction that wrote nothing is no change.
  if (n_ops_ == 0 && (!remote_ || snapshot_)) return Status::Ok();
  if (snapshot_) {
    // Origin 0 is no node: the entry is local (watchers, `blazedb changes`)
    // and never part of the version vector or sent to a peer.
    BLAZE_ASSIGN_OR_RETURN(int64_t last, db_->conn_->QueryInt(
        "SELECT coalesce(max(seq), 0) FROM blaze_changes WHERE origin = 0"));
    seq_ = static_cast<Seq>(last + 1);
  }
  std::string effects(n_ops_, static_cast<char>(Effect::kNone));
  for (const auto& [key, t] : touches_) {
    Effect e = Effect::kNone;
    if (t.now_visible) {
      e = t.was_visible ? Effect::kUpdated : Effect::kInserted;
    } else if (t.was_visible) {
      e = Effect::kDeleted;
    }
    effects[t.last_op] = static_cast<char>(e);
  }
  store::NodeRow row = node_;
  if (!remote_) row.last_seq = seq_;
  // The node's clock moves past every stamp it holds, its own or remote.
  row.last_hlc = std::max(node_.last_hlc, snapshot_ ? snapshot_max_ : last_stamp());
  // local_seq never goes backwards, even after compaction pruned the log's
  // tail: running watchers hold cursors into it (store::kNextLocalSeqSql).
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db_->conn_->Prepare(
      std::string("INSERT INTO blaze_changes(local_seq, origin, seq, hlc, ops, effects) VALUES (") +
      store::kNextLocalSeqSql + ", ?, ?, ?, ?, ?)"));
  stmt->BindInt(1, static_cast<int64_t>(origin_.value));
  stmt->BindInt(2, static_cast<int64_t>(seq_));
  stmt->BindInt(3, static_cast<int64_t>(base_.value));
  stmt->BindBlob(4, store::FrameOps(n_ops_, ops_body_));
  stmt->BindBlob(5, effects);
  BLAZE_RETURN_IF_ERROR(stmt->Run());
  local_seq_ = sqlite3_last_insert_rowid(db_->conn_->raw());
  if (snapshot_) return store::WriteNodeRow(*db_->conn_, row);
  BLAZE_ASSIGN_OR_RETURN(auto vv, db_->conn_->Prepare(
      "INSERT INTO blaze_vv(origin, seq) VALUES (?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq"));
  vv->BindInt(1, static_cast<int64_t>(origin_.value));
  vv->BindInt(2, static_cast<int64_t>(seq_));
  BLAZE_RETURN_IF_ERROR(vv->Run());
  return store::WriteNodeRow(*db_->conn_, row);
}

// ---------------------------------------------------------------------------

Status Database::Impl::RunTransaction(const std::function<Status(Txn&)>& body) {
  BLAZE_RETURN_IF_ERROR(CheckNotInTransaction("Transaction"));
  BLAZE_RETURN_IF_ERROR(CheckWritable("Transaction"));
  std::lock_guard<std::mutex> lock(mu_);
  BLAZE_RETURN_IF_ERROR(conn_->ExecCached("BEGIN IMMEDIATE"));
  auto rollback = [&] {
    conn_->ExecCached("ROLLBACK").IgnoreError();
    catalog_.Rollback();
    txn_thread_ = std::thread::id();
  };
  // The node row is read inside the lock: another process sharing the file
  // may have advanced seq and the clock since we last looked.
  auto node = store::ReadNodeRow(*conn_);
  if (!node.ok()) {
    rollback();
    return node.status();
  }
  if (Status sc = LoadWriteScope(); !sc.ok()) {
    rollback();
    return sc;
  }
  Txn::Impl impl(this, *node);
  Txn txn(&impl);
  txn_thread_ = std::this_thread::get_id();
  Status s;
  try {
    s = body(txn);
  } catch (...) {
    rollback();
    throw;
  }
  if (s.ok()) s = impl.Finish();
  if (s.ok()) s = conn_->ExecCached("COMMIT");
  if (!s.ok()) {
    rollback();
    return s;
  }
  txn_thread_ = std::thread::id();
  catalog_.Commit();
  if (impl.wrote()) {
    hlc_.Advance(impl.last_stamp());
    local_commit_ = true;
    if (watcher_) {
      local_events_[impl.local_seq()] = impl.TakeEvents();
      watcher_->Notify();
    }
    NotifyCommit();
  }
  return Status::Ok();
}

Status Database::Impl::LoadWriteScope() {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("SELECT value FROM blaze_meta WHERE key = ?"));
  stmt->BindText(1, store::kWriteScopeMetaKey);
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) {
    scope_.reset();
    scope_text_.clear();
    return Status::Ok();
  }
  std::string_view text = stmt->ColumnText(0);
  if (scope_ && text == scope_text_) return Status::Ok();  // unchanged: no decoding
  BLAZE_ASSIGN_OR_RETURN(store::WriteScope scope, store::WriteScope::Decode(text));
  scope_text_ = std::string(text);
  scope_ = std::move(scope);
  return Status::Ok();
}

}  // namespace blaze
