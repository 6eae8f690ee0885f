// peer_server_test.cc — the relay's async network server (net/peer_connection.h):
// a blocking SecureChannel client over WebSocket talking to it, HTTP routes on
// the same port, half-open connections closed at the deadline while a real
// client is served, the connection limit (503 + Retry-After), a client that
// never reads (disconnected, others unaffected) and an unknown key.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "blaze/net.h"
#include "blaze/secure_channel.h"
#include "net/peer_connection.h"
#include "support/channel_fixture.h"
#include "support/raw_ws_client.h"

namespace blaze {
namespace {

using namespace std::chrono_literals;
using testing::RawTcpClient;

// Echoes every message back on its stream; "flood" makes the server push
// until the connection fails; records how sessions ended.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Status> closed;
  std::vector<std::shared_ptr<net::PeerConnection>> flooded;
  std::atomic<int> sessions{0};
  std::atomic<int> after_close{0};  // messages a session heard after it called Close

  bool WaitClosed(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return closed.size() >= n; });
  }
};

class EchoSession final : public net::PeerSession {
 public:
  EchoSession(std::shared_ptr<net::PeerConnection> conn, Recorder* rec) : conn_(std::move(conn)), rec_(rec) {}
  void OnMessage(uint16_t stream, std::string body) override {
    if (closed_) rec_->after_close++;
    if (body == "close-me") {
      closed_ = true;
      conn_->Close(Status::PermissionDenied("go away"));
      return;
    }
    if (body == "flood") {
      std::lock_guard<std::mutex> lock(rec_->mu);
      rec_->flooded.push_back(conn_);
      rec_->cv.notify_all();
      return;
    }
    conn_->Send(stream, std::move(body)).IgnoreError();
  }
  void OnClosed(const Status& why) override {
    std::lock_guard<std::mutex> lock(rec_->mu);
    rec_->closed.push_back(why);
    rec_->cv.notify_all();
  }

 private:
  std::shared_ptr<net::PeerConnection> conn_;
  Recorder* rec_;
  bool closed_ = false;
};

class PeerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.keys = *GenerateKeyPair();
    relay_keys_ = *GenerateKeyPair();
    client_.trust.Add(relay_keys_.public_key, {"relay", {}});
    client_.options.identity = client_.keys;
    client_.options.trust = &client_.trust;
    client_.options.database = "relay";
    client_.options.node_name = "alice-laptop";
    client_.options.handshake_timeout = 5000ms;
  }

  void StartServer(std::function<void(net::PeerServerOptions*)> tweak = nullptr) {
    net::PeerServerOptions o;
    o.server.handshake_deadline = 5000ms;
    o.server.max_send_queue = 2 << 20;  // room for a 1 MiB message
    o.channel.identity = relay_keys_;
    o.channel.database = "relay";
    o.channel.node_name = "relay-1";
    const PublicKey allowed = client_.keys.public_key;
    o.authorize = [allowed](const PublicKey& key) -> std::optional<PeerIdentity> {
      if (key == allowed) return PeerIdentity{"alice", {"writer"}};
      return std::nullopt;
    };
    o.http = [](std::string_view target) -> std::optional<net::HttpResponse> {
      if (target == "/health") return net::HttpResponse{200, "application/json", "{\"status\":\"ok\"}"};
      return std::nullopt;
    };
    if (tweak) tweak(&o);
    auto s = net::PeerServer::Start(std::move(o), [this](std::shared_ptr<net::PeerConnection> c) {
      rec_.sessions++;
      return std::make_unique<EchoSession>(std::move(c), &rec_);
    });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }

  std::string Url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()) + "/sync"; }

  Result<std::unique_ptr<SecureChannel>> Connect(const ChannelOptions& options, WebSocketRefusal* refusal = nullptr) {
    BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<ByteStream> stream, ConnectWebSocket(Url(), 5000ms, refusal));
    return SecureChannel::Connect(options, std::move(stream));
  }

  // A fresh client is served: its message comes back.
  void ExpectEcho(const std::string& body = "ping?") {
    auto ch = Connect(client_.options);
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    ASSERT_TRUE((*ch)->Send(9, body).ok());
    auto m = (*ch)->Receive(10000ms);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->stream, 9);
    EXPECT_EQ(m->body, body);
  }

  testing::Party client_;
  KeyPair relay_keys_;
  Recorder rec_;
  std::unique_ptr<net::PeerServer> server_;
};

