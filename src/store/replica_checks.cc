// replica_checks.cc — the store's side of noticing copied files and divergent
// histories (docs/sync-protocol.md, "Copied and restored files"): rotating the
// node id, re-issuing a cross-app replica's forked changes under a fresh one,
// the stamps held at given seqs, comparing received changes with held ones,
// and a digest of the visible state. Each call takes the database lock.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "store/database_impl.h"
#include "store/file_identity.h"
#include "store/replica.h"
#include "value/binary_codec.h"

namespace blaze {

Result<NodeId> DatabaseAccess::RotateNode(Database& db, NodeId expected) {
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("RotateNode"));
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  BLAZE_RETURN_IF_ERROR(impl.conn_->Exec("BEGIN IMMEDIATE"));
  Result<NodeId> node = [&]() -> Result<NodeId> {
    BLAZE_ASSIGN_OR_RETURN(store::NodeRow row, store::ReadNodeRow(*impl.conn_));
    if (row.node != expected) return row.node;
    return store::RotateNodeLocked(*impl.conn_, impl.options_.random);
  }();
  Status s = node.ok() ? impl.conn_->Exec("COMMIT") : node.status();
  if (!s.ok()) {
    impl.conn_->Exec("ROLLBACK").IgnoreError();
    return s.WithContext("taking a fresh node id");
  }
  impl.node_ = *node;
  return node;
}

Result<NodeId> DatabaseAccess::ReissueOwnChanges(Database& db, NodeId old_node, Seq after) {
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("ReissueOwnChanges"));
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckWritable("ReissueOwnChanges"));
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  BLAZE_RETURN_IF_ERROR(impl.conn_->Exec("BEGIN IMMEDIATE"));
  size_t reissued = 0;
  Result<NodeId> node = [&]() -> Result<NodeId> {
    BLAZE_ASSIGN_OR_RETURN(store::NodeRow row, store::ReadNodeRow(*impl.conn_));
    if (row.node == old_node) {
      BLAZE_RETURN_IF_ERROR(store::RotateNodeLocked(*impl.conn_, impl.options_.random).status());
      BLAZE_ASSIGN_OR_RETURN(row, store::ReadNodeRow(*impl.conn_));
    }
    BLAZE_ASSIGN_OR_RETURN(auto insert, impl.conn_->Prepare(
        std::string("INSERT INTO blaze_changes(local_seq, origin, seq, hlc, ops, effects) VALUES (") +
        store::kNextLocalSeqSql + ", ?, ?, ?, ?, ?)"));
    Seq from = after;
    while (true) {
      BLAZE_ASSIGN_OR_RETURN(std::vector<store::Change> batch, impl.ChangesAfter(old_node, from, 256));
      if (batch.empty()) break;
      for (const store::Change& c : batch) {
        from = c.seq;
        const Seq seq = ++row.last_seq;
        // No effects: the records already read this way; watchers see nothing new.
        insert->BindInt(1, static_cast<int64_t>(row.node.value));
        insert->BindInt(2, static_cast<int64_t>(seq));
        insert->BindInt(3, static_cast<int64_t>(c.hlc.value));
        insert->BindBlob(4, store::EncodeOps(c.ops));
        insert->BindBlob(5, std::string(c.ops.size(), static_cast<char>(store::Effect::kNone)));
        BLAZE_RETURN_IF_ERROR(insert->Run());
        insert->Reset();
        for (size_t i = 0; i < c.ops.size(); ++i) {
          const store::Op& op = c.ops[i];
          auto table = impl.catalog_.Find(op.collection);
          if (!table.ok() && !table.status().IsNotFound()) return table.status();
          if (!table.ok() || *table == nullptr) continue;  // evicted with its collection
          BLAZE_ASSIGN_OR_RETURN(std::optional<store::RecordState> st, impl.LoadState(**table, op.id));
          if (!st || !st->Reattribute(c.StampOf(i), row.node)) continue;  // evicted, or overwritten since
          Value doc;
          if (st->visible()) doc = st->VisibleDoc();
          BLAZE_RETURN_IF_ERROR(impl.SaveRow(**table, op.id, st->Encode(), st->visible() ? &doc : nullptr, false));
        }
        ++reissued;
      }
    }
    if (reissued > 0) {
      BLAZE_ASSIGN_OR_RETURN(auto vv, impl.conn_->Prepare(
          "INSERT INTO blaze_vv(origin, seq) VALUES (?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq"));
      vv->BindInt(1, static_cast<int64_t>(row.node.value));
      vv->BindInt(2, static_cast<int64_t>(row.last_seq));
      BLAZE_RETURN_IF_ERROR(vv->Run());
      BLAZE_RETURN_IF_ERROR(store::WriteNodeRow(*impl.conn_, row));
    }
    return row.node;
  }();
  Status s = node.ok() ? impl.conn_->Exec("COMMIT") : node.status();
  if (!s.ok()) {
    impl.conn_->Exec("ROLLBACK").IgnoreError();
    return s.WithContext("re-issuing this replica's changes under a fresh node id");
  }
  impl.node_ = *node;
  if (reissued > 0) impl.NotifyCommit();
  return node;
}

