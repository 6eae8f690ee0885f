// share_server.cc — the owner side of cross-app sync (docs/cross-app.md).
//
// One accept thread; per connected app two threads: `rx` runs the handshake
// and then receives (the app's hello, its own changes, acks), `tx` does all
// sending (the channel allows one sender and one receiver at a time). The
// accept thread never waits for a session: closing one shuts its socket down
// (which wakes a sender blocked on an app that stopped reading, and a
// handshake under way), `rx` then joins `tx`, and the accept thread joins
// only sessions whose threads have finished. It also enforces the connection
// limits and re-reads the group registry, closing sessions of removed apps.
//
// What an app receives is a filtered stream of record *states*, not
// operations: for each batch of changes the app lacks (per origin in seq
// order, as the sync engine sends them), the records those changes touched
// are read as they are now and each is sent as its state with the fields the
// policy withholds removed — or as an eviction when the app may not see it
// (collection not granted, row outside `where`, record deleted). The batch
// carries the version-vector entries it covers, so the app's vector stays
// gapless and a reconnect resumes where it stopped. Merging states is the
// same merge as applying changes (docs/merge-semantics.md), so the replica
// converges on exactly the visible part of the owner's data. A full image
// (every visible record; the replica evicts the rest) is sent instead when
// the policy for the app changed since it last connected or while it is
// connected, and when the owner's compacted log lacks what the app needs.
//
// The app's own changes are checked op by op against the policy (collection
// granted read-write, fields exported, row inside `where` before and after,
// judged inside the apply transaction on the states the merge will produce:
// write_check.h) and applied like any remote change; a refused change gets an error message
// naming it and is applied without its ops, so the app's seq run stays
// gapless and its later changes still apply.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "blaze/byte_stream.h"
#include "blaze/json.h"
#include "local/cross_app_common.h"
#include "local/cross_app_limits.h"
#include "local/node_binding.h"
#include "local/origin_alias.h"
#include "local/shared_stream.h"
#include "local/write_check.h"
#include "store/record_state.h"
#include "store/replica.h"

namespace blaze {

class CrossAppShare::Impl {
 public:
  struct Session;

  Impl(Database* db, AppGroup group, KeyPair identity, CrossAppOptions options, OwnershipClaim claim)
      : db_(db), group_(std::move(group)), identity_(std::move(identity)), options_(std::move(options)),
        claim_(std::move(claim)), bindings_(db) {}
  ~Impl() { Stop(); }

  Status Start(const ExportPolicy& policy);
  void Stop();
  Status SetPolicy(const ExportPolicy& policy);
  std::vector<CrossAppConnection> Connections() const;
  const std::string& socket_path() const { return claim_.socket_path(); }

 private:
  friend struct Session;
  void AcceptLoop();
  // Joins and forgets sessions whose threads have ended (never blocks).
  void Reap();
  // Closes sessions of apps no longer in the group registry (or whose key
  // is now registered under another name).
  void CheckRegistry();
  // Whether a new connection fits the limits; logs a refusal now and then.
  bool HasRoom();
  // OK unless `app` already has max_connections_per_app other sessions.
  Status AppHasRoom(const Session* self, const std::string& app);
  // Quiet once stopping: closing our own connections is not news. What apps
  // say is escaped: it cannot forge lines of the log.
  void Log(const std::string& what) const {
    if (options_.log && !stop_) options_.log(local::EscapeForLog(what));
  }

