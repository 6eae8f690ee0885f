#include "store/change.h"

#include <gtest/gtest.h>

namespace blaze::store {
namespace {

std::vector<Op> Sample() {
  std::vector<Op> ops(3);
  ops[0] = Op{Op::Type::kPut, "bugs", "b1", Value::Map{{"status", Value("open")}, {"p", Value(2)}}, {}};
  ops[1] = Op{Op::Type::kUnset, "bugs", "b1", {}, {"assignee", "tags"}};
  ops[2] = Op{Op::Type::kDelete, "notes", "n9", {}, {}};
  return ops;
}

TEST(ChangeCodecTest, RoundTrips) {
  auto ops = Sample();
  auto back = DecodeOps(EncodeOps(ops));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].fields, ops[0].fields);
  EXPECT_EQ((*back)[1].names, ops[1].names);
  EXPECT_EQ((*back)[2].type, Op::Type::kDelete);
  EXPECT_EQ((*back)[2].collection, "notes");
}

TEST(ChangeCodecTest, EverythingButTheExactBytesIsCorruption) {
  std::string bytes = EncodeOps(Sample());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto r = DecodeOps(bytes.substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  EXPECT_FALSE(DecodeOps(bytes + '\0').ok());
  std::string bad_type = bytes;
  bad_type[2] = 9;
  EXPECT_FALSE(DecodeOps(bad_type).ok());
}

TEST(ChangeCodecTest, StampsAreConsecutivePerOp) {
  Change c{NodeId{7}, 3, Hlc{100}, Sample()};
  EXPECT_EQ(c.StampOf(0), (Stamp{Hlc{100}, NodeId{7}}));
  EXPECT_EQ(c.StampOf(2), (Stamp{Hlc{102}, NodeId{7}}));
}

}  // namespace
}  // namespace blaze::store
