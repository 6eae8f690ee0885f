// sync_engine.cc — the engine's protocol logic, confined to its executor.
#include "sync/sync_engine.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "store/change.h"
#include "store/replica.h"
#include "sync/messages.h"

namespace blaze::sync {

namespace {

// A change's fixed part in a changes message (origin index, seq, hlc, op
// count), an upper bound, counted with its ops against batch_bytes.
constexpr size_t kChangeHeaderBytes = 32;

}  // namespace

class SyncEngine::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(Database* db, Executor* executor, SyncOptions options)
      : db_(db), executor_(executor), options_(options), self_(DatabaseAccess::Node(*db)) {}

  struct Session {
    uint64_t id = 0;
    std::shared_ptr<Link> link;
    std::shared_ptr<LinkHandler> handler;  // owned here; the link holds it weakly
    PeerGuard guard;
    bool hello_received = false;
    bool closed = false;
    NodeId announced;  // the node id our hellos name on this link (kept if the file rotates its id)
    // Held changes to re-send first, so the peer compares them with its own
    // (divergent histories: docs/sync-protocol.md, "Copied and restored files").
    std::vector<store::Change> probes;
    NodeId remote_node;
    VersionVector remote_vv;  // what the peer has acknowledged (or said in hello)
    VersionVector sent;       // what we have sent (>= remote_vv)
    std::map<uint64_t, uint64_t> in_flight;  // batch -> tick it was sent at
    uint64_t next_batch = 1;
    uint64_t hello_tick = 0;
    bool checkpoint_dirty = false;  // acks not yet persisted
    VersionVector last_ack_vv;      // our vector as of the last ack sent
    uint64_t acks_sent = 0;
    PeerStats stats;
    // Chunks of a snapshot being received (one batch at a time).
    struct {
      uint64_t batch = 0;
      uint32_t count = 0;
      VersionVector vv;
      std::map<uint32_t, std::vector<store::SnapshotRecord>> chunks;
      size_t bytes = 0;  // of the chunks' messages
    } incoming;
  };

  // A LinkHandler that routes a peer's messages to the engine, on its executor.
  class Handler final : public LinkHandler {
   public:
    Handler(std::weak_ptr<Core> core, uint64_t peer) : core_(std::move(core)), peer_(peer) {}
    void OnMessage(std::string message) override {
      if (auto c = core_.lock()) c->OnMessage(peer_, message);
    }
    void OnClosed(const Status& why) override {
      if (auto c = core_.lock()) c->OnClosed(peer_, why);
    }

   private:
    std::weak_ptr<Core> core_;
    uint64_t peer_;
  };

  Status Start() {
    BLAZE_ASSIGN_OR_RETURN(local_vv_, DatabaseAccess::GetVersionVector(*db_));
    std::weak_ptr<Core> weak = weak_from_this();
    Core* self = this;
    Executor* ex = executor_;
    // Runs under the database lock: only post. Our own merges are skipped
    // (ApplyReady has the vector already and pumps), and while one wake-up
    // is pending, further commits ride on it: it reads the vector afresh.
    hook_ = DatabaseAccess::AddCommitHook(*db_, [weak, self, ex] {
      if (self->applying_on_ == std::this_thread::get_id()) return;
      if (self->commit_pending_.exchange(true)) return;
      ex->Post([weak] {
        if (auto c = weak.lock()) c->OnLocalCommit();
      });
    });
    return Status::Ok();
  }

  // Runs on the destroying thread: must not touch executor-confined state.
  void Stop() { DatabaseAccess::RemoveCommitHook(*db_, hook_); }

  void AddPeer(uint64_t id, std::shared_ptr<Link> link, PeerGuard guard) {
    Session& s = sessions_[id];
    s.id = id;
    s.link = link;
    s.guard = std::move(guard);
    s.stats.peer = id;
    s.announced = self_;
    s.handler = std::make_shared<Handler>(weak_from_this(), id);
    link->Attach(s.handler, executor_);
    SendHello(s);
  }

