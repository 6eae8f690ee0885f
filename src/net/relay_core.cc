// relay_core.cc — the relay's hubs (one replica and engine per database),
// its sessions (one per connection: control messages, stream routing) and
// access enforcement.
//
// Locks: State::mu_ (access list, hubs, sessions, shut_down_) is taken
// before a Session's mu_, never after. Engines are only posted to (AddPeer,
// RemovePeer, Tick) while holding State::mu_, never waited on; Figures waits
// on engines without it. Control messages are handled on one control
// executor, so a slow replica open never holds up a connection's reader.
#include "net/relay_core.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "net/control.h"
#include "net/origin_binding.h"
#include "net/stream_link.h"
#include "sync/executor.h"

namespace blaze::net {

namespace {

struct Hub {
  std::string name;
  std::unique_ptr<Database> db;
  std::unique_ptr<sync::ThreadExecutor> executor;
  std::unique_ptr<sync::SyncEngine> engine;
  std::unique_ptr<OriginBindings> bindings;  // which user may write as which node
  // What streams that have closed moved, so the figures only ever grow.
  std::atomic<uint64_t> closed_received{0};
  std::atomic<uint64_t> closed_forwarded{0};
};

std::string SendError(Connection& c, uint16_t stream, std::string_view code, std::string message) {
  ControlMessage m{ControlMessage::Type::kError, stream, "", std::string(code), std::move(message)};
  c.Send(kControlStream, EncodeControl(m)).IgnoreError();  // a closed connection needs no answer
  return m.message;
}

void SendClose(Connection& c, uint16_t stream, std::string_view code, std::string message) {
  ControlMessage m{ControlMessage::Type::kClose, stream, "", std::string(code), std::move(message)};
  c.Send(kControlStream, EncodeControl(m)).IgnoreError();
}

}  // namespace

class Session;

class RelayCore::State : public std::enable_shared_from_this<RelayCore::State> {
 public:
  State(RelayOptions options, std::shared_ptr<const AccessList> access, int lock_fd)
      : options_(std::move(options)), lock_fd_(lock_fd), access_(std::move(access)) {}
  ~State() { ReleaseLock(); }

  void Start() {
    ticker_ = std::thread([this] { RunTicker(); });
  }

  void Log(const std::string& what) {
    if (options_.log) options_.log(what);
  }

  void Shutdown();
  Result<std::shared_ptr<ConnectionHandler>> Accept(std::shared_ptr<Connection> connection);
  void SetAccess(std::shared_ptr<const AccessList> access);
  std::vector<DatabaseFigures> Figures();

  bool KnowsKey(const PublicKey& key) {
    std::lock_guard<std::mutex> l(mu_);
    return access_->UserOf(key).has_value();
  }
  size_t connection_count() {
    std::lock_guard<std::mutex> l(mu_);
    return sessions_.size();
  }

  // For sessions.
  struct OpenResult {
    std::string code;  // empty: opened
    std::string message;
  };
  OpenResult OpenStream(const std::shared_ptr<Session>& session, uint16_t stream, const std::string& database);
  void RemovePeer(const std::string& database, uint64_t peer) {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return;
    auto it = hubs_.find(database);
    if (it == hubs_.end()) return;
    Hub* hub = it->second.get();
    sync::SyncEngine* engine = hub->engine.get();
    // Runs before the removal (the executor runs tasks in order); the hub
    // and engine outlive every task queued before Shutdown.
    hub->executor->Post([hub, engine, peer] {
      for (const auto& p : engine->Stats()) {
        if (p.peer != peer) continue;
        hub->closed_received += p.changes_applied;
        hub->closed_forwarded += p.changes_sent;
      }
    });
    engine->RemovePeer(peer);
  }
  void Forget(Session* session);
  sync::Executor* control() { return control_.get(); }
  const RelayOptions& options() const { return options_; }

 private:
  Result<Hub*> HubLocked(const std::string& name);
  void RunTicker();

  void ReleaseLock() {
    if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
  }

