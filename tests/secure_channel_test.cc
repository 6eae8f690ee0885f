// secure_channel_test.cc — SecureChannel over in-memory and Unix socket
// streams: the happy paths, authorization, and every attack the issue lists
// (tampering, replay, reordering, truncation, frame after a failed
// decryption, wrong key, downgrade, rekeying, oversize messages, timeout).
#include "blaze/secure_channel.h"

#include <gtest/gtest.h>

#include "protocol/hello.h"
#include "support/channel_fixture.h"
#include "support/fakes.h"

namespace blaze {
namespace {

using namespace std::chrono_literals;
using testing::MakeParties;
using testing::OpenPair;
using testing::Party;
using testing::TapStream;

TEST(SecureChannelTest, HandshakeAuthenticatesBothSidesOverMemoryStreams) {
  Party c, s;
  MakeParties(&c, &s);
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok()) << pair.client.status().ToString();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status().ToString();
  auto& client = *pair.client;
  auto& server = *pair.server;
  EXPECT_EQ(client->peer().static_key, s.keys.public_key);
  EXPECT_EQ(server->peer().static_key, c.keys.public_key);
  EXPECT_EQ(server->peer().identity.name, "alice");
  EXPECT_EQ(server->peer().identity.roles, (std::vector<std::string>{"reader", "writer"}));
  EXPECT_EQ(server->peer().hello_identity, "alice-laptop");
  EXPECT_EQ(client->peer().hello_identity, "relay-1");
  EXPECT_EQ(client->handshake_hash(), server->handshake_hash());

  ASSERT_TRUE(client->Send(3, "hello server").ok());
  auto m = server->Receive(1s);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->stream, 3);
  EXPECT_EQ(m->body, "hello server");
  ASSERT_TRUE(server->Send(4, "").ok());
  auto r = client->Receive(1s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stream, 4);
  EXPECT_EQ(r->body, "");
}

TEST(SecureChannelTest, WorksOverUnixSocketsWithLargeFragmentedMessages) {
  Party c, s;
  MakeParties(&c, &s);
  testing::TempDir dir;
  std::string path = dir.File("sock");
  auto listener = UnixListener::Listen(path);
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  Result<std::unique_ptr<SecureChannel>> client = Status::Internal("not run");
  std::thread t([&] {
    auto stream = ConnectUnixSocket(path);
    ASSERT_TRUE(stream.ok());
    client = SecureChannel::Connect(c.options, std::move(*stream));
  });
  auto accepted = (*listener)->Accept(3000ms);
  ASSERT_TRUE(accepted.ok());
  auto server = SecureChannel::Accept(s.options, std::move(*accepted));
  t.join();
  ASSERT_TRUE(server.ok() && client.ok());
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  std::thread sender([&] { ASSERT_TRUE((*client)->Send(1, big).ok()); });
  auto m = (*server)->Receive(3000ms);
  sender.join();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, big);
  EXPECT_EQ((*server)->stats().frames_received, 5u);  // 300000 bytes in pieces of 65519
}

TEST(SecureChannelTest, UnknownInitiatorKeyGetsAnErrorAndNothingElse) {
  Party c, s;
  MakeParties(&c, &s);
  s.trust.Remove(c.keys.public_key);
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_FALSE(pair.server.ok());
  EXPECT_EQ(pair.server.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_FALSE(pair.client.ok());
  EXPECT_NE(pair.client.status().message().find("untrusted-peer"), std::string::npos)
      << pair.client.status().ToString();
}

TEST(SecureChannelTest, WrongResponderStaticKeyIsRefusedByTheInitiator) {
  Party c, s;
  MakeParties(&c, &s);
  // The server presents a key the client does not trust (an impostor).
  s.options.identity = *GenerateKeyPair();
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_FALSE(pair.client.ok());
  EXPECT_NE(pair.client.status().message().find("not in the trust store"), std::string::npos);
  ASSERT_FALSE(pair.server.ok());
  EXPECT_NE(pair.server.status().message().find("untrusted-peer"), std::string::npos);
}

TEST(SecureChannelTest, DatabaseMixUpFailsTheHandshake) {
  Party c, s;
  MakeParties(&c, &s);
  s.options.database = "other.blazedb";
  std::string log;
  s.options.log = [&](std::string_view m) { log = std::string(m); };
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  EXPECT_FALSE(pair.client.ok());
  EXPECT_FALSE(pair.server.ok());
  EXPECT_NE(log.find("handshake failed"), std::string::npos);
}

TEST(SecureChannelVersionTest, DifferentListsAgreeOnTheHighestCommonVersion) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.versions = {3, 1, 2};  // any order
  s.options.versions = {2, 5, 3};
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok()) << pair.client.status().ToString();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status().ToString();
  auto& client = *pair.client;
  auto& server = *pair.server;
  EXPECT_EQ(client->peer().version, 3);
  EXPECT_EQ(server->peer().version, 3);
  EXPECT_EQ(client->peer().versions, (std::vector<uint8_t>{2, 3, 5}));
  EXPECT_EQ(server->peer().versions, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(client->handshake_hash(), server->handshake_hash());
  ASSERT_TRUE(client->Send(1, "v3").ok());
  auto m = server->Receive(1s);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, "v3");
}

