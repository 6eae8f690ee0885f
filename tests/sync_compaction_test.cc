// Compaction, tombstone purging and snapshot bootstrap: a peer behind a
// compacted log is brought up to date from current state, nothing is lost,
// and tombstones go only when no write that should lose to them can arrive.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/replica.h"
#include "support/db_fixture.h"
#include "sync/sync_engine.h"

namespace blaze {
namespace {

using testing::J;

constexpr int64_t kDay = 24LL * 3600 * 1000;

class CompactionTest : public ::testing::Test {
 protected:
  static constexpr int kN = 3;
  void SetUp() override {
    for (int i = 0; i < kN; ++i) Reopen(i);
  }
  void Reopen(int i) {
    engine_[i].reset();
    db_[i].reset();
    Options o;
    o.clock = &clock_;
    db_[i] = testing::OpenOrDie(dir_.File("r" + std::to_string(i) + ".blazedb"), o);
  }
  sync::SyncEngine& Engine(int i) {
    if (!engine_[i]) engine_[i] = std::move(sync::SyncEngine::Create(db_[i].get(), &ex_[i])).value();
    return *engine_[i];
  }
  void Link(int a, int b) {
    auto [x, y] = sync::MakeInMemoryLinkPair();
    Engine(a).AddPeer(x);
    Engine(b).AddPeer(y);
  }
  void Run() {
    for (int k = 0; k < 1000; ++k) {
      size_t n = 0;
      for (auto& ex : ex_) n += ex.RunUntilIdle();
      if (n == 0) return;
    }
  }
  // Ticks persist acknowledged checkpoints.
  void TickAll() {
    for (auto& e : engine_) {
      if (e) e->Tick();
    }
    Run();
  }
  void StopEngines() {
    for (auto& e : engine_) e.reset();
    Run();
  }
  sync::PeerStats StatsOf(int i) {
    auto s = engine_[i]->Stats();
    EXPECT_EQ(s.size(), 1u);
    return s.empty() ? sync::PeerStats{} : s[0];
  }
  std::vector<Record> All(int i, const std::string& c = "bugs") { return *db_[i]->FetchAll(c); }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Database> db_[kN];
  sync::ManualExecutor ex_[kN];
  std::unique_ptr<sync::SyncEngine> engine_[kN];
};

bool SameRecords(const std::vector<Record>& a, const std::vector<Record>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || !(a[i].doc == b[i].doc)) return false;
  }
  return true;
}

TEST_F(CompactionTest, PrunesOnlyWhatEveryKnownPeerAcknowledged) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(db_[0]->Put("bugs", "b" + std::to_string(i), J(R"({"v":1})")).ok());
  NodeId a = db_[0]->node_id();
  ASSERT_TRUE(DatabaseAccess::SaveCheckpoint(*db_[0], NodeId{501}, {{a, 7}}).ok());
  ASSERT_TRUE(DatabaseAccess::SaveCheckpoint(*db_[0], NodeId{502}, {{a, 4}}).ok());
  auto stats = db_[0]->Compact();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->changes_pruned, 4);
  EXPECT_EQ(stats->horizon[a], 4u);
  auto rest = DatabaseAccess::ChangesAfter(*db_[0], a, 0, 100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 6u);
  EXPECT_EQ(rest->front().seq, 5u);
  // Compacting again prunes nothing more; the data is untouched.
  EXPECT_EQ(db_[0]->Compact()->changes_pruned, 0);
  EXPECT_EQ(*db_[0]->Count("bugs"), 10);
  // Changes older than the log horizon go even if a peer lacks them.
  clock_.Advance(8 * kDay);
  ASSERT_TRUE(db_[0]->Put("bugs", "late", J("{}")).ok());
  EXPECT_EQ(db_[0]->Compact()->changes_pruned, 6);
  EXPECT_EQ(DatabaseAccess::ChangesAfter(*db_[0], a, 0, 100)->size(), 1u);
}