  const RelayOptions options_;
  int lock_fd_;  // DIR/relay.lock, flock'ed while the replica files are open
  std::unique_ptr<sync::ThreadExecutor> control_ = std::make_unique<sync::ThreadExecutor>(std::chrono::microseconds(0));
  mutable std::mutex mu_;
  std::condition_variable ticker_cv_;
  bool shut_down_ = false;
  std::shared_ptr<const AccessList> access_;
  std::map<std::string, std::unique_ptr<Hub>> hubs_;
  std::map<Session*, std::shared_ptr<Session>> sessions_;
  std::thread ticker_;
};

// One connection: its user, its streams, its control messages.
class Session final : public ConnectionHandler, public std::enable_shared_from_this<Session> {
 public:
  Session(std::weak_ptr<RelayCore::State> relay, std::shared_ptr<Connection> connection, std::string user)
      : relay_(std::move(relay)), connection_(std::move(connection)), user_(std::move(user)),
        key_(connection_->peer_key()) {}

  const std::string& user() const { return user_; }
  const PublicKey& key() const { return key_; }

  void OnMessage(uint16_t stream, std::string body) override {
    if (stream == kControlStream) {
      auto relay = relay_.lock();
      if (!relay) return;
      if (relay->options().control_on_caller) return HandleControl(body);
      std::weak_ptr<Session> weak = weak_from_this();
      relay->control()->Post([weak, body = std::move(body)] {
        if (auto self = weak.lock()) self->HandleControl(body);
      });
      return;
    }
    std::shared_ptr<StreamLink> link;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = streams_.find(stream);
      if (it != streams_.end()) link = it->second.link;
    }
    // A stream not open (never, or closed while this was in flight): dropped.
    if (link) link->Deliver(std::move(body));
  }