  Database* db_;
  AppGroup group_;
  KeyPair identity_;
  CrossAppOptions options_;
  OwnershipClaim claim_;
  local::NodeBindings bindings_;  // which app may announce which node id
  std::optional<local::OriginAliases> aliases_;  // how other origins are named to each app (set by Start)
  std::unique_ptr<UnixListener> listener_;
  uint64_t hook_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  mutable std::mutex mu_;  // guards policy_ and sessions_; never held while calling into db_
  ExportPolicy policy_;
  std::vector<std::shared_ptr<Session>> sessions_;
  std::deque<CrossAppConnection> ended_;  // the last connections that ended
  std::chrono::steady_clock::time_point last_refusal_log_{};  // accept thread only
};

struct CrossAppShare::Impl::Session : std::enable_shared_from_this<Session> {
  Impl* owner;
  std::shared_ptr<ByteStream> raw;     // the socket: Close shuts it down at any stage
  std::unique_ptr<ByteStream> stream;  // a handle on `raw`, until the handshake takes it
  std::atomic<bool> authenticated{false};  // the handshake succeeded
  std::atomic<bool> finished{false};       // rx (which joins tx) has ended: joining it cannot block
  PublicKey peer_key{};                    // under mu, once authenticated
  std::unique_ptr<TrustStore> trust;
  std::unique_ptr<SecureChannel> ch;
  std::thread rx, tx;

  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  bool wake = false;
  bool hello = false;
  bool need_image = false;
  std::shared_ptr<const policy::AppPolicy> policy;
  NodeId remote_node;
  VersionVector remote_vv;  // what the app holds (hello, then acks)
  VersionVector sent;       // what we have sent
  size_t in_flight = 0;
  uint64_t next_batch = 1;
  std::deque<sync::Message> control;  // grant, hello, acks and errors, sent first
  // Records the app's replica may hold: every one ever sent to its node
  // (persisted, blaze_sent). Only these are named in evictions, so the id of
  // a record the app never saw never leaves the owner. Guarded by held_mu.
  std::mutex held_mu;
  std::set<std::pair<std::string, std::string>> held;
  // Origins as this app sees them (origin_alias.h), both ways; guarded by mu.
  std::map<NodeId, NodeId> alias_of, real_of;

  // `vv` with every origin but the app's own node replaced by its alias.
  // Called with mu held.
  VersionVector ToAppLocked(const VersionVector& vv) {
    VersionVector out;
    for (const auto& [origin, seq] : vv) {
      if (origin == remote_node) {
        out[origin] = seq;
        continue;
      }
      auto it = alias_of.find(origin);
      if (it == alias_of.end()) {
        NodeId a = owner->aliases_->Alias(stats.app, origin);
        it = alias_of.emplace(origin, a).first;
        real_of.emplace(a, origin);
      }
      out[it->second] = seq;
    }
    return out;
  }
  // A vector from the app with real origins; entries naming no origin this
  // session has shown the app are dropped. Called with mu held.
  VersionVector FromAppLocked(const VersionVector& vv) {
    VersionVector out;
    for (const auto& [origin, seq] : vv) {
      if (origin == remote_node) {
        out[origin] = seq;
      } else if (auto it = real_of.find(origin); it != real_of.end()) {
        out[it->second] = seq;
      }
    }
    return out;
  }
  bool checkpoint_dirty = false;
  CrossAppConnection stats;

  void Wake() {
    {
      std::lock_guard<std::mutex> l(mu);
      wake = true;
    }
    cv.notify_one();
  }

  // Never waits for the sender: SecureChannel::Close only tries its send
  // lock, and shutting the socket down fails a write blocked on an app that
  // stopped reading (or a handshake under way).
  void Close(const std::string& why) {
    SecureChannel* c;
    std::string app;
    bool first;
    {
      std::lock_guard<std::mutex> l(mu);
      first = !closed;
      // A close without a reason (the sender found the channel already
      // closed) leaves the reason to the receiver, which says it next.
      if (!first && (why.empty() || !stats.error.empty())) return;
      closed = true;
      stats.live = false;
      if (stats.error.empty()) stats.error = why;
      c = ch.get();
      app = stats.app;
    }
    if (first) {
      cv.notify_all();
      if (c) c->Close();
      if (raw) raw->Close();
    }
    if (!why.empty()) owner->Log("cross-app: connection of '" + app + "' closed: " + why);
  }

  // The sender failed: a channel already closed (by the receiver, or by
  // Close) is not the reason; anything else (a write that timed out) is.
  void SenderFailed(const Status& s) {
    Close(s.code() == StatusCode::kFailedPrecondition ? std::string() : s.ToString());
  }

  // The end of the rx thread: everything stops, tx is joined.
  void Finish() {
    Close("");
    if (tx.joinable()) tx.join();
    finished = true;
  }

  void Queue(sync::Message m) {
    {
      std::lock_guard<std::mutex> l(mu);
      control.push_back(std::move(m));
    }
    cv.notify_one();
  }

