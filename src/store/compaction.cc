// compaction.cc — pruning the change log, purging tombstones, and the
// snapshots that replace a pruned log for peers that fell behind it.
//
// The log horizon. blaze_log_horizon holds, per origin, the highest seq the
// log may lack: every change of that origin after it is in blaze_changes (up
// to the version vector). Compaction raises it when it prunes; merging a
// snapshot raises it too, since the snapshot brings the effects of changes
// whose log entries never arrive. A peer that needs a change at or below the
// horizon cannot get it from the log — the sync engine sees the gap and sends
// a snapshot instead.
//
// What is pruned. Per origin, the changes every known peer (one that has
// exchanged hellos with this replica: it has a checkpoint in blaze_peers,
// empty or not) has acknowledged, plus those older than the log
// horizon time whoever lacks them. With no known peer, the whole log.
//
// Tombstones. A deleted record's row and an unset field's stamp exist only to
// make older writes lose. They may go when no write that should lose to them
// can still arrive, which is when (a) every known peer holds the deletion and
// (b) every origin we or they know has written past it: then every write not
// yet seen here is stamped later than the tombstone and would win anyway (an
// origin's changes are stamped in seq order, and a peer's acknowledgement
// lists its own writes, so one written before it heard of the deletion is
// known by origin). Both are read off one number, `stable`: the least, over
// those origins, of the stamp of the last change every known peer and this
// replica hold. Replicas that reach this one only through another (a hub)
// count through what that one acknowledges; one whose writes the hub has not
// yet heard of is covered only by the time horizon.
// Tombstones stamped before `stable`, or older than the tombstone horizon
// time, are purged. The horizon is the documented limit: a replica offline
// longer than it (or a node never seen, with a clock behind) can bring back
// a record deleted in the meantime (docs/sync-protocol.md).
#include <algorithm>
#include <limits>
#include <set>

#include "store/database_impl.h"
#include "store/watcher.h"

namespace blaze {

namespace {

using store::RecordState;

Hlc CutoffFor(int64_t now_ms, int64_t horizon_ms) {
  int64_t t = now_ms - std::max<int64_t>(horizon_ms, 0);
  return t <= 0 ? Hlc{} : Hlc::From(static_cast<uint64_t>(t), 0);
}

struct HorizonRow {
  Seq seq = 0;
  Hlc hlc;  // the pruned change's stamp; 0 when unknown (set by a snapshot)
};

Result<std::map<NodeId, HorizonRow>> ReadHorizon(store::Connection& conn) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT origin, seq, hlc FROM blaze_log_horizon"));
  std::map<NodeId, HorizonRow> out;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out[NodeId{static_cast<uint64_t>(stmt->ColumnInt(0))}] =
        HorizonRow{static_cast<Seq>(stmt->ColumnInt(1)), Hlc{static_cast<uint64_t>(stmt->ColumnInt(2))}};
  }
  return out;
}

Status RaiseHorizon(store::Connection& conn, NodeId origin, Seq seq, Hlc hlc) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
      "INSERT INTO blaze_log_horizon(origin, seq, hlc) VALUES (?, ?, ?) "
      "ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq, hlc = excluded.hlc WHERE excluded.seq > seq"));
  stmt->BindInt(1, static_cast<int64_t>(origin.value));
  stmt->BindInt(2, static_cast<int64_t>(seq));
  stmt->BindInt(3, static_cast<int64_t>(hlc.value));
  return stmt->Run();
}

// Remembers `last` as the highest local_seq given (schema.h, kLocalSeqFloorKey).
Status SaveLocalSeqFloor(store::Connection& conn, int64_t last) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare(
      "INSERT INTO blaze_meta(key, value) VALUES (?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)"));
  stmt->BindText(1, store::kLocalSeqFloorKey);
  stmt->BindInt(2, last);
  return stmt->Run();
}