TEST_F(PeerServerTest, BlockingSecureChannelClientTalksToTheAsyncServer) {
  StartServer();
  auto ch = Connect(client_.options);
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  EXPECT_EQ((*ch)->peer().static_key, relay_keys_.public_key);
  EXPECT_EQ((*ch)->peer().hello_identity, "relay-1");
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*ch)->Send(static_cast<uint16_t>(i), "message " + std::to_string(i)).ok());
  }
  for (int i = 0; i < 100; ++i) {
    auto m = (*ch)->Receive(5000ms);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->stream, i);
    EXPECT_EQ(m->body, "message " + std::to_string(i));
  }
  // 1 MiB each way, fragmented into 17 frames.
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 1);
  ASSERT_TRUE((*ch)->Send(3, big).ok());
  auto m = (*ch)->Receive(10000ms);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, big);
  EXPECT_EQ(server_->stats().handshakes_ok, 1u);
  EXPECT_EQ(server_->connections(), 1u);

  // The client's close reaches the session.
  (*ch)->Close();
  ASSERT_TRUE(rec_.WaitClosed(1, 10000ms));
  EXPECT_EQ(rec_.closed[0].code(), StatusCode::kAborted) << rec_.closed[0].ToString();
}

TEST_F(PeerServerTest, HttpRoutesShareThePort) {
  StartServer();
  RawTcpClient health(server_->port());
  ASSERT_TRUE(health.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string answer = health.ReadUntilClosed(5000ms);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer;
  EXPECT_NE(answer.find("{\"status\":\"ok\"}"), std::string::npos) << answer;
  EXPECT_NE(answer.find("application/json"), std::string::npos) << answer;
  RawTcpClient other(server_->port());
  ASSERT_TRUE(other.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));  // the callback has no /metrics
  EXPECT_EQ(other.ReadUntilClosed(5000ms).substr(0, 12), "HTTP/1.1 404");
  RawTcpClient plain(server_->port());
  ASSERT_TRUE(plain.Send("GET /sync HTTP/1.1\r\nHost: x\r\n\r\n"));  // no upgrade
  EXPECT_EQ(plain.ReadUntilClosed(5000ms).substr(0, 12), "HTTP/1.1 426");
  ExpectEcho();
}

TEST_F(PeerServerTest, HalfOpenConnectionsAreClosedAtTheDeadlineWhileARealClientIsServed) {
  StartServer([](net::PeerServerOptions* o) { o->server.handshake_deadline = 1500ms; });
  std::vector<std::unique_ptr<RawTcpClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<RawTcpClient>(server_->port()));
    ASSERT_TRUE(idle.back()->ok()) << "connection " << i;
  }
  // Upgraded but silent (no Noise message) counts as half-open too.
  RawTcpClient upgraded(server_->port());
  ASSERT_EQ(upgraded.Upgrade("/sync").substr(0, 12), "HTTP/1.1 101");

  ExpectEcho();  // served while the thousand wait

  for (size_t i = 0; i < idle.size(); ++i) {
    std::string got = idle[i]->ReadUntilClosed(60000ms);
    ASSERT_TRUE(idle[i]->saw_close()) << "connection " << i << " still open";
    EXPECT_EQ(got, "") << "connection " << i;
  }
  upgraded.ReadUntilClosed(60000ms);
  EXPECT_TRUE(upgraded.saw_close());
  // Counted just after the socket closed.
  for (int i = 0; i < 1000 && server_->stats().handshakes_failed == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->stats().handshakes_failed, 1u);
  ExpectEcho();
}