  // --- rx thread --------------------------------------------------------
  void RunReceiver() {
    auto opts = local::CrossAppChannelOptions(owner->identity_, trust.get(), owner->claim_.db_name(), owner->options_);
    opts.log = [o = owner](std::string_view why) { o->Log(std::string(why)); };
    auto accepted = SecureChannel::Accept(opts, std::move(stream));
    if (!accepted.ok()) {
      Close("handshake failed: " + accepted.status().ToString());
      return;
    }
    {
      std::lock_guard<std::mutex> l(mu);
      ch = std::move(accepted).value();
      stats.app = ch->peer().identity.name;
      peer_key = ch->peer().static_key;
      if (closed) {
        ch->Close();
        return;
      }
    }
    authenticated = true;
    Status s = owner->AppHasRoom(this, stats.app);
    if (s.ok()) s = Admit();
    if (!s.ok()) {
      local::SendMessage(*ch, sync::ErrorMsg{s.ToString()}).IgnoreError();  // no sender thread yet
      return Close(s.ToString());
    }
    tx = std::thread([self = shared_from_this()] { self->RunSender(); });
    while (true) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (closed) return;
      }
      auto m = ch->Receive(std::chrono::milliseconds(200));
      if (!m.ok()) {
        if (m.status().code() == StatusCode::kIOError) continue;  // timed out
        return Close(m.status().ToString());
      }
      auto msg = sync::DecodeMessage(m->body);
      if (!msg.ok()) {
        Queue(sync::ErrorMsg{msg.status().ToString()});
        return Close(msg.status().ToString());
      }
      Status st = local::CheckAppMessage(*msg, owner->options_);
      if (st.ok()) st = Handle(*msg);
      if (!st.ok()) {
        Queue(sync::ErrorMsg{st.ToString()});
        // Let the sender flush the error before the channel goes.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return Close(st.ToString());
      }
    }
  }

  // Compiles the app's policy, decides whether it needs a full image, and
  // queues the grant and our hello.
  Status Admit() {
    ExportPolicy grant;
    {
      std::lock_guard<std::mutex> l(owner->mu_);
      grant = local::GrantFor(owner->policy_, stats.app);
    }
    BLAZE_ASSIGN_OR_RETURN(auto compiled, policy::AppPolicy::Compile(grant, stats.app));
    std::string json = ExportPolicyToJson(grant);
    // A replica made under another grant must be rebuilt from a full image.
    const std::string key = "crossapp.served." + stats.app;
    auto served = DatabaseAccess::GetMeta(*owner->db_, key);
    bool image = served.ok() && *served != json;
    if (!served.ok() || image) BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(*owner->db_, key, json));
    {
      std::lock_guard<std::mutex> l(mu);
      policy = std::move(compiled);
      need_image = image;
      control.push_back(sync::GrantMsg{json});  // our hello follows the app's (it names the app's node)
    }
    return Status::Ok();
  }

  Status Handle(const sync::Message& msg) {
    if (auto* h = std::get_if<sync::Hello>(&msg)) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (hello && h->node != remote_node) return Status::InvalidArgument("the app changed its node id mid-session");
      }
      // Only a node id bound to this app (or free): origins are bound to
      // identities (node_binding.h).
      BLAZE_RETURN_IF_ERROR(owner->bindings_.Claim(stats.app, h->node));
      BLAZE_ASSIGN_OR_RETURN(auto sent_before, DatabaseAccess::LoadSent(*owner->db_, h->node));
      // A replica that holds something the owner has no record of sending
      // (served before the owner kept one) is rebuilt from a full image, so
      // every row it holds is either sent again or evicted by the image.
      bool unknown_holdings = sent_before.empty() && !h->vv.empty();
      {
        std::lock_guard<std::mutex> hl(held_mu);
        held = std::move(sent_before);
      }
      BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
      std::lock_guard<std::mutex> l(mu);
      if (unknown_holdings) need_image = true;
      remote_node = h->node;
      // Our hello: the app's own seq as is, every other origin (ours
      // included) by its alias for this app.
      VersionVector shown = ToAppLocked(vv);
      control.push_back(sync::Hello{owner->aliases_->Alias(stats.app, DatabaseAccess::Node(*owner->db_)), shown, false});
      hello = true;
      remote_node = h->node;
      remote_vv = FromAppLocked(h->vv);
      sent = remote_vv;
      stats.live = true;
      wake = true;
      cv.notify_one();
      return Status::Ok();
    }
    if (auto* a = std::get_if<sync::Ack>(&msg)) {
      std::lock_guard<std::mutex> l(mu);
      // The sender needs waking only if the window was full: otherwise it
      // has sent everything already (commits wake it), and the checkpoint
      // is saved on its periodic round.
      const bool was_full = in_flight >= owner->options_.window;
      if (in_flight > 0) --in_flight;
      for (const auto& [origin, seq] : FromAppLocked(a->vv)) remote_vv[origin] = std::max(SeqOf(remote_vv, origin), seq);
      checkpoint_dirty = true;
      if (was_full) {
        wake = true;
        cv.notify_one();
      }
      return Status::Ok();
    }
    if (auto* c = std::get_if<sync::ChangesMsg>(&msg)) return OnChanges(*c);
    if (std::holds_alternative<sync::ErrorMsg>(msg)) {
      return Status::Aborted("the app reported: " + std::get<sync::ErrorMsg>(msg).message);
    }
    return Status::InvalidArgument("unexpected message from a cross-app reader");
  }

  // The app's own changes: checked against the policy, then applied.
  Status OnChanges(const sync::ChangesMsg& m) {
    std::shared_ptr<const policy::AppPolicy> p;
    NodeId app_node;
    {
      std::lock_guard<std::mutex> l(mu);
      if (!hello) return Status::InvalidArgument("changes before hello");
      p = policy;
      app_node = remote_node;
    }
    const std::vector<store::Change>& changes = m.changes;
    for (const store::Change& c : changes) {
      if (c.origin != app_node) {
        return Status::PermissionDenied("app '" + stats.app + "' sent a change of another node (" +
                                        c.origin.ToHex() + "); it may only send its own");
      }
    }
    // Each new change is judged inside the apply transaction on the states
    // the merge will produce (write_check.h); a refused one applies without
    // its ops, so its seq is taken and the app's later changes still follow.
    std::vector<std::pair<size_t, Status>> refusals;
    store::ChangeCheck check = [&p](const store::Change& c, const store::StateReader& read) {
      return local::CheckAppWrite(*p, c, read);
    };
    store::BatchResult r =
        DatabaseAccess::ApplyBatchChecked(*owner->db_, changes, owner->options_.max_drift_ms, check, &refusals);
    const uint64_t refused = refusals.size();
    std::set<std::pair<std::string, std::string>> corrected;  // records of refused changes
    for (const auto& [index, why] : refusals) {
      const store::Change& c = changes[index];
      for (const store::Op& op : c.ops) corrected.emplace(op.collection, op.id);
      std::string text = "change " + c.origin.ToHex() + ":" + std::to_string(c.seq) + " refused: " + why.ToString();
      owner->Log("cross-app: " + text);
      Queue(sync::ErrorMsg{std::move(text)});
    }
    if (!corrected.empty()) BLAZE_RETURN_IF_ERROR(QueueCorrection(*p, corrected));
    if (!r.error.ok()) return r.error;
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
    std::lock_guard<std::mutex> l(mu);
    stats.changes_applied += r.applied > refused ? r.applied - refused : 0;
    stats.changes_refused += refused;
    for (const auto& c : changes) remote_vv[c.origin] = std::max(SeqOf(remote_vv, c.origin), c.seq);
    checkpoint_dirty = true;
    control.push_back(sync::Ack{m.batch, ToAppLocked(vv)});
    cv.notify_one();
    return Status::Ok();
  }

  // A refused change was already written in the app's replica; so that the
  // replica does not keep differing from the owner, the records it touched
  // are sent back as the owner holds them: each evicted and, when the app
  // may see it, sent again. Evictions apply before the states merge
  // (store/snapshot.h), so the replica ends with exactly the owner's state,
  // whatever stamps its own write carried. Only ids the app itself named
  // travel; hidden ones are evicted whether or not the owner has them.
  Status QueueCorrection(const policy::AppPolicy& p, const std::set<std::pair<std::string, std::string>>& keys) {
    BLAZE_ASSIGN_OR_RETURN(auto states, DatabaseAccess::ReadStates(
        *owner->db_, std::vector<std::pair<std::string, std::string>>(keys.begin(), keys.end())));
    sync::SnapshotChunk fix;
    for (auto& r : states) {
      if (p.access(r.collection) == Access::kNone) continue;
      BLAZE_ASSIGN_OR_RETURN(store::RecordState st, store::RecordState::Decode(r.state));
      if (!st.visible() || !p.Visible(r.collection, r.id, st.VisibleDoc())) continue;
      st.KeepFields([&](std::string_view f) { return p.FieldExported(r.collection, f); });
      r.state = st.Encode();
      fix.records.push_back(std::move(r));
    }
    fix.evictions.assign(keys.begin(), keys.end());
    BLAZE_RETURN_IF_ERROR(MarkHeld(fix.records));
    {
      std::lock_guard<std::mutex> l(mu);
      fix.batch = next_batch++;
      ++in_flight;
      stats.records_sent += fix.records.size();
      stats.evictions_sent += fix.evictions.size();
      control.push_back(std::move(fix));
    }
    cv.notify_one();
    return Status::Ok();
  }

  // --- tx thread --------------------------------------------------------
  void RunSender() {
    auto last_checkpoint = std::chrono::steady_clock::now();
    while (true) {
      std::deque<sync::Message> out;
      bool pump = false, save = false;
      NodeId node;
      VersionVector acked;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait_for(l, std::chrono::milliseconds(100), [&] { return closed || wake || !control.empty(); });
        if (closed && control.empty()) break;
        wake = false;
        out.swap(control);
        pump = hello && !closed;
        auto now = std::chrono::steady_clock::now();
        if (checkpoint_dirty && now - last_checkpoint > std::chrono::milliseconds(100)) {
          checkpoint_dirty = false;
          last_checkpoint = now;
          save = true;
          node = remote_node;
          acked = remote_vv;
        }
      }
      for (auto& m : out) {
        Status s = SendControl(std::move(m));
        if (!s.ok()) return SenderFailed(s);
      }
      {
        std::lock_guard<std::mutex> l(mu);
        if (closed) break;
      }
      // Compaction keeps what the app has not acknowledged (sync-protocol.md).
      if (save) DatabaseAccess::SaveCheckpoint(*owner->db_, node, acked).IgnoreError();
      if (pump) {
        Status s = Pump();
        if (!s.ok()) return SenderFailed(s);
      }
    }
  }

  // A queued message; state batches (corrections of refused changes) are
  // split to fit the app's message limit like every other batch.
  Status SendControl(sync::Message m) {
    if (auto* chunk = std::get_if<sync::SnapshotChunk>(&m)) {
      for (const auto& c : local::SplitStates(std::move(*chunk), SIZE_MAX,
                                              local::StateBudget(owner->options_.max_message_size))) {
        BLAZE_RETURN_IF_ERROR(local::SendMessage(*ch, c));
      }
      return Status::Ok();
    }
    return local::SendMessage(*ch, m);
  }

  Status Pump() {
    while (true) {
      std::shared_ptr<const policy::AppPolicy> p;
      VersionVector from_vv, acked;
      bool image;
      {
        std::lock_guard<std::mutex> l(mu);
        if (closed || in_flight >= owner->options_.window) return Status::Ok();
        p = policy;
        from_vv = sent;
        acked = remote_vv;
        image = need_image;
      }
      if (image) {
        BLAZE_RETURN_IF_ERROR(SendImage(*p));
        continue;
      }
      BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*owner->db_));
      sync::SnapshotChunk batch;
      std::set<std::pair<std::string, std::string>> touched;
      size_t n = 0;
      bool gap = false;
      for (const auto& [origin, seq] : vv) {
        Seq from = std::max(SeqOf(from_vv, origin), SeqOf(acked, origin));
        if (seq <= from) continue;
        auto changes = DatabaseAccess::ChangesAfter(*owner->db_, origin, from, owner->options_.batch_changes - n);
        if (!changes.ok()) return changes.status();
        if (changes->empty() || changes->front().seq != from + 1) {
          gap = true;  // compacted away: only a full image can bring the app up to date
          break;
        }
        for (const auto& c : *changes) {
          for (const auto& op : c.ops) {
            if (p->access(op.collection) != Access::kNone) touched.emplace(op.collection, op.id);
          }
        }
        batch.vv[origin] = changes->back().seq;
        n += changes->size();
        if (n >= owner->options_.batch_changes) break;
      }
      if (gap) {
        std::lock_guard<std::mutex> l(mu);
        need_image = true;
        continue;
      }
      if (batch.vv.empty()) return Status::Ok();
      BLAZE_ASSIGN_OR_RETURN(auto states, DatabaseAccess::ReadStates(
          *owner->db_, std::vector<std::pair<std::string, std::string>>(touched.begin(), touched.end())));
      std::set<std::pair<std::string, std::string>> found;
      for (auto& r : states) {
        found.emplace(r.collection, r.id);
        BLAZE_RETURN_IF_ERROR(Filter(*p, std::move(r), &batch));
      }
      for (const auto& key : touched) {
        if (!found.count(key) && Held(key.first, key.second)) batch.evictions.push_back(key);  // purged since
      }
      BLAZE_RETURN_IF_ERROR(MarkHeld(batch.records));
      BLAZE_RETURN_IF_ERROR(SendBatch(std::move(batch)));
    }
  }

  // Adds the record to the batch as the app may see it, or as an eviction.
  Status Filter(const policy::AppPolicy& p, store::SnapshotRecord r, sync::SnapshotChunk* batch) {
    BLAZE_ASSIGN_OR_RETURN(store::RecordState st, store::RecordState::Decode(r.state));
    if (st.visible() && p.Visible(r.collection, r.id, st.VisibleDoc())) {
      st.KeepFields([&](std::string_view f) { return p.FieldExported(r.collection, f); });
      r.state = st.Encode();
      batch->records.push_back(std::move(r));
    } else if (Held(r.collection, r.id)) {
      // Deleted, or outside the app's view: the replica drops its copy. Not
      // even the id of a record it may not see is sent as a tombstone, and
      // one it never got is not named at all.
      batch->evictions.emplace_back(std::move(r.collection), std::move(r.id));
    }
    return Status::Ok();
  }

  bool Held(const std::string& collection, const std::string& id) {
    std::lock_guard<std::mutex> l(held_mu);
    return held.count({collection, id}) != 0;
  }

  // Records `records` as held by the app's replica: persisted before they
  // are sent, so an owner restarted after sending still evicts them.
  Status MarkHeld(const std::vector<store::SnapshotRecord>& records) {
    std::vector<std::pair<std::string, std::string>> fresh;
    {
      std::lock_guard<std::mutex> l(held_mu);
      for (const auto& r : records) {
        if (!held.count({r.collection, r.id})) fresh.emplace_back(r.collection, r.id);
      }
    }
    if (fresh.empty()) return Status::Ok();
    NodeId node;
    {
      std::lock_guard<std::mutex> l(mu);
      node = remote_node;
    }
    BLAZE_RETURN_IF_ERROR(DatabaseAccess::AddSent(*owner->db_, node, fresh));
    std::lock_guard<std::mutex> l(held_mu);
    held.insert(fresh.begin(), fresh.end());
    return Status::Ok();
  }

  Status SendBatch(sync::SnapshotChunk batch) {
    uint64_t id;
    {
      std::lock_guard<std::mutex> l(mu);
      id = next_batch++;
      ++in_flight;
      for (const auto& [origin, seq] : batch.vv) sent[origin] = std::max(SeqOf(sent, origin), seq);
      batch.vv = ToAppLocked(batch.vv);
      stats.records_sent += batch.records.size();
      stats.evictions_sent += batch.evictions.size();
    }
    batch.batch = id;
    // Split to fit the app's message limit (one record may be as large as a document).
    for (const auto& chunk : local::SplitStates(std::move(batch), SIZE_MAX,
                                                local::StateBudget(owner->options_.max_message_size))) {
      BLAZE_RETURN_IF_ERROR(local::SendMessage(*ch, chunk));
    }
    return Status::Ok();
  }

  // Every record the app may see, in chunks; the app evicts the rest.
  Status SendImage(const policy::AppPolicy& p) {
    BLAZE_ASSIGN_OR_RETURN(store::Snapshot snap, DatabaseAccess::ReadSnapshot(*owner->db_));
    sync::SnapshotChunk all;
    for (auto& r : snap.records) {
      if (p.access(r.collection) == Access::kNone) continue;
      BLAZE_RETURN_IF_ERROR(Filter(p, std::move(r), &all));
    }
    BLAZE_RETURN_IF_ERROR(MarkHeld(all.records));
    const size_t per = sync::kSnapshotChunkRecords;
    uint64_t id;
    {
      std::lock_guard<std::mutex> l(mu);
      id = next_batch++;
      ++in_flight;
      need_image = false;
      for (const auto& [origin, seq] : snap.vv) sent[origin] = std::max(SeqOf(sent, origin), seq);
      snap.vv = ToAppLocked(snap.vv);
      stats.records_sent += all.records.size();
      ++stats.images_sent;
    }
    all.batch = id;
    all.vv = snap.vv;
    all.replace = true;
    // Chunks of at most kSnapshotChunkRecords records, each within the message limit.
    for (const auto& c :
         local::SplitStates(std::move(all), per, local::StateBudget(owner->options_.max_message_size))) {
      BLAZE_RETURN_IF_ERROR(local::SendMessage(*ch, c));
    }
    return Status::Ok();
  }

  // Waits for rx, which joins tx (Finish).
  void Join() {
    if (rx.joinable()) rx.join();
  }
};

