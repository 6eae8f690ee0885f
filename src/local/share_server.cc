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
#include "local/share_server_impl.h"

#include <filesystem>

namespace blaze {

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