TEST_F(PeerServerTest, ConnectionsNotYetUpgradedAreBoundedAndTheExtraOnesClosedAtOnce) {
  StartServer([](net::PeerServerOptions* o) { o->server.max_pending = 10; });
  std::vector<std::unique_ptr<RawTcpClient>> idle;
  for (int i = 0; i < 10; ++i) idle.push_back(std::make_unique<RawTcpClient>(server_->port()));
  // The server counts them as it accepts them; wait for that (bounded).
  RawTcpClient extra(server_->port());
  ASSERT_TRUE(extra.ok());
  std::string got = extra.ReadUntilClosed(30000ms);
  EXPECT_TRUE(extra.saw_close()) << "an eleventh connection was kept";
  EXPECT_EQ(got, "");
  idle.clear();  // they go; the server serves again
  Result<std::unique_ptr<SecureChannel>> ch = Status::Internal("not tried");
  for (int i = 0; i < 200 && !ch.ok(); ++i) {
    ch = Connect(client_.options);
    if (!ch.ok()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
}

TEST_F(PeerServerTest, OverTheConnectionLimitTheUpgradeGets503WithRetryAfter) {
  StartServer([](net::PeerServerOptions* o) {
    o->server.max_connections = 2;
    o->server.retry_after = std::chrono::seconds(7);
  });
  auto a = Connect(client_.options);
  auto b = Connect(client_.options);
  ASSERT_TRUE(a.ok() && b.ok());
  WebSocketRefusal refusal;
  auto c = Connect(client_.options, &refusal);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kBusy) << c.status().ToString();
  EXPECT_EQ(refusal.http_status, 503);
  EXPECT_EQ(refusal.retry_after, std::chrono::seconds(7));
  // A slot freed is a slot offered again.
  (*a)->Close();
  ASSERT_TRUE(rec_.WaitClosed(1, 10000ms));
  Result<std::unique_ptr<SecureChannel>> d = Status::Internal("not tried");
  for (int i = 0; i < 200 && !d.ok(); ++i) {
    d = Connect(client_.options);
    if (!d.ok()) std::this_thread::sleep_for(10ms);  // the server frees the slot as the socket closes
  }
  EXPECT_TRUE(d.ok()) << d.status().ToString();
}

TEST_F(PeerServerTest, AClientThatNeverReadsIsDisconnectedAndOthersAreUnaffected) {
  StartServer();
  auto slow = Connect(client_.options);
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  ASSERT_TRUE((*slow)->Send(1, "flood").ok());
  std::shared_ptr<net::PeerConnection> conn;
  {
    std::unique_lock<std::mutex> lock(rec_.mu);
    ASSERT_TRUE(rec_.cv.wait_for(lock, 10000ms, [&] { return !rec_.flooded.empty(); }));
    conn = rec_.flooded[0];
  }
  // Push from another thread until the bounded queue refuses (the client never reads).
  Status pushed;
  const std::string chunk(60000, 'p');
  for (int i = 0; i < 100000 && pushed.ok(); ++i) pushed = conn->Send(2, chunk);
  EXPECT_EQ(pushed.code(), StatusCode::kBusy) << pushed.ToString();
  ASSERT_TRUE(rec_.WaitClosed(1, 10000ms));
  EXPECT_EQ(rec_.closed[0].code(), StatusCode::kBusy) << rec_.closed[0].ToString();
  EXPECT_GE(server_->stats().send_queue_overflows, 1u);
  ExpectEcho();
}

TEST_F(PeerServerTest, UnknownKeyGetsUntrustedPeerAndNothingElse) {
  StartServer();
  testing::Party stranger;
  stranger.keys = *GenerateKeyPair();
  stranger.trust.Add(relay_keys_.public_key, {"relay", {}});
  stranger.options = client_.options;
  stranger.options.identity = stranger.keys;
  stranger.options.trust = &stranger.trust;
  auto ch = Connect(stranger.options);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().code(), StatusCode::kFailedPrecondition) << ch.status().ToString();
  EXPECT_NE(ch.status().message().find("untrusted-peer"), std::string::npos) << ch.status().ToString();
  EXPECT_EQ(rec_.sessions.load(), 0);
  EXPECT_EQ(server_->stats().handshakes_failed, 1u);
  ExpectEcho();
}

// Forwards the first `keep` frames written, then swallows the rest (a
// client that sends the start of a fragmented message and never the end).
class CutStream final : public ByteStream {
 public:
  CutStream(std::unique_ptr<ByteStream> inner, std::atomic<int>* keep) : inner_(std::move(inner)), keep_(keep) {}
  Status Write(std::string_view bytes) override {
    std::string pass;
    while (bytes.size() >= 7) {
      const size_t size = 7 + ((static_cast<size_t>(static_cast<uint8_t>(bytes[5])) << 8) | static_cast<uint8_t>(bytes[6]));
      if (keep_->fetch_sub(1) > 0) pass.append(bytes.substr(0, size));
      bytes.remove_prefix(std::min(size, bytes.size()));
    }
    return pass.empty() ? Status::Ok() : inner_->Write(pass);
  }
  void SetWriteTimeout(std::chrono::milliseconds t) override { inner_->SetWriteTimeout(t); }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    return inner_->Read(out, max, timeout);
  }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<ByteStream> inner_;
  std::atomic<int>* keep_;
};

