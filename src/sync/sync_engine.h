// sync_engine.h — keeps one database in sync with any number of peers.
//
// The engine talks to each peer over a Link (a duplex of messages.h
// messages) and knows nothing of transports. Per peer:
//
//   connect ──► send hello ──► (hello received) ──► catch up ──► live
//                                   │                    ▲
//                                   └── changes the peer lacks, per origin in
//                                       seq order, in batches; at most
//                                       `window` batches unacknowledged
//
// Both sides send hello {node, version vector}; each then sends what the
// other lacks — of every origin it holds, so a hub forwards for its spokes —
// and keeps streaming new local commits. The receiver applies a change only
// when it is the next seq of its origin, holds later ones back until the gap
// fills, skips duplicates, and acknowledges each batch with its vector; acks
// advance a checkpoint persisted per peer on the next tick. A batch unacknowledged for
// `retransmit_ticks` ticks is presumed lost: the sender rewinds to what the
// peer has acknowledged and resends (duplicates are harmless). When the peer
// needs changes our log no longer holds (compacted, or never received because
// we were bootstrapped from a snapshot ourselves), it is sent a snapshot of
// current state instead — chunks of one batch, merged at once when all have
// arrived, acknowledged like a batch — and the delta stream resumes from the
// snapshot's vector. A change that
// cannot apply (clock too far ahead, malformed, divergent history) gets an
// error message and the link is closed; nothing of it is applied.
//
// Thread safety: all engine state lives on its Executor. Create, AddPeer and
// Tick may be called from any thread (they post); destroy the engine only
// when its executor no longer runs its tasks (after ManualExecutor's last
// Run, or after stopping the ThreadExecutor), or from a task on it.
#ifndef BLAZE_SYNC_SYNC_ENGINE_H_
#define BLAZE_SYNC_SYNC_ENGINE_H_

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "blaze/database.h"
#include "sync/executor.h"
#include "sync/link.h"

namespace blaze::sync {

struct SyncOptions {
  size_t batch_changes = 256;            // changes per message at most
  // Encoded ops per message at most (a single larger change still goes
  // alone): 256 big changes in one message would pass a peer's message
  // limit (16 MiB by default, less on a relay started so), which closes the
  // link and repeats on every reconnect, so the peer never catches up.
  size_t batch_bytes = 512 << 10;
  size_t window = 4;                     // unacknowledged batches per peer at most
  int64_t max_drift_ms = 5 * 60 * 1000;  // remote clocks further ahead are refused
  size_t max_held = 100'000;             // out-of-order changes kept waiting, per engine
  int retransmit_ticks = 3;              // ticks before an unacknowledged batch is resent
  size_t busy_batch = 32;                // with batches in flight, send only this many changes or more
  // Bytes of one incoming snapshot's chunks buffered until its last chunk
  // arrives, at most (a peer claiming a snapshot of 2^20 chunks and sending
  // them for ever would grow memory without bound); past it the link fails.
  size_t max_snapshot_bytes = size_t{1} << 30;
};

// What one peer may do, for an engine whose peers are authenticated
// principals (the relay binds replica node ids to users: docs/relay.md,
// "Origins are bound to users"). Both run on the engine's executor; a non-OK
// status closes the link with that error and nothing of the message applies.
struct PeerGuard {
  // The node id the peer's (first) hello announces.
  std::function<Status(NodeId)> announce;
  // Before anything new of `origin` is applied or held from this peer:
  // changes past this file's seq of that origin, or a snapshot whose vector
  // is past it.
  std::function<Status(NodeId)> write;
};

// Per-peer figures, for tests, the CLI and (later) the topology view.
struct PeerStats {
  uint64_t peer = 0;          // AddPeer's id
  NodeId remote_node;         // from the peer's hello (0 until then)
  bool live = false;          // hello received, link open
  uint64_t changes_sent = 0;
  uint64_t probes_sent = 0;        // held changes re-sent for the peer to compare (not in changes_sent)
  uint64_t changes_applied = 0;    // received and applied
  uint64_t duplicates = 0;         // received but already held
  uint64_t snapshots_sent = 0;     // the peer was behind our compacted log
  uint64_t snapshots_applied = 0;  // we were behind the peer's
  uint64_t batches_in_flight = 0;
  uint64_t lag = 0;                // changes we hold that the peer has not acknowledged
  VersionVector remote_vv;         // what the peer is known to hold (its hello and acks)
  std::string error;               // why the link closed, if it did
};

class SyncEngine {
 public:
  static Result<std::unique_ptr<SyncEngine>> Create(Database* db, Executor* executor, SyncOptions options = {});
  ~SyncEngine();
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  // Starts syncing with the peer at the other end of `link`; returns its id.
  uint64_t AddPeer(std::shared_ptr<Link> link, PeerGuard guard = {});
  // Stops syncing with a peer and closes its link.
  void RemovePeer(uint64_t peer);
  // Advances the retransmission clock by one tick (call periodically), and
  // picks up commits made to the file by other processes or handles, which
  // fire no commit hook in this one.
  void Tick();
  // Stats() from any thread but the executor's own: posts and waits.
  std::vector<PeerStats> StatsFromOutside();

  // Run on the engine's executor (or when it is idle, for ManualExecutor).
  std::vector<PeerStats> Stats() const;
  VersionVector version_vector() const;

  class Core;

 private:
  explicit SyncEngine(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace blaze::sync

#endif  // BLAZE_SYNC_SYNC_ENGINE_H_
