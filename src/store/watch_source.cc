// watch_source.cc — what the watcher thread (watcher.h) reads from the
// file: the change log after its cursor, the exact events of this process's
// own commits, and, when compaction pruned entries it had not read, the
// records that differ from what it knows (its recovery after a gap).
//
// Thread safety: every function here requires Database::Impl::mu_ held (the
// watcher's Source and Database::Watch take it).
#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "store/database_impl.h"
#include "store/watcher.h"

namespace blaze {

using store::RecordState;

Result<store::KnownRecords> Database::Impl::ScanKnown(const std::string& collection) {
  store::KnownRecords known;
  BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, catalog_.Find(collection));
  if (table == nullptr) return known;
  BLAZE_ASSIGN_OR_RETURN(auto scan,
                         conn_->PrepareUncached("SELECT id, doc FROM " + table->name + " WHERE doc IS NOT NULL"));
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, scan->Step());
    if (!row) break;
    known.emplace(scan->ColumnText(0), store::DocFingerprint(scan->ColumnText(1)));
  }
  return known;
}

namespace {

// The records of one collection that differ from what the watcher knows:
// changed or new visible ones with their current document, and deletes of
// the known ones that are gone (their tombstone may have been purged).
Status RecoverCollection(Database::Impl& impl, const std::string& collection, const store::KnownRecords& known,
                         int64_t cursor, std::vector<store::WatchEvent>* out) {
  auto event = [&](ChangeEvent::Kind kind, std::string_view id, Value doc, NodeId origin, uint64_t fp) {
    store::WatchEvent we;
    we.local_seq = cursor;
    we.exact = true;  // the document is the record's current one
    we.fingerprint = fp;
    we.event.kind = kind;
    we.event.collection = collection;
    we.event.id = std::string(id);
    we.event.doc = std::move(doc);
    we.event.origin = origin;  // the newest write's node; seq 0: the change itself is not known
    out->push_back(std::move(we));
  };
  std::unordered_set<std::string_view> unseen;  // known ids not (yet) found visible
  for (const auto& entry : known) unseen.insert(entry.first);
  BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, impl.catalog_.Find(collection));
  if (table != nullptr) {
    BLAZE_ASSIGN_OR_RETURN(auto scan, impl.conn_->PrepareUncached("SELECT id, doc, state FROM " + table->name +
                                                                   " WHERE doc IS NOT NULL ORDER BY id"));
    while (true) {
      BLAZE_ASSIGN_OR_RETURN(bool row, scan->Step());
      if (!row) break;
      std::string_view id = scan->ColumnText(0);
      uint64_t fp = store::DocFingerprint(scan->ColumnText(1));
      auto k = known.find(std::string(id));
      if (k != known.end()) {
        unseen.erase(k->first);
        if (k->second == fp) continue;
      }
      std::string_view state = scan->ColumnBlob(2);
      BLAZE_ASSIGN_OR_RETURN(RecordState st, RecordState::Decode(state));
      BLAZE_ASSIGN_OR_RETURN(std::optional<Value> doc, RecordState::DecodeVisibleDoc(state));
      if (!doc) return Status::Corruption("a record row has a document but its state says it is deleted");
      event(k == known.end() ? ChangeEvent::Kind::kInserted : ChangeEvent::Kind::kUpdated, id, std::move(*doc),
            st.MaxStamp().origin, fp);
    }
  }
  std::vector<std::string_view> gone;
  gone.assign(unseen.begin(), unseen.end());
  std::sort(gone.begin(), gone.end());
  for (std::string_view id : gone) {
    NodeId origin;  // the deleting node, while the tombstone is kept
    if (table != nullptr) {
      BLAZE_ASSIGN_OR_RETURN(std::optional<RecordState> st, impl.LoadState(*table, id));
      if (st) origin = st->MaxStamp().origin;
    }
    event(ChangeEvent::Kind::kDeleted, id, Value(), origin, 0);
  }
  std::stable_sort(out->begin(), out->end(), [](const store::WatchEvent& a, const store::WatchEvent& b) {
    return std::tie(a.event.collection, a.event.id) < std::tie(b.event.collection, b.event.id);
  });
  return Status::Ok();
}

}  // namespace