Status CrossAppShare::Impl::Start(const ExportPolicy& policy) {
  BLAZE_RETURN_IF_ERROR(ValidateExportPolicy(policy));
  policy_ = policy;
  BLAZE_ASSIGN_OR_RETURN(auto aliases, local::OriginAliases::Load(*db_));
  aliases_.emplace(std::move(aliases));
  auto me = group_.Lookup(identity_.public_key);
  if (!me.ok()) {
    return Status::PermissionDenied("the owner's identity is not registered in the app group '" + group_.dir() +
                                    "' (blazedb group add " + group_.dir() + " NAME " + PublicKeyToHex(identity_.public_key) +
                                    ")");
  }
  BLAZE_ASSIGN_OR_RETURN(listener_, UnixListener::Listen(claim_.socket_path()));
  hook_ = DatabaseAccess::AddCommitHook(*db_, [this] {
    // Under the database lock: only signal.
    std::lock_guard<std::mutex> l(mu_);
    for (auto& s : sessions_) s->Wake();
  });
  accept_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void CrossAppShare::Impl::AcceptLoop() {
  auto registry_checked = std::chrono::steady_clock::now();
  while (!stop_) {
    Reap();
    if (std::chrono::steady_clock::now() - registry_checked >= options_.registry_check_interval) {
      CheckRegistry();
      registry_checked = std::chrono::steady_clock::now();
    }
    const auto asked = std::chrono::steady_clock::now();
    auto stream = listener_->Accept(std::chrono::milliseconds(100));
    if (!stream.ok()) {
      // Timed out, or accept failed (out of descriptors?): then do not spin.
      if (std::chrono::steady_clock::now() - asked < std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    if (!HasRoom()) {
      (*stream)->Close();  // the app sees the connection end and retries later
      continue;
    }
    auto trust = local::GroupTrustStore(group_);  // apps added since start are welcome
    if (!trust.ok()) {
      Log("cross-app: cannot read the group registry: " + trust.status().ToString());
      continue;
    }
    auto s = std::make_shared<Session>();
    s->owner = this;
    s->raw = std::shared_ptr<ByteStream>(std::move(stream).value());
    s->stream = std::make_unique<local::SharedStream>(s->raw);
    s->trust = std::move(trust).value();
    {
      std::lock_guard<std::mutex> l(mu_);
      sessions_.push_back(s);
    }
    s->rx = std::thread([s] {
      s->RunReceiver();
      s->Finish();
    });
  }
}

void CrossAppShare::Impl::Reap() {
  std::vector<std::shared_ptr<Session>> done;
  {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::shared_ptr<Session>> open;
    for (auto& s : sessions_) {
      if (!s->finished) {
        open.push_back(std::move(s));
        continue;
      }
      {
        std::lock_guard<std::mutex> sl(s->mu);
        ended_.push_back(s->stats);
      }
      if (ended_.size() > 16) ended_.pop_front();
      done.push_back(std::move(s));
    }
    sessions_ = std::move(open);
  }
  // Their threads have finished: the joins return at once, and the channels
  // (with any half-received message) are freed here.
  for (auto& s : done) s->Join();
}

void CrossAppShare::Impl::CheckRegistry() {
  auto apps = group_.Apps();
  if (!apps.ok()) {
    Log("cross-app: cannot re-read the group registry: " + apps.status().ToString());
    return;
  }
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all = sessions_;
  }
  for (auto& s : all) {
    if (!s->authenticated) continue;
    PublicKey key;
    std::string name;
    {
      std::lock_guard<std::mutex> l(s->mu);
      if (s->closed) continue;
      key = s->peer_key;
      name = s->stats.app;
    }
    bool registered = std::any_of(apps->begin(), apps->end(),
                                  [&](const AppEntry& a) { return a.public_key == key && a.name == name; });
    if (!registered) s->Close("app '" + name + "' is no longer registered in the app group");
  }
}

bool CrossAppShare::Impl::HasRoom() {
  size_t open = 0, handshaking = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& s : sessions_) {
      if (s->finished) continue;
      ++open;
      if (!s->authenticated) ++handshaking;
    }
  }
  std::string why;
  if (open >= options_.max_connections) {
    why = std::to_string(open) + " connections are open (max_connections " +
          std::to_string(options_.max_connections) + ")";
  } else if (handshaking >= options_.max_handshakes) {
    why = std::to_string(handshaking) + " handshakes are under way (max_handshakes " +
          std::to_string(options_.max_handshakes) + ")";
  }
  if (why.empty()) return true;
  auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ >= std::chrono::seconds(1)) {  // a flood makes one line a second
    last_refusal_log_ = now;
    Log("cross-app: refused a connection: " + why);
  }
  return false;
}