  void OnClosed(const Status& why) override {
    std::map<uint16_t, Stream> streams;
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closed_) return;
      closed_ = true;
      streams.swap(streams_);
      connection = std::move(connection_);
    }
    auto relay = relay_.lock();
    for (auto& [id, s] : streams) {
      s.link->PeerClosed(why);
      if (relay) relay->RemovePeer(s.database, s.peer);
    }
    if (relay) relay->Forget(this);
  }

  // Registers a stream (before `opened` is sent); false if the session is
  // closed, the stream is in use or the connection has too many.
  std::string Register(uint16_t stream, const std::string& database, size_t max_streams, size_t max_backlog,
                       std::shared_ptr<StreamLink>* link) {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return std::string(kCodeClosed);
    if (streams_.count(stream)) return std::string(kCodeStreamInUse);
    if (streams_.size() >= max_streams) return std::string(kCodeTooManyStreams);
    std::weak_ptr<Session> weak = weak_from_this();
    *link = std::make_shared<StreamLink>(connection_, stream, [weak](uint16_t id, const Status& why) {
      if (auto self = weak.lock()) self->OnLinkClosed(id, why);
    }, max_backlog);
    streams_[stream] = Stream{database, *link, 0};
    return "";
  }
  // Records the engine's peer id of a registered stream; false if the
  // stream was closed meanwhile (whoever closed it saw no peer id to remove).
  bool SetPeer(uint16_t stream, const std::shared_ptr<StreamLink>& link, uint64_t peer) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = streams_.find(stream);
    if (it == streams_.end() || it->second.link != link) return false;
    it->second.peer = peer;
    return true;
  }
  void SendOpened(uint16_t stream) {
    std::shared_ptr<Connection> c = connection();
    if (!c) return;
    ControlMessage m{ControlMessage::Type::kOpened, stream, "", "", ""};
    c->Send(kControlStream, EncodeControl(m)).IgnoreError();
  }

  // The access list changed: close what it no longer allows.
  void Enforce(const AccessList& access) {
    std::shared_ptr<Connection> c = connection();
    if (!c) return;
    auto user = access.UserOf(key_);
    if (!user || *user != user_) {
      std::string why = "key " + PublicKeyToHex(key_) + " of user '" + user_ + "' is no longer in the access file";
      SendError(*c, kControlStream, kCodeAccessRevoked, why);
      c->Close(Status::PermissionDenied(why));
      return;
    }
    std::vector<std::pair<uint16_t, Stream>> revoked;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto it = streams_.begin(); it != streams_.end();) {
        if (access.MayOpen(user_, it->second.database)) {
          ++it;
        } else {
          revoked.emplace_back(it->first, std::move(it->second));
          it = streams_.erase(it);
        }
      }
    }
    auto relay = relay_.lock();
    for (auto& [id, s] : revoked) {
      std::string why = "user '" + user_ + "' may no longer open database '" + s.database + "'";
      SendClose(*c, id, kCodeAccessRevoked, why);
      s.link->PeerClosed(Status::PermissionDenied(why));
      if (relay) relay->RemovePeer(s.database, s.peer);
    }
  }

  // The relay is going away: every stream closes, then the connection.
  void Shutdown() {
    std::map<uint16_t, Stream> streams;
    std::shared_ptr<Connection> c;
    {
      std::lock_guard<std::mutex> l(mu_);
      streams.swap(streams_);
      c = connection_;
    }
    Status why = Status::Aborted("relay shutting down");
    for (auto& [id, s] : streams) s.link->PeerClosed(why);
    if (c) c->Close(why);
  }

 private:
  struct Stream {
    std::string database;
    std::shared_ptr<StreamLink> link;
    uint64_t peer = 0;
  };

  std::shared_ptr<Connection> connection() {
    std::lock_guard<std::mutex> l(mu_);
    return connection_;
  }

  void HandleControl(const std::string& body) {
    std::shared_ptr<Connection> c = connection();
    auto relay = relay_.lock();
    if (!c || !relay) return;
    auto decoded = DecodeControl(body);
    if (!decoded.ok()) {
      relay->Log("relay: user '" + user_ + "': " + decoded.status().message());
      SendError(*c, kControlStream, kCodeBadRequest, decoded.status().message());
      return;
    }
    const ControlMessage& m = *decoded;
    switch (m.type) {
      case ControlMessage::Type::kOpen: {
        Status name = ValidateDatabaseName(m.database);
        if (!name.ok()) {
          SendError(*c, m.stream, kCodeBadRequest, name.message());
          return;
        }
        auto r = relay->OpenStream(shared_from_this(), m.stream, m.database);
        if (!r.code.empty()) {
          relay->Log("relay: user '" + user_ + "' could not open '" + m.database + "': " + r.message);
          SendError(*c, m.stream, r.code, r.message);
        }
        return;
      }
      case ControlMessage::Type::kClose: {
        Stream s;
        {
          std::lock_guard<std::mutex> l(mu_);
          auto it = streams_.find(m.stream);
          if (it == streams_.end()) return;  // already closed on our side
          s = std::move(it->second);
          streams_.erase(it);
        }
        s.link->PeerClosed(Status::Aborted("the client closed the stream: " + m.code +
                                           (m.message.empty() ? "" : " (" + m.message + ")")));
        relay->RemovePeer(s.database, s.peer);
        return;
      }
      case ControlMessage::Type::kOpened:
      case ControlMessage::Type::kError:
        SendError(*c, kControlStream, kCodeBadRequest, "\"opened\" and \"error\" are sent by the relay only");
        return;
    }
  }

  // The engine closed a stream's link (a sync failure): tell the client.
  void OnLinkClosed(uint16_t stream, const Status& why) {
    Stream s;
    std::shared_ptr<Connection> c;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = streams_.find(stream);
      if (it == streams_.end()) return;
      s = std::move(it->second);
      streams_.erase(it);
      c = connection_;
    }
    if (c) SendClose(*c, stream, why.code() == StatusCode::kBusy ? kCodeOverloaded : kCodeSyncFailed, why.ToString());
    if (auto relay = relay_.lock()) relay->RemovePeer(s.database, s.peer);
  }

  const std::weak_ptr<RelayCore::State> relay_;
  std::mutex mu_;
  std::shared_ptr<Connection> connection_;  // dropped on OnClosed
  const std::string user_;
  const PublicKey key_;
  std::map<uint16_t, Stream> streams_;
  bool closed_ = false;
};

