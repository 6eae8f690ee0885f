// topology.cc — Topology: sync engines and in-memory links for the
// databases of one process, laid out by pattern.
//
// Every member has a SyncEngine on its own ThreadExecutor. An edge is one
// in-memory link pair between two members' engines. One ticker thread drives
// the engines' retransmission clocks and the report watchers. mu_ guards the
// members, edges and watchers; engine stats are fetched by posting to the
// engines' executors, whose tasks never take mu_, so waiting under mu_
// cannot deadlock.
#include "blaze/topology.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "sync/sync_engine.h"

namespace blaze {

std::string_view LinkStateName(LinkReport::State state) {
  switch (state) {
    case LinkReport::State::kHandshaking: return "handshaking";
    case LinkReport::State::kCatchingUp: return "catching up";
    case LinkReport::State::kLive: return "live";
    case LinkReport::State::kDown: return "down";
  }
  return "unknown";
}

class Topology::Impl {
 public:
  explicit Impl(const TopologyOptions& options) : options_(options) {
    ticker_ = std::thread([this] { RunTicker(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    ticker_.join();
    std::lock_guard<std::mutex> lock(mu_);
    edges_.clear();
    while (!members_.empty()) Destroy(members_.begin()->first);
  }

  Status Register(const std::string& name, Database* db) {
    if (name.empty() || name == kHubName) return Status::InvalidArgument("a member needs a name other than \"hub\"");
    if (db == nullptr) return Status::InvalidArgument("Register needs a database");
    std::lock_guard<std::mutex> lock(mu_);
    if (members_.count(name)) return Status::AlreadyExists("a database named '" + name + "' is registered");
    for (const auto& [n, m] : members_) {
      if (m.db == db) return Status::AlreadyExists("that database is already registered as '" + n + "'");
      if (m.db->node_id() == db->node_id()) {
        return Status::InvalidArgument("'" + name + "' has the node id of '" + n + "' (a copied file)");
      }
    }
    BLAZE_RETURN_IF_ERROR(AddMember(name, db, nullptr));
    if (pattern_) {
      if (*pattern_ == Pattern::kMesh) {
        for (const auto& [n, m] : members_)
          if (n != name) Link(n, name);
      } else {
        Link(centre_, name);
      }
    }
    return Status::Ok();
  }

  Status Unregister(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    if (name == kHubName || !members_.count(name)) return Status::NotFound("no database named '" + name + "'");
    if (pattern_ && *pattern_ == Pattern::kStar && name == centre_) {
      return Status::FailedPrecondition("'" + name + "' is the star's hub; Connect another pattern first");
    }
    Unlink(name);
    Destroy(name);
    return Status::Ok();
  }

  Status Connect(Pattern pattern, const std::string& hub) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string centre;
    if (pattern == Pattern::kStar) {
      if (!members_.count(hub) || hub == kHubName) return Status::NotFound("the star's hub '" + hub + "' is not registered");
      centre = hub;
    }
    // Take the old links down (nothing is lost: new links start from each
    // side's version vector), then lay the new ones.
    for (const auto& [n, m] : members_) Unlink(n);
    if (pattern == Pattern::kHubAndSpoke) {
      if (!members_.count(kHubName)) {
        Options o;
        o.in_memory = true;
        BLAZE_ASSIGN_OR_RETURN(auto relay, Database::Open(o, ""));
        Database* raw = relay.get();  // before the move below: argument order is unspecified
        BLAZE_RETURN_IF_ERROR(AddMember(kHubName, raw, std::move(relay)));
      }
      centre = kHubName;
    }
    std::vector<std::string> names;
    for (const auto& [n, m] : members_) names.push_back(n);
    for (size_t i = 0; i < names.size(); ++i) {
      for (size_t j = i + 1; j < names.size(); ++j) {
        const std::string& a = names[i];
        const std::string& b = names[j];
        bool link = pattern == Pattern::kMesh ? (a != kHubName && b != kHubName) : (a == centre || b == centre);
        if (link) Link(a, b);
      }
    }
    pattern_ = pattern;
    centre_ = centre;
    return Status::Ok();
  }

  std::vector<LinkReport> Report() {
    std::lock_guard<std::mutex> lock(mu_);
    return ReportLocked();
  }

  Status WaitUntilSynced(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      bool synced = true;
      for (const auto& r : Report()) {
        synced = synced && r.state == LinkReport::State::kLive && r.lag == 0 && r.in_flight == 0;
      }
      if (synced) return Status::Ok();
      if (std::chrono::steady_clock::now() > deadline) return Status::Busy("the topology did not sync in time");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  uint64_t AddWatcher(std::function<void(const std::vector<LinkReport>&)> cb) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = next_watcher_++;
    watchers_[id] = std::move(cb);
    return id;
  }

  void RemoveWatcher(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    watchers_.erase(id);
  }

 private:
  static constexpr const char* kHubName = "hub";

  struct Member {
    Database* db = nullptr;
    std::unique_ptr<Database> owned;  // the hub-and-spoke relay replica
    std::unique_ptr<sync::ThreadExecutor> executor;
    std::unique_ptr<sync::SyncEngine> engine;
  };
  struct Edge {
    std::string a, b;
    uint64_t peer_at_a = 0, peer_at_b = 0;
  };

  Status AddMember(const std::string& name, Database* db, std::unique_ptr<Database> owned) {
    Member m;
    m.db = db;
    m.owned = std::move(owned);
    m.executor = std::make_unique<sync::ThreadExecutor>();
    BLAZE_ASSIGN_OR_RETURN(m.engine, sync::SyncEngine::Create(db, m.executor.get()));
    members_.emplace(name, std::move(m));
    return Status::Ok();
  }

  void Destroy(const std::string& name) {
    auto it = members_.find(name);
    it->second.engine.reset();
    it->second.executor.reset();  // drains and joins
    members_.erase(it);
  }

  void Link(const std::string& a, const std::string& b) {
    auto [la, lb] = sync::MakeInMemoryLinkPair();
    Edge e{a, b, members_[a].engine->AddPeer(la), members_[b].engine->AddPeer(lb)};
    edges_.push_back(e);
  }

  // Removes every edge touching `name`.
  void Unlink(const std::string& name) {
    for (auto it = edges_.begin(); it != edges_.end();) {
      if (it->a == name || it->b == name) {
        members_[it->a].engine->RemovePeer(it->peer_at_a);
        members_[it->b].engine->RemovePeer(it->peer_at_b);
        it = edges_.erase(it);
      } else {
        ++it;
      }
    }
  }

  static LinkReport FromStats(const std::string& a, const std::string& b, const sync::PeerStats& s) {
    LinkReport r;
    r.a = a;
    r.b = b;
    r.in_flight = s.batches_in_flight;
    r.lag = s.lag;
    r.changes_sent = s.changes_sent;
    r.error = s.error;
    if (!s.error.empty()) {
      r.state = LinkReport::State::kDown;
    } else if (!s.live) {
      r.state = LinkReport::State::kHandshaking;
    } else if (s.lag > 0 || s.batches_in_flight > 0) {
      r.state = LinkReport::State::kCatchingUp;
    } else {
      r.state = LinkReport::State::kLive;
    }
    return r;
  }

  std::vector<LinkReport> ReportLocked() {
    std::map<std::string, std::vector<sync::PeerStats>> stats;
    for (auto& [n, m] : members_) stats[n] = m.engine->StatsFromOutside();
    auto find = [&](const std::string& who, uint64_t peer) {
      for (const auto& s : stats[who])
        if (s.peer == peer) return s;
      return sync::PeerStats{};
    };
    std::vector<LinkReport> out;
    for (const Edge& e : edges_) {
      out.push_back(FromStats(e.a, e.b, find(e.a, e.peer_at_a)));
      out.push_back(FromStats(e.b, e.a, find(e.b, e.peer_at_b)));
    }
    return out;
  }

  void RunTicker() {
    auto next_tick = std::chrono::steady_clock::now();
    auto next_report = next_tick;
    std::vector<LinkReport> last;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      cv_.wait_until(lock, std::min(next_tick, next_report), [this] { return stop_; });
      if (stop_) return;
      auto now = std::chrono::steady_clock::now();
      if (now >= next_tick) {
        for (auto& [n, m] : members_) m.engine->Tick();
        next_tick = now + std::chrono::milliseconds(options_.tick_ms);
      }
      if (now >= next_report) {
        next_report = now + std::chrono::milliseconds(options_.report_poll_ms);
        if (watchers_.empty()) continue;
        std::vector<LinkReport> report = ReportLocked();
        if (report != last) {
          last = report;
          auto watchers = watchers_;
          lock.unlock();
          for (auto& [id, cb] : watchers) cb(report);
          lock.lock();
        }
      }
    }
  }

  TopologyOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, Member> members_;
  std::vector<Edge> edges_;
  std::optional<Pattern> pattern_;
  std::string centre_;
  std::map<uint64_t, std::function<void(const std::vector<LinkReport>&)>> watchers_;
  uint64_t next_watcher_ = 1;
  std::thread ticker_;
};

Result<std::unique_ptr<Topology>> Topology::Create(const TopologyOptions& options) {
  if (options.tick_ms <= 0 || options.report_poll_ms <= 0) {
    return Status::InvalidArgument("tick_ms and report_poll_ms must be positive");
  }
  return std::unique_ptr<Topology>(new Topology(std::make_unique<Impl>(options)));
}

Topology::Topology(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Topology::~Topology() = default;
Status Topology::Register(const std::string& name, Database* db) { return impl_->Register(name, db); }
Status Topology::Unregister(const std::string& name) { return impl_->Unregister(name); }
Status Topology::Connect(Pattern pattern, const std::string& hub) { return impl_->Connect(pattern, hub); }
std::vector<LinkReport> Topology::Report() { return impl_->Report(); }
Status Topology::WaitUntilSynced(int timeout_ms) { return impl_->WaitUntilSynced(timeout_ms); }

WatchHandle Topology::WatchReport(std::function<void(const std::vector<LinkReport>&)> callback) {
  uint64_t id = impl_->AddWatcher(std::move(callback));
  Impl* impl = impl_.get();
  std::weak_ptr<bool> alive = alive_;
  return WatchHandle([impl, alive, id] {
    if (alive.lock()) impl->RemoveWatcher(id);  // a no-op once the Topology is gone
  });
}

}  // namespace blaze
