#include "sync/messages.h"

#include <gtest/gtest.h>

namespace blaze::sync {
namespace {

store::Change MakeChange(uint64_t origin, Seq seq, uint64_t hlc) {
  store::Change c{NodeId{origin}, seq, Hlc{hlc}, {}};
  c.ops.push_back(store::Op{store::Op::Type::kPut, "bugs", "b" + std::to_string(seq),
                            Value::Map{{"status", Value("open")}}, {}});
  return c;
}

TEST(SyncMessagesTest, RoundTripEveryType) {
  VersionVector vv{{NodeId{3}, 7}, {NodeId{9}, 1}};
  auto h = DecodeMessage(EncodeMessage(Hello{NodeId{42}, vv}));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(std::get<Hello>(*h).node, NodeId{42});
  EXPECT_EQ(std::get<Hello>(*h).vv, vv);

  ChangesMsg m{5, {MakeChange(3, 8, 1000), MakeChange(9, 2, 900), MakeChange(3, 9, 1003)}};
  auto c = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& back = std::get<ChangesMsg>(*c);
  EXPECT_EQ(back.batch, 5u);
  ASSERT_EQ(back.changes.size(), 3u);
  EXPECT_EQ(back.changes[1].origin, NodeId{9});
  EXPECT_EQ(back.changes[1].hlc, Hlc{900});
  EXPECT_EQ(back.changes[2].seq, 9u);
  EXPECT_EQ(back.changes[2].ops[0].fields, m.changes[2].ops[0].fields);

  auto a = DecodeMessage(EncodeMessage(Ack{5, vv}));
  EXPECT_EQ(std::get<Ack>(*a).vv, vv);
  auto e = DecodeMessage(EncodeMessage(ErrorMsg{"nope"}));
  EXPECT_EQ(std::get<ErrorMsg>(*e).message, "nope");
}

TEST(SyncMessagesTest, MalformedInputIsCorruption) {
  std::string good = EncodeMessage(ChangesMsg{1, {MakeChange(3, 1, 10)}});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto r = DecodeMessage(good.substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  EXPECT_FALSE(DecodeMessage(good + "x").ok());
  EXPECT_FALSE(DecodeMessage(std::string("\x09", 1)).ok());  // unknown type
}

TEST(SyncMessagesTest, OwnHistoryRoundTripsAndIsDecodedStrictly) {
  OwnHistory h{{{1, Hlc{100}}, {7, Hlc{900}}, {8, Hlc{901}}}};
  auto back = DecodeMessage(EncodeMessage(h));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(std::get<OwnHistory>(*back).stamps, h.stamps);
  std::string good = EncodeMessage(h);
  for (size_t cut = 0; cut < good.size(); ++cut) EXPECT_FALSE(DecodeMessage(good.substr(0, cut)).ok()) << cut;
  // Seqs must increase, and neither a seq nor a stamp may be 0.
  EXPECT_FALSE(DecodeMessage(EncodeMessage(OwnHistory{{{7, Hlc{1}}, {7, Hlc{2}}}})).ok());
  EXPECT_FALSE(DecodeMessage(EncodeMessage(OwnHistory{{{0, Hlc{1}}}})).ok());
  EXPECT_FALSE(DecodeMessage(EncodeMessage(OwnHistory{{{3, Hlc{0}}}})).ok());
  OwnHistory many;
  for (Seq s = 1; s <= kMaxOwnHistoryStamps + 1; ++s) many.stamps.emplace_back(s, Hlc{s});
  EXPECT_EQ(DecodeMessage(EncodeMessage(many)).status().code(), StatusCode::kCorruption);
}

TEST(SyncMessagesTest, DeltaCodingKeepsSmallBatchesSmall) {
  ChangesMsg m;
  for (Seq s = 1; s <= 100; ++s) m.changes.push_back(MakeChange(7, s, 1'700'000'000'000ULL << 16 | s));
  std::string bytes = EncodeMessage(m);
  // origin once (8 bytes), then seq/hlc deltas of one byte each per change.
  EXPECT_LT(bytes.size(), 100 * 40u);
}

}  // namespace
}  // namespace blaze::sync
