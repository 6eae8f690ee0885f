// database_impl.h — the inside of Database and Txn.
//
// Database::Impl owns the SQLite connection and everything that must move in
// step with it: the node identity, the hybrid clock, the id generator and the
// catalog, all guarded by mu_. The write path (txn.cc) applies each operation
// to the stored record through RecordState's LWW rules — the same rules that
// will apply remote changes — and appends the change in the same SQLite
// transaction. Reads are in reads.cc, watchers in watcher.cc.
#ifndef BLAZE_STORE_DATABASE_IMPL_H_
#define BLAZE_STORE_DATABASE_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "blaze/database.h"
#include "blaze/record_id.h"
#include "query/query.h"
#include "store/catalog.h"
#include "store/change_check.h"
#include "store/checkpointer.h"
#include "store/change.h"
#include "store/hybrid_clock.h"
#include "store/record_state.h"
#include "store/schema.h"
#include "store/snapshot.h"
#include "store/sqlite.h"
#include "store/write_scope.h"

namespace blaze::store {
class Watcher;
struct WatchEvent;
struct WatchRound;
using KnownRecords = std::unordered_map<std::string, uint64_t>;
}  // namespace blaze::store

namespace blaze {

class Database::Impl {
 public:
  Impl(const Options& options, std::string path, store::OpenedFile file);
  ~Impl();

  // Runs `body` as one transaction (see Database::Transaction).
  Status RunTransaction(const std::function<Status(Txn&)>& body);

  // --- everything below requires mu_ held ---
  Result<std::optional<store::RecordState>> LoadState(const store::TableInfo& table, std::string_view id);
  // Writes a record row: `state` encoded, `visible_doc` (nullptr when the
  // record is not visible) as the JSON that queries read.
  Status SaveRow(const store::TableInfo& table, std::string_view id, const std::string& state,
                 const Value* visible_doc, bool must_be_new);
  Result<Value> GetLocked(std::string_view collection, std::string_view id);
  struct CompiledQuery {
    std::string sql;  // SELECT ... (or the WHERE part for Count)
    std::vector<Value> params;
  };
  Result<std::optional<CompiledQuery>> CompileQuery(std::string_view collection, const QueryOptions& q,
                                                    const char* select);
  Result<int64_t> MaxLocalSeq();
  // Events of changes after *cursor for the given collections; advances *cursor.
  // Applies changes of other replicas, in order, in one SQLite transaction,
  // each under its own savepoint (remote_apply.cc). Stops at the first change
  // that cannot apply: the ones before it commit, nothing of it remains.
  // With `check` (change_check.h), each new change is checked first; the
  // verdicts of refused ones are appended to `refused` as (index, why).
  store::BatchResult ApplyRemoteChanges(const std::vector<store::Change>& changes, int64_t max_drift_ms,
                                        const store::ChangeCheck* check = nullptr,
                                        std::vector<std::pair<size_t, Status>>* refused = nullptr);
  Result<VersionVector> GetVersionVector();
  // Inside the open transaction: remembers that `change` (an origin's change
  // a check refused) touched its ops' records, so its sender can be sent the
  // stored state of them until it confirms (refusals.cc, blaze_refused).
  Status RecordRefusal(const store::Change& change);
  // One change inside the open transaction, under a savepoint; its events
  // are appended to `events` (when watchers exist).
  // With `check`, a new change it refuses applies without its ops and
  // *refusal is set to why.
  Result<bool> ApplyUnderSavepoint(const store::Change& change, int64_t max_drift_ms,
                                   std::vector<std::pair<int64_t, std::vector<ChangeEvent>>>* events,
                                   const store::ChangeCheck* check = nullptr, Status* refusal = nullptr);
  // Changes of `origin` with seq > after, in seq order, at most `limit`.
  Result<std::vector<store::Change>> ChangesAfter(NodeId origin, Seq after, size_t limit);
  // Every change in local (application) order after `after_local_seq`.
  Result<std::vector<std::pair<int64_t, store::Change>>> LogAfter(int64_t after_local_seq, size_t limit);
  // Compaction and snapshots (compaction.cc).
  Result<CompactStats> Compact(const CompactOptions& options);
  Result<store::Snapshot> ReadSnapshot();
  Result<size_t> ApplySnapshot(const store::Snapshot& snapshot, int64_t max_drift_ms);
  // Hooks the sync layer uses to hear about commits (called under mu_).
  std::map<uint64_t, std::function<void()>> on_commit_;
  uint64_t next_hook_ = 1;
  void NotifyCommit() {
    for (auto& [id, hook] : on_commit_) hook();
  }
  // Checked before every local write (cross-app replicas refuse what the
  // owner's policy does not grant); empty: everything is allowed.
  std::function<Status(const store::Op&)> write_guard_;
  // The file's own write scope (write_scope.h), read again in every write
  // transaction (another process may have changed it); nullopt: none.
  Status LoadWriteScope();
  std::string scope_text_;
  std::optional<store::WriteScope> scope_;

  // The watcher's Source (watcher.h): the events after *cursor for
  // `collections`, in one read transaction; with a gap (an entry pruned
  // before it was read), also the records that differ from `known`.
  Status CollectEvents(const std::vector<std::string>& collections,
                       const std::map<std::string, store::KnownRecords>& known, int64_t* cursor,
                       store::WatchRound* out);
  // A collection's visible records and their fingerprints (a watch's Known).
  Result<store::KnownRecords> ScanKnown(const std::string& collection);

