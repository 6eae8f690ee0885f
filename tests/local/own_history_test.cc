// The pieces of the restored-in-place check of a cross-app replica
// (src/local/own_history.h, DatabaseAccess::ReissueOwnChanges and StampsAt):
// which seqs are probed, where a fork is placed, what re-issuing does to the
// file, and which stamps a file can still tell after compaction. The
// end-to-end scenarios are in cross_app_test.cc.
#include "local/own_history.h"

#include <gtest/gtest.h>

#include "store/replica.h"
#include "support/db_fixture.h"
#include "support/fakes.h"

namespace blaze {
namespace {

using testing::J;

std::vector<store::Change> Own(Database& db, NodeId node) {
  auto c = DatabaseAccess::ChangesAfter(db, node, 0, 100);
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : std::vector<store::Change>{};
}

TEST(OwnHistoryTest, ProbesTheTopThenExponentiallyFurtherDownToOne) {
  EXPECT_TRUE(local::ProbeSeqs(0).empty());
  EXPECT_EQ(local::ProbeSeqs(1), (std::vector<Seq>{1}));
  EXPECT_EQ(local::ProbeSeqs(2), (std::vector<Seq>{1, 2}));
  EXPECT_EQ(local::ProbeSeqs(10), (std::vector<Seq>{1, 2, 6, 8, 9, 10}));
  EXPECT_LE(local::ProbeSeqs(~Seq{0}).size(), 66u);
  EXPECT_LE(local::ProbeSeqs(~Seq{0}).size(), sync::kMaxOwnHistoryStamps);
}

TEST(OwnHistoryTest, AForkLiesBelowTheLowestDifferingStampAndAtTheHighestAgreeingOneUnderIt) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("r.blazedb"));
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(db->Put("c", "k" + std::to_string(i), J(R"({"a":1})")).ok());
  const NodeId self = db->node_id();
  auto mine = Own(*db, self);
  ASSERT_EQ(mine.size(), 6u);
  auto hlc = [&](Seq s) { return mine[s - 1].hlc; };
  auto fork = [&](sync::OwnHistory h) {
    auto f = local::ForkPoint(*db, self, h);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : std::optional<Seq>(99);
  };
  EXPECT_EQ(fork({}), std::nullopt);                                            // nothing to compare
  EXPECT_EQ(fork({{{1, hlc(1)}, {5, hlc(5)}, {6, hlc(6)}}}), std::nullopt);     // the same history
  EXPECT_EQ(fork({{{2, hlc(2)}, {4, hlc(4)}, {6, Hlc{hlc(6).value + 7}}}}), 4u);
  EXPECT_EQ(fork({{{1, Hlc{1}}, {2, hlc(2)}}}), 0u);                           // from the first change
  // A seq the file does not hold cannot tell: skipped.
  EXPECT_EQ(fork({{{3, hlc(3)}, {7, Hlc{12345}}}}), std::nullopt);
}

TEST(OwnHistoryTest, AFileBehindTheOwnerReissuesWhatTheOwnerCannotShowItHolds) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("r.blazedb"));
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(db->Put("c", "k" + std::to_string(i), J(R"({"a":1})")).ok());
  const NodeId self = db->node_id();
  auto mine = Own(*db, self);
  auto point = [&](const sync::OwnHistory* h, Seq owner_holds) {
    auto p = local::ReissuePoint(*db, self, h, owner_holds, 4);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : std::optional<Seq>(99);
  };
  // Not behind, no fork: goes on.
  EXPECT_EQ(point(nullptr, 4), std::nullopt);
  EXPECT_EQ(point(nullptr, 2), std::nullopt);
  // Behind with the top agreeing: only behind, nothing to re-issue.
  sync::OwnHistory top{{{2, mine[1].hlc}, {4, mine[3].hlc}}};
  EXPECT_EQ(point(&top, 6), 4u);
  // Behind with nothing to compare (an owner of version 1, or pruned): all of it.
  EXPECT_EQ(point(nullptr, 6), 0u);
  // Behind, the top unknown, a lower seq agreeing: after that one.
  sync::OwnHistory low{{{2, mine[1].hlc}}};
  EXPECT_EQ(point(&low, 6), 2u);
  // A fork wins over the counts.
  sync::OwnHistory fork{{{2, mine[1].hlc}, {3, Hlc{mine[2].hlc.value + 1}}}};
  EXPECT_EQ(point(&fork, 3), 2u);
}

