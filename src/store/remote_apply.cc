// remote_apply.cc — applying other replicas' changes, and reading the log
// for them: the store's side of sync.
//
// A remote change applies in one SQLite transaction with exactly its origin,
// seq and stamps, through the same LWW folding as local writes
// (store::RecordState), so the file ends up as if the change had been written here.
// It applies only in seq order (the caller holds back later ones), at most
// once (a change already held is recognised and skipped), and never when its
// clock is further ahead than the allowed drift. A batch of changes shares one
// SQLite transaction (one commit for many changes) with a savepoint per
// change, so each still applies whole or not at all.
#include <algorithm>

#include "store/database_impl.h"
#include "store/watcher.h"

namespace blaze {

namespace {

Status Divergent(const store::Change& c) { return store::DivergentChange(c.origin, c.seq); }

}  // namespace

Result<bool> Database::Impl::ApplyUnderSavepoint(const store::Change& change, int64_t max_drift_ms,
                                                 std::vector<std::pair<int64_t, std::vector<ChangeEvent>>>* events,
                                                 const store::ChangeCheck* check, Status* refusal) {
  const store::Change* applied = &change;  // the change, or (refused) the change without its ops
  store::Change stripped;
  const store::Change& c = change;
  // A change may arrive with no ops: one whose ops a policy filtered out or
  // an owner refused (docs/cross-app.md). It still takes its seq, so the
  // origin's run stays gapless.
  if (c.origin.value == 0 || c.seq == 0 || c.hlc.value == 0) {
    return Status::InvalidArgument("a remote change needs an origin, a seq >= 1 and a stamp");
  }
  const size_t mark = catalog_.Mark();
  BLAZE_RETURN_IF_ERROR(conn_->ExecCached("SAVEPOINT remote_change"));
  auto undo = [&](Status s) {
    conn_->ExecCached("ROLLBACK TO remote_change").IgnoreError();
    conn_->ExecCached("RELEASE remote_change").IgnoreError();
    catalog_.RollbackTo(mark);
    return s;
  };
  auto top = conn_->Prepare("SELECT coalesce(max(seq), 0) FROM blaze_vv WHERE origin = ?");
  if (!top.ok()) return undo(top.status());
  (*top)->BindInt(1, static_cast<int64_t>(c.origin.value));
  auto has = (*top)->Step();
  if (!has.ok()) return undo(has.status());
  Seq held_seq = static_cast<Seq>((*top)->ColumnInt(0));
  if (c.seq <= held_seq) {
    // Already held. If its log entry is still here, it must be the very same
    // change; if it was pruned or came as part of a snapshot, there is
    // nothing to compare it with, and nothing to do. (A seq above the
    // vector is never in the log: both move in one transaction, so a new
    // change — the common case — skips this lookup.)
    auto held = conn_->Prepare("SELECT hlc, ops FROM blaze_changes WHERE origin = ? AND seq = ?");
    if (!held.ok()) return undo(held.status());
    (*held)->BindInt(1, static_cast<int64_t>(c.origin.value));
    (*held)->BindInt(2, static_cast<int64_t>(c.seq));
    auto row = (*held)->Step();
    if (!row.ok()) return undo(row.status());
    bool same = true;
    if (*row) {
      // Encoded only here: the ops encoding is canonical, so equal changes
      // have equal bytes. A change a check refused is held without its
      // ops: sent again, it is the same change.
      same = static_cast<uint64_t>((*held)->ColumnInt(0)) == c.hlc.value &&
             ((*held)->ColumnBlob(1) == store::EncodeOps(c.ops) ||
              (check != nullptr && *check && (*held)->ColumnBlob(1) == store::EncodeOps({})));
    }
    Status s = undo(same ? Status::Ok() : Divergent(c));
    if (!s.ok()) return s;
    return false;
  }
  auto node = store::ReadNodeRow(*conn_);
  if (!node.ok()) return undo(node.status());
  if (c.origin == node->node) return undo(Divergent(c));
  if (c.seq != held_seq + 1) {
    return undo(Status::FailedPrecondition("change " + c.origin.ToHex() + ":" + std::to_string(c.seq) +
                                           " does not follow seq " + std::to_string(held_seq) +
                                           " held for that origin; changes apply in order"));
  }
  if (check != nullptr && *check) {
    // Judged inside this transaction: the states the batch's earlier
    // changes left, and nothing another writer could change before the apply.
    store::StateReader read = [&](std::string_view collection, std::string_view id) -> Result<store::RecordState> {
      auto table = catalog_.Find(collection);
      if (!table.ok()) {
        if (table.status().IsNotFound()) return store::RecordState();
        return table.status();
      }
      if (*table == nullptr) return store::RecordState();
      BLAZE_ASSIGN_OR_RETURN(std::optional<store::RecordState> st, LoadState(**table, id));
      return st ? std::move(*st) : store::RecordState();
    };
    Status verdict = (*check)(c, read);
    if (!verdict.ok()) {
      if (verdict.code() != StatusCode::kPermissionDenied) return undo(verdict);
      if (refusal != nullptr) *refusal = verdict;
      // Remembered with the refusal itself (same transaction): the sender
      // still holds the refused write, and must be sent the stored state of
      // these records until it confirms, whatever happens to the connection.
      Status noted = RecordRefusal(c);
      if (!noted.ok()) return undo(noted);
      stripped = c;
      stripped.ops.clear();
      applied = &stripped;
    }
  }
  Hlc last{c.hlc.value + (applied->ops.empty() ? 0 : applied->ops.size() - 1)};
  Status drift = hlc_.Observe(last, max_drift_ms);
  if (!drift.ok()) return undo(drift.WithContext("change " + c.origin.ToHex() + ":" + std::to_string(c.seq)));

  Txn::Impl impl(this, *node, c.origin, c.seq, c.hlc);
  for (const store::Op& op : applied->ops) {
    Status s = impl.ApplyRemoteOp(op);
    if (!s.ok()) return undo(s.WithContext("change " + c.origin.ToHex() + ":" + std::to_string(c.seq)));
  }
  Status s = impl.Finish();
  if (s.ok()) s = conn_->ExecCached("RELEASE remote_change");
  if (!s.ok()) return undo(s);
  if (watcher_) events->emplace_back(impl.local_seq(), impl.TakeEvents());
  return true;
}

store::BatchResult Database::Impl::ApplyRemoteChanges(const std::vector<store::Change>& changes,
                                                              int64_t max_drift_ms, const store::ChangeCheck* check,
                                                              std::vector<std::pair<size_t, Status>>* refused) {
  store::BatchResult r;
  if (changes.empty()) return r;
  r.error = conn_->ExecCached("BEGIN IMMEDIATE");
  if (!r.error.ok()) return r;
  std::vector<std::pair<int64_t, std::vector<ChangeEvent>>> events;
  for (const store::Change& c : changes) {
    Status refusal;
    auto applied = ApplyUnderSavepoint(c, max_drift_ms, &events, check, &refusal);
    if (!applied.ok()) {
      r.error = applied.status();
      break;
    }
    if (!refusal.ok() && refused != nullptr) refused->emplace_back(r.done, std::move(refusal));
    ++r.done;
    ++(*applied ? r.applied : r.duplicates);
  }
  Status commit = conn_->ExecCached("COMMIT");
  if (!commit.ok()) {
    conn_->ExecCached("ROLLBACK").IgnoreError();
    catalog_.Rollback();
    r = store::BatchResult{};
    r.error = commit;
    return r;
  }
  catalog_.Commit();
  if (r.applied > 0) {
    local_commit_ = true;
    if (watcher_) {
      for (auto& [seq, evs] : events) local_events_[seq] = std::move(evs);
      watcher_->Notify();
    }
    NotifyCommit();
  }
  return r;
}

Result<VersionVector> Database::Impl::GetVersionVector() {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("SELECT origin, seq FROM blaze_vv"));
  return store::ReadVersionVector(*stmt);
}

