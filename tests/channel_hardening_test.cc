// channel_hardening_test.cc — the secure channel against a peer (or a man in
// the middle) that breaks the handshake's framing rules, and against a peer
// that stops reading (issue 9 items 4 and 8): a handshake frame without FIN
// is refused, a plaintext error frame after message 3 is not taken as the
// responder's answer, neither Send nor Close can be held for ever, and a
// message left unfinished is not kept for ever.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <string>

#include "blaze/byte_stream.h"
#include "blaze/secure_channel.h"
#include "protocol/frame.h"
#include "protocol/hello.h"
#include "support/channel_fixture.h"

namespace blaze {
namespace {

using namespace std::chrono_literals;

// Forwards to an inner stream, handing write number `n` (0-based) to `edit`.
class EditWriteStream final : public ByteStream {
 public:
  EditWriteStream(std::unique_ptr<ByteStream> inner, int n, std::function<void(std::string*)> edit)
      : inner_(std::move(inner)), n_(n), edit_(std::move(edit)) {}
  Status Write(std::string_view bytes) override {
    if (count_++ == n_) {
      std::string copy(bytes);
      edit_(&copy);
      return inner_->Write(copy);
    }
    return inner_->Write(bytes);
  }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds timeout) override {
    return inner_->Read(out, max, timeout);
  }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<ByteStream> inner_;
  int n_;
  int count_ = 0;
  std::function<void(std::string*)> edit_;
};

TEST(ChannelHardeningTest, AHandshakeFrameWithoutFinIsRefused) {
  testing::Party client, server;
  testing::MakeParties(&client, &server);
  auto [a, b] = MakeMemoryStreamPair();
  // Message 1 with the FIN bit (flags, byte 2 of the header) cleared.
  auto edited = std::make_unique<EditWriteStream>(std::move(a), 0, [](std::string* frame) { (*frame)[2] = 0; });
  auto opened = testing::OpenPair(client.options, std::move(edited), server.options, std::move(b));
  ASSERT_FALSE(opened.server.ok());
  EXPECT_EQ(opened.server.status().code(), StatusCode::kCorruption);
  EXPECT_NE(opened.server.status().message().find("FIN"), std::string::npos) << opened.server.status().ToString();
  EXPECT_FALSE(opened.client.ok());
}

TEST(ChannelHardeningTest, TheInitiatorDoesNotBelieveAPlaintextErrorAfterMessage3) {
  testing::Party client, server;
  testing::MakeParties(&client, &server);
  auto [a, b] = MakeMemoryStreamPair();
  // The responder's second write is its sealed accept; a man in the middle
  // swaps it for a plaintext "untrusted-peer" error.
  auto mitm = std::make_unique<EditWriteStream>(std::move(b), 1, [](std::string* frame) {
    protocol::FrameHeader h;
    h.type = protocol::FrameType::kError;
    frame->clear();
    ASSERT_TRUE(protocol::AppendFrame(h, protocol::EncodeErrorMessage({"untrusted-peer", ""}), frame).ok());
  });
  auto opened = testing::OpenPair(client.options, std::move(a), server.options, std::move(mitm));
  ASSERT_FALSE(opened.client.ok());
  EXPECT_EQ(opened.client.status().code(), StatusCode::kCorruption) << opened.client.status().ToString();
  EXPECT_NE(opened.client.status().message().find("unauthenticated"), std::string::npos)
      << opened.client.status().ToString();
  EXPECT_EQ(opened.client.status().message().find("refused"), std::string::npos)
      << "an unauthenticated frame must not be reported as the responder's refusal: "
      << opened.client.status().ToString();
}

// A peer that never reads: the sender's Send fails after send_timeout, and a
// Close from another thread while the Send is blocked returns at once.
TEST(ChannelHardeningTest, APeerThatStopsReadingHoldsNeitherSendNorClose) {
  testing::Party client, server;
  testing::MakeParties(&client, &server);
  client.options.send_timeout = 300ms;
  auto pair = MakeUnixSocketPair();
  ASSERT_TRUE(pair.ok());
  auto opened = testing::OpenPair(client.options, std::move(pair->first), server.options, std::move(pair->second));
  ASSERT_TRUE(opened.client.ok() && opened.server.ok());
  SecureChannel& ch = **opened.client;
  const std::string big(1 << 20, 'x');
  Status s;
  for (int i = 0; i < 64 && s.ok(); ++i) s = ch.Send(0, big);  // the server reads nothing
  ASSERT_FALSE(s.ok()) << "64 MiB went into a socket nobody reads";
  EXPECT_NE(s.message().find("timed out"), std::string::npos) << s.ToString();

  // Without a timeout: Send blocks; Close from another thread ends it.
  auto pair2 = MakeUnixSocketPair();
  client.options.send_timeout = 0ms;
  auto opened2 = testing::OpenPair(client.options, std::move(pair2->first), server.options, std::move(pair2->second));
  ASSERT_TRUE(opened2.client.ok() && opened2.server.ok());
  SecureChannel& ch2 = **opened2.client;
  auto sending = std::async(std::launch::async, [&] {
    Status st;
    for (int i = 0; i < 64 && st.ok(); ++i) st = ch2.Send(0, big);
    return st;
  });
  ASSERT_EQ(sending.wait_for(300ms), std::future_status::timeout);  // blocked on the full socket
  auto closing = std::async(std::launch::async, [&] { ch2.Close(); });
  ASSERT_EQ(closing.wait_for(10s), std::future_status::ready) << "Close waited for the blocked sender";
  ASSERT_EQ(sending.wait_for(10s), std::future_status::ready) << "Close did not wake the blocked sender";
  EXPECT_FALSE(sending.get().ok());
}

// A send that times out on a peer that stopped reading closes the channel;
// a Receive under way on another thread then fails naming that send failure,
// not the end of stream the channel's own close makes it read.
TEST(ChannelHardeningTest, AReceiveEndedByATimedOutSendNamesTheTimeout) {
  testing::Party client, server;
  testing::MakeParties(&client, &server);
  client.options.send_timeout = 300ms;
  auto pair = MakeUnixSocketPair();
  ASSERT_TRUE(pair.ok());
  auto opened = testing::OpenPair(client.options, std::move(pair->first), server.options, std::move(pair->second));
  ASSERT_TRUE(opened.client.ok() && opened.server.ok());
  SecureChannel& ch = **opened.client;
  auto receiving = std::async(std::launch::async, [&] {
    while (true) {
      auto m = ch.Receive(100ms);
      if (!m.ok() && m.status().code() != StatusCode::kIOError) return m.status();
    }
  });
  const std::string big(1 << 20, 'x');
  Status s;
  for (int i = 0; i < 64 && s.ok(); ++i) s = ch.Send(0, big);  // the server reads nothing
  ASSERT_FALSE(s.ok()) << "64 MiB went into a socket nobody reads";
  ASSERT_EQ(receiving.wait_for(10s), std::future_status::ready) << "the receive outlived the closed channel";
  Status why = receiving.get();
  EXPECT_EQ(why.code(), StatusCode::kAborted) << why.ToString();
  EXPECT_NE(why.message().find("sending failed"), std::string::npos) << why.ToString();
  EXPECT_NE(why.message().find("write to Unix socket timed out"), std::string::npos) << why.ToString();
  // Every later Receive says the same.
  EXPECT_EQ(ch.Receive(10ms).status().ToString(), why.ToString());
}

// A peer that sends the first frame of a long message and then nothing:
// with partial_message_timeout the receiver gives up (and frees the part it
// holds) instead of keeping it for as long as the connection lives.
TEST(ChannelHardeningTest, AMessageLeftUnfinishedFailsAfterPartialMessageTimeout) {
  testing::Party client, server;
  testing::MakeParties(&client, &server);
  server.options.partial_message_timeout = 300ms;
  auto pair = MakeUnixSocketPair();
  ASSERT_TRUE(pair.ok());
  auto tap_owned = std::make_unique<testing::TapStream>(std::move(pair->first));
  testing::TapStream* tap = tap_owned.get();
  auto opened = testing::OpenPair(client.options, std::move(tap_owned), server.options, std::move(pair->second));
  ASSERT_TRUE(opened.client.ok() && opened.server.ok());
  tap->Hold(true);
  ASSERT_TRUE((*opened.client)->Send(0, std::string(200000, 'y')).ok());
  std::vector<std::string> held = tap->TakeHeld();
  ASSERT_EQ(held.size(), 1u);
  const size_t first_frame = protocol::kFrameHeaderSize + protocol::kMaxFrameBody;
  ASSERT_GT(held[0].size(), first_frame);
  ASSERT_TRUE(tap->inner()->Write(std::string_view(held[0]).substr(0, first_frame)).ok());
  Status why;
  for (int i = 0; i < 100; ++i) {
    auto r = (*opened.server)->Receive(100ms);
    ASSERT_FALSE(r.ok()) << "the message cannot be complete";
    if (r.status().code() != StatusCode::kIOError) {
      why = r.status();
      break;
    }
  }
  EXPECT_EQ(why.code(), StatusCode::kAborted) << why.ToString();
  EXPECT_NE(why.message().find("unfinished"), std::string::npos) << why.ToString();
}

}  // namespace
}  // namespace blaze
