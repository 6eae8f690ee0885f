#include "store/record_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace blaze::store {
namespace {

Stamp S(uint64_t hlc, uint64_t origin = 1) { return Stamp{Hlc{hlc}, NodeId{origin}}; }
Value::Map F(std::initializer_list<std::pair<const std::string, Value>> f) { return Value::Map(f); }

TEST(RecordStateTest, LaterWriteWinsPerField) {
  RecordState st;
  st.ApplyPut(S(2), F({{"a", Value(2)}, {"b", Value(2)}}));
  st.ApplyPut(S(1), F({{"a", Value(1)}, {"c", Value(1)}}));
  EXPECT_EQ(st.VisibleDoc(), Value(F({{"a", Value(2)}, {"b", Value(2)}, {"c", Value(1)}})));
}

TEST(RecordStateTest, OriginBreaksHlcTies) {
  RecordState st;
  st.ApplyPut(S(5, 2), F({{"a", Value("from 2")}}));
  st.ApplyPut(S(5, 1), F({{"a", Value("from 1")}}));
  EXPECT_EQ(*st.VisibleDoc().Find("a"), Value("from 2"));
}

TEST(RecordStateTest, DeleteHidesOlderWritesAndLaterWritesResurrect) {
  RecordState st;
  st.ApplyPut(S(1), F({{"a", Value(1)}, {"b", Value(1)}}));
  st.ApplyDelete(S(2));
  EXPECT_FALSE(st.visible());
  EXPECT_TRUE(st.fields().empty());  // pruned: can never be visible again
  st.ApplyPut(S(3), F({{"b", Value(3)}}));
  EXPECT_TRUE(st.visible());
  EXPECT_EQ(st.VisibleDoc(), Value(F({{"b", Value(3)}})));
  // An old write arriving late stays hidden.
  st.ApplyPut(S(1), F({{"a", Value(9)}}));
  EXPECT_EQ(st.VisibleDoc(), Value(F({{"b", Value(3)}})));
}

TEST(RecordStateTest, UnsetIsAWriteOfAbsent) {
  RecordState st;
  st.ApplyPut(S(1), F({{"a", Value(1)}}));
  st.ApplyUnset(S(3), {"a"});
  st.ApplyPut(S(2), F({{"a", Value(2)}}));  // older than the unset: loses
  EXPECT_EQ(st.VisibleDoc(), Value(Value::Map{}));
  EXPECT_TRUE(st.visible());  // the record itself still exists
}

TEST(RecordStateTest, ReplayingAnOpChangesNothing) {
  RecordState st;
  st.ApplyPut(S(1), F({{"a", Value(1)}}));
  RecordState copy = st;
  st.ApplyPut(S(1), F({{"a", Value(1)}}));
  EXPECT_EQ(st, copy);
}

TEST(RecordStateTest, EncodeDecodeRoundTrip) {
  RecordState st;
  st.ApplyPut(S(10, 7), F({{"a", Value(1)}, {"b", Value("x")}}));
  st.ApplyUnset(S(11, 8), {"c"});
  st.ApplyPut(S(12, 9), F({{"d", Value::FromBytes({1, 2})}}));
  auto back = RecordState::Decode(st.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, st);
  EXPECT_EQ(back->Encode(), st.Encode());
}

TEST(RecordStateTest, DecodeRejectsDamage) {
  RecordState st;
  st.ApplyPut(S(10), F({{"a", Value(1)}}));
  std::string bytes = st.Encode();
  for (size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_FALSE(RecordState::Decode(bytes.substr(0, cut)).ok());
  EXPECT_FALSE(RecordState::Decode(bytes + "x").ok());
}

// Any order of the same operations gives byte-identical states.
TEST(RecordStateTest, ApplicationOrderDoesNotMatter) {
  struct Step {
    int kind;
    Stamp s;
    std::string field;
    int value;
  };
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::vector<Step> steps;
    for (int i = 0; i < 8; ++i) {
      steps.push_back(Step{static_cast<int>(rng() % 3), S(rng() % 20 + 1, rng() % 3 + 1),
                           std::string(1, static_cast<char>('a' + rng() % 3)), static_cast<int>(rng() % 100)});
    }
    auto run = [&](const std::vector<Step>& order) {
      RecordState st;
      for (const Step& s : order) {
        if (s.kind == 0) st.ApplyPut(s.s, F({{s.field, Value(s.value)}}));
        if (s.kind == 1) st.ApplyUnset(s.s, {s.field});
        if (s.kind == 2) st.ApplyDelete(s.s);
      }
      return st.Encode();
    };
    // Distinct ops must have distinct stamps (as in any real history).
    std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.s < b.s; });
    steps.erase(std::unique(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.s == b.s; }),
                steps.end());
    std::string expected = run(steps);
    for (int p = 0; p < 10; ++p) {
      std::shuffle(steps.begin(), steps.end(), rng);
      std::vector<Step> doubled = steps;
      doubled.insert(doubled.end(), steps.begin(), steps.begin() + steps.size() / 2);  // duplicates too
      ASSERT_EQ(run(doubled), expected) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace blaze::store

namespace blaze::store {
namespace {

// Found by fuzz_record_state: a deleted record's state with a damaged tail
// must be reported as corruption by the fast decoder too, not as "deleted".
TEST(RecordStateTest, BothDecodersRejectADamagedDeletedRecord) {
  RecordState st;
  st.ApplyPut(S(1), F({{"a", Value(1)}}));
  st.ApplyUnset(S(5), {"b"});
  st.ApplyDelete(S(3));
  std::string bytes = st.Encode();
  ASSERT_TRUE(RecordState::DecodeVisibleDoc(bytes).ok());
  EXPECT_FALSE(RecordState::DecodeVisibleDoc(bytes)->has_value());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(RecordState::Decode(bytes.substr(0, cut)).ok()) << cut;
    EXPECT_FALSE(RecordState::DecodeVisibleDoc(bytes.substr(0, cut)).ok()) << cut;
  }
}

}  // namespace
}  // namespace blaze::store