// The stamp of change (origin, seq) if the log or the horizon knows it; 0 otherwise.
Result<Hlc> StampOfChange(store::Connection& conn, const std::map<NodeId, HorizonRow>& horizon, NodeId origin,
                          Seq seq) {
  auto h = horizon.find(origin);
  if (h != horizon.end() && h->second.seq == seq) return h->second.hlc;
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("SELECT hlc FROM blaze_changes WHERE origin = ? AND seq = ?"));
  stmt->BindInt(1, static_cast<int64_t>(origin.value));
  stmt->BindInt(2, static_cast<int64_t>(seq));
  BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row ? Hlc{static_cast<uint64_t>(stmt->ColumnInt(0))} : Hlc{};
}

}  // namespace

Result<CompactStats> Database::Impl::Compact(const CompactOptions& options) {
  BLAZE_RETURN_IF_ERROR(conn_->Exec("BEGIN IMMEDIATE"));
  CompactStats stats;
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, GetVersionVector());
    BLAZE_ASSIGN_OR_RETURN(auto horizon, ReadHorizon(*conn_));
    // What every known peer holds, per origin.
    BLAZE_ASSIGN_OR_RETURN(auto peers, conn_->Prepare("SELECT peer, origin, seq FROM blaze_peers"));
    std::map<uint64_t, VersionVector> acked;
    while (true) {
      BLAZE_ASSIGN_OR_RETURN(bool row, peers->Step());
      if (!row) break;
      VersionVector& pv = acked[static_cast<uint64_t>(peers->ColumnInt(0))];
      NodeId origin{static_cast<uint64_t>(peers->ColumnInt(1))};
      if (origin.value != 0) pv[origin] = static_cast<Seq>(peers->ColumnInt(2));  // 0: the known-peer mark
    }
    // An origin a peer has heard of but we have not (floor 0) holds writes
    // we have not seen, of any age: it keeps every tombstone.
    VersionVector floor;
    for (const auto& [peer, pv] : acked) {
      for (const auto& [origin, seq] : pv) floor[origin] = 0;
    }
    for (const auto& [origin, seq] : vv) floor[origin] = seq;
    for (auto& [origin, f] : floor) {
      for (const auto& [peer, pv] : acked) f = std::min(f, SeqOf(pv, origin));
    }

    // Tombstone cutoff first: it reads stamps of changes about to be pruned.
    const int64_t now = options_.clock->NowMillis();
    Hlc stable{vv.empty() ? 0 : std::numeric_limits<uint64_t>::max()};
    for (const auto& [origin, f] : floor) {
      Hlc h;
      if (f > 0) {
        BLAZE_ASSIGN_OR_RETURN(h, StampOfChange(*conn_, horizon, origin, f));
      }
      // The origin's next change is stamped after all of change f; a
      // tombstone stamped at or before its first op is safe.
      stable = std::min(stable, h.value == 0 ? Hlc{} : Hlc{h.value + 1});
    }
    const Hlc cutoff = std::max(stable, CutoffFor(now, options.tombstone_horizon_ms));

    // The log.
    BLAZE_ASSIGN_OR_RETURN(const int64_t last_local_seq, MaxLocalSeq());
    const Hlc log_cutoff = CutoffFor(now, options.log_horizon_ms);
    const bool prune_all = options.log_horizon_ms <= 0;
    BLAZE_ASSIGN_OR_RETURN(auto old, conn_->Prepare(
        "SELECT coalesce(max(seq), 0) FROM blaze_changes WHERE origin = ? AND hlc < ?"));
    BLAZE_ASSIGN_OR_RETURN(auto del, conn_->Prepare("DELETE FROM blaze_changes WHERE origin = ? AND seq <= ?"));
    // A cross-app replica (a file with a write scope) sends its own changes
    // to its owner only from this log and keeps no checkpoint of what the
    // owner acknowledged: its own changes are never pruned.
    BLAZE_RETURN_IF_ERROR(LoadWriteScope());
    BLAZE_ASSIGN_OR_RETURN(store::NodeRow self, store::ReadNodeRow(*conn_));
    const bool keep_own = scope_.has_value();
    for (const auto& [origin, seq] : vv) {
      if (keep_own && origin == self.node) continue;
      Seq target = std::min(seq, floor[origin]);
      if (prune_all) {
        target = seq;
      } else {
        old->BindInt(1, static_cast<int64_t>(origin.value));
        old->BindInt(2, static_cast<int64_t>(log_cutoff.value));
        BLAZE_ASSIGN_OR_RETURN(bool row, old->Step());
        if (row) target = std::max(target, static_cast<Seq>(old->ColumnInt(0)));
        old->Reset();
      }
      auto h = horizon.find(origin);
      Seq current = h == horizon.end() ? 0 : h->second.seq;
      if (target <= current) continue;
      BLAZE_ASSIGN_OR_RETURN(Hlc hlc, StampOfChange(*conn_, horizon, origin, target));
      del->BindInt(1, static_cast<int64_t>(origin.value));
      del->BindInt(2, static_cast<int64_t>(target));
      BLAZE_RETURN_IF_ERROR(del->Run());
      stats.changes_pruned += sqlite3_changes(conn_->raw());
      del->Reset();
      BLAZE_RETURN_IF_ERROR(RaiseHorizon(*conn_, origin, target, hlc));
      horizon[origin] = HorizonRow{target, hlc};
    }
    // Snapshot-merge entries (origin 0) serve watchers only: those older
    // than every remaining change have been seen by anyone still looking.
    BLAZE_RETURN_IF_ERROR(conn_->Exec(
        "DELETE FROM blaze_changes WHERE origin = 0 AND local_seq < "
        "(SELECT coalesce(min(local_seq), 0) FROM blaze_changes WHERE origin <> 0)"));
    // Pruning may have taken the log's tail: the floor keeps later entries
    // numbered after every local_seq a watcher may already have seen.
    BLAZE_RETURN_IF_ERROR(SaveLocalSeqFloor(*conn_, last_local_seq));
    for (const auto& [origin, row] : horizon) stats.horizon[origin] = row.seq;

    // Tombstones. The cutoff is remembered: snapshot merges drop what lies
    // below it (ApplySnapshot).
    if (cutoff.value == 0) return Status::Ok();
    BLAZE_RETURN_IF_ERROR(conn_->Exec(
        "INSERT INTO blaze_meta(key, value) VALUES ('purged_below', " + std::to_string(cutoff.value) +
        ") ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)"));
    BLAZE_ASSIGN_OR_RETURN(std::vector<std::string> names, catalog_.List());
    for (const auto& name : names) {
      BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, catalog_.Require(name));
      std::vector<std::string> gone;
      std::vector<std::pair<std::string, std::string>> rewritten;
      {
        BLAZE_ASSIGN_OR_RETURN(auto scan, conn_->PrepareUncached("SELECT id, state FROM " + table->name));
        while (true) {
          BLAZE_ASSIGN_OR_RETURN(bool row, scan->Step());
          if (!row) break;
          BLAZE_ASSIGN_OR_RETURN(RecordState st, RecordState::Decode(scan->ColumnBlob(1)));
          if (!st.visible()) {
            // Every stamp must be below the cutoff, not only the delete's: a
            // record never put but with fields unset (an unset that arrived
            // before the puts it must beat) is invisible with no delete stamp.
            if (st.MaxStamp().hlc < cutoff) gone.emplace_back(scan->ColumnText(0));
          } else if (st.PurgeFieldTombstones(cutoff)) {
            rewritten.emplace_back(std::string(scan->ColumnText(0)), st.Encode());
          }
        }
      }
      BLAZE_ASSIGN_OR_RETURN(auto drop, conn_->PrepareUncached("DELETE FROM " + table->name + " WHERE id = ?"));
      for (const auto& id : gone) {
        drop->BindText(1, id);
        BLAZE_RETURN_IF_ERROR(drop->Run());
        drop->Reset();
      }
      BLAZE_ASSIGN_OR_RETURN(auto update,
                             conn_->PrepareUncached("UPDATE " + table->name + " SET state = ? WHERE id = ?"));
      for (const auto& [id, state] : rewritten) {
        update->BindBlob(1, state);
        update->BindText(2, id);
        BLAZE_RETURN_IF_ERROR(update->Run());
        update->Reset();
      }
      stats.tombstones_purged += static_cast<int64_t>(gone.size());
      stats.field_tombstones_purged += static_cast<int64_t>(rewritten.size());
    }
    return Status::Ok();
  }();
  if (s.ok()) s = conn_->Exec("COMMIT");
  if (!s.ok()) {
    conn_->Exec("ROLLBACK").IgnoreError();
    return s;
  }
  return stats;
}