  void RemovePeer(uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    it->second.link->Close(Status::Aborted("peer removed"));
    sessions_.erase(it);
  }

  void Tick() {
    ++tick_;
    // Commits by other processes (or other handles) on the same file fire no
    // commit hook here: a tick is where the engine learns of them.
    if (auto vv = DatabaseAccess::GetVersionVector(*db_); vv.ok()) local_vv_ = std::move(vv).value();
    for (auto& [id, s] : sessions_) {
      if (s.checkpoint_dirty) {
        s.checkpoint_dirty = false;
        DatabaseAccess::SaveCheckpoint(*db_, s.remote_node, s.remote_vv).IgnoreError();
      }
      if (s.closed) continue;
      if (!s.hello_received) {
        if (tick_ - s.hello_tick >= static_cast<uint64_t>(options_.retransmit_ticks)) SendHello(s);
        continue;
      }
      bool expired = false;
      for (const auto& [batch, sent_at] : s.in_flight) {
        if (tick_ - sent_at >= static_cast<uint64_t>(options_.retransmit_ticks)) expired = true;
      }
      if (expired || (s.in_flight.empty() && Behind(s))) {
        // Presumed lost: rewind to what the peer acknowledged and resend.
        s.sent = s.remote_vv;
        s.in_flight.clear();
      }
      Pump(s);
    }
  }

  std::vector<PeerStats> Stats() const {
    std::vector<PeerStats> out;
    for (const auto& [id, s] : sessions_) {
      PeerStats p = s.stats;
      p.remote_node = s.remote_node;
      p.live = s.hello_received && !s.closed;
      p.batches_in_flight = s.in_flight.size();
      uint64_t lag = 0;
      for (const auto& [origin, seq] : local_vv_) {
        Seq have = SeqOf(s.remote_vv, origin);
        if (seq > have) lag += seq - have;
      }
      p.lag = lag;
      p.remote_vv = s.remote_vv;
      out.push_back(p);
    }
    return out;
  }

  const VersionVector& local_vv() const { return local_vv_; }
  Executor* executor() const { return executor_; }

 private:
  bool Behind(const Session& s) const {
    for (const auto& [origin, seq] : local_vv_) {
      if (seq > SeqOf(s.remote_vv, origin)) return true;
    }
    return false;
  }

  void SendHello(Session& s) {
    s.hello_tick = tick_;
    Send(s, Hello{s.announced, local_vv_, !s.hello_received});
  }

  void Send(Session& s, const Message& m) {
    if (s.closed) return;
    Status st = s.link->Send(EncodeMessage(m));
    if (!st.ok()) MarkClosed(s, st);
  }

  void MarkClosed(Session& s, const Status& why) {
    s.closed = true;
    if (s.stats.error.empty()) s.stats.error = why.ToString();
  }

  void Fail(Session& s, const Status& why) {
    Send(s, ErrorMsg{why.ToString()});
    MarkClosed(s, why);
    s.link->Close(why);
  }

  void OnLocalCommit() {
    commit_pending_ = false;  // before reading: a commit after this point posts again
    auto vv = DatabaseAccess::GetVersionVector(*db_);
    if (!vv.ok()) return;  // retried on the next commit or tick
    local_vv_ = std::move(vv).value();
    for (auto& [id, s] : sessions_) Pump(s);
  }

  void OnClosed(uint64_t peer, const Status& why) {
    auto it = sessions_.find(peer);
    if (it != sessions_.end()) MarkClosed(it->second, why);
  }