TEST_F(PeerServerTest, AMessageLeftUnfinishedPastThePartialTimeoutClosesTheConnection) {
  StartServer([](net::PeerServerOptions* o) { o->channel.partial_message_timeout = 300ms; });
  std::atomic<int> keep{1 << 30};
  auto stream = ConnectWebSocket(Url(), 5000ms);
  ASSERT_TRUE(stream.ok());
  auto ch = SecureChannel::Connect(client_.options, std::make_unique<CutStream>(std::move(*stream), &keep));
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  // Whole fragmented messages are fine, however many.
  const std::string big(200000, 'f');  // 4 frames
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*ch)->Send(1, big).ok());
    auto m = (*ch)->Receive(10000ms);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->body.size(), big.size());
  }
  keep = 1;  // the first frame of the next message only
  ASSERT_TRUE((*ch)->Send(1, big).ok());
  ASSERT_TRUE(rec_.WaitClosed(1, 10000ms));
  EXPECT_EQ(rec_.closed[0].code(), StatusCode::kAborted) << rec_.closed[0].ToString();
  EXPECT_NE(rec_.closed[0].message().find("unfinished"), std::string::npos) << rec_.closed[0].ToString();
  auto end = (*ch)->Receive(10000ms);
  EXPECT_FALSE(end.ok());
  ExpectEcho();
}

TEST_F(PeerServerTest, AfterCloseTheSessionHearsOnlyOnClosed) {
  StartServer();
  auto ch = Connect(client_.options);
  ASSERT_TRUE(ch.ok());
  ASSERT_TRUE((*ch)->Send(1, "close-me").ok());
  for (int i = 0; i < 50; ++i) (*ch)->Send(1, "more").IgnoreError();  // may fail once the server closed
  auto end = (*ch)->Receive(5000ms);
  ASSERT_FALSE(end.ok());
  EXPECT_NE(end.status().message().find("permission-denied: go away"), std::string::npos) << end.status().ToString();
  ASSERT_TRUE(rec_.WaitClosed(1, 10000ms));
  EXPECT_EQ(rec_.closed[0].code(), StatusCode::kPermissionDenied) << rec_.closed[0].ToString();
  EXPECT_EQ(rec_.after_close.load(), 0);
}

TEST_F(PeerServerTest, ShutdownTellsEveryClientWhyAndStopsAccepting) {
  StartServer();
  auto a = Connect(client_.options);
  auto b = Connect(client_.options);
  ASSERT_TRUE(a.ok() && b.ok());
  // Both are authenticated once an echo came back.
  for (auto* ch : {&*a, &*b}) {
    ASSERT_TRUE((*ch)->Send(1, "up?").ok());
    ASSERT_TRUE((*ch)->Receive(5000ms).ok());
  }
  const std::string url = Url();
  server_->Shutdown(Status::Aborted("relay shutting down"), 5000ms);
  for (auto* ch : {&*a, &*b}) {
    auto end = (*ch)->Receive(5000ms);
    ASSERT_FALSE(end.ok());
    EXPECT_NE(end.status().message().find("closed: relay shutting down"), std::string::npos) << end.status().ToString();
  }
  EXPECT_EQ(rec_.closed.size(), 2u);  // Shutdown returned after the sessions heard OnClosed
  EXPECT_EQ(server_->connections(), 0u);
  EXPECT_FALSE(ConnectWebSocket(url, 2000ms).ok());
}

TEST_F(PeerServerTest, ServerCloseSendsTheReasonAsAnErrorFrame) {
  StartServer();
  auto ch = Connect(client_.options);
  ASSERT_TRUE(ch.ok());
  ASSERT_TRUE((*ch)->Send(1, "flood").ok());  // hands us the connection
  std::shared_ptr<net::PeerConnection> conn;
  {
    std::unique_lock<std::mutex> lock(rec_.mu);
    ASSERT_TRUE(rec_.cv.wait_for(lock, 10000ms, [&] { return !rec_.flooded.empty(); }));
    conn = rec_.flooded[0];
  }
  ASSERT_TRUE(conn->Send(4, "last words follow").ok());
  conn->CloseWithError("database-not-allowed", "alice may not open secrets");
  auto m = (*ch)->Receive(5000ms);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, "last words follow");
  auto end = (*ch)->Receive(5000ms);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(end.status().message().find("database-not-allowed: alice may not open secrets"), std::string::npos)
      << end.status().ToString();
  EXPECT_FALSE(conn->Send(1, "after close").ok());
}

}  // namespace
}  // namespace blaze
