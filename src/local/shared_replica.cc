// shared_replica.cc — the reader side of cross-app sync (docs/cross-app.md).
//
// One connection thread connects to the owner's socket (retrying with
// backoff while the owner is away), runs the handshake and then receives:
// the grant, the owner's hello, state batches (merged into the replica in one
// transaction each, then acknowledged) and acks of this app's own changes.
// A sender thread per connection sends our hello, acks, and this app's own
// changes (its origin only, in seq order, a window of batches in flight).
//
// The replica is an ordinary BlazeDB file. Its version vector (persisted with
// every merge) is the checkpoint: a reconnect sends it in the hello and the
// owner resumes from there. The grant is kept in the file too, so writes are
// checked locally even while the owner is not running, and so is the owner's
// key (owner_pin.h): an app that is not the pinned owner is refused right
// after the handshake, before anything is sent or merged.
//
// A file put back from a backup in place (same inode and node id) is caught
// at the owner's hello: when the owner holds more of this node's changes
// than the file, or (protocol version 2) the owner's stamps of them differ
// from the file's (own_history.h), the connection ends, the file re-issues
// its changes the owner does not hold under a fresh node id
// (DatabaseAccess::ReissueOwnChanges) and reconnects under it.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "blaze/byte_stream.h"
#include "local/cross_app_common.h"
#include "local/cross_app_limits.h"
#include "local/own_history.h"
#include "local/owner_pin.h"
#include "local/shared_stream.h"
#include "store/replica.h"

namespace blaze {

class SharedReplica::Impl {
 public:
  Impl(AppGroup group, KeyPair identity, std::string db_name, CrossAppOptions options, std::string app,
       std::unique_ptr<Database> db)
      : group_(std::move(group)), identity_(std::move(identity)), db_name_(std::move(db_name)),
        options_(std::move(options)), app_(std::move(app)), db_(std::move(db)), self_(db_->node_id()) {}

  ~Impl() {
    stopping_ = true;
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      if (ch_) ch_->Close();       // never waits for a blocked sender
      if (raw_) raw_->Close();     // also ends a handshake under way
    }
    cv_.notify_all();
    if (conn_.joinable()) conn_.join();
    DatabaseAccess::RemoveCommitHook(*db_, hook_);
    DatabaseAccess::SetWriteGuard(*db_, nullptr);
  }