  void OnMessage(uint64_t peer, const std::string& bytes) {
    auto it = sessions_.find(peer);
    if (it == sessions_.end() || it->second.closed) return;
    Session& s = it->second;
    auto msg = DecodeMessage(bytes);
    if (!msg.ok()) return Fail(s, msg.status());
    if (auto* h = std::get_if<Hello>(&*msg)) return OnHello(s, *h);
    if (auto* c = std::get_if<ChangesMsg>(&*msg)) return OnChanges(s, *c);
    if (auto* a = std::get_if<Ack>(&*msg)) return OnAck(s, *a);
    if (auto* c = std::get_if<SnapshotChunk>(&*msg)) return OnSnapshot(s, *c, bytes.size());
    if (std::holds_alternative<GrantMsg>(*msg) || std::holds_alternative<OwnHistory>(*msg)) {
      return Fail(s, Status::InvalidArgument("grant and own-history messages are only meaningful on a cross-app link"));
    }
    const auto& e = std::get<ErrorMsg>(*msg);
    MarkClosed(s, Status::Aborted("peer reported: " + e.message));
    s.link->Close(Status::Aborted("peer reported an error"));
  }

  void OnHello(Session& s, const Hello& h) {
    if (Status st = CheckUnheldOrigins(h.vv); !st.ok()) return Fail(s, st);
    if (h.node == self_ || h.node == s.announced) {
      return Fail(s, Status::InvalidArgument("peer has this database's own node id"));
    }
    if (!s.hello_received) {
      if (s.guard.announce) {
        Status may = s.guard.announce(h.node);
        if (!may.ok()) return Fail(s, may);
      }
      // The session starts exactly where the peer stands.
      s.hello_received = true;
      s.remote_node = h.node;
      s.remote_vv = h.vv;
      s.sent = h.vv;
      s.in_flight.clear();
      // Persisted acknowledgements survive restarts (compaction will read them).
      DatabaseAccess::SaveCheckpoint(*db_, s.remote_node, s.remote_vv).IgnoreError();
      // The peer holds changes of this node that this file lacks: the file is
      // an older copy of itself (a restored backup, or a copy the other copy
      // outran). Those seqs are taken; continue under a fresh node id, and
      // receive them like any other origin's.
      if (SeqOf(h.vv, self_) > SeqOf(local_vv_, self_) && BehindOwnHistory(h.vv) && !RotateSelf(s)) return;
      QueueProbes(s, h.vv);
    } else {
      if (h.node != s.remote_node) return Fail(s, Status::InvalidArgument("peer changed its node id mid-session"));
      for (const auto& [origin, seq] : h.vv) s.remote_vv[origin] = std::max(s.remote_vv[origin], seq);
    }
    // A peer that has not heard our hello asks for one (again); answers
    // never ask, so hellos cannot bounce back and forth forever.
    if (h.wants_answer) Send(s, Hello{s.announced, local_vv_, false});
    Pump(s);
  }

  // A peer's vector (hello, ack) may name origins this file does not hold
  // (the peer's own unsent changes, those it got elsewhere), but not without
  // bound: they are kept per peer and persisted in its checkpoint, so a peer
  // naming millions of made-up origins would grow our memory and file.
  Status CheckUnheldOrigins(const VersionVector& vv) const {
    size_t unheld = 0;
    for (const auto& [origin, seq] : vv) {
      if (!local_vv_.count(origin)) ++unheld;
    }
    if (unheld <= kMaxUnheldOrigins) return Status::Ok();
    return Status::InvalidArgument("peer's version vector names " + std::to_string(unheld) +
                                   " origins this database does not hold; at most " +
                                   std::to_string(kMaxUnheldOrigins) + " are accepted");
  }
  static constexpr size_t kMaxUnheldOrigins = 4096;

  // Whether `peer_vv` holds more of this node's changes than the file does.
  // Our vector may be stale (another handle or process on the file commits
  // without telling this engine): re-read before deciding.
  bool BehindOwnHistory(const VersionVector& peer_vv) {
    auto vv = DatabaseAccess::GetVersionVector(*db_);
    if (!vv.ok()) return false;  // the next session decides
    local_vv_ = std::move(vv).value();
    return SeqOf(peer_vv, self_) > SeqOf(local_vv_, self_);
  }

  // Takes a fresh node id for this file (the old one's seqs are used
  // elsewhere). false if that failed (the link is closed).
  bool RotateSelf(Session& s) {
    auto fresh = DatabaseAccess::RotateNode(*db_, self_);
    if (!fresh.ok()) {
      Fail(s, fresh.status());
      return false;
    }
    self_ = *fresh;
    return true;
  }