Result<std::map<Seq, Hlc>> DatabaseAccess::StampsAt(Database& db, NodeId origin, const std::vector<Seq>& seqs) {
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  std::map<Seq, Hlc> out;
  if (seqs.empty()) return out;
  BLAZE_RETURN_IF_ERROR(impl.conn_->Exec("BEGIN"));  // one consistent read
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(auto logged,
                           impl.conn_->Prepare("SELECT hlc FROM blaze_changes WHERE origin = ? AND seq = ?"));
    BLAZE_ASSIGN_OR_RETURN(auto horizon,
                           impl.conn_->Prepare("SELECT seq, hlc FROM blaze_log_horizon WHERE origin = ?"));
    horizon->BindInt(1, static_cast<int64_t>(origin.value));
    BLAZE_ASSIGN_OR_RETURN(bool has_horizon, horizon->Step());
    const Seq horizon_seq = has_horizon ? static_cast<Seq>(horizon->ColumnInt(0)) : 0;
    const Hlc horizon_hlc{has_horizon ? static_cast<uint64_t>(horizon->ColumnInt(1)) : 0};
    for (Seq seq : seqs) {
      logged->BindInt(1, static_cast<int64_t>(origin.value));
      logged->BindInt(2, static_cast<int64_t>(seq));
      BLAZE_ASSIGN_OR_RETURN(bool row, logged->Step());
      if (row) {
        out[seq] = Hlc{static_cast<uint64_t>(logged->ColumnInt(0))};
      } else if (seq == horizon_seq && horizon_hlc.value != 0) {
        out[seq] = horizon_hlc;  // 0: raised by a snapshot, the change unknown
      }
      logged->Reset();
    }
    return Status::Ok();
  }();
  impl.conn_->Exec(s.ok() ? "COMMIT" : "ROLLBACK").IgnoreError();
  BLAZE_RETURN_IF_ERROR(s);
  return out;
}

Status DatabaseAccess::VerifyHeld(Database& db, const std::vector<store::Change>& changes) {
  if (changes.empty()) return Status::Ok();
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt,
                         impl.conn_->Prepare("SELECT hlc, ops FROM blaze_changes WHERE origin = ? AND seq = ?"));
  for (const store::Change& c : changes) {
    stmt->BindInt(1, static_cast<int64_t>(c.origin.value));
    stmt->BindInt(2, static_cast<int64_t>(c.seq));
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    const bool differs = row && (static_cast<uint64_t>(stmt->ColumnInt(0)) != c.hlc.value ||
                                 stmt->ColumnBlob(1) != store::EncodeOps(c.ops));
    stmt->Reset();
    if (differs) return store::DivergentChange(c.origin, c.seq);
  }
  return Status::Ok();
}

namespace {

// Two 64-bit FNV-1a streams with different offsets, finished with a
// SplitMix64 mix: a 128-bit digest for telling states apart.
class Digest128 {
 public:
  void Add(std::string_view bytes) {
    for (unsigned char ch : bytes) {
      a_ = (a_ ^ ch) * 0x100000001b3ULL;
      b_ = (b_ ^ ch) * 0x100000001b3ULL;
      b_ ^= b_ >> 29;
    }
  }
  std::string Hex() const {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, Mix(a_), Mix(b_ ^ a_));
    return buf;
  }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t a_ = 0xcbf29ce484222325ULL;
  uint64_t b_ = 0x84222325cbf29ce4ULL;
};

void PutStamp(value::Writer& w, const Stamp& s) {
  w.PutFixed64(s.hlc.value);
  w.PutFixed64(s.origin.value);
}

}  // namespace

Result<DatabaseAccess::StateDigest> DatabaseAccess::LiveStateDigest(Database& db) {
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  // One read transaction: a consistent state even while others write.
  BLAZE_RETURN_IF_ERROR(impl.conn_->Exec("BEGIN"));
  StateDigest out;
  Digest128 digest;
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(out.vv, impl.GetVersionVector());
    BLAZE_ASSIGN_OR_RETURN(std::vector<std::string> names, impl.catalog_.List());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, impl.catalog_.Find(name));
      BLAZE_ASSIGN_OR_RETURN(auto stmt, impl.conn_->PrepareUncached("SELECT id, state FROM " + table->name +
                                                                     " WHERE doc IS NOT NULL ORDER BY id"));
      while (true) {
        BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
        if (!row) break;
        BLAZE_ASSIGN_OR_RETURN(store::RecordState st, store::RecordState::Decode(stmt->ColumnBlob(1)));
        if (!st.visible()) continue;
        std::string line;
        value::Writer w(&line);
        w.PutLengthPrefixed(name);
        w.PutLengthPrefixed(stmt->ColumnText(0));
        PutStamp(w, st.put_stamp());
        uint64_t present = 0;
        for (const auto& [field, f] : st.fields()) present += f.present ? 1 : 0;
        w.PutVarint(present);
        for (const auto& [field, f] : st.fields()) {
          if (!f.present) continue;
          w.PutLengthPrefixed(field);
          PutStamp(w, f.stamp);
          value::AppendValue(w, f.value);
        }
        digest.Add(line);
        ++out.records;
      }
    }
    return Status::Ok();
  }();
  impl.conn_->Exec(s.ok() ? "COMMIT" : "ROLLBACK").IgnoreError();
  BLAZE_RETURN_IF_ERROR(s);
  out.hex = digest.Hex();
  return out;
}

}  // namespace blaze
