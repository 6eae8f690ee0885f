// control_test.cc — the relay's control messages (encoding, strict
// decoding, database names) and a session's handling of them, driven
// through a recording fake connection.
#include "net/control.h"

#include <gtest/gtest.h>

#include <fstream>

#include "blaze/binary.h"
#include "net/relay_core.h"
#include "net/stream_link.h"
#include "support/db_fixture.h"
#include "sync/messages.h"

namespace blaze::net {
namespace {

TEST(ControlMessageTest, RoundTripsEveryType) {
  for (auto t : {ControlMessage::Type::kOpen, ControlMessage::Type::kOpened, ControlMessage::Type::kError,
                 ControlMessage::Type::kClose}) {
    ControlMessage m{t, 7, t == ControlMessage::Type::kOpen ? "bugs" : "", "", ""};
    if (t == ControlMessage::Type::kError || t == ControlMessage::Type::kClose) {
      m.code = "forbidden";
      m.message = "no";
    }
    auto back = DecodeControl(EncodeControl(m));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->type, t);
    EXPECT_EQ(back->stream, 7);
    EXPECT_EQ(back->database, m.database);
    EXPECT_EQ(back->code, m.code);
    EXPECT_EQ(back->message, m.message);
  }
}

TEST(ControlMessageTest, TheDocumentedBytesOfAnOpen) {
  ControlMessage m{ControlMessage::Type::kOpen, 1, "bugs", "", ""};
  // docs/protocol.md §6.2: f1 b3 08"database" 84"bugs" 06"stream" 41 04"type" 84"open"
  std::string expected = "\xf1\xb3\x08" "database" "\x84" "bugs" "\x06" "stream" "\x41" "\x04" "type" "\x84" "open";
  EXPECT_EQ(EncodeControl(m), expected);
}

TEST(ControlMessageTest, RefusesMalformedMessages) {
  auto enc = [](Value::Map m) { return EncodeBinary(Value(std::move(m))); };
  EXPECT_FALSE(DecodeControl("").ok());
  EXPECT_FALSE(DecodeControl("\xf1").ok());
  EXPECT_FALSE(DecodeControl(EncodeBinary(Value(1))).ok());
  EXPECT_FALSE(DecodeControl(enc({{"type", Value("launch")}, {"stream", Value(1)}})).ok());
  EXPECT_FALSE(DecodeControl(enc({{"type", Value("open")}, {"stream", Value(0)}, {"database", Value("x")}})).ok());
  EXPECT_FALSE(DecodeControl(enc({{"type", Value("open")}, {"stream", Value(65536)}, {"database", Value("x")}})).ok());
  EXPECT_FALSE(DecodeControl(enc({{"type", Value("open")}, {"stream", Value(1)}})).ok());
  EXPECT_FALSE(DecodeControl(enc({{"type", Value("open")}, {"stream", Value("1")}, {"database", Value("x")}})).ok());
  EXPECT_FALSE(DecodeControl(enc({{"type", Value("close")}, {"stream", Value(1)}, {"code", Value("x")}})).ok());
  // Unknown keys are ignored (forward compatible within the version).
  auto extra = DecodeControl(enc({{"type", Value("opened")}, {"stream", Value(3)}, {"hint", Value(1)}}));
  ASSERT_TRUE(extra.ok());
  EXPECT_EQ(extra->stream, 3);
  // error may name stream 0 (a request that could not be read).
  EXPECT_TRUE(DecodeControl(enc({{"type", Value("error")}, {"stream", Value(0)}, {"code", Value("bad-request")},
                                 {"message", Value("")}}))
                  .ok());
}

TEST(ControlMessageTest, LongOrInvalidTextIsClampedSoItAlwaysDecodes) {
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "\xc3\xa9";  // 1200 bytes of 'é'
  ControlMessage m{ControlMessage::Type::kClose, 1, "", "sync-failed", long_text};
  auto back = DecodeControl(EncodeControl(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->message.size(), 1024u);
  m.message = "bad \xff byte";
  back = DecodeControl(EncodeControl(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->message, "bad ? byte");
}

TEST(ControlMessageTest, DatabaseNames) {
  for (const char* ok : {"bugs", "a", "0", "my-db_2", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"}) {
    EXPECT_TRUE(ValidateDatabaseName(ok).ok()) << ok;
  }
  for (const char* bad : {"", "..", ".", "a/b", "a.b", "Bugs", "-x", "_x", "a b", "caf\xc3\xa9", "a\\b",
                          "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"}) {
    EXPECT_FALSE(ValidateDatabaseName(bad).ok()) << bad;
  }
}

// A connection that records what the relay sends.
class RecordingConnection final : public Connection {
 public:
  explicit RecordingConnection(PublicKey key) : key_(key) {}
  Status Send(uint16_t stream, std::string body) override {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::FailedPrecondition("closed");
    sent_.emplace_back(stream, std::move(body));
    return Status::Ok();
  }
  void Close(const Status& why) override {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  const PublicKey& peer_key() const override { return key_; }
  std::vector<ControlMessage> Control() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<ControlMessage> out;
    for (auto& [s, b] : sent_) {
      if (s == kControlStream) out.push_back(*DecodeControl(b));
    }
    return out;
  }
  size_t OnStream(uint16_t stream) {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (auto& [s, b] : sent_) n += s == stream;
    return n;
  }
  bool closed() {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }

 private:
  PublicKey key_;
  std::mutex mu_;
  std::vector<std::pair<uint16_t, std::string>> sent_;
  bool closed_ = false;
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = *GenerateKeyPair();
    std::filesystem::create_directories(dir_.File("data"));
    std::ofstream(dir_.File("access.json"))
        << R"({"users": {"alice": {"keys": [")" + PublicKeyToHex(key_.public_key) +
               R"("]}}, "databases": {"bugs": {"mode": "smart", "users": ["alice"]}}})";
    RelayOptions o;
    o.data_dir = dir_.File("data");
    o.access_path = dir_.File("access.json");
    relay_ = std::move(RelayCore::Open(o)).value();
    conn_ = std::make_shared<RecordingConnection>(key_.public_key);
    handler_ = std::move(relay_->Accept(conn_)).value();
  }
  void TearDown() override {
    handler_->OnClosed(Status::Aborted("test over"));
    relay_.reset();
  }
  std::string Open(uint16_t stream, const std::string& db) {
    return EncodeControl(ControlMessage{ControlMessage::Type::kOpen, stream, db, "", ""});
  }
  // The control answers, once `n` have arrived.
  std::vector<ControlMessage> Answers(size_t n) {
    EXPECT_TRUE(testing::Eventually([&] { return conn_->Control().size() >= n; }));
    return conn_->Control();
  }

  testing::TempDir dir_;
  KeyPair key_;
  std::unique_ptr<RelayCore> relay_;
  std::shared_ptr<RecordingConnection> conn_;
  std::shared_ptr<ConnectionHandler> handler_;
};