  // For every origin both sides hold, our change at the lower of the two
  // seqs goes first to the peer, which compares it with its own: two
  // different changes under one (origin, seq) (a copied or restored file
  // that wrote before it noticed) are reported on every session, and the
  // delta stream of an origin starts right after a change both sides agree
  // on. A pruned change cannot be compared and is skipped.
  void QueueProbes(Session& s, const VersionVector& peer_vv) {
    s.probes.clear();
    for (const auto& [origin, mine] : local_vv_) {
      const Seq at = std::min(mine, SeqOf(peer_vv, origin));
      if (at == 0) continue;
      auto held = DatabaseAccess::ChangesAfter(*db_, origin, at - 1, 1);
      if (!held.ok() || held->empty() || held->front().seq != at) continue;
      s.probes.push_back(std::move(held->front()));
    }
  }

  void Pump(Session& s) {
    if (s.closed || !s.hello_received) return;
    while (s.in_flight.size() < options_.window) {
      ChangesMsg batch;
      batch.changes = std::move(s.probes);
      s.probes.clear();
      const size_t probes = batch.changes.size();
      const VersionVector sent_before = s.sent;
      size_t bytes = 0;  // encoded ops in the batch, against batch_bytes
      bool pruned = false;
      for (const auto& [origin, seq] : local_vv_) {
        if (batch.changes.size() >= options_.batch_changes) break;
        Seq from = std::max(SeqOf(s.sent, origin), SeqOf(s.remote_vv, origin));
        if (seq <= from) continue;
        size_t room = options_.batch_changes - batch.changes.size();
        auto changes = DatabaseAccess::ChangesAfter(*db_, origin, from, room);
        if (!changes.ok()) return;  // a tick retries
        if (changes->empty() || changes->front().seq != from + 1) {
          pruned = true;  // the log no longer holds what the peer needs next
          break;
        }
        bool full = false;
        for (auto& c : *changes) {
          const size_t size = store::EncodeOps(c.ops).size() + kChangeHeaderBytes;
          if (!batch.changes.empty() && bytes + size > options_.batch_bytes) {
            full = true;  // the rest go in the next batch
            break;
          }
          bytes += size;
          s.sent[origin] = c.seq;
          batch.changes.push_back(std::move(c));
        }
        if (full || batch.changes.size() >= options_.batch_changes) break;
      }
      if (pruned) {
        s.sent = sent_before;
        batch.changes.resize(probes);
        s.probes = std::move(batch.changes);  // they go with the next batch
        if (!SendSnapshot(s)) return;
        continue;
      }
      if (batch.changes.empty()) return;
      if (probes == 0 && !s.in_flight.empty() && batch.changes.size() < options_.busy_batch) {
        // Busy: let changes gather until an ack arrives (it pumps again)
        // rather than sending a message each — fewer, fuller messages.
        s.sent = sent_before;
        return;
      }
      batch.batch = s.next_batch++;
      s.in_flight[batch.batch] = tick_;
      s.stats.changes_sent += batch.changes.size() - probes;
      s.stats.probes_sent += probes;
      Send(s, batch);
      if (s.closed) return;
    }
  }

  // Sends current state in chunks of one batch; the delta stream resumes
  // from the snapshot's vector. false if it could not be read (a tick retries).
  bool SendSnapshot(Session& s) {
    auto snap = DatabaseAccess::ReadSnapshot(*db_);
    if (!snap.ok()) return false;
    const uint64_t batch = s.next_batch++;
    const size_t n = snap->records.size();
    const size_t count = std::max<size_t>(1, (n + kSnapshotChunkRecords - 1) / kSnapshotChunkRecords);
    for (size_t i = 0; i < count && !s.closed; ++i) {
      SnapshotChunk c;
      c.batch = batch;
      c.index = static_cast<uint32_t>(i);
      c.count = static_cast<uint32_t>(count);
      c.vv = snap->vv;
      size_t end = std::min(n, (i + 1) * kSnapshotChunkRecords);
      for (size_t k = i * kSnapshotChunkRecords; k < end; ++k) c.records.push_back(std::move(snap->records[k]));
      Send(s, c);
    }
    s.in_flight[batch] = tick_;
    for (const auto& [origin, seq] : snap->vv) s.sent[origin] = std::max(SeqOf(s.sent, origin), seq);
    ++s.stats.snapshots_sent;
    return !s.closed;
  }