  // kFailedPrecondition when called on the thread that is inside a Transaction
  // body (that call would deadlock; the body must use its Txn).
  Status CheckNotInTransaction(const char* what) const;
  // kPermissionDenied when the file was opened with Options::read_only.
  Status CheckWritable(const char* what) const;

  std::mutex mu_;
  Options options_;
  std::string path_;
  std::unique_ptr<store::Connection> conn_;
  std::atomic<NodeId> node_;  // rotated by DatabaseAccess::RotateNode (a copied or restored file)
  store::HybridClock hlc_;
  RecordIdGenerator ids_;
  store::Catalog catalog_;
  std::atomic<std::thread::id> txn_thread_{};  // the thread inside RunTransaction
  bool local_commit_ = false;                  // a commit the watcher has not looked at
  int64_t data_version_ = -1;                  // last PRAGMA data_version seen
  std::shared_ptr<store::Watcher> watcher_;    // created on the first Watch
  std::unique_ptr<store::Checkpointer> checkpointer_;  // files only: WAL checkpoints off the commit path
  // Exact events of this process's commits, by local seq, captured by the
  // write path while watchers exist; CollectEvents prefers them to re-reading
  // records (which only shows their latest state).
  std::map<int64_t, std::vector<ChangeEvent>> local_events_;
};

class Txn::Impl {
 public:
  // A local transaction: this node's next seq, stamps from the clock.
  Impl(Database::Impl* db, store::NodeRow node)
      : db_(db), node_(node), origin_(node.node), seq_(node.last_seq + 1), base_(db->hlc_.Next(node.last_hlc)) {}
  // Replaying a remote change: its origin, seq and stamps.
  Impl(Database::Impl* db, store::NodeRow node, NodeId origin, Seq seq, Hlc base)
      : db_(db), node_(node), origin_(origin), seq_(seq), base_(base), remote_(true) {}
  // Merging a snapshot: record states, not operations. Its local log entry
  // (origin 0, for watchers only; never sent) lists the records it changed.
  struct SnapshotMerge {};
  Impl(Database::Impl* db, store::NodeRow node, SnapshotMerge)
      : db_(db), node_(node), remote_(true), snapshot_(true) {}

  // Folds another replica's state of a record into ours (snapshot merges).
  Status MergeState(std::string_view collection, std::string_view id, const store::RecordState& incoming);
  // Drops a record's row without a trace (snapshot merges of filtered streams).
  Status Evict(std::string_view collection, std::string_view id);

  // Applies one operation of a remote change (validated like local input).
  Status ApplyRemoteOp(const store::Op& op);

  Result<std::string> Insert(std::string_view collection, const Value& doc);
  Status Put(std::string_view collection, std::string_view id, const Value& doc);
  Status Patch(std::string_view collection, std::string_view id, const Value& patch);
  Status Delete(std::string_view collection, std::string_view id);
  Result<Value> Get(std::string_view collection, std::string_view id) { return db_->GetLocked(collection, id); }

  // Appends the change (if anything was written) and the node row. The
  // caller commits the SQLite transaction.
  Status Finish();
  bool wrote() const { return n_ops_ > 0; }
  int64_t local_seq() const { return local_seq_; }
  // The record-level events of this transaction, in the order of each
  // record's last operation (captured only when watchers exist).
  std::vector<ChangeEvent> TakeEvents();
  Hlc last_stamp() const { return Hlc{base_.value + n_ops_ - 1}; }

 private:
  // The operations of one write on one record: an optional put, then an
  // optional unset, or a delete alone.
  struct Write {
    const Value::Map* put = nullptr;
    std::vector<std::string> unset;
    bool del = false;
  };
  Stamp StampAt(size_t k) const { return Stamp{Hlc{base_.value + k}, origin_}; }
  // The database's write guard, asked about each op of a local write.
  Status Guard(std::string_view collection, std::string_view id, const Write& w);
  // Folds `w` into `st` at the next stamps, writes the row, logs the ops and
  // records the touch. `visible_doc`, when given, is the record's visible
  // document afterwards (saves recomputing it).
  Status Apply(std::string_view collection, std::string_view id, const store::TableInfo& table,
               store::RecordState& st, const Write& w, const Value* visible_doc);
  Status Load(std::string_view collection, std::string_view id, const store::TableInfo** table,
              std::optional<store::RecordState>* st);
  void Touch(std::string_view collection, std::string_view id, bool was_visible, bool now_visible,
             const Value* doc);

  struct TouchState {
    bool was_visible = false;
    bool now_visible = false;
    size_t last_op = 0;
    Value doc;  // the visible document after the last op (when capturing)
  };

  Database::Impl* db_;
  store::NodeRow node_;
  NodeId origin_;
  Seq seq_;
  Hlc base_;
  bool remote_ = false;
  bool snapshot_ = false;
  Hlc snapshot_max_;  // the greatest stamp a snapshot merge brought
  size_t n_ops_ = 0;
  std::string ops_body_;  // the encoded ops so far (store::FrameOps adds the count)
  std::unordered_map<std::string, TouchState> touches_;  // key: collection '\0' id
  Status poisoned_;  // a failure after something was written: the transaction must not commit
  int64_t local_seq_ = 0;
  bool capture_ = db_->watcher_ != nullptr;
};

}  // namespace blaze

#endif  // BLAZE_STORE_DATABASE_IMPL_H_
