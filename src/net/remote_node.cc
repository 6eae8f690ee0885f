// remote_node.cc — RemoteNode (blaze/remote_node.h): one worker thread runs
// the connect / open / sync loop; the engine runs on its own ThreadExecutor.
//
// Thread safety: the report and the stop flag live under mu_; the worker is
// the only thread that connects, adds and removes peers. The destructor sets
// the stop flag and joins the worker (which waits at most for one connect
// attempt), then closes the mux before the engine and its executor go.
#include "blaze/remote_node.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "blaze/net.h"
#include "blaze/trust_store.h"
#include "net/channel_mux.h"
#include "store/replica.h"
#include "sync/executor.h"
#include "sync/sync_engine.h"

namespace blaze {

const char* RelayStateName(RelayState state) {
  switch (state) {
    case RelayState::kConnecting: return "connecting";
    case RelayState::kHandshaking: return "handshaking";
    case RelayState::kCatchingUp: return "catching up";
    case RelayState::kLive: return "live";
    case RelayState::kDown: return "down";
  }
  return "unknown";
}

namespace {

// A refusal the relay (or our pinning) will repeat however often we retry.
bool IsRefusal(const Status& s) {
  if (s.code() == StatusCode::kPermissionDenied) return true;
  const std::string& m = s.message();
  // The relay's codes, and our own pinning refusing the relay's key.
  for (const char* code :
       {"untrusted-peer", "unknown-key", "forbidden", "access-revoked", "is not in the trust store"}) {
    if (m.find(code) != std::string::npos) return true;
  }
  return false;
}

// Whether `a` and `b` hold the same seq of every origin (absent = 0).
bool SameVector(const VersionVector& a, const VersionVector& b) {
  for (const auto& [origin, seq] : a) {
    if (SeqOf(b, origin) != seq) return false;
  }
  for (const auto& [origin, seq] : b) {
    if (SeqOf(a, origin) != seq) return false;
  }
  return true;
}

}  // namespace

class RemoteNode::Impl {
 public:
  Impl(Database* db, RemoteNodeOptions options) : db_(db), options_(std::move(options)) {
    trust_.Add(options_.relay_key, PeerIdentity{"relay", {}});
    for (const auto& url : options_.relays) report_.relays.push_back(RelayReport{url, RelayState::kDown, 0, "", 0});
  }

  Status Start() {
    BLAZE_ASSIGN_OR_RETURN(engine_, sync::SyncEngine::Create(db_, &executor_));
    worker_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    // The worker closed its session; the engine goes on its own executor.
    sync::SyncEngine* e = engine_.release();
    if (e != nullptr) executor_.Post([e] { delete e; });
  }

  RemoteNodeReport report() const {
    std::lock_guard<std::mutex> l(mu_);
    return report_;
  }

  Status WaitForCatchUp(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    bool done = cv_.wait_for(l, timeout, [&] { return report_.caught_up || all_refused_ || stop_; });
    if (done && report_.caught_up) return Status::Ok();
    std::string why;
    for (const auto& r : report_.relays) {
      why += "; " + r.url + ": " + RelayStateName(r.state);
      if (!r.last_error.empty()) why += " (" + r.last_error + ")";
    }
    if (all_refused_) return Status::PermissionDenied("every relay refused '" + options_.database + "'" + why);
    return Status::IOError("not caught up with '" + options_.database + "' after " +
                           std::to_string(timeout.count()) + " ms" + why);
  }