TEST(SecureChannelVersionTest, SameSingleVersionIsChosen) {
  Party c, s;
  MakeParties(&c, &s);
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  EXPECT_EQ((*pair.client)->peer().version, 1);
  EXPECT_EQ((*pair.server)->peer().version, 1);
}

TEST(SecureChannelVersionTest, NoCommonVersionFailsBothSidesWithAClearError) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.versions = {1, 2};
  s.options.versions = {3, 4};
  std::string log;
  s.options.log = [&](std::string_view m) { log = std::string(m); };
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_FALSE(pair.client.ok());
  ASSERT_FALSE(pair.server.ok());
  EXPECT_EQ(pair.client.status().code(), StatusCode::kNotSupported) << pair.client.status().ToString();
  EXPECT_EQ(pair.server.status().code(), StatusCode::kNotSupported) << pair.server.status().ToString();
  EXPECT_NE(pair.client.status().message().find("no common protocol version"), std::string::npos);
  // The responder's own log has the detail; the initiator was not told the responder's versions.
  EXPECT_NE(log.find("offered [1, 2], we support [3, 4]"), std::string::npos) << log;
  EXPECT_EQ(pair.client.status().message().find("[3, 4]"), std::string::npos);
}

TEST(SecureChannelVersionTest, NoCommonVersionRevealsOnlyTheErrorCode) {
  Party c, s;
  MakeParties(&c, &s);
  s.options.versions = {1};
  auto [a, b] = MakeMemoryStreamPair();
  // A hand-made first message: a valid ephemeral key, then an offer of [7, 8].
  KeyPair e = *GenerateKeyPair();
  std::string frame = {1, 0x01, 0x01, 0, 0, 0, 35};
  frame.append(reinterpret_cast<const char*>(e.public_key.data()), e.public_key.size());
  frame.append("\x02\x07\x08", 3);
  ASSERT_TRUE(a->Write(frame).ok());
  auto server = SecureChannel::Accept(s.options, std::move(b));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kNotSupported);
  // Everything the responder sent: one plaintext error frame, code only, then end of stream.
  std::string got;
  char buf[256];
  for (;;) {
    auto n = a->Read(buf, sizeof(buf), 1s);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  ASSERT_GE(got.size(), 7u);
  EXPECT_EQ(got[1], 0x03);  // kError
  EXPECT_EQ(got.size(), 7u + static_cast<uint8_t>(got[6]));
  auto error = protocol::DecodeErrorMessage(got.substr(7));
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->code, "no-common-version");
  EXPECT_EQ(error->message, "");
}

// Runs a handshake whose first frame (initiator -> responder) a man in the
// middle rewrites with `edit`.
testing::OpenedPair OpenThroughEditor(Party& c, Party& s, std::function<void(std::string*)> edit) {
  auto [a, b] = MakeMemoryStreamPair();
  auto mitm = std::make_unique<testing::EditFirstWriteStream>(std::move(a), std::move(edit));
  return OpenPair(c.options, std::move(mitm), s.options, std::move(b));
}

// The first frame: 7-byte header, 32-byte ephemeral key, then the offer.
constexpr size_t kOfferAt = 7 + 32;

TEST(SecureChannelVersionTest, UntouchedFirstFrameThroughTheEditorSucceeds) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.versions = {1, 2, 3};
  s.options.versions = {1, 2, 3};
  std::string seen;
  auto pair = OpenThroughEditor(c, s, [&](std::string* frame) { seen = *frame; });
  ASSERT_TRUE(pair.client.ok()) << pair.client.status().ToString();
  ASSERT_TRUE(pair.server.ok()) << pair.server.status().ToString();
  EXPECT_EQ((*pair.client)->peer().version, 3);
  // The first frame is as docs/protocol.md §2.1 shows it.
  EXPECT_EQ(seen.substr(0, 7), std::string("\x01\x01\x01\x00\x00\x00\x24", 7));
  EXPECT_EQ(seen.substr(kOfferAt), std::string("\x03\x01\x02\x03", 4));
}

