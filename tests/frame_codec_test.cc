// frame_codec_test.cc — the 7-byte frame header, the stream and
// one-frame-per-message decoders, fragmentation/reassembly, and the hello,
// error, prologue and version-offer encodings.
#include "protocol/frame.h"

#include <gtest/gtest.h>

#include "protocol/frame_decoder.h"
#include "protocol/hello.h"
#include "protocol/message_assembler.h"
#include "protocol/version_offer.h"

namespace blaze::protocol {
namespace {

std::string OneFrame(FrameType type, uint8_t flags, uint16_t stream, std::string_view body) {
  FrameHeader h;
  h.type = type;
  h.flags = flags;
  h.stream = stream;
  std::string out;
  EXPECT_TRUE(AppendFrame(h, body, &out).ok());
  return out;
}

TEST(FrameHeaderTest, EncodesTheDocumentedLayout) {
  std::string f = OneFrame(FrameType::kData, flag::kFin | flag::kKeyUpdate, 0x1234, std::string(0x0102, 'x'));
  ASSERT_EQ(f.size(), 7u + 0x0102);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), kProtocolVersion);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 0x10);
  EXPECT_EQ(static_cast<uint8_t>(f[2]), 0x03);
  EXPECT_EQ(static_cast<uint8_t>(f[3]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>(f[4]), 0x34);
  EXPECT_EQ(static_cast<uint8_t>(f[5]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(f[6]), 0x02);
  auto h = DecodeFrameHeader(reinterpret_cast<const uint8_t*>(f.data()));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->stream, 0x1234);
  EXPECT_EQ(h->length, 0x0102);
  EXPECT_EQ(h->flags, 0x03);
}

TEST(FrameHeaderTest, RejectsReservedFlagBitsUnknownTypesAndVersions) {
  std::string f = OneFrame(FrameType::kData, flag::kFin, 0, "x");
  for (uint8_t bit = 0x08; bit != 0; bit = static_cast<uint8_t>(bit << 1)) {
    std::string g = f;
    g[2] = static_cast<char>(g[2] | bit);
    auto h = DecodeFrameHeader(reinterpret_cast<const uint8_t*>(g.data()));
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), StatusCode::kCorruption);
  }
  std::string t = f;
  t[1] = 0x7f;
  EXPECT_FALSE(DecodeFrameHeader(reinterpret_cast<const uint8_t*>(t.data())).ok());
  std::string v = f;
  v[0] = 2;
  EXPECT_FALSE(DecodeFrameHeader(reinterpret_cast<const uint8_t*>(v.data())).ok());
}

TEST(FrameHeaderTest, RefusesBodiesLongerThan65535) {
  std::string out;
  EXPECT_TRUE(AppendFrame(FrameHeader{}, std::string(65535, 'a'), &out).ok());
  EXPECT_EQ(AppendFrame(FrameHeader{}, std::string(65536, 'a'), &out).code(), StatusCode::kInvalidArgument);
}

TEST(StreamFrameDecoderTest, ReassemblesFramesFedOneByteAtATime) {
  std::string wire = OneFrame(FrameType::kData, flag::kFin, 1, "first") + OneFrame(FrameType::kPing, flag::kFin, 2, "") +
                     OneFrame(FrameType::kData, 0, 3, std::string(1000, 'z'));
  StreamFrameDecoder d;
  std::vector<Frame> frames;
  for (char c : wire) {
    ASSERT_TRUE(d.Feed(std::string_view(&c, 1)).ok());
    while (auto f = d.Next()) frames.push_back(std::move(*f));
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].body, "first");
  EXPECT_EQ(frames[1].header.type, FrameType::kPing);
  EXPECT_EQ(frames[2].header.stream, 3);
  EXPECT_EQ(frames[2].body.size(), 1000u);
  EXPECT_EQ(d.partial_bytes(), 0u);
}

TEST(StreamFrameDecoderTest, HoldsATruncatedFrameAndStaysFailedAfterAnError) {
  std::string wire = OneFrame(FrameType::kData, flag::kFin, 1, "hello");
  StreamFrameDecoder d;
  ASSERT_TRUE(d.Feed(std::string_view(wire).substr(0, 9)).ok());
  EXPECT_FALSE(d.Next().has_value());
  EXPECT_EQ(d.partial_bytes(), 9u);

  StreamFrameDecoder bad;
  std::string g = wire;
  g[2] = static_cast<char>(0x80);
  EXPECT_EQ(bad.Feed(g).code(), StatusCode::kCorruption);
  EXPECT_TRUE(bad.failed());
  EXPECT_FALSE(bad.Feed(wire).ok());
  EXPECT_FALSE(bad.Next().has_value());
}

TEST(SingleFrameDecoderTest, MessageMustBeExactlyOneFrame) {
  std::string wire = OneFrame(FrameType::kData, flag::kFin, 9, "body");
  auto f = DecodeSingleFrame(wire);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->body, "body");
  EXPECT_FALSE(DecodeSingleFrame(wire + "x").ok());
  EXPECT_FALSE(DecodeSingleFrame(wire.substr(0, wire.size() - 1)).ok());
  EXPECT_FALSE(DecodeSingleFrame(wire.substr(0, 6)).ok());
}