  // Collects a snapshot's chunks (any order, duplicates ignored; a new batch
  // replaces an unfinished one) and merges it whole when the last arrives.
  void OnSnapshot(Session& s, SnapshotChunk& c, size_t message_bytes) {
    auto& in = s.incoming;
    if (in.batch != c.batch || in.count != c.count) {
      in.batch = c.batch;
      in.count = c.count;
      in.vv = c.vv;
      in.chunks.clear();
      in.bytes = 0;
    } else if (in.vv != c.vv) {
      return Fail(s, Status::Corruption("snapshot chunks of one batch disagree on the version vector"));
    }
    if (s.guard.write) {
      for (const auto& [origin, seq] : in.vv) {
        if (seq <= SeqOf(local_vv_, origin)) continue;
        Status may = s.guard.write(origin);
        if (!may.ok()) return Fail(s, may);
      }
    }
    in.bytes += message_bytes;
    if (in.bytes > options_.max_snapshot_bytes) {
      in.chunks.clear();
      return Fail(s, Status::InvalidArgument("snapshot of " + std::to_string(in.count) + " chunks is past " +
                                             std::to_string(options_.max_snapshot_bytes) +
                                             " bytes before its last chunk (SyncOptions::max_snapshot_bytes)"));
    }
    in.chunks.emplace(c.index, std::move(c.records));
    if (in.chunks.size() < in.count) return;
    store::Snapshot snap;
    snap.vv = std::move(in.vv);
    for (auto& [index, records] : in.chunks) {
      for (auto& r : records) snap.records.push_back(std::move(r));
    }
    const uint64_t batch = in.batch;
    in.batch = 0;
    in.count = 0;
    in.vv.clear();
    in.chunks.clear();
    in.bytes = 0;
    auto merged = DatabaseAccess::ApplySnapshot(*db_, snap, options_.max_drift_ms);
    if (!merged.ok()) return Fail(s, merged.status());
    ++s.stats.snapshots_applied;
    for (const auto& [origin, seq] : snap.vv) s.remote_vv[origin] = std::max(SeqOf(s.remote_vv, origin), seq);
    auto vv = DatabaseAccess::GetVersionVector(*db_);
    if (!vv.ok()) return Fail(s, vv.status());
    local_vv_ = std::move(vv).value();
    // Held changes the snapshot covered are done; those right after it apply now.
    std::vector<store::Change> ready;
    VersionVector planned = local_vv_;
    for (auto& [origin, changes] : held_) {
      while (!changes.empty() && changes.begin()->first <= SeqOf(planned, origin)) {
        changes.erase(changes.begin());
        --held_count_;
      }
    }
    for (const auto& [origin, seq] : local_vv_) TakeHeld(origin, &planned, &ready);
    Status st = ApplyReady(s, ready);
    if (!st.ok()) return Fail(s, st);
    Send(s, Ack{batch, local_vv_});
  }