Status Database::Impl::CollectEvents(const std::vector<std::string>& collections,
                                     const std::map<std::string, store::KnownRecords>& known, int64_t* cursor,
                                     store::WatchRound* out) {
  BLAZE_ASSIGN_OR_RETURN(int64_t dv, conn_->QueryInt("PRAGMA data_version"));
  if (!local_commit_ && dv == data_version_) return Status::Ok();
  // One read transaction: the log, the documents read back and a recovery
  // scan all show the same moment.
  BLAZE_RETURN_IF_ERROR(conn_->ExecCached("BEGIN"));
  struct EndRead {
    store::Connection* conn;
    ~EndRead() { conn->ExecCached("COMMIT").IgnoreError(); }  // a read: nothing to keep or lose
  } end_read{conn_.get()};
  auto watched = [&](std::string_view c) {
    return std::find(collections.begin(), collections.end(), c) != collections.end();
  };
  BLAZE_ASSIGN_OR_RETURN(const int64_t top, MaxLocalSeq());
  // Every local_seq in (*cursor, top] was given to one log entry; compaction
  // may have pruned some. This process's own commits still have their exact
  // events in local_events_, pruned or not; any other missing one is a gap.
  // Nothing below moves local_events_ until every read has succeeded (an
  // error leaves them for the next round).
  struct Slot {
    int64_t local_seq;
    bool local;              // take the exact events from local_events_
    store::WatchEvent event;  // otherwise: one event read from the log
  };
  std::vector<Slot> slots;
  int64_t gap = 0;
  int64_t next = *cursor + 1;  // the next local_seq not yet accounted for
  auto through = [&](int64_t end) {  // accounts for [next, end) without log rows
    for (auto it = local_events_.lower_bound(next); it != local_events_.end() && it->first < end; ++it) {
      if (gap == 0 && it->first > next) gap = next;
      slots.push_back(Slot{it->first, true, {}});
      next = it->first + 1;
    }
    if (gap == 0 && next < end) gap = next;
    next = std::max(next, end);
  };
  BLAZE_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(
      "SELECT local_seq, origin, seq, ops, effects FROM blaze_changes WHERE local_seq > ? ORDER BY local_seq"));
  stmt->BindInt(1, *cursor);
  while (true) {
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const int64_t ls = stmt->ColumnInt(0);
    through(ls);
    next = ls + 1;
    if (local_events_.count(ls)) {
      slots.push_back(Slot{ls, true, {}});
      continue;
    }
    std::string_view effects = stmt->ColumnBlob(4);
    BLAZE_ASSIGN_OR_RETURN(std::vector<store::Op> ops, store::DecodeOps(stmt->ColumnBlob(3)));
    if (effects.size() != ops.size()) return Status::Corruption("change log: effects do not match ops");
    for (size_t i = 0; i < ops.size(); ++i) {
      auto effect = static_cast<store::Effect>(effects[i]);
      if (effect == store::Effect::kNone) continue;
      if (!watched(ops[i].collection)) continue;
      Slot slot{ls, false, {}};
      store::WatchEvent& we = slot.event;
      we.local_seq = ls;
      we.event.kind = effect == store::Effect::kInserted  ? ChangeEvent::Kind::kInserted
                      : effect == store::Effect::kUpdated ? ChangeEvent::Kind::kUpdated
                                                          : ChangeEvent::Kind::kDeleted;
      we.event.collection = ops[i].collection;
      we.event.id = ops[i].id;
      we.event.origin = NodeId{static_cast<uint64_t>(stmt->ColumnInt(1))};
      we.event.seq = static_cast<Seq>(stmt->ColumnInt(2));
      slots.push_back(std::move(slot));
    }
  }
  stmt->Reset();
  through(top + 1);
  // Documents are read after the scan (the scan's statement is cached and
  // GetLocked uses others); a record changed again since shows its latest state.
  for (auto& slot : slots) {
    store::WatchEvent& we = slot.event;
    if (slot.local || we.event.kind == ChangeEvent::Kind::kDeleted) continue;
    auto doc = GetLocked(we.event.collection, we.event.id);
    if (doc.ok()) {
      we.event.doc = std::move(doc).value();
    } else if (!doc.status().IsNotFound()) {
      return doc.status();
    }
  }
  const int64_t new_cursor = std::max(top, next - 1);
  std::vector<store::WatchEvent> recovered;
  if (gap != 0) {
    for (const std::string& c : collections) {
      auto k = known.find(c);
      if (k == known.end()) continue;
      BLAZE_RETURN_IF_ERROR(RecoverCollection(*this, c, k->second, new_cursor, &recovered));
    }
  }
  // Nothing can fail from here on.
  for (auto& slot : slots) {
    if (!slot.local) {
      out->events.push_back(std::move(slot.event));
      continue;
    }
    auto local = local_events_.find(slot.local_seq);
    if (local == local_events_.end()) continue;
    for (ChangeEvent& e : local->second) {
      if (watched(e.collection)) out->events.push_back(store::WatchEvent{slot.local_seq, std::move(e), true});
    }
  }
  local_events_.erase(local_events_.begin(), local_events_.upper_bound(new_cursor));
  out->gap = gap;
  out->recovered = std::move(recovered);
  local_commit_ = false;
  data_version_ = dv;
  *cursor = new_cursor;
  return Status::Ok();
}

}  // namespace blaze
