// relay_fixture.h — a relay core and clients over Unix-socket SecureChannels
// in one process, for the net tests: each client is a database file, its
// own engine on its own executor, and a ChannelMux to the relay.
#ifndef BLAZE_TESTS_NET_RELAY_FIXTURE_H_
#define BLAZE_TESTS_NET_RELAY_FIXTURE_H_

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blaze/byte_stream.h"
#include "blaze/keys.h"
#include "blaze/secure_channel.h"
#include "blaze/trust_store.h"
#include "net/channel_connection.h"
#include "net/channel_mux.h"
#include "net/control.h"
#include "net/relay_core.h"
#include "store/replica.h"
#include "support/db_fixture.h"
#include "sync/sync_engine.h"

namespace blaze::testing {

// Discards what it is told (a refused connection still sends its error).
class NullHandler final : public net::ConnectionHandler {
 public:
  void OnMessage(uint16_t, std::string) override {}
  void OnClosed(const Status&) override {}
};

// One client replica: a file, an engine on its own thread, and (while
// connected) a mux to the relay with one stream per database.
struct Client {
  std::string path;
  std::unique_ptr<Database> db;
  std::unique_ptr<sync::ThreadExecutor> executor;
  std::unique_ptr<sync::SyncEngine> engine;
  std::unique_ptr<net::ChannelMux> mux;

  explicit Client(std::string p) : path(std::move(p)) {
    db = OpenOrDie(path);
    executor = std::make_unique<sync::ThreadExecutor>();
    engine = std::move(sync::SyncEngine::Create(db.get(), executor.get())).value();
  }
  ~Client() { Stop(); }
  void Stop() {
    mux.reset();  // closes the links: nothing more is posted to the executor
    if (engine) {
      sync::SyncEngine* e = engine.release();
      executor->Post([e] { delete e; });
    }
    executor.reset();
    db.reset();
  }
  Status Put(const std::string& id, Value::Map fields) { return db->Put("bugs", id, Value(std::move(fields))); }
  DatabaseAccess::StateDigest Digest() { return *DatabaseAccess::LiveStateDigest(*db); }
};

class RelayFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    relay_key_ = *GenerateKeyPair();
    for (const char* name : {"alice", "bob", "carol", "dave", "stranger"}) keys_[name] = *GenerateKeyPair();
    for (auto& [name, key] : keys_) relay_trust_.Add(key.public_key, PeerIdentity{name, {}});
    client_trust_.Add(relay_key_.public_key, PeerIdentity{"relay", {}});
    std::filesystem::create_directories(dir_.File("data"));
  }
  void TearDown() override {
    clients_.clear();
    relay_.reset();
    server_connections_.clear();
  }

  std::string KeyHex(const std::string& user) { return PublicKeyToHex(keys_[user].public_key); }

  // The usual file: alice, bob, carol, dave on "bugs"; alice and bob on "notes".
  std::string DefaultAccess() {
    return R"({"users": {"alice": {"keys": [")" + KeyHex("alice") + R"("]}, "bob": {"keys": [")" + KeyHex("bob") +
           R"("]}, "carol": {"keys": [")" + KeyHex("carol") + R"("]}, "dave": {"keys": [")" + KeyHex("dave") +
           R"("]}}, "databases": {"bugs": {"mode": "smart", "users": ["alice", "bob", "carol", "dave"]},
                                  "notes": {"mode": "smart", "users": ["alice", "bob"]},
                                  "secret": {"mode": "smart", "users": ["alice"]}}})";
  }
  void WriteAccess(const std::string& json) {
    std::ofstream(dir_.File("access.json"), std::ios::trunc) << json;
  }
  void StartRelay() {
    if (!std::filesystem::exists(dir_.File("access.json"))) WriteAccess(DefaultAccess());
    net::RelayOptions o;
    o.data_dir = dir_.File("data");
    o.access_path = dir_.File("access.json");
    o.tick_interval = std::chrono::milliseconds(50);
    auto r = net::RelayCore::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    relay_ = std::move(r).value();
  }

  // Connects `user`'s key to the relay over a Unix socket pair: the relay
  // side accepts on a thread of its own, as a server would.
  std::unique_ptr<net::ChannelMux> Connect(const std::string& user, net::ChannelConnectionOptions copts = {}) {
    auto pair = MakeUnixSocketPair();
    EXPECT_TRUE(pair.ok());
    auto [a, b] = std::move(pair).value();
    auto server = std::async(std::launch::async, [this, s = std::move(b)]() mutable {
      ChannelOptions o;
      o.identity = relay_key_;
      o.trust = &relay_trust_;
      o.database = std::string(net::kRelayChannelName);
      auto conn = net::ChannelConnection::Accept(o, std::move(s));
      if (!conn.ok()) return;
      auto handler = relay_->Accept(*conn);
      (*conn)->Start(handler.ok() ? *handler : std::make_shared<NullHandler>());
      std::lock_guard<std::mutex> l(mu_);
      server_connections_.push_back(*conn);
    });
    ChannelOptions o;
    o.identity = keys_[user];
    o.trust = &client_trust_;
    auto mux = net::ChannelMux::Connect(o, std::move(a), copts);
    server.get();
    EXPECT_TRUE(mux.ok()) << mux.status().ToString();
    return mux.ok() ? std::move(mux).value() : nullptr;
  }

  // A client replica named `file` for `user`, connected, with "bugs" open.
  Client* AddClient(const std::string& user, const std::string& file, const std::string& database = "bugs") {
    clients_.push_back(std::make_unique<Client>(dir_.File(file)));
    Client* c = clients_.back().get();
    Attach(c, user, database);
    return c;
  }
  void Attach(Client* c, const std::string& user, const std::string& database = "bugs") {
    c->mux = Connect(user);
    ASSERT_NE(c->mux, nullptr);
    auto link = c->mux->Open(database);
    ASSERT_TRUE(link.ok()) << link.status().ToString();
    c->engine->AddPeer(*link);
  }

  // Every client holds the same state (records, digest, version vector).
  bool Converged(const std::vector<Client*>& cs) {
    for (Client* c : cs) c->engine->Tick();
    auto first = cs[0]->Digest();
    for (Client* c : cs) {
      auto d = c->Digest();
      if (d.hex != first.hex || d.vv != first.vv) return false;
    }
    return true;
  }

  TempDir dir_;
  KeyPair relay_key_;
  std::map<std::string, KeyPair> keys_;
  TrustStore relay_trust_;   // the channel trusts every test key; the access file decides
  TrustStore client_trust_;  // the relay's key, pinned
  std::unique_ptr<net::RelayCore> relay_;
  std::mutex mu_;
  std::vector<std::shared_ptr<net::ChannelConnection>> server_connections_;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_NET_RELAY_FIXTURE_H_