  // Plans which received changes can apply now — each the next seq of its
  // origin, then whatever was held behind it — and applies them as one batch
  // (one SQLite commit, a savepoint per change). Early changes are held back,
  // duplicates skipped.
  void OnChanges(Session& s, const ChangesMsg& m) {
    if (s.guard.write) {
      std::set<NodeId> checked;
      for (const store::Change& c : m.changes) {
        if (c.seq <= SeqOf(local_vv_, c.origin) || !checked.insert(c.origin).second) continue;
        Status may = s.guard.write(c.origin);
        if (!may.ok()) return Fail(s, may);
      }
    }
    VersionVector planned = local_vv_;
    std::vector<store::Change> ready;
    std::vector<store::Change> held;  // duplicates: compared with ours before anything applies
    bool duplicates = false;
    for (const store::Change& c : m.changes) {
      // The peer holds what it sends: never send it back.
      Seq& theirs = s.remote_vv[c.origin];
      if (c.seq > theirs) {
        theirs = c.seq;
        s.checkpoint_dirty = true;  // what a peer holds is what compaction may prune
      }
      Seq have = SeqOf(planned, c.origin);
      if (c.seq <= have) {
        ++s.stats.duplicates;
        duplicates = true;
        held.push_back(c);
      } else if (c.seq > have + 1) {
        Hold(s, c);
      } else {
        ready.push_back(c);
        planned[c.origin] = c.seq;
        TakeHeld(c.origin, &planned, &ready);
      }
    }
    Status same = DatabaseAccess::VerifyHeld(*db_, held);
    if (!same.ok()) {
      // If the disputed changes include this node's own, this file is one of
      // the two writers: its next writes must not extend the dispute.
      for (const auto& c : held) {
        if (c.origin == self_) {
          RotateSelf(s);
          break;
        }
      }
      return Fail(s, same);
    }
    Status st = ApplyReady(s, ready);
    if (!st.ok()) return Fail(s, st);
    Send(s, Ack{m.batch, AckVector(s, duplicates)});
  }

  // What an ack carries: the entries of our vector that moved since the last
  // ack to this peer (the sender merges by max, so that is enough) — or the
  // whole vector when the batch held duplicates (the sender's idea of what we
  // hold is stale: an ack got lost) and every 64th ack.
  VersionVector AckVector(Session& s, bool full) {
    VersionVector out;
    if (full || s.acks_sent++ % 64 == 0) {
      out = local_vv_;
    } else {
      for (const auto& [origin, seq] : local_vv_) {
        if (SeqOf(s.last_ack_vv, origin) != seq) out.emplace(origin, seq);
      }
    }
    s.last_ack_vv = local_vv_;
    return out;
  }

  void Hold(Session& s, const store::Change& c) {
    if (held_count_ >= options_.max_held) return;  // dropped: the sender resends after the gap fills
    if (held_[c.origin].emplace(c.seq, c).second) {
      ++held_count_;
    } else {
      ++s.stats.duplicates;
    }
  }

  // Moves the held changes of `origin` that follow planned[origin] into `ready`.
  void TakeHeld(NodeId origin, VersionVector* planned, std::vector<store::Change>* ready) {
    auto it = held_.find(origin);
    while (it != held_.end() && !it->second.empty()) {
      auto next = it->second.begin();
      Seq now = SeqOf(*planned, origin);
      if (next->first > now + 1) break;
      if (next->first == now + 1) {
        ready->push_back(std::move(next->second));
        (*planned)[origin] = now + 1;
      }
      it->second.erase(next);
      --held_count_;
    }
  }

  Status ApplyReady(Session& s, std::vector<store::Change>& ready) {
    if (ready.empty()) return Status::Ok();
    applying_on_ = std::this_thread::get_id();
    store::BatchResult r = DatabaseAccess::ApplyBatch(*db_, ready, options_.max_drift_ms);
    applying_on_ = std::thread::id();
    s.stats.changes_applied += r.applied;
    s.stats.duplicates += r.duplicates;
    for (size_t k = 0; k < r.done; ++k) {
      Seq& mine = local_vv_[ready[k].origin];
      mine = std::max(mine, ready[k].seq);
    }
    // What we merged goes on to our other peers (a hub forwards); the
    // sender is not sent its own changes back (remote_vv has them).
    if (r.applied > 0) {
      for (auto& [id, other] : sessions_) {
        if (&other != &s) Pump(other);
      }
    }
    if (r.error.ok()) return Status::Ok();
    if (r.error.code() != StatusCode::kFailedPrecondition) return r.error;
    // Someone else (another engine or process on the file) moved the vector:
    // refresh it and hold what did not apply; it applies when its turn comes.
    BLAZE_ASSIGN_OR_RETURN(local_vv_, DatabaseAccess::GetVersionVector(*db_));
    for (size_t k = r.done; k < ready.size(); ++k) {
      if (ready[k].seq > SeqOf(local_vv_, ready[k].origin)) Hold(s, ready[k]);
    }
    return Status::Ok();
  }

