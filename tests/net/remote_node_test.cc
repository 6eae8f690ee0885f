// remote_node_test.cc — RemoteNode (blaze/remote_node.h) against a relay
// served over WebSocket in this process: catching up, failover past a relay
// that is down, reconnection after the relay restarts, the report and its
// watch callback, and refusals reported as such.
#include "blaze/remote_node.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "net/relay_fixture.h"
#include "net/relay_server.h"

namespace blaze::testing {
namespace {

using namespace std::chrono_literals;

class RemoteNodeTest : public RelayFixture {
 protected:
  void TearDown() override {
    nodes_.clear();
    dbs_.clear();
    if (server_) server_->Stop();
    server_.reset();
    RelayFixture::TearDown();
  }

  void StartServer(uint16_t port = 0, size_t max_connections = 10000) {
    if (!relay_) StartRelay();
    net::PeerServerOptions o;
    o.server.port = port;
    o.server.max_connections = max_connections;
    o.server.retry_after = std::chrono::seconds(60);
    o.channel.identity = relay_key_;
    auto s = net::ServeRelay(relay_.get(), std::move(o));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  std::string Url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()) + "/sync"; }

  Database* NewDb(const std::string& file) {
    dbs_.push_back(OpenOrDie(dir_.File(file)));
    return dbs_.back().get();
  }
  RemoteNodeOptions Options(const std::string& user, std::vector<std::string> relays) {
    RemoteNodeOptions o;
    o.relays = std::move(relays);
    o.identity = keys_[user];
    o.relay_key = relay_key_.public_key;
    o.database = "bugs";
    o.min_backoff = 20ms;
    o.max_backoff = 200ms;
    return o;
  }
  RemoteNode* Start(Database* db, RemoteNodeOptions o) {
    auto n = RemoteNode::Start(db, std::move(o));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) return nullptr;
    nodes_.push_back(std::move(*n));
    return nodes_.back().get();
  }

  std::vector<std::unique_ptr<Database>> dbs_;
  std::vector<std::unique_ptr<RemoteNode>> nodes_;  // destroyed before dbs_
  std::unique_ptr<net::PeerServer> server_;
};

TEST_F(RemoteNodeTest, TwoNodesConvergeThroughTheRelay) {
  StartServer();
  Database* a = NewDb("a.blazedb");
  Database* b = NewDb("b.blazedb");
  ASSERT_TRUE(a->Put("bugs", "a1", Value(Value::Map{{"n", Value(1)}})).ok());
  ASSERT_TRUE(b->Put("bugs", "b1", Value(Value::Map{{"n", Value(2)}})).ok());
  RemoteNode* na = Start(a, Options("alice", {Url()}));
  RemoteNode* nb = Start(b, Options("bob", {Url()}));
  ASSERT_TRUE(na && nb);
  ASSERT_TRUE(Eventually([&] { return a->Get("bugs", "b1").ok() && b->Get("bugs", "a1").ok(); }, 30s));
  ASSERT_TRUE(na->WaitForCatchUp(30s).ok());
  RemoteNodeReport r = na->report();
  EXPECT_EQ(r.active, 0);
  EXPECT_EQ(r.relays[0].state, RelayState::kLive);
  EXPECT_GE(r.changes_sent, 1u);
  // A live change after catch-up travels too.
  ASSERT_TRUE(a->Put("bugs", "a2", Value(Value::Map{{"n", Value(3)}})).ok());
  EXPECT_TRUE(Eventually([&] { return b->Get("bugs", "a2").ok(); }, 30s));
}

TEST_F(RemoteNodeTest, FailsOverPastARelayThatIsDown) {
  StartServer();
  Database* a = NewDb("a.blazedb");
  ASSERT_TRUE(a->Put("bugs", "a1", Value(Value::Map{{"n", Value(1)}})).ok());
  RemoteNode* na = Start(a, Options("alice", {"ws://127.0.0.1:1/sync", Url()}));
  ASSERT_NE(na, nullptr);
  ASSERT_TRUE(na->WaitForCatchUp(30s).ok());
  RemoteNodeReport r = na->report();
  EXPECT_EQ(r.active, 1);
  EXPECT_EQ(r.relays[0].state, RelayState::kDown);
  EXPECT_NE(r.relays[0].last_error.find("127.0.0.1:1"), std::string::npos) << r.relays[0].last_error;
  EXPECT_EQ(r.relays[1].state, RelayState::kLive);
  // What it sent is in the relay's replica: a second client gets it.
  Database* b = NewDb("b.blazedb");
  ASSERT_NE(Start(b, Options("bob", {Url()})), nullptr);
  EXPECT_TRUE(Eventually([&] { return b->Get("bugs", "a1").ok(); }, 30s));
}