 private:
  // Updates the report under mu_ and tells the watcher if it changed.
  template <typename F>
  void Update(F&& change) {
    RemoteNodeReport copy;
    bool changed = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      RemoteNodeReport before = report_;
      change(report_);
      changed = !Same(before, report_);
      copy = report_;
    }
    cv_.notify_all();
    if (changed && options_.on_report) options_.on_report(copy);
  }
  static bool Same(const RemoteNodeReport& a, const RemoteNodeReport& b) {
    if (a.active != b.active || a.caught_up != b.caught_up || a.changes_sent != b.changes_sent ||
        a.changes_received != b.changes_received || a.relays.size() != b.relays.size()) {
      return false;
    }
    for (size_t i = 0; i < a.relays.size(); ++i) {
      const auto& x = a.relays[i];
      const auto& y = b.relays[i];
      if (x.state != y.state || x.lag != y.lag || x.last_error != y.last_error || x.connects != y.connects) {
        return false;
      }
    }
    return true;
  }
  void SetState(size_t i, RelayState st) {
    Update([&](RemoteNodeReport& r) { r.relays[i].state = st; });
  }
  bool Stopping() {
    std::lock_guard<std::mutex> l(mu_);
    return stop_;
  }
  // Sleeps up to `d`; false when stopping.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> l(mu_);
    return !cv_.wait_for(l, d, [&] { return stop_; });
  }

  void Run() {
    std::mt19937_64 rng(std::random_device{}());
    std::chrono::milliseconds backoff = options_.min_backoff;
    size_t index = 0;
    size_t failed_in_round = 0;
    size_t refused_in_round = 0;
    std::chrono::milliseconds retry_after{0};
    while (!Stopping()) {
      WebSocketRefusal refusal;
      bool went_live = false;
      Status s = Session(index, &refusal, &went_live);
      if (Stopping()) break;
      Update([&](RemoteNodeReport& r) {
        r.relays[index].state = RelayState::kDown;
        r.relays[index].last_error = s.ToString();
        r.active = -1;
        r.caught_up = false;
      });
      if (went_live) {  // a session that worked: start the round and the backoff afresh
        backoff = options_.min_backoff;
        failed_in_round = refused_in_round = 0;
      }
      ++failed_in_round;
      if (IsRefusal(s)) ++refused_in_round;
      retry_after = std::max(retry_after, std::chrono::duration_cast<std::chrono::milliseconds>(refusal.retry_after));
      index = (index + 1) % options_.relays.size();
      if (failed_in_round < options_.relays.size()) continue;  // next relay at once
      if (refused_in_round == options_.relays.size()) {
        std::lock_guard<std::mutex> l(mu_);
        all_refused_ = true;
      }
      cv_.notify_all();
      // A whole round failed: wait, with jitter in [backoff/2, backoff].
      std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
      auto wait = std::max(std::chrono::milliseconds(jitter(rng)), retry_after);
      if (!Sleep(wait)) break;
      backoff = std::min(backoff * 2, options_.max_backoff);
      failed_in_round = refused_in_round = 0;
      retry_after = std::chrono::milliseconds(0);
    }
  }

  // One session with relay `i`: connect, handshake, open, sync until the
  // connection ends or the node stops. Returns why it ended.
  Status Session(size_t i, WebSocketRefusal* refusal, bool* went_live) {
    const std::string& url = options_.relays[i];
    SetState(i, RelayState::kConnecting);
    BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<ByteStream> stream,
                           ConnectWebSocket(url, options_.connect_timeout, refusal));
    if (Stopping()) return Status::Aborted("stopping");
    SetState(i, RelayState::kHandshaking);
    ChannelOptions co;
    co.identity = options_.identity;
    co.trust = &trust_;
    co.handshake_timeout = options_.connect_timeout;
    BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<net::ChannelMux> mux, net::ChannelMux::Connect(co, std::move(stream)));
    auto link = mux->Open(options_.database, options_.connect_timeout);
    if (!link.ok()) {
      mux->Close(Status::Ok());
      return link.status();
    }
    uint64_t peer = engine_->AddPeer(*link);
    Update([&](RemoteNodeReport& r) {
      r.relays[i].state = RelayState::kCatchingUp;
      r.relays[i].last_error.clear();
      ++r.relays[i].connects;
      r.active = static_cast<int>(i);
    });
    uint64_t base_sent = 0, base_received = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      base_sent = report_.changes_sent;
      base_received = report_.changes_received;
    }
    Status ended;
    while (true) {
      if (!Sleep(options_.tick_interval)) {
        ended = Status::Aborted("stopping");
        break;
      }
      engine_->Tick();
      std::vector<sync::PeerStats> all = engine_->StatsFromOutside();
      auto it = std::find_if(all.begin(), all.end(), [&](const sync::PeerStats& p) { return p.peer == peer; });
      if (it == all.end() || !it->error.empty() || mux->closed()) {
        std::string why = it != all.end() && !it->error.empty() ? it->error : mux->close_reason().ToString();
        std::string relay_error = mux->last_relay_error();
        if (!relay_error.empty()) why += " (relay: " + relay_error + ")";
        ended = Status::IOError("the session with " + url + " ended: " + why);
        break;
      }
      bool caught_up = false;
      if (it->live) {
        *went_live = true;
        auto mine = DatabaseAccess::GetVersionVector(*db_);
        caught_up = mine.ok() && it->lag == 0 && it->batches_in_flight == 0 && SameVector(*mine, it->remote_vv);
      }
      Update([&](RemoteNodeReport& r) {
        r.relays[i].state = caught_up ? RelayState::kLive : RelayState::kCatchingUp;
        r.relays[i].lag = it->lag;
        r.caught_up = caught_up;
        r.changes_sent = base_sent + it->changes_sent;
        r.changes_received = base_received + it->changes_applied;
        if (caught_up) all_refused_ = false;
      });
    }
    engine_->RemovePeer(peer);
    mux->Close(Status::Ok());
    mux.reset();
    return ended;
  }

  Database* db_;
  RemoteNodeOptions options_;
  TrustStore trust_;
  sync::ThreadExecutor executor_;
  std::unique_ptr<sync::SyncEngine> engine_;
  std::thread worker_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool all_refused_ = false;
  RemoteNodeReport report_;
};

Result<std::unique_ptr<RemoteNode>> RemoteNode::Start(Database* db, RemoteNodeOptions options) {
  if (db == nullptr) return Status::InvalidArgument("RemoteNode needs a database");
  if (options.relays.empty()) return Status::InvalidArgument("RemoteNode needs at least one relay URL");
  if (options.database.empty()) return Status::InvalidArgument("RemoteNode needs the database's name on the relay");
  if (options.tick_interval.count() <= 0 || options.min_backoff.count() <= 0 ||
      options.max_backoff < options.min_backoff) {
    return Status::InvalidArgument("RemoteNode: tick_interval and min_backoff must be positive, max_backoff >= "
                                   "min_backoff");
  }
  auto impl = std::make_unique<Impl>(db, std::move(options));
  BLAZE_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<RemoteNode>(new RemoteNode(std::move(impl)));
}

RemoteNode::RemoteNode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteNode::~RemoteNode() = default;
RemoteNodeReport RemoteNode::report() const { return impl_->report(); }
Status RemoteNode::WaitForCatchUp(std::chrono::milliseconds timeout) { return impl_->WaitForCatchUp(timeout); }

}  // namespace blaze