  void OnAck(Session& s, const Ack& a) {
    if (Status st = CheckUnheldOrigins(a.vv); !st.ok()) return Fail(s, st);
    s.in_flight.erase(a.batch);
    bool advanced = false;
    for (const auto& [origin, seq] : a.vv) {
      Seq& mine = s.remote_vv[origin];
      if (seq > mine) {
        mine = seq;
        advanced = true;
      }
    }
    // Persisted on the next tick, not per ack: a checkpoint is a write
    // transaction, and a lost one only means resending what the peer's next
    // hello shows it lacks.
    if (advanced) s.checkpoint_dirty = true;
    Pump(s);
  }

  Database* db_;
  uint64_t hook_ = 0;
  // Read by the commit hook on the committing thread, under the database lock.
  std::atomic<std::thread::id> applying_on_{};  // the thread inside our ApplyBatch
  std::atomic<bool> commit_pending_{false};     // an OnLocalCommit is posted
  Executor* executor_;
  SyncOptions options_;
  NodeId self_;
  VersionVector local_vv_;
  std::map<uint64_t, Session> sessions_;
  std::map<NodeId, std::map<Seq, store::Change>> held_;
  size_t held_count_ = 0;
  uint64_t tick_ = 0;
};

Result<std::unique_ptr<SyncEngine>> SyncEngine::Create(Database* db, Executor* executor, SyncOptions options) {
  if (db == nullptr || executor == nullptr) return Status::InvalidArgument("SyncEngine needs a database and an executor");
  if (options.batch_changes == 0 || options.window == 0 || options.batch_bytes == 0) {
    return Status::InvalidArgument("batch_changes, batch_bytes and window must be at least 1");
  }
  auto core = std::make_shared<Core>(db, executor, options);
  BLAZE_RETURN_IF_ERROR(core->Start());
  return std::unique_ptr<SyncEngine>(new SyncEngine(std::move(core)));
}

SyncEngine::~SyncEngine() { core_->Stop(); }

uint64_t SyncEngine::AddPeer(std::shared_ptr<Link> link, PeerGuard guard) {
  static std::atomic<uint64_t> next_id{1};
  uint64_t id = next_id++;
  std::weak_ptr<Core> weak = core_;
  // Posted, so sessions are only touched on the executor.
  core_->executor()->Post([weak, id, link, guard = std::move(guard)]() mutable {
    if (auto c = weak.lock()) c->AddPeer(id, link, std::move(guard));
  });
  return id;
}

void SyncEngine::RemovePeer(uint64_t peer) {
  std::weak_ptr<Core> weak = core_;
  core_->executor()->Post([weak, peer] {
    if (auto c = weak.lock()) c->RemovePeer(peer);
  });
}

std::vector<PeerStats> SyncEngine::StatsFromOutside() {
  auto promise = std::make_shared<std::promise<std::vector<PeerStats>>>();
  auto future = promise->get_future();
  std::weak_ptr<Core> weak = core_;
  core_->executor()->Post([weak, promise] {
    auto c = weak.lock();
    promise->set_value(c ? c->Stats() : std::vector<PeerStats>{});
  });
  return future.get();
}

void SyncEngine::Tick() {
  std::weak_ptr<Core> weak = core_;
  core_->executor()->Post([weak] {
    if (auto c = weak.lock()) c->Tick();
  });
}

std::vector<PeerStats> SyncEngine::Stats() const { return core_->Stats(); }
VersionVector SyncEngine::version_vector() const { return core_->local_vv(); }

}  // namespace blaze::sync
