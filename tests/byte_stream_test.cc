// byte_stream_test.cc — the ByteStream contract (blaze/byte_stream.h) for
// the streams BlazeDB provides, the in-memory pair, Unix socket pairs and TCP:
// ordered bytes, end of stream, timeouts, and Close waking a blocked reader.
#include "blaze/byte_stream.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

namespace blaze {
namespace {

using namespace std::chrono_literals;
using StreamPair = std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>>;

class ByteStreamTest : public ::testing::TestWithParam<std::string> {
 protected:
  StreamPair Make() {
    if (GetParam() == "memory") return MakeMemoryStreamPair();
    if (GetParam() == "tcp") {
      auto listener = TcpListener::Listen("127.0.0.1", 0);
      EXPECT_TRUE(listener.ok()) << listener.status().ToString();
      auto client = ConnectTcp("127.0.0.1", (*listener)->port(), 1s);
      EXPECT_TRUE(client.ok()) << client.status().ToString();
      auto server = (*listener)->Accept(1s);
      EXPECT_TRUE(server.ok()) << server.status().ToString();
      return {std::move(*client), std::move(*server)};
    }
    auto pair = MakeUnixSocketPair();
    EXPECT_TRUE(pair.ok()) << pair.status().ToString();
    return std::move(*pair);
  }
};

std::string ReadAll(ByteStream* s, size_t want, size_t max_per_read) {
  std::string out;
  char buf[64];
  while (out.size() < want) {
    auto n = s->Read(buf, std::min(max_per_read, sizeof(buf)), 1s);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

TEST_P(ByteStreamTest, BytesArriveInOrderWhateverTheReadSize) {
  auto [a, b] = Make();
  ASSERT_TRUE(a->Write("hello ").ok());
  ASSERT_TRUE(a->Write("world").ok());
  EXPECT_EQ(ReadAll(b.get(), 11, 3), "hello world");
  ASSERT_TRUE(b->Write("back").ok());
  EXPECT_EQ(ReadAll(a.get(), 4, 64), "back");
}

TEST_P(ByteStreamTest, ReadWithNothingToReadTimesOut) {
  auto [a, b] = Make();
  char c;
  for (auto timeout : {0ms, 20ms}) {
    auto n = b->Read(&c, 1, timeout);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kIOError);
    EXPECT_NE(n.status().message().find("timed out"), std::string::npos) << n.status().ToString();
  }
  // A timeout changes nothing: the stream still works.
  ASSERT_TRUE(a->Write("x").ok());
  auto n = b->Read(&c, 1, 1s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(c, 'x');
}

TEST_P(ByteStreamTest, ZeroTimeoutReturnsBytesAlreadyThere) {
  auto [a, b] = Make();
  ASSERT_TRUE(a->Write("ready").ok());
  // The bytes may need a moment to cross; then a zero timeout must return them.
  char buf[8];
  ASSERT_TRUE(b->Read(buf, 1, 1s).ok());
  auto n = b->Read(buf, sizeof(buf), 0ms);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(std::string(buf, *n), "eady");
}

TEST_P(ByteStreamTest, PeerCloseIsEndOfStreamAfterTheBytesSent) {
  auto [a, b] = Make();
  ASSERT_TRUE(a->Write("last").ok());
  a->Close();
  EXPECT_EQ(ReadAll(b.get(), 4, 64), "last");
  char c;
  auto n = b->Read(&c, 1, 1s);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0u);
}

TEST_P(ByteStreamTest, CloseWakesAReaderBlockedInAnotherThread) {
  auto [a, b] = Make();
  Result<size_t> got = Status::Internal("not run");
  std::thread reader([&, &b = b] {
    char c;
    got = b->Read(&c, 1, 30s);  // would come back with a timeout only if Close failed to wake it
  });
  // Most likely the read is blocked by now; if not, Close still ends it.
  std::this_thread::sleep_for(50ms);
  b->Close();
  reader.join();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, 0u);
}

INSTANTIATE_TEST_SUITE_P(Streams, ByteStreamTest, ::testing::Values("memory", "unix", "tcp"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace blaze
