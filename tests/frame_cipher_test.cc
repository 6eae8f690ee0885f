// frame_cipher_test.cc — sealed frames: header bytes as associated data,
// KEY_UPDATE rekeying when the per-key frame budget runs out, and the Noise
// counter limit surfacing as an error instead of a nonce reuse.
#include "transport/frame_cipher.h"

#include <gtest/gtest.h>

#include "protocol/frame_decoder.h"

namespace blaze::transport {
namespace {

crypto::CipherState Keyed(uint8_t fill) {
  std::array<uint8_t, 32> k;
  k.fill(fill);
  crypto::CipherState cs;
  EXPECT_TRUE(cs.InitializeKey(crypto::Secret32(k)).ok());
  return cs;
}

protocol::Frame Parse(const std::string& wire) {
  auto f = protocol::DecodeSingleFrame(wire);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return *f;
}

TEST(FrameCipherTest, SealedFrameCarriesTagInLengthAndOpens) {
  FrameSealer sealer(Keyed(1), RekeyPolicy{});
  FrameOpener opener(Keyed(1));
  std::string wire;
  protocol::FrameHeader h;
  h.stream = 77;
  ASSERT_TRUE(sealer.Seal(h, "abc", &wire).ok());
  ASSERT_EQ(wire.size(), 7u + 3u + 16u);
  protocol::Frame f = Parse(wire);
  EXPECT_EQ(f.header.length, 19);
  std::string plain;
  ASSERT_TRUE(opener.Open(f, &plain).ok());
  EXPECT_EQ(plain, "abc");
}

TEST(FrameCipherTest, FrameBudgetForcesKeyUpdateOnBothSides) {
  FrameSealer sealer(Keyed(2), RekeyPolicy{3, uint64_t{1} << 30});
  FrameOpener opener(Keyed(2));
  FrameOpener stale(Keyed(2));  // ignores KEY_UPDATE: must fall out of step
  for (int i = 0; i < 7; ++i) {
    std::string wire;
    ASSERT_TRUE(sealer.Seal(protocol::FrameHeader{}, "m", &wire).ok());
    protocol::Frame f = Parse(wire);
    const bool update = (f.header.flags & protocol::flag::kKeyUpdate) != 0;
    EXPECT_EQ(update, i == 2 || i == 5) << i;
    std::string plain;
    ASSERT_TRUE(opener.Open(f, &plain).ok()) << i;
    if (i <= 2) {
      protocol::Frame g = f;
      g.header.flags &= static_cast<uint8_t>(~protocol::flag::kKeyUpdate);
      std::string p2;
      // Stripping KEY_UPDATE breaks authentication (the header is the AD).
      EXPECT_EQ(stale.Open(g, &p2).ok(), !update);
    }
  }
  EXPECT_EQ(sealer.rekeys(), 2u);
  EXPECT_EQ(opener.rekeys(), 2u);
}

TEST(FrameCipherTest, CounterExhaustionStopsSealingInsteadOfReusingANonce) {
  FrameSealer sealer(Keyed(3), RekeyPolicy{});
  sealer.cipher().SetNonce(crypto::kMaxNonce - 1);
  std::string wire;
  ASSERT_TRUE(sealer.Seal(protocol::FrameHeader{}, "last", &wire).ok());
  std::string more;
  Status s = sealer.Seal(protocol::FrameHeader{}, "never", &more);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(more.empty());
}

TEST(FrameCipherTest, RefusesPiecesThatDoNotFitAFrame) {
  FrameSealer sealer(Keyed(4), RekeyPolicy{});
  std::string wire;
  EXPECT_TRUE(sealer.Seal(protocol::FrameHeader{}, std::string(kMaxSealedPiece, 'a'), &wire).ok());
  EXPECT_EQ(sealer.Seal(protocol::FrameHeader{}, std::string(kMaxSealedPiece + 1, 'a'), &wire).code(),
            StatusCode::kInvalidArgument);
}

TEST(FrameCipherTest, ShortBodyIsAProtocolError) {
  FrameOpener opener(Keyed(5));
  protocol::Frame f;
  f.body = "short";
  f.header.length = 5;
  std::string plain;
  EXPECT_EQ(opener.Open(f, &plain).code(), StatusCode::kCorruption);
  EXPECT_EQ(opener.cipher().nonce(), 0u);
}

}  // namespace
}  // namespace blaze::transport