TEST(MessageAssemblerTest, SplitsAndReassemblesLongMessages) {
  std::string body(200000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  auto pieces = SplitMessage(body, 65519);
  ASSERT_EQ(pieces.size(), 4u);
  MessageAssembler a(1 << 20);
  for (size_t i = 0; i < pieces.size(); ++i) {
    FrameHeader h;
    h.stream = 5;
    h.flags = i + 1 == pieces.size() ? flag::kFin : 0;
    auto m = a.Add(h, pieces[i]);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->has_value(), i + 1 == pieces.size());
    if (m->has_value()) {
      EXPECT_EQ((*m)->body, body);
      EXPECT_EQ((*m)->stream, 5);
    }
  }
  EXPECT_EQ(SplitMessage("", 10).size(), 1u);
}

TEST(MessageAssemblerTest, RefusesOversizeAndInterleavedMessages) {
  MessageAssembler a(100);
  FrameHeader part;
  part.flags = 0;
  ASSERT_TRUE(a.Add(part, std::string(60, 'a')).ok());
  auto over = a.Add(part, std::string(60, 'a'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kCorruption);
  EXPECT_FALSE(a.in_progress());

  MessageAssembler b(100);
  ASSERT_TRUE(b.Add(part, "x").ok());
  FrameHeader other = part;
  other.stream = 2;
  EXPECT_FALSE(b.Add(other, "y").ok());
}

TEST(HelloTest, RoundTripsAndRejectsMalformedBodies) {
  Hello h{{1, 2}, 2, "node-a", {"zstd", "blind"}};
  auto back = DecodeHello(EncodeHello(h));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->versions, h.versions);
  EXPECT_EQ(back->version, 2);
  EXPECT_EQ(back->identity, "node-a");
  EXPECT_EQ(back->capabilities, h.capabilities);
  // The example of docs/protocol.md §2, byte for byte.
  EXPECT_EQ(EncodeHello({{1, 2}, 2, "node-a", {"zstd"}}),
            std::string("\xf1\xb4\x0c" "capabilities" "\xa1\x84" "zstd" "\x08" "identity" "\x86" "node-a"
                        "\x07" "version" "\x42\x08" "versions" "\xa2\x41\x42"));
  EXPECT_FALSE(DecodeHello("").ok());
  EXPECT_FALSE(DecodeHello("\xF1\x80").ok());  // a string, not a map
  EXPECT_FALSE(DecodeHello(EncodeHello(Hello{{}, 1, "x", {}})).ok());      // no versions
  EXPECT_FALSE(DecodeHello(EncodeHello(Hello{{1, 2}, 3, "x", {}})).ok());  // chosen version not listed
  EXPECT_FALSE(DecodeHello(EncodeHello(Hello{{1, 2}, 0, "x", {}})).ok());  // no chosen version
  EXPECT_FALSE(DecodeHello(EncodeHello(Hello{{2, 1}, 1, "x", {}})).ok());  // not increasing
  EXPECT_FALSE(DecodeHello(EncodeHello(Hello{{1, 1}, 1, "x", {}})).ok());  // duplicate
}

TEST(ErrorMessageTest, RoundTrips) {
  auto e = DecodeErrorMessage(EncodeErrorMessage({"untrusted-peer", "who are you"}));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->code, "untrusted-peer");
  EXPECT_EQ(e->message, "who are you");
}

TEST(PrologueTest, BindsTheDatabase) {
  auto p = BuildPrologue("bugs");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, std::string("BlazeDB-channel\0\x00\x04" "bugs", 22));
  EXPECT_NE(*p, *BuildPrologue("bugz"));
  EXPECT_EQ(*BuildPrologue(""), std::string("BlazeDB-channel\0\x00\x00", 18));
  EXPECT_FALSE(BuildPrologue(std::string(65536, 'x')).ok());
}

TEST(VersionOfferTest, CanonicalVersionsSortsAndRejectsBadSets) {
  EXPECT_EQ(*CanonicalVersions({3, 1, 2}), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(*CanonicalVersions({255}), (std::vector<uint8_t>{255}));
  EXPECT_EQ(CanonicalVersions({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalVersions({0, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalVersions({1, 2, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalVersions(std::vector<uint8_t>(17, 1)).status().code(), StatusCode::kInvalidArgument);
  std::vector<uint8_t> sixteen;
  for (uint8_t v = 1; v <= 16; ++v) sixteen.push_back(v);
  EXPECT_TRUE(CanonicalVersions(sixteen).ok());
}

TEST(VersionOfferTest, EncodesByteExactlyAndRoundTrips) {
  EXPECT_EQ(EncodeVersionOffer({1, 2, 7}), std::string("\x03\x01\x02\x07", 4));
  auto back = DecodeVersionOffer(std::string("\x03\x01\x02\x07", 4));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<uint8_t>{1, 2, 7}));
}

TEST(VersionOfferTest, RejectsMalformedOffers) {
  for (std::string bad : {std::string(), std::string("\x00", 1), std::string("\x01", 1),
                          std::string("\x01\x01\x02", 3),      // trailing byte
                          std::string("\x02\x02\x01", 3),      // decreasing
                          std::string("\x02\x01\x01", 3),      // duplicate
                          std::string("\x01\x00", 2),          // version 0
                          std::string("\x11") + std::string(17, '\x01')}) {
    auto r = DecodeVersionOffer(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << bad.size();
  }
}

TEST(VersionOfferTest, HighestCommonVersion) {
  EXPECT_EQ(HighestCommonVersion({1, 2, 3}, {2, 3, 5}), std::optional<uint8_t>(3));
  EXPECT_EQ(HighestCommonVersion({1, 9}, {9, 1}), std::optional<uint8_t>(9));
  EXPECT_EQ(HighestCommonVersion({1, 2}, {3}), std::nullopt);
}

}  // namespace
}  // namespace blaze::protocol