TEST(SecureChannelVersionTest, StrippingAVersionFromTheOfferFailsTheHandshake) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.versions = {1, 2, 3};
  s.options.versions = {1, 2, 3};
  std::string server_log;
  s.options.log = [&](std::string_view m) { server_log = std::string(m); };
  auto pair = OpenThroughEditor(c, s, [](std::string* frame) {
    // [1, 2, 3] -> [1, 2]: count 3 -> 2, drop the last byte, fix the frame length.
    ASSERT_EQ(frame->substr(kOfferAt), std::string("\x03\x01\x02\x03", 4));
    (*frame)[kOfferAt] = 2;
    frame->pop_back();
    (*frame)[6] = static_cast<char>(frame->size() - 7);
  });
  // The responder, seeing [1, 2], chose 2; its message 2 was encrypted under a
  // handshake hash that covers the edited offer, so the initiator cannot open it.
  ASSERT_FALSE(pair.client.ok());
  ASSERT_FALSE(pair.server.ok());
  EXPECT_EQ(pair.client.status().code(), StatusCode::kCorruption) << pair.client.status().ToString();
  EXPECT_NE(pair.client.status().message().find("does not decrypt"), std::string::npos)
      << pair.client.status().ToString();
  EXPECT_NE(server_log.find("handshake-failed"), std::string::npos) << server_log;
}

TEST(SecureChannelVersionTest, EditingAVersionInTheOfferFailsTheHandshake) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.versions = {1, 3};
  s.options.versions = {1, 2};
  auto pair = OpenThroughEditor(c, s, [](std::string* frame) {
    ASSERT_EQ(frame->substr(kOfferAt), std::string("\x02\x01\x03", 3));
    (*frame)[kOfferAt + 2] = 2;  // [1, 3] -> [1, 2]: the responder would pick 2
  });
  ASSERT_FALSE(pair.client.ok());
  ASSERT_FALSE(pair.server.ok());
  EXPECT_EQ(pair.client.status().code(), StatusCode::kCorruption) << pair.client.status().ToString();
}

TEST(SecureChannelTest, HandshakeTimesOut) {
  Party c, s;
  MakeParties(&c, &s);
  s.options.handshake_timeout = 100ms;
  auto [a, b] = MakeMemoryStreamPair();  // nobody talks on `a`
  auto start = std::chrono::steady_clock::now();
  auto server = SecureChannel::Accept(s.options, std::move(b));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kIOError);
  EXPECT_NE(server.status().message().find("timed out"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(SecureChannelTest, LowOrderEphemeralKeyFailsTheResponderHandshake) {
  Party c, s;
  MakeParties(&c, &s);
  auto [a, b] = MakeMemoryStreamPair();
  // A hand-made first message: e = 0, a point of small order, and an offer of [1].
  std::string frame = {1, 0x01, 0x01, 0, 0, 0, 34};
  frame.append(32, '\0');
  frame.append("\x01\x01", 2);
  ASSERT_TRUE(a->Write(frame).ok());
  auto server = SecureChannel::Accept(s.options, std::move(b));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
  // The attacker learns only "handshake-failed", in a plaintext error frame.
  char buf[256];
  auto n = a->Read(buf, sizeof(buf), 1s);
  ASSERT_TRUE(n.ok());
  ASSERT_GE(*n, 7u);
  EXPECT_EQ(buf[1], 0x03);
  EXPECT_NE(std::string(buf, *n).find("handshake-failed"), std::string::npos);
}

// Opens a pair whose client writes go through a TapStream.
struct Tapped {
  Party c, s;
  TapStream* tap = nullptr;
  std::unique_ptr<SecureChannel> client, server;
};

void OpenTapped(Tapped* t) {
  MakeParties(&t->c, &t->s);
  auto [a, b] = MakeMemoryStreamPair();
  auto tap = std::make_unique<TapStream>(std::move(a));
  t->tap = tap.get();
  auto pair = OpenPair(t->c.options, std::move(tap), t->s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  t->client = std::move(*pair.client);
  t->server = std::move(*pair.server);
}

std::vector<std::string> CaptureFrames(Tapped& t, std::initializer_list<std::string_view> bodies) {
  t.tap->Hold(true);
  for (auto b : bodies) EXPECT_TRUE(t.client->Send(1, b).ok());
  t.tap->Hold(false);
  return t.tap->TakeHeld();
}

TEST(SecureChannelAttackTest, TamperedCiphertextClosesTheChannel) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"payload"});
  ASSERT_EQ(frames.size(), 1u);
  frames[0][9] ^= 0x01;  // a ciphertext byte
  ASSERT_TRUE(t.tap->inner()->Write(frames[0]).ok());
  auto m = t.server->Receive(1s);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
}

