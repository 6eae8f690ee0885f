// share_server_impl.h — the owner side of cross-app sync, inside: the
// server (`CrossAppShare::Impl`: listener, accept thread, limits, registry
// checks, policy changes; share_server.cc) and one connected app's session
// (`Session`: its receive side in share_session.cc, what it is sent in
// share_feed.cc). Private to src/local/; docs/cross-app.md says what it does.
//
// Thread safety: see the member comments; a Session's state is guarded by
// its `mu` (the sent-ids set by `held_mu`), the server's by `mu_`, and
// neither lock is held while calling into the database.
#ifndef BLAZE_LOCAL_SHARE_SERVER_IMPL_H_
#define BLAZE_LOCAL_SHARE_SERVER_IMPL_H_

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
  bool checkpoint_dirty = false;
  CrossAppConnection stats;
  // Corrections of refused changes sent and not yet acknowledged, by batch
  // (guarded by mu): the app's own seq the owner had applied when it read
  // the states (`read_at`), and each record with its blaze_refused entry
  // then. The app's ack settles them (SettleCorrection).
  struct Correction {
    Seq read_at = 0;
    std::map<DatabaseAccess::RecordKey, Seq> records;
  };
  std::map<uint64_t, Correction> corrections;
  // Acknowledged corrections the app applied with its own seq at `to` above
  // `from` (the correction's read_at): its changes in (from, to] touching the
  // record were undone in the replica by the correction. Looked at once the
  // owner holds the app's changes up to `to` (rx thread only).
  struct Recheck {
    DatabaseAccess::RecordKey key;
    Seq entry = 0;
    Seq from = 0, to = 0;
  };
  std::vector<Recheck> rechecks;

  // `vv` with every origin but the app's own node replaced by its alias.
  // Called with mu held.
  VersionVector ToAppLocked(const VersionVector& vv);
  // A vector from the app with real origins; entries naming no origin this
  // session has shown the app are dropped. Called with mu held.
  VersionVector FromAppLocked(const VersionVector& vv);

  void Wake();

  // Never waits for the sender: SecureChannel::Close only tries its send
  // lock, and shutting the socket down fails a write blocked on an app that
  // stopped reading (or a handshake under way).
  void Close(const std::string& why);

  // The sender failed: a channel already closed (by the receiver, or by
  // Close) is not the reason; anything else (a write that timed out) is.
  void SenderFailed(const Status& s);

  // The end of the rx thread: everything stops, tx is joined.
  void Finish();

  void Queue(sync::Message m);

  // --- rx thread --------------------------------------------------------
  void RunReceiver();

  // Compiles the app's policy, decides whether it needs a full image, and
  // queues the grant and our hello.
  Status Admit();

  Status Handle(const sync::Message& msg);

  // The app's own changes: checked against the policy, then applied.
  Status OnChanges(const sync::ChangesMsg& m);

  // A refused change was already written in the app's replica; so that the
  // replica does not keep differing from the owner, the records it touched
  // are sent back as the owner holds them: each evicted and, when the app
  // may see it, sent again. Evictions apply before the states merge
  // (store/snapshot.h), so the replica ends with exactly the owner's state,
  // whatever stamps its own write carried. Only ids the app itself named
  // travel; hidden ones are evicted whether or not the owner has them.
  // The owner records every refused change's records in its file in the
  // transaction that refuses it (blaze_refused), so the correction is sent
  // again on each hello of the app's node (before our hello, so a caught-up
  // replica has applied it) until the app acknowledges it.
  Status QueueCorrection(const policy::AppPolicy& p, const std::set<std::pair<std::string, std::string>>& keys);

  // An ack of batch `batch` carrying the app's vector `vv` (real origins):
  // if it acknowledges a correction, each record is settled (forgotten in
  // blaze_refused) when the replica applied it with none of its own changes
  // after the correction's read point, and rechecked otherwise.
  Status SettleCorrection(uint64_t batch, const VersionVector& vv);

  // The rechecks whose changes the owner now holds: a record none of those
  // changes touched is settled, any other is corrected again (rx thread).
  Status RunRechecks();

  // --- tx thread --------------------------------------------------------
  void RunSender();

  // A queued message; state batches (corrections of refused changes) are
  // split to fit the app's message limit like every other batch.
  Status SendControl(sync::Message m);

  Status Pump();

  // Adds the record to the batch as the app may see it, or as an eviction.
  Status Filter(const policy::AppPolicy& p, store::SnapshotRecord r, sync::SnapshotChunk* batch);

  bool Held(const std::string& collection, const std::string& id);

  // Records `records` as held by the app's replica: persisted before they
  // are sent, so an owner restarted after sending still evicts them.
  Status MarkHeld(const std::vector<store::SnapshotRecord>& records);

  Status SendBatch(sync::SnapshotChunk batch);

  // Every record the app may see, in chunks; the app evicts the rest.
  Status SendImage(const policy::AppPolicy& p);

  // Waits for rx, which joins tx (Finish).
  void Join();
};

}  // namespace blaze

#endif  // BLAZE_LOCAL_SHARE_SERVER_IMPL_H_