Result<Hub*> RelayCore::State::HubLocked(const std::string& name) {
  auto it = hubs_.find(name);
  if (it != hubs_.end()) return it->second.get();
  auto hub = std::make_unique<Hub>();
  hub->name = name;
  BLAZE_ASSIGN_OR_RETURN(hub->db, Database::Open(options_.database_options,
                                                 options_.data_dir + "/" + name + ".blazedb"));
  hub->executor = std::make_unique<sync::ThreadExecutor>();
  auto engine = sync::SyncEngine::Create(hub->db.get(), hub->executor.get(), options_.sync);
  if (!engine.ok()) {
    hub->executor.reset();
    return engine.status();
  }
  hub->engine = std::move(engine).value();
  hub->bindings = std::make_unique<OriginBindings>(hub->db.get());
  Hub* raw = hub.get();
  hubs_.emplace(name, std::move(hub));
  Log("relay: opened database '" + name + "'");
  return raw;
}

RelayCore::State::OpenResult RelayCore::State::OpenStream(const std::shared_ptr<Session>& session, uint16_t stream,
                                                          const std::string& database) {
  std::lock_guard<std::mutex> l(mu_);
  if (shut_down_) return {std::string(kCodeUnavailable), "the relay is shutting down"};
  // One answer whether the database does not exist or the user may not open
  // it: a client learns nothing about databases it may not open.
  if (!access_->MayOpen(session->user(), database)) {
    return {std::string(kCodeForbidden),
            "database '" + database + "' does not exist or user '" + session->user() + "' may not open it"};
  }
  auto hub = HubLocked(database);
  if (!hub.ok()) {
    Log("relay: cannot open database '" + database + "': " + hub.status().ToString());
    return {std::string(kCodeUnavailable), "database '" + database + "' cannot be opened on the relay now"};
  }
  std::shared_ptr<StreamLink> link;
  std::string code = session->Register(stream, database, options_.max_streams_per_connection,
                                     options_.max_stream_backlog_bytes, &link);
  if (code == kCodeClosed) return {};  // the connection ended meanwhile: nobody to answer
  if (code == kCodeStreamInUse) return {code, "stream " + std::to_string(stream) + " is already open"};
  if (code == kCodeTooManyStreams) {
    return {code, "a connection may open " + std::to_string(options_.max_streams_per_connection) + " streams at most"};
  }
  // `opened` goes out before the engine's hello (the connection's queue keeps order).
  session->SendOpened(stream);
  // The stream's user speaks only for its own nodes (origin_binding.h).
  sync::PeerGuard guard;
  OriginBindings* bindings = (*hub)->bindings.get();
  guard.announce = [bindings, user = session->user()](NodeId node) { return bindings->Claim(user, node); };
  guard.write = guard.announce;
  uint64_t peer = (*hub)->engine->AddPeer(link, std::move(guard));
  if (!session->SetPeer(stream, link, peer)) (*hub)->engine->RemovePeer(peer);
  return {};
}

Result<std::shared_ptr<ConnectionHandler>> RelayCore::State::Accept(std::shared_ptr<Connection> connection) {
  std::unique_lock<std::mutex> l(mu_);
  auto user = access_->UserOf(connection->peer_key());
  if (!user || shut_down_) {
    l.unlock();
    std::string why = shut_down_ ? "the relay is shutting down"
                                 : "key " + PublicKeyToHex(connection->peer_key()) + " is not in the access file";
    Log("relay: refused a connection: " + why);
    SendError(*connection, kControlStream, shut_down_ ? kCodeUnavailable : "unknown-key",
              shut_down_ ? why : "this key is not allowed on this relay");
    connection->Close(Status::PermissionDenied(why));
    return Status::PermissionDenied(why);
  }
  auto session = std::make_shared<Session>(weak_from_this(), connection, *user);
  sessions_.emplace(session.get(), session);
  return std::shared_ptr<ConnectionHandler>(session);
}

void RelayCore::State::Forget(Session* session) {
  std::lock_guard<std::mutex> l(mu_);
  sessions_.erase(session);
}

void RelayCore::State::SetAccess(std::shared_ptr<const AccessList> access) {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> l(mu_);
    access_ = access;
    for (auto& [p, s] : sessions_) sessions.push_back(s);
  }
  for (auto& s : sessions) s->Enforce(*access);
}