Status CrossAppShare::Impl::AppHasRoom(const Session* self, const std::string& app) {
  size_t same = 0;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& s : sessions_) {
    if (s.get() == self || s->finished || !s->authenticated) continue;
    std::lock_guard<std::mutex> sl(s->mu);
    if (!s->closed && s->stats.app == app) ++same;
  }
  if (same >= options_.max_connections_per_app) {
    return Status::PermissionDenied("app '" + app + "' already has " + std::to_string(same) +
                                    " connections open (max_connections_per_app " +
                                    std::to_string(options_.max_connections_per_app) + ")");
  }
  return Status::Ok();
}

void CrossAppShare::Impl::Stop() {
  if (stop_.exchange(true)) return;
  if (hook_ != 0) DatabaseAccess::RemoveCommitHook(*db_, hook_);
  if (accept_.joinable()) accept_.join();
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all.swap(sessions_);
  }
  // Closing shuts every socket down, so no session waits on its app.
  for (auto& s : all) s->Close("");
  for (auto& s : all) s->Join();
  listener_.reset();
  claim_.Release();
}

Status CrossAppShare::Impl::SetPolicy(const ExportPolicy& policy) {
  BLAZE_RETURN_IF_ERROR(ValidateExportPolicy(policy));
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    policy_ = policy;
    all = sessions_;
  }
  for (auto& s : all) {
    std::string app;
    {
      std::lock_guard<std::mutex> l(s->mu);
      if (s->closed || !s->policy) continue;
      app = s->stats.app;
    }
    ExportPolicy grant = local::GrantFor(policy, app);
    BLAZE_ASSIGN_OR_RETURN(auto compiled, policy::AppPolicy::Compile(grant, app));
    std::string json = ExportPolicyToJson(grant);
    BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(*db_, "crossapp.served." + app, json));
    {
      std::lock_guard<std::mutex> l(s->mu);
      s->policy = std::move(compiled);
      s->need_image = true;
      s->control.push_back(sync::GrantMsg{json});
      s->wake = true;
    }
    s->cv.notify_one();
  }
  return Status::Ok();
}