TEST_F(CompactionTest, APeerBehindTheCompactedLogIsBootstrappedFromASnapshot) {
  for (int i = 0; i < 1200; ++i) {
    ASSERT_TRUE(db_[0]->Put("bugs", "b" + std::to_string(i), J(R"({"v":1,"note":"x"})")).ok());
  }
  ASSERT_TRUE(db_[0]->Delete("bugs", "b3").ok());
  ASSERT_TRUE(db_[0]->Patch("bugs", "b4", J(R"({"note":null})")).ok());
  ASSERT_TRUE(db_[0]->Put("other", "o1", J(R"({"k":"v"})")).ok());
  // Replica 1 wrote on its own meanwhile, including to a record 0 has.
  ASSERT_TRUE(db_[1]->Put("bugs", "mine", J(R"({"v":2})")).ok());
  clock_.Advance(5);
  ASSERT_TRUE(db_[1]->Patch("bugs", "b5", J(R"({"v":9})")).IsNotFound());
  CompactOptions everything;
  everything.log_horizon_ms = 0;
  auto stats = db_[0]->Compact(everything);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->changes_pruned, 1203);

  std::atomic<size_t> events{0};  // the callback runs on the watcher's thread
  auto watch = db_[1]->Watch("bugs", "", [&](const ChangeEvent&) { ++events; });
  ASSERT_TRUE(watch.ok());
  Link(0, 1);
  Run();
  EXPECT_TRUE(SameRecords(All(0), All(1)));
  EXPECT_TRUE(SameRecords(All(0, "other"), All(1, "other")));
  EXPECT_EQ(All(1).size(), 1200u);  // 1199 of 0's plus "mine"
  EXPECT_EQ(*db_[1]->Get("bugs", "b4"), J(R"({"v":1})"));
  EXPECT_TRUE(db_[1]->Get("bugs", "b3").status().IsNotFound());
  EXPECT_EQ(StatsOf(0).snapshots_sent, 1u);
  EXPECT_EQ(StatsOf(1).snapshots_applied, 1u);
  EXPECT_EQ(*DatabaseAccess::GetVersionVector(*db_[0]), *DatabaseAccess::GetVersionVector(*db_[1]));

  // Live changes follow as ordinary deltas.
  ASSERT_TRUE(db_[0]->Patch("bugs", "b7", J(R"({"v":7})")).ok());
  Run();
  EXPECT_EQ(*db_[1]->Get("bugs", "b7"), J(R"({"v":7,"note":"x"})"));
  EXPECT_EQ(StatsOf(0).snapshots_sent, 1u);
  // The snapshot merge was announced to watchers (delivered asynchronously).
  for (int k = 0; k < 500 && events < 1199; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  watch->Cancel();
  EXPECT_GE(events.load(), 1199u);
}

TEST_F(CompactionTest, AReplicaBootstrappedFromASnapshotPassesOnASnapshotInTurn) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(db_[0]->Put("bugs", "b" + std::to_string(i), J(R"({"v":1})")).ok());
  CompactOptions everything;
  everything.log_horizon_ms = 0;
  ASSERT_TRUE(db_[0]->Compact(everything).ok());
  Link(0, 1);
  Run();
  ASSERT_EQ(All(1).size(), 20u);
  // Replica 1's log never held 0's changes: replica 2 gets them as state.
  ASSERT_TRUE(db_[2]->Put("bugs", "z", J(R"({"v":3})")).ok());
  Link(1, 2);
  Run();
  EXPECT_TRUE(SameRecords(All(0), All(2)));
  EXPECT_EQ(All(2).size(), 21u);
  EXPECT_EQ(*DatabaseAccess::GetVersionVector(*db_[0]), *DatabaseAccess::GetVersionVector(*db_[2]));
}

TEST_F(CompactionTest, ASnapshotWithStampsTooFarAheadIsRefusedWhole) {
  testing::FakeClock fast(clock_.NowMillis() + 3'600'000);
  Options o;
  o.clock = &fast;
  db_[0].reset();
  db_[0] = testing::OpenOrDie(dir_.File("r0.blazedb"), o);
  ASSERT_TRUE(db_[0]->Put("bugs", "future", J("{}")).ok());
  auto snap = DatabaseAccess::ReadSnapshot(*db_[0]);
  ASSERT_TRUE(snap.ok());
  auto applied = DatabaseAccess::ApplySnapshot(*db_[1], *snap, 60'000);
  EXPECT_FALSE(applied.ok());
  EXPECT_NE(applied.status().ToString().find("ahead"), std::string::npos) << applied.status().ToString();
  EXPECT_EQ(*db_[1]->Count("bugs"), 0);
  EXPECT_TRUE(DatabaseAccess::GetVersionVector(*db_[1])->empty());
}

TEST_F(CompactionTest, ASnapshotClaimingThisNodesUnseenChangesIsRefused) {
  ASSERT_TRUE(db_[1]->Put("bugs", "x", J("{}")).ok());
  store::Snapshot snap;
  snap.vv[db_[1]->node_id()] = 5;  // this node wrote only 1
  auto applied = DatabaseAccess::ApplySnapshot(*db_[1], snap, 60'000);
  EXPECT_TRUE(applied.status().code() == StatusCode::kCorruption) << applied.status().ToString();
}

TEST_F(CompactionTest, TombstonesStayUntilEveryPeerHasThemThenGo) {
  ASSERT_TRUE(db_[0]->Put("bugs", "x", J(R"({"v":1,"w":2})")).ok());
  ASSERT_TRUE(db_[1]->Put("bugs", "from1", J("{}")).ok());
  Link(0, 1);
  Run();
  TickAll();
  ASSERT_TRUE(db_[0]->Delete("bugs", "x").ok());
  ASSERT_TRUE(db_[0]->Put("bugs", "y", J(R"({"v":1,"w":2})")).ok());
  ASSERT_TRUE(db_[0]->Patch("bugs", "y", J(R"({"w":null})")).ok());
  // Not yet acknowledged by replica 1: nothing is purged.
  auto early = db_[0]->Compact();
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->tombstones_purged, 0);
  EXPECT_EQ(early->field_tombstones_purged, 0);
  Run();
  TickAll();
  // Replica 1 holds them now, but has not written past them: still kept.
  EXPECT_EQ(db_[0]->Compact()->tombstones_purged, 0);
  ASSERT_TRUE(db_[1]->Put("bugs", "later", J("{}")).ok());
  Run();
  TickAll();
  auto done = db_[0]->Compact();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->tombstones_purged, 1);
  EXPECT_EQ(done->field_tombstones_purged, 1);
  auto states = *DatabaseAccess::DumpStates(*db_[0]);
  EXPECT_EQ(states["bugs"].count("x"), 0u);
  EXPECT_EQ(*db_[0]->Get("bugs", "y"), J(R"({"v":1})"));
}

