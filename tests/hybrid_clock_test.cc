#include "store/hybrid_clock.h"

#include <gtest/gtest.h>

#include "support/fakes.h"

namespace blaze::store {
namespace {

TEST(HybridClockTest, FollowsTheWallClock) {
  testing::FakeClock wall(5000);
  HybridClock hlc(&wall);
  Hlc a = hlc.Next(Hlc{});
  EXPECT_EQ(a.millis(), 5000u);
  EXPECT_EQ(a.counter(), 0);
}

TEST(HybridClockTest, NeverGoesBackwardsWhenTheWallClockDoes) {
  testing::FakeClock wall(5000);
  HybridClock hlc(&wall);
  Hlc a = hlc.Next(Hlc{});
  hlc.Advance(a);
  wall.Set(1000);
  Hlc b = hlc.Next(Hlc{});
  EXPECT_GT(b, a);
  EXPECT_EQ(b.millis(), 5000u);
  EXPECT_EQ(b.counter(), 1);
}

TEST(HybridClockTest, StaysAboveTheFloorOtherProcessesRecorded) {
  testing::FakeClock wall(5000);
  HybridClock hlc(&wall);
  Hlc floor = Hlc::From(9000, 7);
  EXPECT_EQ(hlc.Next(floor), Hlc::From(9000, 8));
}

TEST(HybridClockTest, CounterOverflowCarriesIntoMilliseconds) {
  testing::FakeClock wall(5000);
  HybridClock hlc(&wall);
  hlc.Advance(Hlc::From(5000, 0xFFFF));
  EXPECT_EQ(hlc.Next(Hlc{}), Hlc::From(5001, 0));
}

TEST(HybridClockTest, RejectsTimestampsBeyondMaxSkew) {
  testing::FakeClock wall(100'000);
  HybridClock hlc(&wall);
  Status s = hlc.Observe(Hlc::From(100'000 + 60'001, 0), 60'000);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hlc.last(), Hlc{});  // nothing absorbed
  EXPECT_TRUE(hlc.Observe(Hlc::From(100'000 + 60'000, 3), 60'000).ok());
  EXPECT_EQ(hlc.Next(Hlc{}), Hlc::From(160'000, 4));
}

}  // namespace
}  // namespace blaze::store
