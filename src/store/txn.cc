// txn.cc — the local write path.
//
// Each write becomes one or more operations. Each operation takes the next
// stamp (base + index), is folded into the stored RecordState by the LWW rules
// and written through to the record's row at once, so reads inside the
// transaction see it. Finish() appends the change {origin, seq, hlc, ops} and
// the advanced node row; the caller commits all of it as one SQLite
// transaction, or rolls all of it back.
#include <exception>

#include "blaze/json.h"
#include "store/database_impl.h"
#include "store/document.h"
#include "store/watcher.h"

namespace blaze {

using store::Effect;
using store::Op;
using store::RecordState;

Status Txn::Impl::Load(std::string_view collection, std::string_view id, std::string* table,
                       std::optional<RecordState>* st) {
  if (!poisoned_.ok()) return poisoned_;
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_RETURN_IF_ERROR(ValidateRecordId(id));
  BLAZE_ASSIGN_OR_RETURN(*table, db_->catalog_.Ensure(collection));
  BLAZE_ASSIGN_OR_RETURN(*st, db_->LoadState(*table, id));
  return Status::Ok();
}

Status Txn::Impl::Apply(std::vector<Op> ops, const std::string& table, RecordState& st, const Value* visible_doc,
                        bool must_be_new) {
  const bool was_visible = st.visible();
  for (size_t i = 0; i < ops.size(); ++i) {
    Stamp s{Hlc{base_.value + ops_.size() + i}, node_.node};
    const Op& op = ops[i];
    switch (op.type) {
      case Op::Type::kPut: st.ApplyPut(s, op.fields); break;
      case Op::Type::kUnset: st.ApplyUnset(s, op.names); break;
      case Op::Type::kDelete: st.ApplyDelete(s); break;
    }
  }
  Value computed;
  if (st.visible() && visible_doc == nullptr) {
    computed = st.VisibleDoc();
    visible_doc = &computed;
  }
  Status s = db_->SaveState(table, ops.front().id, st, st.visible() ? visible_doc : nullptr, must_be_new);
  if (!s.ok()) {
    poisoned_ = s;
    return s;
  }
  auto [it, first] = touches_.try_emplace({ops.front().collection, ops.front().id});
  if (first) it->second.was_visible = was_visible;
  it->second.now_visible = st.visible();
  it->second.last_op = ops_.size() + ops.size() - 1;
  for (Op& op : ops) ops_.push_back(std::move(op));
  return Status::Ok();
}

Result<std::string> Txn::Impl::Insert(std::string_view collection, const Value& doc) {
  if (!poisoned_.ok()) return poisoned_;
  BLAZE_RETURN_IF_ERROR(store::ValidateCollectionName(collection));
  BLAZE_RETURN_IF_ERROR(store::ValidateDocument(doc));
  BLAZE_ASSIGN_OR_RETURN(std::string table, db_->catalog_.Ensure(collection));
  std::string id = db_->ids_.Next();
  RecordState st;
  std::vector<Op> ops(1);
  ops[0] = Op{Op::Type::kPut, std::string(collection), id, doc.as_map(), {}};
  BLAZE_RETURN_IF_ERROR(Apply(std::move(ops), table, st, &doc, /*must_be_new=*/true));
  return id;
}

Status Txn::Impl::Put(std::string_view collection, std::string_view id, const Value& doc) {
  BLAZE_RETURN_IF_ERROR(store::ValidateDocument(doc));
  std::string table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  RecordState st = loaded ? std::move(*loaded) : RecordState();
  std::vector<Op> ops;
  ops.push_back(Op{Op::Type::kPut, std::string(collection), std::string(id), doc.as_map(), {}});
  if (st.visible()) {
    // Put replaces the document: fields it does not name are unset.
    Op unset{Op::Type::kUnset, std::string(collection), std::string(id), {}, {}};
    for (const auto& [name, f] : st.fields()) {
      if (f.present && st.delete_stamp() < f.stamp && doc.Find(name) == nullptr) unset.names.push_back(name);
    }
    if (!unset.names.empty()) ops.push_back(std::move(unset));
  }
  return Apply(std::move(ops), table, st, &doc, false);
}

Status Txn::Impl::Patch(std::string_view collection, std::string_view id, const Value& patch) {
  BLAZE_RETURN_IF_ERROR(store::ValidatePatch(patch));
  std::string table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  if (!loaded || !loaded->visible()) {
    return Status::NotFound("record '" + std::string(id) + "' does not exist in collection '" +
                            std::string(collection) + "'");
  }
  RecordState& st = *loaded;
  Value current = st.VisibleDoc();
  Op put{Op::Type::kPut, std::string(collection), std::string(id), {}, {}};
  Op unset{Op::Type::kUnset, std::string(collection), std::string(id), {}, {}};
  for (const auto& [name, v] : patch.as_map()) {
    const Value* old = current.Find(name);
    if (v.is_null()) {
      if (old != nullptr) unset.names.push_back(name);
    } else {
      put.fields.emplace(name, store::MergePatchValue(old, v));
    }
  }
  std::vector<Op> ops;
  if (!put.fields.empty()) ops.push_back(std::move(put));
  if (!unset.names.empty()) ops.push_back(std::move(unset));
  if (ops.empty()) return Status::Ok();  // nothing to change: no change is logged
  return Apply(std::move(ops), table, st, nullptr, false);
}

Status Txn::Impl::Delete(std::string_view collection, std::string_view id) {
  std::string table;
  std::optional<RecordState> loaded;
  BLAZE_RETURN_IF_ERROR(Load(collection, id, &table, &loaded));
  if (!loaded || !loaded->visible()) {
    return Status::NotFound("record '" + std::string(id) + "' does not exist in collection '" +
                            std::string(collection) + "'");
  }
  std::vector<Op> ops(1);
  ops[0] = Op{Op::Type::kDelete, std::string(collection), std::string(id), {}, {}};
  return Apply(std::move(ops), table, *loaded, nullptr, false);
}

Status Txn::Impl::Finish() {
  if (!poisoned_.ok()) return poisoned_;
  if (ops_.empty()) return Status::Ok();
  std::string effects(ops_.size(), static_cast<char>(Effect::kNone));
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
  row.last_seq = node_.last_seq + 1;
  row.last_hlc = last_stamp();
  BLAZE_ASSIGN_OR_RETURN(auto stmt, db_->conn_->Prepare(
      "INSERT INTO blaze_changes(origin, seq, hlc, ops, effects) VALUES (?, ?, ?, ?, ?)"));
  stmt->BindInt(1, static_cast<int64_t>(row.node.value));
  stmt->BindInt(2, static_cast<int64_t>(row.last_seq));
  stmt->BindInt(3, static_cast<int64_t>(base_.value));
  stmt->BindBlob(4, store::EncodeOps(ops_));
  stmt->BindBlob(5, effects);
  BLAZE_RETURN_IF_ERROR(stmt->Run());
  return store::WriteNodeRow(*db_->conn_, row);
}

// ---------------------------------------------------------------------------

Status Database::Impl::RunTransaction(const std::function<Status(Txn&)>& body) {
  BLAZE_RETURN_IF_ERROR(CheckNotInTransaction("Transaction"));
  std::lock_guard<std::mutex> lock(mu_);
  BLAZE_RETURN_IF_ERROR(conn_->Exec("BEGIN IMMEDIATE"));
  auto rollback = [&] {
    conn_->Exec("ROLLBACK").IgnoreError();
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
  if (s.ok()) s = conn_->Exec("COMMIT");
  if (!s.ok()) {
    rollback();
    return s;
  }
  txn_thread_ = std::thread::id();
  catalog_.Commit();
  if (impl.wrote()) {
    hlc_.Advance(impl.last_stamp());
    local_commit_ = true;
    if (watcher_) watcher_->Notify();
  }
  return Status::Ok();
}

}  // namespace blaze