  Status Start() {
    // The grant last received, if any: local writes are checked against it
    // from the first moment, owner or no owner — here and, through the
    // file's write scope, on every other handle of the file.
    auto saved = DatabaseAccess::GetMeta(*db_, local::kGrantMetaKey);
    bool scoped = false;
    if (saved.ok()) {
      auto st = InstallGrant(*saved, /*persist=*/false);
      if (!st.ok()) Log("cross-app: ignoring the saved grant: " + st.ToString());
      scoped = st.ok();
    }
    if (!scoped) {
      store::WriteScope none;
      none.by = "a cross-app replica of '" + db_name_ + "' for app '" + app_ + "', which has no grant from its owner yet";
      BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetWriteScope(*db_, &none));
    }
    DatabaseAccess::SetWriteGuard(*db_, [this](const store::Op& op) { return CheckLocalWrite(op); });
    hook_ = DatabaseAccess::AddCommitHook(*db_, [this] {
      // The owner's states merged by the receiving thread are not this
      // app's changes: nothing for the sender to pump (the ack wakes it).
      if (merging_on_ == std::this_thread::get_id()) return;
      {
        std::lock_guard<std::mutex> l(mu_);
        wake_ = true;
      }
      cv_.notify_all();
    });
    conn_ = std::thread([this] { RunConnection(); });
    return Status::Ok();
  }

  Database& db() { return *db_; }

  SharedReplicaStatus status() const {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }

  Status WaitForCatchUp(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ready = false;
      VersionVector target;
      Seq acked = 0;
      {
        std::lock_guard<std::mutex> l(mu_);
        // Not while a merge is being applied: its counts are not in yet.
        ready = connected_ && owner_hello_ && !applying_;
        target = owner_vv_;
        acked = acked_own_;
      }
      if (ready) {
        BLAZE_ASSIGN_OR_RETURN(VersionVector mine, DatabaseAccess::GetVersionVector(*db_));
        bool caught_up = SeqOf(mine, self_) <= acked;
        for (const auto& [origin, seq] : target) {
          if (origin != self_ && SeqOf(mine, origin) < seq) caught_up = false;
        }
        if (caught_up) return Status::Ok();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::lock_guard<std::mutex> l(mu_);
    return Status::IOError("not caught up with the owner of '" + db_name_ + "' after " +
                           std::to_string(timeout.count()) + " ms" +
                           (status_.last_error.empty() ? "" : " (last error: " + status_.last_error + ")"));
  }

 private:
  // Quiet once stopping: closing our own channel is not news.
  // What the owner said is escaped: it cannot forge lines of the log.
  void Log(const std::string& what) {
    if (options_.log && !stopping_) options_.log(local::EscapeForLog(what));
  }

  Status InstallGrant(const std::string& json, bool persist) {
    BLAZE_ASSIGN_OR_RETURN(ExportPolicy policy, ParseExportPolicy(json));
    BLAZE_ASSIGN_OR_RETURN(auto compiled, policy::AppPolicy::Compile(policy, app_));
    store::WriteScope scope = local::WriteScopeOf(policy, app_, db_name_);
    BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetWriteScope(*db_, &scope));  // before the grant: never wider than it
    if (persist) BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(*db_, local::kGrantMetaKey, json));
    std::lock_guard<std::mutex> l(grant_mu_);
    grant_ = std::move(compiled);
    return Status::Ok();
  }

  // Refused before anything is written (the owner would refuse it anyway).
  // The row-level `where` is the owner's to check: the replica may not hold
  // the fields it reads.
  Status CheckLocalWrite(const store::Op& op) {
    std::shared_ptr<const policy::AppPolicy> grant;
    {
      std::lock_guard<std::mutex> l(grant_mu_);
      grant = grant_;
    }
    if (!grant) {
      return Status::PermissionDenied("app '" + app_ + "' has no grant from the owner of '" + db_name_ +
                                      "' yet; writes wait for the first connection");
    }
    std::vector<std::string> fields;
    if (op.type == store::Op::Type::kPut) {
      for (const auto& [name, v] : op.fields) fields.push_back(name);
    } else if (op.type == store::Op::Type::kUnset) {
      fields = op.names;
    }
    if (op.type == store::Op::Type::kDelete) return grant->CheckDelete(op.collection);
    return grant->CheckWrite(op.collection, fields);
  }

  void DropRaw() {
    std::lock_guard<std::mutex> l(mu_);
    raw_.reset();
  }

  // Sleeps up to `d` unless stopping; false when stopping.
  bool Pause(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, d, [&] { return stop_; });
    return !stop_;
  }

  void RunConnection() {
    auto backoff = std::chrono::milliseconds(20);
    while (true) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stop_) return;
      }
      Status s = ConnectOnce();
      {
        std::lock_guard<std::mutex> l(mu_);
        if (!s.ok() && !stop_) status_.last_error = s.ToString();
      }
      if (s.ok()) backoff = std::chrono::milliseconds(20);
      if (!Pause(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }

  // One connection, from connect to close. OK if it was established.
  Status ConnectOnce() {
    BLAZE_ASSIGN_OR_RETURN(std::string path, group_.SocketPath(db_name_));
    BLAZE_ASSIGN_OR_RETURN(auto stream, ConnectUnixSocket(path));
    BLAZE_ASSIGN_OR_RETURN(auto trust, local::GroupTrustStore(group_));
    auto opts = local::CrossAppChannelOptions(identity_, trust.get(), db_name_, options_);
    opts.log = [this](std::string_view why) { Log(std::string(why)); };
    std::shared_ptr<ByteStream> raw(std::move(stream));
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return Status::Ok();
      raw_ = raw;  // the destructor shuts it down, even mid-handshake
    }
    auto connected = SecureChannel::Connect(opts, std::make_unique<local::SharedStream>(raw));
    if (!connected.ok()) {
      DropRaw();
      return connected.status();
    }
    std::unique_ptr<SecureChannel> ch = std::move(connected).value();
    // Only the pinned owner (or the one required by name) may serve us:
    // refused before our hello, our changes or its data cross.
    Status owner_ok = local::CheckAndPinOwner(*db_, ch->peer(), options_.owner, db_name_);
    if (!owner_ok.ok()) {
      ch->Close();
      DropRaw();
      Log("cross-app: " + owner_ok.ToString());
      return owner_ok;
    }
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*db_));
    owner_history_.reset();
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return Status::Ok();
      ch_ = std::move(ch);
      connected_ = true;
      owner_hello_ = false;
      in_flight_ = 0;
      control_.clear();
      control_.push_back(sync::Hello{self_, vv, false});
      incoming_ = {};
      ++status_.connects;
      status_.connected = true;
    }
    cv_.notify_all();
    std::thread tx([this] { RunSender(); });
    Status why = Receive();
    {
      std::lock_guard<std::mutex> l(mu_);
      connected_ = false;
      status_.connected = false;
      ch_->Close();
    }
    cv_.notify_all();
    tx.join();
    {
      std::lock_guard<std::mutex> l(mu_);
      ch_.reset();
      raw_.reset();
    }
    if (!why.ok()) Log("cross-app: connection to the owner of '" + db_name_ + "' ended: " + why.ToString());
    if (restart_after_) {
      // No sender runs now: self_ may change. The file continues under a
      // fresh id, with its changes after the fork re-issued under it (none
      // when the file is only behind); the next connection says hello under
      // it, which the owner binds to this app like any new one, and sends them.
      const Seq after = *restart_after_;
      restart_after_.reset();
      auto fresh = DatabaseAccess::ReissueOwnChanges(*db_, self_, after);
      if (!fresh.ok()) return fresh.status();
      self_ = *fresh;
    }
    return Status::Ok();
  }

  Status Receive() {
    while (true) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stop_) return Status::Ok();
      }
      auto m = ch_->Receive(std::chrono::milliseconds(200));
      if (!m.ok()) {
        if (m.status().code() == StatusCode::kIOError) continue;  // timed out
        std::lock_guard<std::mutex> l(mu_);
        status_.last_error = m.status().ToString();
        return m.status();
      }
      BLAZE_ASSIGN_OR_RETURN(sync::Message msg, sync::DecodeMessage(m->body));
      BLAZE_RETURN_IF_ERROR(Handle(msg));
    }
  }

  Status Handle(sync::Message& msg) {
    if (auto* g = std::get_if<sync::GrantMsg>(&msg)) return InstallGrant(g->policy_json, /*persist=*/true);
    if (auto* o = std::get_if<sync::OwnHistory>(&msg)) {
      owner_history_ = std::move(*o);  // judged with the hello that follows it
      return Status::Ok();
    }
    if (auto* h = std::get_if<sync::Hello>(&msg)) {
      BLAZE_ASSIGN_OR_RETURN(VersionVector mine, DatabaseAccess::GetVersionVector(*db_));
      const NodeId self = self_;
      // The file was put back from a backup in place (same inode): when the
      // owner's stamps of our changes differ from the file's (version 2),
      // its changes after the fork reuse seqs the owner holds other changes
      // under, and neither side would send its own; when the owner holds
      // more of them than the file, writing on under this id would reuse
      // seqs too. Continue under a fresh id, re-issuing the file's changes
      // the owner may lack, and receive the owner's under the old id.
      const Seq owner_holds = SeqOf(h->vv, self), file_holds = SeqOf(mine, self);
      BLAZE_ASSIGN_OR_RETURN(std::optional<Seq> after,
                             local::ReissuePoint(*db_, self, owner_history_ ? &*owner_history_ : nullptr,
                                                 owner_holds, file_holds));
      owner_history_.reset();
      if (after) {
        restart_after_ = *after;
        return Status::Aborted("the owner holds " + std::to_string(owner_holds) + " changes of this replica's node " +
                               self.ToHex() + ", the file " + std::to_string(file_holds) +
                               ", and they are the same only up to seq " + std::to_string(*after) +
                               " as far as can be told (restored from a backup in place?); continuing under a fresh "
                               "node id, with the file's " + std::to_string(file_holds - std::min(file_holds, *after)) +
                               " change(s) after that re-issued under it");
      }
      std::lock_guard<std::mutex> l(mu_);
      owner_hello_ = true;
      owner_vv_ = h->vv;
      acked_own_ = SeqOf(h->vv, self_);
      sent_own_ = acked_own_;
      wake_ = true;
      cv_.notify_all();
      return Status::Ok();
    }
    if (auto* c = std::get_if<sync::SnapshotChunk>(&msg)) return OnStates(*c);
    if (auto* a = std::get_if<sync::Ack>(&msg)) {
      std::lock_guard<std::mutex> l(mu_);
      if (in_flight_ > 0) --in_flight_;
      acked_own_ = std::max(acked_own_, SeqOf(a->vv, self_));
      wake_ = true;
      cv_.notify_all();
      return Status::Ok();
    }
    if (auto* e = std::get_if<sync::ErrorMsg>(&msg)) {
      // A refused change (the link stays up); a fatal error closes the channel next.
      std::lock_guard<std::mutex> l(mu_);
      ++status_.changes_refused;
      status_.last_error = e->message;
      Log("cross-app: the owner reported: " + e->message);
      return Status::Ok();
    }
    return Status::InvalidArgument("unexpected message from the owner of a shared database");
  }

  Status OnStates(sync::SnapshotChunk& c) {
    auto& in = incoming_;
    if (in.batch != c.batch || in.count != c.count) {
      in = {};
      in.batch = c.batch;
      in.count = c.count;
      in.snap.vv = c.vv;
      in.snap.replace = c.replace;
    }
    for (auto& r : c.records) in.snap.records.push_back(std::move(r));
    for (auto& e : c.evictions) in.snap.evictions.push_back(std::move(e));
    if (++in.received < in.count) return Status::Ok();
    store::Snapshot snap = std::move(in.snap);
    const uint64_t batch = in.batch;
    in = {};
    {
      std::lock_guard<std::mutex> l(mu_);
      applying_ = true;
    }
    merging_on_ = std::this_thread::get_id();
    auto merged = DatabaseAccess::ApplySnapshot(*db_, snap, options_.max_drift_ms);
    merging_on_ = std::thread::id();
    auto vv = DatabaseAccess::GetVersionVector(*db_);
    std::lock_guard<std::mutex> l(mu_);
    applying_ = false;
    if (!merged.ok()) return merged.status();
    if (!vv.ok()) return vv.status();
    ++status_.batches_applied;
    status_.records_received += *merged;
    control_.push_back(sync::Ack{batch, std::move(vv).value()});
    cv_.notify_all();
    return Status::Ok();
  }

  void RunSender() {
    while (true) {
      std::deque<sync::Message> out;
      bool pump = false;
      {
        std::unique_lock<std::mutex> l(mu_);
        bool woken = cv_.wait_for(l, std::chrono::milliseconds(100),
                                  [&] { return stop_ || !connected_ || wake_ || !control_.empty(); });
        if (stop_ || !connected_) return;
        // Our own commits, an open window or the owner's hello set wake_;
        // acks to send alone do not need a look at the log. A quiet round
        // looks anyway (retries a read that failed).
        pump = owner_hello_ && (wake_ || !woken);
        wake_ = false;
        out.swap(control_);
      }
      for (auto& m : out) {
        if (!local::SendMessage(*ch_, m).ok()) return;  // the receiver sees the close
      }
      if (pump && !PumpOwnChanges()) return;
    }
  }

  // This app's own changes the owner has not acknowledged, in order.
  bool PumpOwnChanges() {
    while (true) {
      Seq from;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (in_flight_ >= options_.window) return true;
        from = std::max(sent_own_, acked_own_);
      }
      auto changes = DatabaseAccess::ChangesAfter(*db_, self_, from, options_.batch_changes);
      if (!changes.ok() || changes->empty()) return true;
      sync::ChangesMsg m;
      m.changes = std::move(changes).value();
      // Within the owner's limits: changes per message, and message size
      // (fewer changes while the encoding is too large, at least one).
      if (m.changes.size() > options_.max_changes_per_message) {
        m.changes.resize(std::max<size_t>(1, options_.max_changes_per_message));
      }
      while (m.changes.size() > 1 && sync::EncodeMessage(m).size() > options_.max_message_size) {
        m.changes.resize(m.changes.size() / 2);
      }
      Seq last = m.changes.back().seq;
      size_t n = m.changes.size();
      {
        std::lock_guard<std::mutex> l(mu_);
        m.batch = next_batch_++;
        ++in_flight_;
        sent_own_ = last;
        status_.changes_sent += n;
      }
      if (!local::SendMessage(*ch_, m).ok()) return false;
    }
  }

  AppGroup group_;
  KeyPair identity_;
  std::string db_name_;
  CrossAppOptions options_;
  std::string app_;
  std::unique_ptr<Database> db_;
  // This replica's node id; replaced (only while no connection runs) when
  // the file turns out to be behind its own history at the owner.
  std::atomic<NodeId> self_;
  // Connection thread only: the owner's stamps of our changes (version 2),
  // until its hello; and, when the file must continue under a fresh id, the
  // seq after which its changes are re-issued (own_history.h).
  std::optional<sync::OwnHistory> owner_history_;
  std::optional<Seq> restart_after_;
  uint64_t hook_ = 0;
  std::thread conn_;
  std::atomic<bool> stopping_{false};

  std::mutex grant_mu_;
  std::shared_ptr<const policy::AppPolicy> grant_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::unique_ptr<SecureChannel> ch_;
  std::shared_ptr<ByteStream> raw_;  // the socket of the connection under way
  bool connected_ = false;
  bool owner_hello_ = false;
  bool applying_ = false;   // a state batch is being merged
  std::atomic<std::thread::id> merging_on_{};  // the thread merging it (read by the commit hook)
  VersionVector owner_vv_;  // the owner's vector when it said hello
  Seq acked_own_ = 0;       // our changes the owner holds
  Seq sent_own_ = 0;
  size_t in_flight_ = 0;
  uint64_t next_batch_ = 1;
  std::deque<sync::Message> control_;
  struct {
    uint64_t batch = 0;
    uint32_t count = 0;
    uint32_t received = 0;
    store::Snapshot snap;
  } incoming_;
  SharedReplicaStatus status_;
};

