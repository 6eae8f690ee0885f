#include "sync/sync_engine.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "store/replica.h"
#include "support/db_fixture.h"
#include "support/sim_network.h"
#include "sync/messages.h"

namespace blaze {
namespace {

using testing::J;

store::Change PutChange(NodeId origin, Seq seq, Hlc hlc, const std::string& id, Value::Map fields) {
  store::Change c{origin, seq, hlc, {}};
  c.ops.push_back(store::Op{store::Op::Type::kPut, "bugs", id, std::move(fields), {}});
  return c;
}

class RemoteApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.clock = &clock_;
    db_ = testing::OpenOrDie(dir_.File("a.blazedb"), o);
  }
  Hlc Now(uint16_t c = 0) { return Hlc::From(static_cast<uint64_t>(clock_.NowMillis()), c); }
  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Database> db_;
  NodeId other_{77};
};

TEST_F(RemoteApplyTest, AppliesOnceAndRecognisesDuplicates) {
  auto c = PutChange(other_, 1, Now(), "x", {{"v", Value(1)}});
  EXPECT_EQ(*DatabaseAccess::Apply(*db_, c, 60'000), true);
  EXPECT_EQ(*DatabaseAccess::Apply(*db_, c, 60'000), false);
  EXPECT_EQ(*db_->Get("bugs", "x"), J(R"({"v":1})"));
  EXPECT_EQ(DatabaseAccess::GetVersionVector(*db_)->at(other_), 1u);
}

TEST_F(RemoteApplyTest, RefusesAGapWithoutApplyingAnything) {
  auto c = PutChange(other_, 2, Now(), "x", {{"v", Value(1)}});
  auto r = DatabaseAccess::Apply(*db_, c, 60'000);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(db_->Get("bugs", "x").status().IsNotFound());
}

TEST_F(RemoteApplyTest, RejectsClocksBeyondTheAllowedDriftAndChangesNothing) {
  auto c = PutChange(other_, 1, Hlc::From(static_cast<uint64_t>(clock_.NowMillis()) + 3'600'000, 0), "x",
                     {{"v", Value(1)}});
  auto r = DatabaseAccess::Apply(*db_, c, 60'000);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ahead"), std::string::npos);
  EXPECT_TRUE(db_->Get("bugs", "x").status().IsNotFound());
  EXPECT_TRUE(DatabaseAccess::GetVersionVector(*db_)->empty());
  // Local writes are not dragged into the future either.
  ASSERT_TRUE(db_->Put("bugs", "y", J("{}")).ok());
  auto log = testing::ReadLog(dir_.File("a.blazedb"));
  EXPECT_LT(Hlc{static_cast<uint64_t>(log.back().hlc)}.millis(), static_cast<uint64_t>(clock_.NowMillis()) + 10);
}

TEST_F(RemoteApplyTest, ReportsTwoDifferentChangesUnderOneOriginAndSeq) {
  ASSERT_TRUE(DatabaseAccess::Apply(*db_, PutChange(other_, 1, Now(), "x", {{"v", Value(1)}}), 60'000).ok());
  auto r = DatabaseAccess::Apply(*db_, PutChange(other_, 1, Now(), "x", {{"v", Value(2)}}), 60'000);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("copied"), std::string::npos);
  EXPECT_EQ(*db_->Get("bugs", "x"), J(R"({"v":1})"));
}

TEST_F(RemoteApplyTest, RefusesAChangeClaimingThisNodesOwnId) {
  auto r = DatabaseAccess::Apply(*db_, PutChange(db_->node_id(), 1, Now(), "x", {{"v", Value(1)}}), 60'000);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST_F(RemoteApplyTest, AMalformedOperationRollsBackTheWholeChange) {
  auto c = PutChange(other_, 1, Now(), "x", {{"v", Value(1)}});
  c.ops.push_back(store::Op{store::Op::Type::kPut, "bugs", "y", {{"bad", Value(std::nan(""))}}, {}});
  EXPECT_FALSE(DatabaseAccess::Apply(*db_, c, 60'000).ok());
  EXPECT_TRUE(db_->Get("bugs", "x").status().IsNotFound());
  EXPECT_TRUE(DatabaseAccess::GetVersionVector(*db_)->empty());
}

TEST_F(RemoteApplyTest, ABatchKeepsTheChangesBeforeABadOneAndNothingOfIt) {
  auto good1 = PutChange(other_, 1, Now(), "x", {{"v", Value(1)}});
  store::Change bad2{other_, 2, Now(5), {}};
  bad2.ops.push_back(store::Op{store::Op::Type::kPut, "newcoll", "y", {{"ok", Value(1)}}, {}});
  bad2.ops.push_back(store::Op{store::Op::Type::kPut, "newcoll", "z", {{"bad", Value(std::nan(""))}}, {}});
  auto good3 = PutChange(other_, 3, Now(9), "w", {{"v", Value(3)}});
  store::BatchResult r = DatabaseAccess::ApplyBatch(*db_, {good1, bad2, good3}, 60'000);
  EXPECT_EQ(r.done, 1u);
  EXPECT_EQ(r.applied, 1u);
  EXPECT_EQ(r.error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*db_->Get("bugs", "x"), J(R"({"v":1})"));
  EXPECT_TRUE(db_->Get("bugs", "w").status().IsNotFound());
  EXPECT_EQ(DatabaseAccess::GetVersionVector(*db_)->at(other_), 1u);
  // The table the bad change created is gone, and the cache knows it.
  EXPECT_EQ(*db_->Collections(), std::vector<std::string>{"bugs"});
  EXPECT_TRUE(db_->Get("newcoll", "y").status().IsNotFound());
  ASSERT_TRUE(db_->Put("newcoll", "y", J("{}")).ok());
  EXPECT_EQ(*db_->Count("newcoll"), 1);
}

TEST_F(RemoteApplyTest, LocalStampsFollowRemoteOnes) {
  Hlc ahead = Hlc::From(static_cast<uint64_t>(clock_.NowMillis()) + 30'000, 5);
  ASSERT_TRUE(DatabaseAccess::Apply(*db_, PutChange(other_, 1, ahead, "x", {{"v", Value(1)}}), 60'000).ok());
  // A local write after seeing the remote one must win over it.
  ASSERT_TRUE(db_->Patch("bugs", "x", J(R"({"v":2})")).ok());
  EXPECT_EQ(*db_->Get("bugs", "x"), J(R"({"v":2})"));
}

// Two engines over in-memory links on manual executors.
class EnginePairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      Options o;
      o.clock = &clock_;
      db_[i] = testing::OpenOrDie(dir_.File("e" + std::to_string(i) + ".blazedb"), o);
    }
  }
  void StartEngines(sync::SyncOptions so = {}) {
    for (int i = 0; i < 2; ++i) engine_[i] = std::move(sync::SyncEngine::Create(db_[i].get(), &ex_[i], so)).value();
    auto [a, b] = sync::MakeInMemoryLinkPair();
    engine_[0]->AddPeer(a);
    engine_[1]->AddPeer(b);
  }
  void Run() {
    for (int k = 0; k < 100; ++k) {
      size_t n = ex_[0].RunUntilIdle() + ex_[1].RunUntilIdle();
      if (n == 0) return;
    }
  }
  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Database> db_[2];
  sync::ManualExecutor ex_[2];
  std::unique_ptr<sync::SyncEngine> engine_[2];
};

TEST_F(EnginePairTest, CatchesUpThenStreamsLive) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(db_[0]->Put("bugs", "a" + std::to_string(i), J(R"({"v":1})")).ok());
  sync::SyncOptions so;
  so.batch_changes = 7;
  so.window = 2;
  StartEngines(so);
  Run();
  EXPECT_EQ(*db_[1]->Count("bugs"), 50);
  ASSERT_TRUE(db_[1]->Patch("bugs", "a3", J(R"({"v":2})")).ok());
  Run();
  EXPECT_EQ(*db_[0]->Get("bugs", "a3"), J(R"({"v":2})"));
  auto stats = engine_[0]->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_TRUE(stats[0].live);
  EXPECT_EQ(stats[0].remote_node, db_[1]->node_id());
  EXPECT_EQ(stats[0].changes_sent, 50u);
  EXPECT_EQ(stats[0].changes_applied, 1u);
  EXPECT_EQ(stats[0].lag, 0u);
}

// Forwards to another link, remembering the largest message sent.
class MeasuringLink : public sync::Link {
 public:
  explicit MeasuringLink(std::shared_ptr<sync::Link> inner) : inner_(std::move(inner)) {}
  Status Send(std::string message) override {
    largest_ = std::max(largest_, message.size());
    return inner_->Send(std::move(message));
  }
  void Close(const Status& why) override { inner_->Close(why); }
  void Attach(std::shared_ptr<sync::LinkHandler> handler, sync::Executor* executor) override {
    inner_->Attach(std::move(handler), executor);
  }
  size_t largest() const { return largest_; }

 private:
  std::shared_ptr<sync::Link> inner_;
  size_t largest_ = 0;
};

TEST_F(EnginePairTest, BigChangesAreSplitAcrossMessagesByBytes) {
  // 40 changes of 100 KB: one message of all of them (4 MB) would pass a
  // relay's --max-message-bytes of 1 MiB, and that peer never catches up.
  const std::string big(100'000, 'x');
  for (int i = 0; i < 40; ++i) {
    Value::Map fields{{"pad", Value(big)}};
    ASSERT_TRUE(db_[0]->Put("bugs", "big" + std::to_string(i), Value(std::move(fields))).ok());
  }
  sync::SyncOptions so;
  for (int i = 0; i < 2; ++i) engine_[i] = std::move(sync::SyncEngine::Create(db_[i].get(), &ex_[i], so)).value();
  auto [a, b] = sync::MakeInMemoryLinkPair();
  auto measured = std::make_shared<MeasuringLink>(a);
  engine_[0]->AddPeer(measured);
  engine_[1]->AddPeer(b);
  Run();
  EXPECT_EQ(*db_[1]->Count("bugs"), 40);
  EXPECT_LE(measured->largest(), so.batch_bytes + 4096);
  EXPECT_GT(measured->largest(), 100'000u);  // several changes still share a message
}

TEST_F(EnginePairTest, ATickPicksUpWritesMadeThroughAnotherHandle) {
  // Another process (here: another handle) writing the file fires no commit
  // hook in this one; the engine must still send those changes.
  StartEngines();
  Run();
  Options o;
  o.clock = &clock_;
  auto other = testing::OpenOrDie(dir_.File("e0.blazedb"), o);
  ASSERT_TRUE(other->Put("bugs", "from-elsewhere", J(R"({"v":1})")).ok());
  Run();
  for (int t = 0; t < 2; ++t) {
    engine_[0]->Tick();
    engine_[1]->Tick();
    Run();
  }
  EXPECT_EQ(*db_[1]->Get("bugs", "from-elsewhere"), J(R"({"v":1})"));
}

TEST_F(EnginePairTest, ATransactionArrivesWholeOrNotAtAll) {
  StartEngines();
  Run();
  ASSERT_TRUE(db_[0]->Transaction([](Txn& t) -> Status {
    for (int i = 0; i < 20; ++i) BLAZE_RETURN_IF_ERROR(t.Put("bugs", "t" + std::to_string(i), J(R"({"v":1})")));
    return Status::Ok();
  }).ok());
  // Watch the other side: every event batch must show all 20 or none.
  std::vector<int64_t> counts;
  auto h = db_[1]->Watch("bugs", "", [&](const ChangeEvent&) {});
  ASSERT_TRUE(h.ok());
  while (ex_[0].RunOne() || ex_[1].RunOne()) {
    int64_t n = *db_[1]->Count("bugs");
    counts.push_back(n);
  }
  for (int64_t n : counts) EXPECT_TRUE(n == 0 || n == 20) << n;
  EXPECT_EQ(*db_[1]->Count("bugs"), 20);
}

TEST_F(EnginePairTest, ResumesAfterRestartFromWhereItStopped) {
  StartEngines();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(db_[0]->Put("bugs", "a" + std::to_string(i), J("{}")).ok());
  Run();
  EXPECT_EQ(*db_[1]->Count("bugs"), 10);
  // Restart replica 1 from disk; replica 0 keeps writing meanwhile.
  engine_[0]->Tick();  // persists the acknowledged checkpoint
  Run();
  engine_[1].reset();
  engine_[0].reset();
  Run();
  db_[1].reset();
  for (int i = 10; i < 15; ++i) ASSERT_TRUE(db_[0]->Put("bugs", "a" + std::to_string(i), J("{}")).ok());
  Options o;
  o.clock = &clock_;
  db_[1] = testing::OpenOrDie(dir_.File("e1.blazedb"), o);
  auto checkpoint = DatabaseAccess::LoadCheckpoint(*db_[0], db_[1]->node_id());
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ((*checkpoint)[db_[0]->node_id()], 10u);  // acknowledged before the restart
  StartEngines();
  Run();
  EXPECT_EQ(*db_[1]->Count("bugs"), 15);
  auto stats = engine_[0]->Stats();
  EXPECT_EQ(stats[0].changes_sent, 5u);  // resumed: only what was missing
}

TEST_F(EnginePairTest, APeerSendingFutureStampsGetsAnErrorAndTheLinkCloses) {
  sync::SyncOptions so;
  so.max_drift_ms = 1000;
  StartEngines(so);
  Run();
  // Replica 0's clock runs an hour fast for one write.
  testing::FakeClock fast(clock_.NowMillis() + 3'600'000);
  Options o;
  o.clock = &fast;
  engine_[0].reset();
  Run();
  db_[0].reset();
  db_[0] = testing::OpenOrDie(dir_.File("e0.blazedb"), o);
  ASSERT_TRUE(db_[0]->Put("bugs", "future", J("{}")).ok());
  StartEngines(so);
  Run();
  EXPECT_TRUE(db_[1]->Get("bugs", "future").status().IsNotFound());
  auto stats = engine_[1]->Stats();
  bool refused = false;
  for (const auto& s : stats) refused |= s.error.find("ahead") != std::string::npos;
  EXPECT_TRUE(refused);
}

TEST(SyncHoldBackTest, OutOfOrderChangesWaitForTheGapAndDuplicatesAreSkipped) {
  testing::TempDir dir;
  testing::FakeClock clock;
  Options o;
  o.clock = &clock;
  auto src = testing::OpenOrDie(dir.File("src.blazedb"), o);
  auto dst = testing::OpenOrDie(dir.File("dst.blazedb"), o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(src->Put("bugs", "k", J("{\"v\":" + std::to_string(i) + "}")).ok());
  auto changes = DatabaseAccess::ChangesAfter(*src, src->node_id(), 0, 100);
  ASSERT_EQ(changes->size(), 5u);

  sync::ManualExecutor ex;
  auto engine = std::move(sync::SyncEngine::Create(dst.get(), &ex)).value();
  auto [mine, theirs] = sync::MakeInMemoryLinkPair();
  engine->AddPeer(mine);
  // Play the source by hand: hello, then changes 3, 5, 4, 3, 1, 2.
  struct Sink : sync::LinkHandler {
    std::vector<std::string> got;
    void OnMessage(std::string m) override { got.push_back(std::move(m)); }
    void OnClosed(const Status&) override {}
  };
  auto sink = std::make_shared<Sink>();
  sync::ManualExecutor their_ex;
  theirs->Attach(sink, &their_ex);
  ASSERT_TRUE(theirs->Send(sync::EncodeMessage(sync::Hello{src->node_id(), {}})).ok());
  ex.RunUntilIdle();
  uint64_t batch = 1;
  auto send = [&](int i) {
    ASSERT_TRUE(theirs->Send(sync::EncodeMessage(sync::ChangesMsg{batch++, {(*changes)[i - 1]}})).ok());
    ex.RunUntilIdle();
  };
  send(3);
  send(5);
  send(4);
  EXPECT_TRUE(dst->Get("bugs", "k").status().IsNotFound());  // held back: 1 and 2 are missing
  send(3);
  send(1);
  EXPECT_EQ(*dst->Get("bugs", "k"), J(R"({"v":0})"));  // only 1 applies
  send(2);
  EXPECT_EQ(*dst->Get("bugs", "k"), J(R"({"v":4})"));  // 2 fills the gap, 3..5 follow
  EXPECT_EQ(DatabaseAccess::GetVersionVector(*dst)->at(src->node_id()), 5u);
  auto stats = engine->Stats();
  EXPECT_EQ(stats[0].changes_applied, 5u);
  EXPECT_EQ(stats[0].duplicates, 1u);
}

}  // namespace
}  // namespace blaze

namespace blaze {
namespace {

// Engines on their own threads, writers on others: the in-process setup
// applications use. Run under TSan in CI.
TEST(ThreadedSyncTest, ReplicasOnSeparateThreadsConvergeWhileWritersRun) {
  constexpr int kReplicas = 3;
  constexpr int kWrites = 150;
  std::unique_ptr<Database> dbs[kReplicas];
  std::unique_ptr<sync::ThreadExecutor> executors[kReplicas];
  std::unique_ptr<sync::SyncEngine> engines[kReplicas];
  for (int i = 0; i < kReplicas; ++i) {
    Options o;
    o.in_memory = true;
    dbs[i] = testing::OpenOrDie("", o);
    executors[i] = std::make_unique<sync::ThreadExecutor>();
    engines[i] = std::move(sync::SyncEngine::Create(dbs[i].get(), executors[i].get())).value();
  }
  for (int i = 0; i < kReplicas; ++i) {
    for (int j = i + 1; j < kReplicas; ++j) {
      auto [a, b] = sync::MakeInMemoryLinkPair();
      engines[i]->AddPeer(a);
      engines[j]->AddPeer(b);
    }
  }
  std::vector<std::thread> writers;
  for (int i = 0; i < kReplicas; ++i) {
    writers.emplace_back([&, i] {
      std::mt19937 rng(static_cast<unsigned>(i));
      for (int k = 0; k < kWrites; ++k) {
        std::string id = "k" + std::to_string(rng() % 20);
        Status s = (k % 5 == 4) ? dbs[i]->Delete("bugs", id)
                                : dbs[i]->Put("bugs", id, Value(Value::Map{{"w", Value(i)}, {"k", Value(k)}}));
        ASSERT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
      }
    });
  }
  for (auto& w : writers) w.join();
  // Wait (with a generous deadline, not a timing assertion) for convergence.
  bool converged = false;
  for (int tries = 0; tries < 1000 && !converged; ++tries) {
    auto v0 = DatabaseAccess::GetVersionVector(*dbs[0]);
    converged = v0.ok() && v0->size() == kReplicas;
    for (int i = 1; i < kReplicas && converged; ++i) converged = *DatabaseAccess::GetVersionVector(*dbs[i]) == *v0;
    if (!converged) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(converged);
  for (int i = 0; i < kReplicas; ++i) engines[i].reset();
  for (int i = 0; i < kReplicas; ++i) executors[i].reset();
  auto s0 = DatabaseAccess::DumpStates(*dbs[0]);
  for (int i = 1; i < kReplicas; ++i) EXPECT_EQ(*DatabaseAccess::DumpStates(*dbs[i]), *s0);
}

}  // namespace
}  // namespace blaze