TEST_F(CompactionTest, AConcurrentOlderWriteStillLosesToAnUnpurgedDelete) {
  ASSERT_TRUE(db_[0]->Put("bugs", "x", J(R"({"v":1})")).ok());
  Link(0, 1);
  Run();
  TickAll();
  StopEngines();
  // Replica 1 patches x; replica 0 deletes it later; they have not met since.
  clock_.Advance(10);
  ASSERT_TRUE(db_[1]->Patch("bugs", "x", J(R"({"v":2})")).ok());
  clock_.Advance(10);
  ASSERT_TRUE(db_[0]->Delete("bugs", "x").ok());
  ASSERT_TRUE(db_[0]->Put("bugs", "y", J("{}")).ok());
  auto stats = db_[0]->Compact();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tombstones_purged, 0);  // replica 1 has not written past it
  Link(0, 1);
  Run();
  EXPECT_TRUE(db_[0]->Get("bugs", "x").status().IsNotFound());
  EXPECT_TRUE(db_[1]->Get("bugs", "x").status().IsNotFound());
}

TEST_F(CompactionTest, TombstonesOlderThanTheHorizonGoWhateverPeersHold) {
  ASSERT_TRUE(db_[0]->Put("bugs", "x", J("{}")).ok());
  ASSERT_TRUE(db_[0]->Delete("bugs", "x").ok());
  // A known peer that holds nothing.
  ASSERT_TRUE(DatabaseAccess::SaveCheckpoint(*db_[0], NodeId{501}, {}).ok());
  EXPECT_EQ(db_[0]->Compact()->tombstones_purged, 0);
  clock_.Advance(31 * kDay);
  EXPECT_EQ(db_[0]->Compact()->tombstones_purged, 1);
}

TEST_F(CompactionTest, AnUnsetThatArrivedBeforeItsPutsIsNotPurgedAsADeletedRecord) {
  // Found by the 100k-schedule convergence run: the record exists here only
  // as field tombstones (never put, never deleted), which must still beat
  // the older puts that arrive later.
  NodeId other{77};
  Hlc now = Hlc::From(static_cast<uint64_t>(clock_.NowMillis()), 0);
  store::Change unset{other, 1, Hlc{now.value + 10}, {}};
  unset.ops.push_back(store::Op{store::Op::Type::kUnset, "bugs", "x", {}, {"a"}});
  ASSERT_TRUE(DatabaseAccess::Apply(*db_[0], unset, 60'000).ok());
  ASSERT_TRUE(DatabaseAccess::SaveCheckpoint(*db_[0], NodeId{501}, {}).ok());  // a known peer holding nothing
  auto stats = db_[0]->Compact();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->tombstones_purged, 0);
  store::Change put{NodeId{78}, 1, now, {}};
  put.ops.push_back(store::Op{store::Op::Type::kPut, "bugs", "x", {{"a", Value(1)}, {"b", Value(2)}}, {}});
  ASSERT_TRUE(DatabaseAccess::Apply(*db_[0], put, 60'000).ok());
  EXPECT_EQ(*db_[0]->Get("bugs", "x"), J(R"({"b":2})"));
}

TEST_F(CompactionTest, ARestartedReplicaKeepsItsHorizonAndStillServesSnapshots) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db_[0]->Put("bugs", "b" + std::to_string(i), J("{}")).ok());
  CompactOptions everything;
  everything.log_horizon_ms = 0;
  ASSERT_TRUE(db_[0]->Compact(everything).ok());
  Reopen(0);
  Link(0, 1);
  Run();
  EXPECT_EQ(All(1).size(), 5u);
  EXPECT_EQ(StatsOf(1).snapshots_applied, 1u);
}

}  // namespace
}  // namespace blaze