TEST_F(RemoteNodeTest, ReconnectsWhenTheRelayComesBackAndTheWatcherSeesIt) {
  StartServer();
  const uint16_t port = server_->port();
  Database* a = NewDb("a.blazedb");
  std::mutex mu;
  std::set<RelayState> seen;
  RemoteNodeOptions o = Options("alice", {Url()});
  o.on_report = [&](const RemoteNodeReport& r) {
    std::lock_guard<std::mutex> l(mu);
    seen.insert(r.relays[0].state);
  };
  RemoteNode* na = Start(a, o);
  ASSERT_NE(na, nullptr);
  ASSERT_TRUE(na->WaitForCatchUp(30s).ok());
  server_->Stop();
  server_.reset();
  ASSERT_TRUE(Eventually([&] { return na->report().relays[0].state == RelayState::kDown; }, 30s));
  ASSERT_TRUE(a->Put("bugs", "offline", Value(Value::Map{{"n", Value(1)}})).ok());
  StartServer(port);
  ASSERT_TRUE(Eventually([&] {
    RemoteNodeReport r = na->report();
    return r.relays[0].connects >= 2 && r.caught_up;
  }, 30s));
  Database* b = NewDb("b.blazedb");
  ASSERT_NE(Start(b, Options("bob", {Url()})), nullptr);
  EXPECT_TRUE(Eventually([&] { return b->Get("bugs", "offline").ok(); }, 30s));
  std::lock_guard<std::mutex> l(mu);
  EXPECT_TRUE(seen.count(RelayState::kConnecting));
  EXPECT_TRUE(seen.count(RelayState::kLive));
  EXPECT_TRUE(seen.count(RelayState::kDown));
}

TEST_F(RemoteNodeTest, RefusalsAreReportedAsPermissionDenied) {
  StartServer();
  Database* a = NewDb("a.blazedb");
  RemoteNode* stranger = Start(a, Options("stranger", {Url()}));
  ASSERT_NE(stranger, nullptr);
  Status s = stranger->WaitForCatchUp(30s);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("untrusted-peer"), std::string::npos) << s.ToString();

  Database* b = NewDb("b.blazedb");
  RemoteNode* forbidden = Start(b, Options("bob", {Url()}));
  ASSERT_NE(forbidden, nullptr);
  ASSERT_TRUE(forbidden->WaitForCatchUp(30s).ok());  // bob may open bugs
  RemoteNodeOptions secret = Options("bob", {Url()});
  secret.database = "secret";
  Database* c = NewDb("c.blazedb");
  RemoteNode* denied = Start(c, secret);
  ASSERT_NE(denied, nullptr);
  s = denied->WaitForCatchUp(30s);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("forbidden"), std::string::npos) << s.ToString();

  RemoteNodeOptions wrong_key = Options("alice", {Url()});
  wrong_key.relay_key = keys_["carol"].public_key;
  Database* d = NewDb("d.blazedb");
  RemoteNode* pinned = Start(d, wrong_key);
  ASSERT_NE(pinned, nullptr);
  EXPECT_EQ(pinned->WaitForCatchUp(30s).code(), StatusCode::kPermissionDenied);
}

// A full relay answers 503 with Retry-After: 60 s. The node waits that long
// rather than its own backoff (at most 200 ms here): however slow the
// machine, it must not try a second time while the test watches.
TEST_F(RemoteNodeTest, AFullRelaysRetryAfterIsHonouredAndStoppingDoesNotWaitForIt) {
  StartServer(0, 1);
  Database* a = NewDb("a.blazedb");
  RemoteNode* na = Start(a, Options("alice", {Url()}));
  ASSERT_NE(na, nullptr);
  ASSERT_TRUE(na->WaitForCatchUp(30s).ok());
  std::mutex mu;
  int attempts = 0;
  RemoteNodeOptions o = Options("bob", {Url()});
  o.on_report = [&](const RemoteNodeReport& r) {
    std::lock_guard<std::mutex> l(mu);
    if (r.relays[0].state == RelayState::kConnecting) ++attempts;
  };
  Database* b = NewDb("b.blazedb");
  auto nb = RemoteNode::Start(b, o);
  ASSERT_TRUE(nb.ok());
  ASSERT_TRUE(Eventually([&] { return (*nb)->report().relays[0].last_error.find("HTTP 503") != std::string::npos; },
                         30s));
  EXPECT_NE((*nb)->report().relays[0].last_error.find("Retry-After: 60"), std::string::npos);
  std::this_thread::sleep_for(1s);  // five times the node's own longest backoff
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(attempts, 1);
  }
  nb->reset();  // returns without waiting out the 60 s
}

TEST_F(RemoteNodeTest, StartRefusesBadOptions) {
  Database* a = NewDb("a.blazedb");
  EXPECT_EQ(RemoteNode::Start(a, Options("alice", {})).status().code(), StatusCode::kInvalidArgument);
  RemoteNodeOptions o = Options("alice", {"ws://127.0.0.1:1/sync"});
  o.database.clear();
  EXPECT_EQ(RemoteNode::Start(a, o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blaze::testing
