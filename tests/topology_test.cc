#include "blaze/topology.h"

#include <gtest/gtest.h>

#include <atomic>

#include "store/replica.h"
#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;

class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"a", "b", "c"}) {
      Options o;
      o.in_memory = true;
      dbs_[n] = testing::OpenOrDie("", o);
    }
    TopologyOptions to;
    to.tick_ms = 20;
    to.report_poll_ms = 10;
    topo_ = std::move(Topology::Create(to)).value();
  }
  void RegisterAll() {
    for (auto& [n, db] : dbs_) ASSERT_TRUE(topo_->Register(n, db.get()).ok());
  }
  void ExpectAllHold(const std::string& id, const Value& doc) {
    ASSERT_TRUE(topo_->WaitUntilSynced(10'000).ok());
    for (auto& [n, db] : dbs_) {
      auto got = db->Get("bugs", id);
      ASSERT_TRUE(got.ok()) << n << ": " << got.status().ToString();
      EXPECT_EQ(*got, doc) << n;
    }
  }
  std::map<std::string, std::unique_ptr<Database>> dbs_;
  std::unique_ptr<Topology> topo_;
};

TEST_F(TopologyTest, MeshLinksEveryPairAndConverges) {
  RegisterAll();
  ASSERT_TRUE(topo_->Connect(Topology::Pattern::kMesh).ok());
  ASSERT_TRUE(dbs_["a"]->Put("bugs", "x", J(R"({"from":"a"})")).ok());
  ASSERT_TRUE(dbs_["c"]->Put("bugs", "y", J(R"({"from":"c"})")).ok());
  ExpectAllHold("x", J(R"({"from":"a"})"));
  ExpectAllHold("y", J(R"({"from":"c"})"));
  auto report = topo_->Report();
  EXPECT_EQ(report.size(), 6u);  // 3 links, both directions
  for (const auto& r : report) {
    EXPECT_EQ(r.state, LinkReport::State::kLive) << r.a << "->" << r.b;
    EXPECT_EQ(r.lag, 0u);
  }
}

TEST_F(TopologyTest, HubAndSpokeRelaysThroughTheTopologysOwnHub) {
  RegisterAll();
  ASSERT_TRUE(topo_->Connect(Topology::Pattern::kHubAndSpoke).ok());
  auto report = topo_->Report();
  EXPECT_EQ(report.size(), 6u);  // a, b, c each linked to the hub only
  for (const auto& r : report) EXPECT_TRUE(r.a == "hub" || r.b == "hub");
  ASSERT_TRUE(dbs_["a"]->Put("bugs", "x", J(R"({"v":1})")).ok());
  ExpectAllHold("x", J(R"({"v":1})"));
}

TEST_F(TopologyTest, StarForwardsThroughTheChosenPeer) {
  RegisterAll();
  ASSERT_TRUE(topo_->Connect(Topology::Pattern::kStar, "b").ok());
  for (const auto& r : topo_->Report()) EXPECT_TRUE(r.a == "b" || r.b == "b");
  ASSERT_TRUE(dbs_["a"]->Put("bugs", "x", J(R"({"v":"a to c via b"})")).ok());
  ExpectAllHold("x", J(R"({"v":"a to c via b"})"));
  EXPECT_EQ(topo_->Unregister("b").code(), StatusCode::kFailedPrecondition);
}

TEST_F(TopologyTest, SwitchingPatternAtRunTimeLosesNothing) {
  RegisterAll();
  ASSERT_TRUE(topo_->Connect(Topology::Pattern::kMesh).ok());
  int n = 0;
  for (auto pattern : {Topology::Pattern::kStar, Topology::Pattern::kHubAndSpoke, Topology::Pattern::kMesh}) {
    for (auto& [name, db] : dbs_) ASSERT_TRUE(db->Put("bugs", "k" + std::to_string(n++), J("{}")).ok());
    ASSERT_TRUE(topo_->Connect(pattern, "a").ok());
    for (auto& [name, db] : dbs_) ASSERT_TRUE(db->Put("bugs", "k" + std::to_string(n++), J("{}")).ok());
  }
  ASSERT_TRUE(topo_->WaitUntilSynced(10'000).ok());
  for (auto& [name, db] : dbs_) EXPECT_EQ(*db->Count("bugs"), n) << name;
  auto s0 = DatabaseAccess::DumpStates(*dbs_["a"]);
  for (auto& [name, db] : dbs_) EXPECT_EQ(*DatabaseAccess::DumpStates(*db), *s0) << name;
}

TEST_F(TopologyTest, LateMembersJoinThePatternAndLeaveCleanly) {
  ASSERT_TRUE(topo_->Register("a", dbs_["a"].get()).ok());
  ASSERT_TRUE(topo_->Connect(Topology::Pattern::kMesh).ok());
  ASSERT_TRUE(dbs_["a"]->Put("bugs", "early", J(R"({"v":1})")).ok());
  ASSERT_TRUE(topo_->Register("b", dbs_["b"].get()).ok());
  ASSERT_TRUE(topo_->Register("c", dbs_["c"].get()).ok());
  ExpectAllHold("early", J(R"({"v":1})"));
  ASSERT_TRUE(topo_->Unregister("c").ok());
  EXPECT_EQ(topo_->Report().size(), 2u);
  EXPECT_EQ(topo_->Unregister("c").code(), StatusCode::kNotFound);
}

TEST_F(TopologyTest, RefusesDuplicatesAndCopies) {
  ASSERT_TRUE(topo_->Register("a", dbs_["a"].get()).ok());
  EXPECT_EQ(topo_->Register("a", dbs_["b"].get()).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(topo_->Register("again", dbs_["a"].get()).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(topo_->Register("hub", dbs_["b"].get()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(topo_->Connect(Topology::Pattern::kStar, "nobody").code(), StatusCode::kNotFound);
}

TEST_F(TopologyTest, ReportWatchersHearAboutChanges) {
  std::mutex mu;
  std::vector<std::vector<LinkReport>> seen;
  WatchHandle h = topo_->WatchReport([&](const std::vector<LinkReport>& r) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(r);
  });
  RegisterAll();
  ASSERT_TRUE(topo_->Connect(Topology::Pattern::kMesh).ok());
  ASSERT_TRUE(topo_->WaitUntilSynced(10'000).ok());
  bool saw_all_live = false;
  for (int i = 0; i < 500 && !saw_all_live; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& r : seen) {
        bool live = r.size() == 6;
        for (const auto& l : r) live = live && l.state == LinkReport::State::kLive;
        saw_all_live = saw_all_live || live;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(saw_all_live);
  h.Cancel();
}

}  // namespace
}  // namespace blaze
