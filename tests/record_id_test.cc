#include "blaze/record_id.h"

#include <gtest/gtest.h>

#include <set>

#include "support/fakes.h"

namespace blaze {
namespace {

TEST(RecordIdTest, GeneratedIdsAre26CrockfordCharsCarryingTheTime) {
  testing::FakeClock clock(1'700'000'000'123);
  testing::SeededRandom random(1);
  RecordIdGenerator gen(&clock, &random);
  std::string id = gen.Next();
  EXPECT_EQ(id.size(), 26u);
  EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
  EXPECT_EQ(GeneratedIdMillis(id), 1'700'000'000'123);
  EXPECT_TRUE(ValidateRecordId(id).ok());
}

TEST(RecordIdTest, IdsSortByCreationTimeEvenWithinOneMillisecond) {
  testing::FakeClock clock;
  testing::SeededRandom random(2);
  RecordIdGenerator gen(&clock, &random);
  std::string prev = gen.Next();
  std::set<std::string> seen{prev};
  for (int i = 0; i < 10000; ++i) {
    if (i % 100 == 0) clock.Advance(1);
    if (i % 777 == 0) clock.Advance(-5);  // the wall clock stepping back must not break order
    std::string id = gen.Next();
    EXPECT_LT(prev, id);
    EXPECT_TRUE(seen.insert(id).second);
    prev = id;
  }
}

TEST(RecordIdTest, ValidatesUserIds) {
  EXPECT_TRUE(ValidateRecordId("bug-1").ok());
  EXPECT_TRUE(ValidateRecordId(std::string(256, 'x')).ok());
  EXPECT_EQ(ValidateRecordId(std::string(257, 'x')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRecordId("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRecordId("\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(GeneratedIdMillis("bug-1").has_value());
}

}  // namespace
}  // namespace blaze