SharedReplica::SharedReplica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SharedReplica::~SharedReplica() = default;
Database& SharedReplica::db() { return impl_->db(); }
SharedReplicaStatus SharedReplica::status() const { return impl_->status(); }
Status SharedReplica::WaitForCatchUp(std::chrono::milliseconds timeout) { return impl_->WaitForCatchUp(timeout); }
Result<WatchHandle> SharedReplica::WatchCrossApp(std::string_view collection, std::string_view where,
                                                 std::function<void(const ChangeEvent&)> callback) {
  return impl_->db().Watch(collection, where, std::move(callback));
}

Result<std::unique_ptr<SharedReplica>> ConnectToSharedDB(const std::string& group_dir, const std::string& db_name,
                                                         const KeyPair& identity, const std::string& replica_path,
                                                         const CrossAppOptions& options) {
  BLAZE_ASSIGN_OR_RETURN(AppGroup group, AppGroup::Open(group_dir));
  BLAZE_RETURN_IF_ERROR(group.SocketPath(db_name).status());  // validates the name
  auto app = group.Lookup(identity.public_key);
  if (!app.ok()) {
    return Status::PermissionDenied("this app's identity (" + PublicKeyToHex(identity.public_key) +
                                    ") is not registered in the app group '" + group_dir + "'");
  }
  if (!options.owner.empty()) {
    BLAZE_ASSIGN_OR_RETURN(std::vector<AppEntry> apps, group.Apps());
    bool known = false;
    for (const auto& a : apps) known = known || a.name == options.owner;
    if (!known) {
      return Status::NotFound("the required owner app '" + options.owner + "' is not registered in the app group '" +
                              group_dir + "'");
    }
  }
  BLAZE_ASSIGN_OR_RETURN(auto db, Database::Open(Options{}, replica_path));
  auto impl = std::make_unique<SharedReplica::Impl>(std::move(group), identity, db_name, options, *app, std::move(db));
  BLAZE_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<SharedReplica>(new SharedReplica(std::move(impl)));
}

}  // namespace blaze
