// websocket_stream_test.cc — the WebSocket byte streams (blaze/net.h,
// net/websocket_listener.h): a SecureChannel over them on loopback, one frame
// per WebSocket message, and what a malformed or misbehaving client gets —
// each time the server is unaffected and serves the next client.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "blaze/net.h"
#include "blaze/secure_channel.h"
#include "net/websocket_listener.h"
#include "support/channel_fixture.h"
#include "support/raw_ws_client.h"

namespace blaze {
namespace {

using namespace std::chrono_literals;
using testing::MakeParties;
using testing::Party;
using testing::PlainFrame;
using testing::RawTcpClient;

std::unique_ptr<net::WebSocketListener> StartListener() {
  net::ServerOptions o;
  o.handshake_deadline = 5000ms;
  auto l = net::WebSocketListener::Listen(o);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  return l.ok() ? std::move(*l) : nullptr;
}

// Opens a SecureChannel pair over a WebSocket connection to `listener`.
testing::OpenedPair OpenOverWebSocket(net::WebSocketListener* listener, const Party& c, const Party& s) {
  testing::OpenedPair out;
  std::thread t([&] {
    auto stream = ConnectWebSocket(listener->url(), 3000ms);
    if (!stream.ok()) {
      out.client = stream.status();
      return;
    }
    out.client = SecureChannel::Connect(c.options, std::move(*stream));
  });
  auto accepted = listener->Accept(3000ms);
  if (accepted.ok()) {
    out.server = SecureChannel::Accept(s.options, std::move(*accepted));
  } else {
    out.server = accepted.status();
  }
  t.join();
  return out;
}

// A client still gets a working channel (the server was not harmed by what came before).
void ExpectServesNextClient(net::WebSocketListener* listener) {
  Party c, s;
  MakeParties(&c, &s);
  auto pair = OpenOverWebSocket(listener, c, s);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status().ToString();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status().ToString();
  ASSERT_TRUE((*pair.client)->Send(1, "still here?").ok());
  auto m = (*pair.server)->Receive(3000ms);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, "still here?");
}

TEST(WebSocketStreamTest, SecureChannelRunsOverWebSocketBothWaysWithFragmentedMessages) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  Party c, s;
  MakeParties(&c, &s);
  auto pair = OpenOverWebSocket(listener.get(), c, s);
  ASSERT_TRUE(pair.client.ok()) << pair.client.status().ToString();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status().ToString();
  auto& client = *pair.client;
  auto& server = *pair.server;
  EXPECT_EQ(server->peer().identity.name, "alice");
  EXPECT_EQ(client->handshake_hash(), server->handshake_hash());

  ASSERT_TRUE(client->Send(7, "hello relay").ok());
  auto m = server->Receive(3000ms);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->stream, 7);
  EXPECT_EQ(m->body, "hello relay");

  // 1 MiB: 17 frames written by one Write, each its own WebSocket message.
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 3);
  for (auto* from : {&client, &server}) {
    auto* to = from == &client ? &server : &client;
    std::thread sender([&] { ASSERT_TRUE((*from)->Send(2, big).ok()); });
    auto r = (*to)->Receive(5000ms);
    sender.join();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->stream, 2);
    EXPECT_EQ(r->body, big);
  }
  EXPECT_EQ(server->stats().frames_received, 1u + 17u);

  // Closing one side ends the other's receive.
  client->Close();
  auto end = server->Receive(3000ms);
  EXPECT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), StatusCode::kAborted) << end.status().ToString();
}

TEST(WebSocketStreamTest, WritesAreSplitAndGatheredOnFrameBoundaries) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  auto client = ConnectWebSocket(listener->url(), 3000ms);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto server = listener->Accept(3000ms);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  // Two frames in one write, then one frame in three pieces.
  std::string two = PlainFrame(0x10, "first") + PlainFrame(0x10, "second");
  ASSERT_TRUE((*client)->Write(two).ok());
  std::string third = PlainFrame(0x10, std::string(1000, 'x'));
  ASSERT_TRUE((*client)->Write(third.substr(0, 3)).ok());
  ASSERT_TRUE((*client)->Write(third.substr(3, 500)).ok());
  ASSERT_TRUE((*client)->Write(third.substr(503)).ok());
  std::string got;
  char buf[65536];
  while (got.size() < two.size() + third.size()) {
    auto n = (*server)->Read(buf, sizeof(buf), 3000ms);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_GT(*n, 0u);
    got.append(buf, *n);
  }
  EXPECT_EQ(got, two + third);
}

// A process the app starts (fork and exec) must not inherit the connections:
// it would hold them open after the app closed them. Every socket here, the
// listening one, the client's and the accepted one, is close-on-exec.
TEST(WebSocketStreamTest, SocketsAreNotInheritedByChildProcesses) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  auto client = ConnectWebSocket(listener->url(), 3000ms);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto server = listener->Accept(3000ms);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  int sockets = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(e.path().filename().c_str());
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    ++sockets;
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "socket descriptor " << fd << " is inherited across exec";
  }
  EXPECT_GE(sockets, 3);  // listening, client, accepted
}