TEST_F(SessionTest, OpenedThenTheEnginesHelloOnTheStream) {
  handler_->OnMessage(kControlStream, Open(5, "bugs"));
  auto a = Answers(1);
  EXPECT_EQ(a[0].type, ControlMessage::Type::kOpened);
  EXPECT_EQ(a[0].stream, 5);
  ASSERT_TRUE(testing::Eventually([&] { return conn_->OnStream(5) >= 1; }));
  // A second open of the same stream is refused; the first stays.
  handler_->OnMessage(kControlStream, Open(5, "bugs"));
  a = Answers(2);
  EXPECT_EQ(a[1].type, ControlMessage::Type::kError);
  EXPECT_EQ(a[1].code, "stream-in-use");
  EXPECT_EQ(relay_->Figures()[0].streams, 1u);
}

TEST_F(SessionTest, MalformedControlGetsBadRequestAndOpensNothing) {
  handler_->OnMessage(kControlStream, "\xf1\xb3");
  handler_->OnMessage(kControlStream, Open(1, "../../etc"));
  handler_->OnMessage(kControlStream, EncodeControl(ControlMessage{ControlMessage::Type::kOpened, 2, "", "", ""}));
  handler_->OnMessage(7, sync::EncodeMessage(sync::Message(sync::ErrorMsg{"stray"})));
  auto a = Answers(3);
  for (auto& m : a) {
    EXPECT_EQ(m.type, ControlMessage::Type::kError);
    EXPECT_EQ(m.code, "bad-request") << m.message;
  }
  EXPECT_EQ(a[0].stream, 0);
  EXPECT_EQ(a[1].stream, 1);
  EXPECT_TRUE(relay_->Figures().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.File("data/bugs.blazedb")));
  EXPECT_FALSE(conn_->closed());
}

TEST_F(SessionTest, ASyncFailureOnAStreamClosesItWithSyncFailed) {
  handler_->OnMessage(kControlStream, Open(3, "bugs"));
  Answers(1);
  // A changes message that does not decode: the engine fails the peer.
  handler_->OnMessage(3, std::string("\x02\xff\xff\xff", 4));
  auto a = Answers(2);
  EXPECT_EQ(a[1].type, ControlMessage::Type::kClose);
  EXPECT_EQ(a[1].stream, 3);
  EXPECT_EQ(a[1].code, "sync-failed");
  EXPECT_FALSE(conn_->closed());
}

TEST(StreamLinkTest, APeerSendingPastTheBacklogBoundHasTheStreamClosed) {
  PublicKey key{};
  auto conn = std::make_shared<RecordingConnection>(key);
  Status closed_with;
  auto link = std::make_shared<StreamLink>(conn, 4, [&](uint16_t, const Status& why) { closed_with = why; }, 100);
  // No engine attached yet: everything waits in the backlog.
  link->Deliver(std::string(60, 'a'));
  link->Deliver(std::string(40, 'b'));
  EXPECT_FALSE(link->closed());
  link->Deliver("c");
  EXPECT_TRUE(link->closed());
  EXPECT_EQ(closed_with.code(), StatusCode::kBusy) << closed_with.ToString();
  EXPECT_EQ(link->Send("x").code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace blaze::net