Result<store::Snapshot> Database::Impl::ReadSnapshot() {
  // One read transaction: the vector and the states are of the same moment.
  BLAZE_RETURN_IF_ERROR(conn_->Exec("BEGIN"));
  store::Snapshot snap;
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(snap.vv, GetVersionVector());
    BLAZE_ASSIGN_OR_RETURN(std::vector<std::string> names, catalog_.List());
    for (const auto& name : names) {
      BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, catalog_.Require(name));
      BLAZE_ASSIGN_OR_RETURN(auto scan, conn_->PrepareUncached("SELECT id, state FROM " + table->name));
      while (true) {
        BLAZE_ASSIGN_OR_RETURN(bool row, scan->Step());
        if (!row) break;
        snap.records.push_back(
            store::SnapshotRecord{name, std::string(scan->ColumnText(0)), std::string(scan->ColumnBlob(1))});
      }
    }
    return Status::Ok();
  }();
  conn_->Exec("COMMIT").IgnoreError();  // a read transaction: nothing to keep or lose
  if (!s.ok()) return s;
  return snap;
}

Result<size_t> Database::Impl::ApplySnapshot(const store::Snapshot& snapshot, int64_t max_drift_ms) {
  // Validate everything before writing anything.
  std::vector<RecordState> states;
  states.reserve(snapshot.records.size());
  Hlc newest;
  for (const auto& r : snapshot.records) {
    auto st = RecordState::Decode(r.state);
    if (!st.ok()) return st.status().WithContext("snapshot record " + r.collection + "/" + r.id);
    newest = std::max(newest, st->MaxStamp().hlc);
    states.push_back(std::move(st).value());
  }
  for (const auto& [origin, seq] : snapshot.vv) {
    if (origin.value == 0 || seq == 0) return Status::InvalidArgument("snapshot vector has an empty entry");
  }
  const NodeId self = node_;
  if (SeqOf(snapshot.vv, self) > 0) {
    // Only this node writes under its id; the peer cannot be ahead of it.
    BLAZE_ASSIGN_OR_RETURN(VersionVector mine, GetVersionVector());
    if (SeqOf(snapshot.vv, self) > SeqOf(mine, self)) {
      return Status::Corruption("snapshot holds changes of this node (" + self.ToHex() +
                                ") that this file lacks; was the file restored from a backup?");
    }
  }
  BLAZE_RETURN_IF_ERROR(hlc_.Observe(newest, max_drift_ms).WithContext("snapshot"));

  BLAZE_RETURN_IF_ERROR(conn_->Exec("BEGIN IMMEDIATE"));
  auto rollback = [&](Status st) -> Status {
    conn_->Exec("ROLLBACK").IgnoreError();
    catalog_.Rollback();
    return st;
  };
  auto node = store::ReadNodeRow(*conn_);
  if (!node.ok()) return rollback(node.status());
  // Everything stamped below our purge cutoff is either held here already or
  // was purged here as final; a snapshot read before the purge (it may have
  // been in flight) must not bring it back.
  auto purged = conn_->QueryInt("SELECT coalesce(max(value), 0) FROM blaze_meta WHERE key = 'purged_below'");
  if (!purged.ok()) return rollback(purged.status());
  const Hlc purged_below{static_cast<uint64_t>(*purged)};
  Txn::Impl impl(this, *node, Txn::Impl::SnapshotMerge{});
  // Evictions first: a record both evicted and sent is replaced by the sent
  // state, whatever the local stamps (a cross-app owner's correction).
  Status st;
  for (const auto& [collection, id] : snapshot.evictions) {
    st = impl.Evict(collection, id);
    if (!st.ok()) return rollback(st.WithContext("evicting " + collection + "/" + id));
  }
  for (size_t i = 0; i < states.size(); ++i) {
    const auto& r = snapshot.records[i];
    if (purged_below.value > 0 && states[i].DropStampsBelow(purged_below)) continue;
    st = impl.MergeState(r.collection, r.id, states[i]);
    if (!st.ok()) return rollback(st.WithContext("snapshot record " + r.collection + "/" + r.id));
  }
  if (snapshot.replace) {
    // A full image: whatever it does not hold goes.
    std::set<std::pair<std::string, std::string>> keep;
    for (const auto& r : snapshot.records) keep.emplace(r.collection, r.id);
    // Except what this file wrote after the sender read the image (this
    // node's changes above the image's vector): those changes are on their
    // way to the sender, which applies them but never sends a replica its
    // own changes back, so evicting their records here would lose them.
    {
      auto own = conn_->PrepareUncached("SELECT ops FROM blaze_changes WHERE origin = ? AND seq > ?");
      if (!own.ok()) return rollback(own.status());
      (*own)->BindInt(1, static_cast<int64_t>(node->node.value));
      (*own)->BindInt(2, static_cast<int64_t>(SeqOf(snapshot.vv, node->node)));
      while (true) {
        auto row = (*own)->Step();
        if (!row.ok()) return rollback(row.status());
        if (!*row) break;
        auto ops = store::DecodeOps((*own)->ColumnBlob(0));
        if (!ops.ok()) return rollback(ops.status());
        for (const auto& op : *ops) keep.emplace(op.collection, op.id);
      }
    }
    auto names = catalog_.List();
    if (!names.ok()) return rollback(names.status());
    for (const auto& name : *names) {
      auto table = catalog_.Require(name);
      if (!table.ok()) return rollback(table.status());
      std::vector<std::string> gone;
      {
        auto scan = conn_->PrepareUncached("SELECT id FROM " + (*table)->name);
        if (!scan.ok()) return rollback(scan.status());
        while (true) {
          auto row = (*scan)->Step();
          if (!row.ok()) return rollback(row.status());
          if (!*row) break;
          std::string_view id = (*scan)->ColumnText(0);
          if (!keep.count({name, std::string(id)})) gone.emplace_back(id);
        }
      }
      for (const auto& id : gone) {
        st = impl.Evict(name, id);
        if (!st.ok()) return rollback(st);
      }
    }
  }
  st = impl.Finish();
  // The vector covers the snapshot's changes now; their log entries never
  // come, so the horizon rises with it where we were behind.
  if (st.ok()) {
    auto mine = GetVersionVector();
    if (!mine.ok()) return rollback(mine.status());
    auto up = conn_->Prepare(
        "INSERT INTO blaze_vv(origin, seq) VALUES (?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq");
    if (!up.ok()) return rollback(up.status());
    for (const auto& [origin, seq] : snapshot.vv) {
      if (seq <= SeqOf(*mine, origin)) continue;
      (*up)->BindInt(1, static_cast<int64_t>(origin.value));
      (*up)->BindInt(2, static_cast<int64_t>(seq));
      st = (*up)->Run();
      (*up)->Reset();
      if (st.ok()) st = RaiseHorizon(*conn_, origin, seq, Hlc{});
      if (!st.ok()) break;
    }
  }
  if (st.ok()) st = conn_->Exec("COMMIT");
  if (!st.ok()) return rollback(st);
  catalog_.Commit();
  hlc_.Advance(newest);
  local_commit_ = true;
  if (impl.wrote()) {
    if (watcher_) {
      local_events_[impl.local_seq()] = impl.TakeEvents();
      watcher_->Notify();
    }
  }
  NotifyCommit();
  return states.size();
}

Result<CompactStats> Database::Compact(const CompactOptions& options) {
  BLAZE_RETURN_IF_ERROR(impl_->CheckNotInTransaction("Compact"));
  BLAZE_RETURN_IF_ERROR(impl_->CheckWritable("Compact"));
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->Compact(options);
}

}  // namespace blaze