TEST(WebSocketStreamTest, GarbageInsteadOfAnUpgradeGetsA400AndTheServerGoesOn) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  RawTcpClient raw(listener->port());
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw.Send(std::string("\x16\x03\x01\x02\x00garbage\r\n\r\n", 16)));
  std::string answer = raw.ReadUntilClosed(5000ms);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer;
  EXPECT_TRUE(raw.saw_close());
  ExpectServesNextClient(listener.get());
}

TEST(WebSocketStreamTest, UpgradeOnAnotherPathIsA404) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  WebSocketRefusal refusal;
  auto stream = ConnectWebSocket("ws://127.0.0.1:" + std::to_string(listener->port()) + "/elsewhere", 3000ms, &refusal);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), StatusCode::kNotFound) << stream.status().ToString();
  EXPECT_EQ(refusal.http_status, 404);
  // A plain GET of an unknown path too.
  RawTcpClient raw(listener->port());
  ASSERT_TRUE(raw.Send("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(raw.ReadUntilClosed(5000ms).substr(0, 12), "HTTP/1.1 404");
  ExpectServesNextClient(listener.get());
}

// A message that breaks the binding fails the accepted stream's read with a
// protocol error, and the server serves the next client.
void ExpectMessageRefused(uint8_t opcode, const std::string& payload, const std::string& expected) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  RawTcpClient raw(listener->port());
  ASSERT_TRUE(raw.ok());
  std::string head = raw.Upgrade("/sync");
  ASSERT_EQ(head.substr(0, 12), "HTTP/1.1 101") << head;
  auto server = listener->Accept(3000ms);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE(raw.SendMessage(opcode, payload));
  char buf[100];
  auto n = (*server)->Read(buf, sizeof(buf), 3000ms);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kCorruption) << n.status().ToString();
  EXPECT_NE(n.status().message().find(expected), std::string::npos) << n.status().ToString();
  raw.ReadUntilClosed(5000ms);
  EXPECT_TRUE(raw.saw_close());  // the server closed the connection
  ExpectServesNextClient(listener.get());
}

TEST(WebSocketStreamTest, TextMessageFailsTheStream) { ExpectMessageRefused(1, PlainFrame(0x10, "hi"), "text"); }

TEST(WebSocketStreamTest, MessageLargerThanOneFrameFailsTheStream) {
  ExpectMessageRefused(2, std::string(7 + 65535 + 1, '\x01'), "larger than one frame");
}

TEST(WebSocketStreamTest, MessageHoldingTwoFramesFailsTheStream) {
  ExpectMessageRefused(2, PlainFrame(0x10, "a") + PlainFrame(0x10, "b"), "not exactly one frame");
}

TEST(WebSocketStreamTest, MessageShorterThanItsHeaderSaysFailsTheStream) {
  ExpectMessageRefused(2, PlainFrame(0x10, "abc").substr(0, 9), "not exactly one frame");
}

TEST(WebSocketStreamTest, WriteTimesOutWhenThePeerStopsReading) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  auto client = ConnectWebSocket(listener->url(), 3000ms);  // never reads
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto server = listener->Accept(3000ms);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  (*server)->SetWriteTimeout(200ms);
  const std::string frame = PlainFrame(0x10, std::string(65535, 'z'));
  Status s;
  for (int i = 0; i < 20000 && s.ok(); ++i) s = (*server)->Write(frame);  // at most 1.3 GB
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find("timed out"), std::string::npos) << s.ToString();
  // The stream is unusable; its owner closes it (byte_stream.h).
  EXPECT_FALSE((*server)->Write(PlainFrame(0x10, "x")).ok());
  (*server)->Close();
  ExpectServesNextClient(listener.get());
}

TEST(WebSocketStreamTest, CloseFromAnotherThreadWakesABlockedRead) {
  auto listener = StartListener();
  ASSERT_NE(listener, nullptr);
  auto client = ConnectWebSocket(listener->url(), 3000ms);
  ASSERT_TRUE(client.ok());
  auto server = listener->Accept(3000ms);
  ASSERT_TRUE(server.ok());
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    (*client)->Close();
  });
  char buf[10];
  auto n = (*client)->Read(buf, sizeof(buf), 60000ms);
  closer.join();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0u);  // end of stream, long before the minute
  // The peer sees the end of the stream too.
  auto m = (*server)->Read(buf, sizeof(buf), 5000ms);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, 0u);
}

TEST(WebSocketStreamTest, MalformedUrlsAreRefused) {
  EXPECT_EQ(ConnectWebSocket("http://127.0.0.1:1/sync", 100ms).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectWebSocket("wss://127.0.0.1:1/sync", 100ms).status().code(), StatusCode::kNotSupported);
  EXPECT_EQ(ConnectWebSocket("ws://:1/sync", 100ms).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectWebSocket("ws://127.0.0.1:x/sync", 100ms).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace blaze