namespace {

Result<store::Change> ReadChange(store::Statement& stmt, int first_col) {
  store::Change c;
  c.origin.value = static_cast<uint64_t>(stmt.ColumnInt(first_col));
  c.seq = static_cast<Seq>(stmt.ColumnInt(first_col + 1));
  c.hlc.value = static_cast<uint64_t>(stmt.ColumnInt(first_col + 2));
  BLAZE_ASSIGN_OR_RETURN(c.ops, store::DecodeOps(stmt.ColumnBlob(first_col + 3)));
  return c;
}

}  // namespace

Result<std::vector<store::Change>> Database::Impl::ChangesAfter(NodeId origin, Seq after, size_t limit) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(
      "SELECT origin, seq, hlc, ops FROM blaze_changes WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?"));
  stmt->BindInt(1, static_cast<int64_t>(origin.value));
  stmt->BindInt(2, static_cast<int64_t>(after));
  stmt->BindInt(3, static_cast<int64_t>(limit));
  std::vector<store::Change> out;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    BLAZE_ASSIGN_OR_RETURN(store::Change c, ReadChange(*stmt, 0));
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<std::pair<int64_t, store::Change>>> Database::Impl::LogAfter(int64_t after_local_seq,
                                                                                size_t limit) {
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(
      "SELECT local_seq, origin, seq, hlc, ops FROM blaze_changes WHERE local_seq > ? ORDER BY local_seq LIMIT ?"));
  stmt->BindInt(1, after_local_seq);
  stmt->BindInt(2, static_cast<int64_t>(limit));
  std::vector<std::pair<int64_t, store::Change>> out;
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    BLAZE_ASSIGN_OR_RETURN(store::Change c, ReadChange(*stmt, 1));
    out.emplace_back(stmt->ColumnInt(0), std::move(c));
  }
  return out;
}

}  // namespace blaze