// Re-issuing: a fresh node id, the changes after the fork under it with their
// hlc and ops, and record states that read exactly as those of a replica that
// received the changes up to the fork and then the re-issued ones.
TEST(OwnHistoryTest, ReissuedChangesKeepTheirContentAndTheFileReadsTheSame) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("r.blazedb"));
  ASSERT_TRUE(db->Put("c", "a", J(R"({"x":1,"y":1})")).ok());
  ASSERT_TRUE(db->Put("c", "b", J(R"({"x":2})")).ok());
  ASSERT_TRUE(db->Patch("c", "a", J(R"({"x":3,"y":null})")).ok());
  ASSERT_TRUE(db->Delete("c", "b").ok());
  const NodeId old_node = db->node_id();
  auto before = DatabaseAccess::DumpStates(*db);
  ASSERT_TRUE(before.ok());
  auto old_changes = Own(*db, old_node);
  ASSERT_EQ(old_changes.size(), 4u);

  auto fresh = DatabaseAccess::ReissueOwnChanges(*db, old_node, 1);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_NE(*fresh, old_node);
  EXPECT_EQ(db->node_id(), *fresh);
  auto vv = DatabaseAccess::GetVersionVector(*db);
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(SeqOf(*vv, old_node), 4u);  // the old history stays
  EXPECT_EQ(SeqOf(*vv, *fresh), 3u);
  auto reissued = Own(*db, *fresh);
  ASSERT_EQ(reissued.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reissued[i].seq, i + 1);
    EXPECT_EQ(reissued[i].hlc, old_changes[i + 1].hlc);
    EXPECT_EQ(store::EncodeOps(reissued[i].ops), store::EncodeOps(old_changes[i + 1].ops));
  }
  // The same documents; only stamps of the re-issued changes changed origin.
  EXPECT_EQ(*db->Get("c", "a"), J(R"({"x":3})"));
  EXPECT_TRUE(db->Get("c", "b").status().IsNotFound());
  auto after = DatabaseAccess::DumpStates(*db);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, *before);

  // What the owner builds from change 1 of the old node and the re-issued ones.
  auto owner = testing::OpenOrDie(dir.File("o.blazedb"));
  std::vector<store::Change> received = {old_changes[0]};
  for (auto& c : reissued) received.push_back(c);
  auto applied = DatabaseAccess::ApplyBatch(*owner, received, 60'000);
  ASSERT_TRUE(applied.error.ok()) << applied.error.ToString();
  EXPECT_EQ(*DatabaseAccess::DumpStates(*owner), *after);

  // The next local write continues the new node's seqs.
  ASSERT_TRUE(db->Put("c", "d", J(R"({"x":4})")).ok());
  EXPECT_EQ(SeqOf(*DatabaseAccess::GetVersionVector(*db), *fresh), 4u);
  // Nothing after the fork: a rotation alone.
  const NodeId now = db->node_id();
  auto again = DatabaseAccess::ReissueOwnChanges(*db, now, 4);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, now);
  EXPECT_EQ(SeqOf(*DatabaseAccess::GetVersionVector(*db), *again), 0u);
}

TEST(OwnHistoryTest, StampsComeFromTheLogOrTheLastPrunedChange) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("o.blazedb"));
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(db->Put("c", "k" + std::to_string(i), J(R"({"a":1})")).ok());
  const NodeId node = db->node_id();
  auto changes = Own(*db, node);
  auto all = DatabaseAccess::StampsAt(*db, node, {1, 2, 3, 4});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(all->at(2), changes[1].hlc);
  CompactOptions prune;
  prune.log_horizon_ms = 0;
  ASSERT_TRUE(db->Compact(prune).ok());
  auto pruned = DatabaseAccess::StampsAt(*db, node, {1, 2, 3});
  ASSERT_TRUE(pruned.ok());
  ASSERT_EQ(pruned->size(), 1u);  // only the last pruned change is known
  EXPECT_EQ(pruned->at(3), changes[2].hlc);
}

}  // namespace
}  // namespace blaze