std::vector<CrossAppConnection> CrossAppShare::Impl::Connections() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<CrossAppConnection> out(ended_.begin(), ended_.end());
  for (const auto& s : sessions_) {
    std::lock_guard<std::mutex> sl(s->mu);
    out.push_back(s->stats);
  }
  return out;
}

CrossAppShare::CrossAppShare(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CrossAppShare::~CrossAppShare() = default;
Status CrossAppShare::SetPolicy(const ExportPolicy& policy) { return impl_->SetPolicy(policy); }
std::vector<CrossAppConnection> CrossAppShare::Connections() const { return impl_->Connections(); }
const std::string& CrossAppShare::socket_path() const { return impl_->socket_path(); }

Result<std::unique_ptr<CrossAppShare>> EnableCrossAppSync(Database& db, const std::string& group_dir,
                                                          const KeyPair& identity, const ExportPolicy& policy,
                                                          const CrossAppOptions& options) {
  BLAZE_ASSIGN_OR_RETURN(AppGroup group, AppGroup::Open(group_dir));
  std::string name = options.db_name.empty() ? std::filesystem::path(db.path()).filename().string() : options.db_name;
  if (name.empty()) return Status::InvalidArgument("an in-memory database needs CrossAppOptions::db_name to be shared");
  BLAZE_ASSIGN_OR_RETURN(OwnershipClaim claim, group.ClaimOwnership(name));
  auto impl = std::make_unique<CrossAppShare::Impl>(&db, std::move(group), identity, options, std::move(claim));
  BLAZE_RETURN_IF_ERROR(impl->Start(policy));
  return std::unique_ptr<CrossAppShare>(new CrossAppShare(std::move(impl)));
}

}  // namespace blaze