TEST(SecureChannelAttackTest, TamperedHeaderByteFailsAuthentication) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"payload"});
  frames[0][4] ^= 0x01;  // stream id: still a valid header, but it is the AD
  ASSERT_TRUE(t.tap->inner()->Write(frames[0]).ok());
  auto m = t.server->Receive(1s);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("authenticate"), std::string::npos);
}

TEST(SecureChannelAttackTest, ReplayedFrameIsRejected) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"pay me once"});
  ASSERT_TRUE(t.tap->inner()->Write(frames[0]).ok());
  auto first = t.server->Receive(1s);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(t.tap->inner()->Write(frames[0]).ok());
  EXPECT_FALSE(t.server->Receive(1s).ok());
}

TEST(SecureChannelAttackTest, ReorderedFramesAreRejected) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"one", "two"});
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_TRUE(t.tap->inner()->Write(frames[1] + frames[0]).ok());
  EXPECT_FALSE(t.server->Receive(1s).ok());
}

TEST(SecureChannelAttackTest, TruncatedFrameIsAProtocolError) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"truncated body"});
  ASSERT_TRUE(t.tap->inner()->Write(frames[0].substr(0, frames[0].size() - 3)).ok());
  t.tap->inner()->Close();
  auto m = t.server->Receive(1s);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("truncated"), std::string::npos) << m.status().ToString();
}

TEST(SecureChannelAttackTest, NoFrameIsAcceptedAfterAFailedDecryption) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"good"});
  std::string bad = frames[0];
  bad[bad.size() - 1] ^= 0x80;  // tag
  ASSERT_TRUE(t.tap->inner()->Write(bad).ok());
  EXPECT_FALSE(t.server->Receive(1s).ok());
  // The genuine frame (whose nonce was not consumed) must not be accepted either:
  // the channel is closed for good.
  t.tap->inner()->Write(frames[0]).IgnoreError();
  auto m = t.server->Receive(200ms);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("closed"), std::string::npos);
}

TEST(SecureChannelAttackTest, ReservedFlagBitClosesTheChannel) {
  Tapped t;
  OpenTapped(&t);
  auto frames = CaptureFrames(t, {"x"});
  frames[0][2] = static_cast<char>(frames[0][2] | 0x40);
  ASSERT_TRUE(t.tap->inner()->Write(frames[0]).ok());
  auto m = t.server->Receive(1s);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("reserved"), std::string::npos);
}

TEST(SecureChannelTest, RekeysAfterTheConfiguredFrameCount) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.rekey_after_frames = 4;
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*pair.client)->Send(0, "m" + std::to_string(i)).ok());
    auto m = (*pair.server)->Receive(1s);
    ASSERT_TRUE(m.ok()) << i << m.status().ToString();
    EXPECT_EQ(m->body, "m" + std::to_string(i));
  }
  EXPECT_EQ((*pair.client)->stats().rekeys_sent, 2u);
  EXPECT_EQ((*pair.server)->stats().rekeys_received, 2u);
}

TEST(SecureChannelTest, RekeysAfterTheConfiguredByteCount) {
  Party c, s;
  MakeParties(&c, &s);
  c.options.rekey_after_bytes = 100000;
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  std::string body(250000, 'q');
  ASSERT_TRUE((*pair.client)->Send(0, body).ok());
  auto m = (*pair.server)->Receive(1s);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, body);
  EXPECT_EQ((*pair.client)->stats().rekeys_sent, 2u);
}

TEST(SecureChannelTest, OversizeMessageIsRefusedByTheReceiver) {
  Party c, s;
  MakeParties(&c, &s);
  s.options.max_message_size = 100000;
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  ASSERT_TRUE((*pair.client)->Send(0, std::string(150000, 'x')).ok());
  auto m = (*pair.server)->Receive(1s);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("maximum"), std::string::npos);
}

TEST(SecureChannelTest, CloseIsSeenByThePeerAndSendAfterCloseFails) {
  Party c, s;
  MakeParties(&c, &s);
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  (*pair.client)->Close();
  EXPECT_FALSE((*pair.client)->Send(0, "late").ok());
  auto m = (*pair.server)->Receive(1s);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kAborted);
}

TEST(SecureChannelTest, ReceiveTimeoutIsRetryable) {
  Party c, s;
  MakeParties(&c, &s);
  auto [a, b] = MakeMemoryStreamPair();
  auto pair = OpenPair(c.options, std::move(a), s.options, std::move(b));
  ASSERT_TRUE(pair.client.ok() && pair.server.ok());
  auto m = (*pair.server)->Receive(20ms);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kIOError);
  ASSERT_TRUE((*pair.client)->Send(0, "later").ok());
  auto later = (*pair.server)->Receive(1s);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->body, "later");
}

}  // namespace
}  // namespace blaze