std::vector<DatabaseFigures> RelayCore::State::Figures() {
  std::vector<Hub*> hubs;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return {};
    for (auto& [name, hub] : hubs_) hubs.push_back(hub.get());
  }
  std::vector<DatabaseFigures> out;
  for (Hub* hub : hubs) {
    DatabaseFigures f;
    f.name = hub->name;
    // Read before the live peers: a stream closing meanwhile is counted at
    // most once (or not yet), never twice.
    f.changes_received = hub->closed_received;
    f.changes_forwarded = hub->closed_forwarded;
    for (auto& p : hub->engine->StatsFromOutside()) {
      if (!p.error.empty()) continue;  // closed, about to be removed
      ++f.streams;
      f.changes_received += p.changes_applied;
      f.changes_forwarded += p.changes_sent;
      f.max_lag = std::max(f.max_lag, p.lag);
      f.peers.push_back(std::move(p));
    }
    out.push_back(std::move(f));
  }
  return out;
}

void RelayCore::State::RunTicker() {
  std::unique_lock<std::mutex> l(mu_);
  while (!shut_down_) {
    ticker_cv_.wait_for(l, options_.tick_interval);
    if (shut_down_) break;
    for (auto& [name, hub] : hubs_) hub->engine->Tick();
  }
}

void RelayCore::State::Shutdown() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> l(mu_);
    shut_down_ = true;
    for (auto& [p, s] : sessions_) sessions.push_back(s);
    sessions_.clear();
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  // Control tasks still queued see shut_down_ and open nothing.
  control_.reset();
  // Every link closes: nothing more is posted to the engines' executors.
  for (auto& s : sessions) s->Shutdown();
  std::map<std::string, std::unique_ptr<Hub>> hubs;
  {
    std::lock_guard<std::mutex> l(mu_);
    hubs.swap(hubs_);
  }
  for (auto& [name, hub] : hubs) {
    // The engine is destroyed by a task on its executor, after what is
    // queued (deliveries, checkpoints); then the executor drains and joins.
    sync::SyncEngine* engine = hub->engine.release();
    hub->engine.reset();
    hub->executor->Post([engine] { delete engine; });
    hub->executor.reset();
    hub->db.reset();
  }
  // The files are closed: another relay may take the directory now.
  ReleaseLock();
}

Result<std::unique_ptr<RelayCore>> RelayCore::Open(RelayOptions options) {
  struct stat st;
  if (options.data_dir.empty() || stat(options.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("relay data directory '" + options.data_dir + "' does not exist or is not a directory");
  }
  if (options.tick_interval.count() <= 0) return Status::InvalidArgument("tick_interval must be positive");
  if (options.max_streams_per_connection == 0 || options.max_streams_per_connection > 65535) {
    return Status::InvalidArgument("max_streams_per_connection must be 1..65535");
  }
  BLAZE_ASSIGN_OR_RETURN(auto access, ReadAccessFile(options.access_path));
  // One relay per data directory: two would serve the same replica files
  // under one node id, each with its own idea of every client's progress.
  const std::string lock_path = options.data_dir + "/relay.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("cannot open " + lock_path + ": " + std::strerror(errno) +
                           " (the relay's data directory must be writable)");
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Busy("another relay is serving data directory '" + options.data_dir + "' (" + lock_path +
                          " is locked); stop it first, or give this relay a directory of its own");
    }
    return Status::IOError("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  auto state = std::make_shared<State>(std::move(options), std::move(access), fd);
  state->Start();
  return std::unique_ptr<RelayCore>(new RelayCore(std::move(state)));
}

RelayCore::~RelayCore() { state_->Shutdown(); }

Result<std::shared_ptr<ConnectionHandler>> RelayCore::Accept(std::shared_ptr<Connection> connection) {
  return state_->Accept(std::move(connection));
}
bool RelayCore::KnowsKey(const PublicKey& key) const { return state_->KnowsKey(key); }

Status RelayCore::Reload() {
  auto access = ReadAccessFile(state_->options().access_path);
  if (!access.ok()) {
    state_->Log("relay: access file not reloaded, the current one stays: " + access.status().ToString());
    return access.status();
  }
  state_->SetAccess(std::move(access).value());
  state_->Log("relay: access file reloaded");
  return Status::Ok();
}

void RelayCore::SetAccess(std::shared_ptr<const AccessList> access) { state_->SetAccess(std::move(access)); }
std::vector<DatabaseFigures> RelayCore::Figures() { return state_->Figures(); }
size_t RelayCore::connection_count() const { return state_->connection_count(); }

}  // namespace blaze::net
