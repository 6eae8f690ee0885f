// replica.h — what the sync layer may do with a Database: read its version
// vector and change log, apply remote changes, read and write per-peer
// checkpoints, and hear about commits. This is the only door from above into
// the store's internals (Database befriends DatabaseAccess).
//
// Thread safety: every call takes the database lock; the commit hook runs
// with it held and must only signal (never call back into the database).
#ifndef BLAZE_STORE_REPLICA_H_
#define BLAZE_STORE_REPLICA_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "blaze/database.h"
#include "store/change.h"
#include "store/change_check.h"
#include "store/snapshot.h"
#include "store/write_scope.h"

namespace blaze {

class DatabaseAccess {
 public:
  static NodeId Node(Database& db);
  static Result<VersionVector> GetVersionVector(Database& db);
  static Result<std::vector<store::Change>> ChangesAfter(Database& db, NodeId origin, Seq after, size_t limit);
  static Result<std::vector<std::pair<int64_t, store::Change>>> LogAfter(Database& db, int64_t after_local_seq,
                                                                         size_t limit);
  // true: applied; false: already held (nothing changed).
  static Result<bool> Apply(Database& db, const store::Change& change, int64_t max_drift_ms);
  // Applies `changes` in order in one transaction, a savepoint each; stops at
  // the first that cannot apply (those before it stay applied).
  static store::BatchResult ApplyBatch(Database& db, const std::vector<store::Change>& changes, int64_t max_drift_ms);
  // The same, each new change judged by `check` inside the transaction first
  // (store/change_check.h); refused ones apply without their ops and are
  // listed in `refused` as (index in `changes`, why).
  static store::BatchResult ApplyBatchChecked(Database& db, const std::vector<store::Change>& changes,
                                              int64_t max_drift_ms, const store::ChangeCheck& check,
                                              std::vector<std::pair<size_t, Status>>* refused);
  // Adds a hook called after every commit (returns its id for removal).
  static uint64_t AddCommitHook(Database& db, std::function<void()> hook);
  static void RemoveCommitHook(Database& db, uint64_t id);
  // Installs a check every local write must pass before it is made (the
  // op as it would be logged); nullptr removes it.
  static void SetWriteGuard(Database& db, std::function<Status(const store::Op&)> guard);
  // Stores the file's write scope (store/write_scope.h), enforced on every
  // handle of the file from the next write transaction on; nullptr removes it.
  static Status SetWriteScope(Database& db, const store::WriteScope* scope);
  // A value kept in the file's blaze_meta table (kNotFound if absent).
  static Result<std::string> GetMeta(Database& db, const std::string& key);
  static Status SetMeta(Database& db, const std::string& key, const std::string& value);
  // Removes the given keys from blaze_meta, in one transaction (absent ones are ignored).
  static Status DeleteMeta(Database& db, const std::vector<std::string>& keys);
  // Every (key, value) of blaze_meta whose key starts with `prefix`, in key order.
  static Result<std::vector<std::pair<std::string, std::string>>> ListMeta(Database& db, const std::string& prefix);
  // The stored states of the given records (absent ones are left out), read
  // in one read transaction.
  static Result<std::vector<store::SnapshotRecord>> ReadStates(
      Database& db, const std::vector<std::pair<std::string, std::string>>& keys);
  // The version vector last acknowledged by `peer`, persisted in the file.
  // Saving one (even empty) makes `peer` a known peer for compaction.
  static Result<VersionVector> LoadCheckpoint(Database& db, NodeId peer);
  static Status SaveCheckpoint(Database& db, NodeId peer, const VersionVector& acked);
  // Forgets `peer`'s checkpoint: it is no longer a known peer for compaction.
  static Status DeleteCheckpoint(Database& db, NodeId peer);
  // The records (collection, id) a filtering sender (a cross-app owner) has
  // sent to `peer`, kept in the sender's file (table blaze_sent, created on
  // first use): only these may be named to the peer in evictions.
  static Result<std::set<std::pair<std::string, std::string>>> LoadSent(Database& db, NodeId peer);
  static Status AddSent(Database& db, NodeId peer, const std::vector<std::pair<std::string, std::string>>& keys);
  // Records whose refused writes `origin` may still hold (refusals.cc): every
  // record an op of a change refused by ApplyBatchChecked named, recorded in
  // the transaction that refused it (table blaze_refused, created on first
  // use), with the seq of the latest refusal of each. A cross-app owner sends
  // these records' states to the origin's replica until it confirms
  // (docs/cross-app.md).
  using RecordKey = std::pair<std::string, std::string>;
  // With `only`, just those records (those absent are left out).
  static Result<std::map<RecordKey, Seq>> LoadRefused(Database& db, NodeId origin,
                                                      const std::set<RecordKey>* only = nullptr);
  // Forgets each record whose entry is still at most the given seq (a later
  // refusal keeps it).
  static Status SettleRefused(Database& db, NodeId origin, const std::map<RecordKey, Seq>& settled);
  // Current state with its stamps and the vector it reflects (snapshot.h),
  // and merging one received from a peer: returns the records merged.
  static Result<store::Snapshot> ReadSnapshot(Database& db);
  static Result<size_t> ApplySnapshot(Database& db, const store::Snapshot& snapshot, int64_t max_drift_ms);
  // Every record's stored state (encoded), by collection name and id,
  // tombstones included: what convergence checks compare.
  static Result<std::map<std::string, std::map<std::string, std::string>>> DumpStates(Database& db);

  // --- copied files and divergent histories (replica_checks.cc) ---
  // Replaces this file's node id with a fresh one, if it is still `expected`
  // (else another handle or process already did: returns the current one).
  // The old origin's changes stay; new writes use the new id.
  static Result<NodeId> RotateNode(Database& db, NodeId expected);
  // A cross-app replica whose history under `old_node` forked from its
  // owner's after seq `after` (restored in place and written before it
  // reconnected): in one transaction, takes a fresh node id if the file is
  // still `old_node` and re-issues every logged change of `old_node` after
  // `after` under the current node id — same hlc and ops, the next seqs —
  // giving the stamps those changes left in record states the new origin
  // (store::RecordState::Reattribute), so the file reads exactly as before.
  // The old changes stay in the log under `old_node`. Returns the node id
  // the file continues under.
  static Result<NodeId> ReissueOwnChanges(Database& db, NodeId old_node, Seq after);
  // The hlc of the change of `origin` held at each of `seqs`, where this
  // file can tell: from its log, or from the log horizon when the change at
  // that seq was the last one pruned. Seqs it cannot tell are left out.
  static Result<std::map<Seq, Hlc>> StampsAt(Database& db, NodeId origin, const std::vector<Seq>& seqs);
  // Compares changes a peer sent that this file already holds with the held
  // ones: kCorruption naming the first (origin, seq) whose content differs
  // (two files wrote under one node id). Changes whose log entry was pruned
  // cannot be compared and pass.
  static Status VerifyHeld(Database& db, const std::vector<store::Change>& changes);
  // A digest of the visible state: every visible record's collection, id,
  // put stamp, and present fields with their stamps and values, in order.
  // Tombstones are left out (compaction purges them at different moments on
  // different replicas). Replicas holding the same changes have equal
  // digests; unequal digests with equal version vectors mean two different
  // changes share an (origin, seq). Not cryptographic.
  struct StateDigest {
    uint64_t records = 0;
    std::string hex;  // 32 hex digits
    VersionVector vv;  // the version vector of the same read
  };
  static Result<StateDigest> LiveStateDigest(Database& db);
};

}  // namespace blaze

#endif  // BLAZE_STORE_REPLICA_H_
