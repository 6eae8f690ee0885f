// relay_websocket_test.cc — the relay core served over WebSocket by the async
// network server (net/relay_server.h), clients connecting with
// ConnectWebSocket and a ChannelMux: convergence end to end, and a key the
// access file does not list refused in the handshake.
#include <gtest/gtest.h>

#include "blaze/net.h"
#include "net/relay_fixture.h"
#include "net/relay_server.h"

namespace blaze::testing {
namespace {

using namespace std::chrono_literals;

class RelayWebSocketTest : public RelayFixture {
 protected:
  void TearDown() override {
    clients_.clear();
    if (server_) server_->Stop();  // the core outlives the server
    server_.reset();
    RelayFixture::TearDown();
  }

  void StartServer() {
    StartRelay();
    net::PeerServerOptions o;
    o.channel.identity = relay_key_;
    o.channel.node_name = "relay";
    auto s = net::ServeRelay(relay_.get(), std::move(o));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  std::string Url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()) + "/sync"; }

  Result<std::unique_ptr<net::ChannelMux>> ConnectWs(const std::string& user) {
    BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<ByteStream> stream, ConnectWebSocket(Url(), 5000ms));
    ChannelOptions o;
    o.identity = keys_[user];
    o.trust = &client_trust_;
    return net::ChannelMux::Connect(o, std::move(stream));
  }

  Client* AddWsClient(const std::string& user, const std::string& file) {
    clients_.push_back(std::make_unique<Client>(dir_.File(file)));
    Client* c = clients_.back().get();
    auto mux = ConnectWs(user);
    EXPECT_TRUE(mux.ok()) << mux.status().ToString();
    if (!mux.ok()) return nullptr;
    c->mux = std::move(*mux);
    auto link = c->mux->Open("bugs");
    EXPECT_TRUE(link.ok()) << link.status().ToString();
    if (!link.ok()) return nullptr;
    c->engine->AddPeer(*link);
    return c;
  }

  std::unique_ptr<net::PeerServer> server_;
};

TEST_F(RelayWebSocketTest, ClientsConvergeThroughTheRelayOverWebSocket) {
  StartServer();
  Client* a = AddWsClient("alice", "a.blazedb");
  Client* b = AddWsClient("bob", "b.blazedb");
  ASSERT_TRUE(a != nullptr && b != nullptr);
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(a->Put("a" + std::to_string(i), {{"n", Value(i)}}).ok());
    ASSERT_TRUE(b->Put("b" + std::to_string(i), {{"n", Value(i)}}).ok());
  }
  ASSERT_TRUE(a->Put("shared", {{"last", Value("a")}}).ok());
  ASSERT_TRUE(b->Put("shared", {{"last", Value("b")}}).ok());
  ASSERT_TRUE(Eventually([&] { return Converged({a, b}); }, std::chrono::seconds(30)));
  EXPECT_EQ(a->Digest().records, 61u);
  EXPECT_EQ(server_->stats().handshakes_ok, 2u);
  EXPECT_EQ(server_->connections(), 2u);
}

TEST_F(RelayWebSocketTest, AKeyTheAccessFileDoesNotListIsRefusedInTheHandshake) {
  StartServer();
  auto mux = ConnectWs("stranger");  // trusted by nobody's access file
  ASSERT_FALSE(mux.ok());
  EXPECT_NE(mux.status().message().find("untrusted-peer"), std::string::npos) << mux.status().ToString();
  EXPECT_EQ(server_->stats().handshakes_ok, 0u);
  EXPECT_NE(AddWsClient("alice", "a.blazedb"), nullptr);  // others are served
}

}  // namespace
}  // namespace blaze::testing
