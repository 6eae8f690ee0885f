// Copied and restored database files (issue 9 item 10): a copy or a
// restored backup continues under a fresh node id — noticed when it is
// opened, or at the latest when a peer shows it holds more of the file's own
// changes than the file does — so records written in each copy reach every
// replica, even when each copy syncs only with a third one. A dispute that
// already happened (two different changes under one (origin, seq)) is
// reported on every sync, never passed over.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "store/replica.h"
#include "support/db_fixture.h"
#include "sync/sync_engine.h"

namespace blaze {
namespace {

using testing::J;

struct SyncOutcome {
  bool same_vectors = false;
  bool same_states = false;
  std::string error;  // the first link error of either side
};

// Syncs two databases in this process until nothing moves, like `blazedb sync`.
SyncOutcome SyncTwo(Database& x, Database& y) {
  sync::ManualExecutor ex[2];
  auto ex_engine = sync::SyncEngine::Create(&x, &ex[0]);
  auto ey_engine = sync::SyncEngine::Create(&y, &ex[1]);
  EXPECT_TRUE(ex_engine.ok() && ey_engine.ok());
  auto [a, b] = sync::MakeInMemoryLinkPair();
  (*ex_engine)->AddPeer(a);
  (*ey_engine)->AddPeer(b);
  SyncOutcome out;
  for (int round = 0; round < 50; ++round) {
    while (ex[0].RunUntilIdle() + ex[1].RunUntilIdle() > 0) {
    }
    out.same_vectors = *DatabaseAccess::GetVersionVector(x) == *DatabaseAccess::GetVersionVector(y);
    if (out.same_vectors) break;
    (*ex_engine)->Tick();
    (*ey_engine)->Tick();
  }
  for (auto* e : {ex_engine->get(), ey_engine->get()}) {
    for (const auto& st : e->Stats()) {
      if (out.error.empty()) out.error = st.error;
    }
  }
  ex_engine->reset();
  ey_engine->reset();
  while (ex[0].RunUntilIdle() + ex[1].RunUntilIdle() > 0) {
  }
  out.same_states = DatabaseAccess::LiveStateDigest(x)->hex == DatabaseAccess::LiveStateDigest(y)->hex;
  return out;
}

std::string Ids(Database& db) {
  std::string out;
  auto records = db.FetchAll("bugs");
  EXPECT_TRUE(records.ok());
  if (!records.ok()) return out;
  for (const auto& r : *records) out += r.id + " ";
  return out;
}

void Shell(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

// Copies `from` over `to` in place: `to` keeps its inode (cp onto an existing file).
void CopyInPlace(const std::string& from, const std::string& to) {
  Shell("cp '" + from + "' '" + to + "'");
}

void ForgetFileIdentity(const std::string& path) {  // as a file from an older build
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DELETE FROM blaze_meta WHERE key = 'file_identity'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
}

class SyncCopiesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> Open(const std::string& name) { return testing::OpenOrDie(dir_.File(name)); }
  std::string File(const std::string& name) { return dir_.File(name); }
  testing::TempDir dir_;
};

TEST_F(SyncCopiesTest, RecordsWrittenInACopyAndItsOriginalReachEveryReplicaThroughAThird) {
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "before-copy", J("{}")).ok());
  }
  Shell("cp '" + File("a.blazedb") + "' '" + File("b.blazedb") + "'");
  auto a = Open("a.blazedb");
  auto b = Open("b.blazedb");
  auto c = Open("c.blazedb");
  ASSERT_TRUE(a->Put("bugs", "in-original", J("{}")).ok());
  ASSERT_TRUE(b->Put("bugs", "in-copy", J("{}")).ok());
  for (auto* pair : {&b, &a, &b}) {
    SyncOutcome o = SyncTwo(**pair, *c);
    EXPECT_EQ(o.error, "");
    EXPECT_TRUE(o.same_vectors && o.same_states);
  }
  const std::string all = "before-copy in-copy in-original ";
  EXPECT_EQ(Ids(*a), all);
  EXPECT_EQ(Ids(*b), all);
  EXPECT_EQ(Ids(*c), all);
}

TEST_F(SyncCopiesTest, ABackupRestoredByRenameLosesNothing) {
  auto c = Open("c.blazedb");
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "x", J("{}")).ok());
    EXPECT_EQ(SyncTwo(*a, *c).error, "");
  }
  Shell("cp '" + File("a.blazedb") + "' '" + File("backup") + "'");
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "after-backup", J("{}")).ok());
    EXPECT_EQ(SyncTwo(*a, *c).error, "");
  }
  std::filesystem::rename(File("backup"), File("a.blazedb"));
  auto a = Open("a.blazedb");
  ASSERT_TRUE(a->Put("bugs", "after-restore", J("{}")).ok());
  SyncOutcome o = SyncTwo(*a, *c);
  EXPECT_EQ(o.error, "");
  EXPECT_TRUE(o.same_vectors && o.same_states);
  EXPECT_EQ(Ids(*a), "after-backup after-restore x ");
  EXPECT_EQ(Ids(*c), "after-backup after-restore x ");
}

// Copied back over the original in place, the file keeps its inode and birth
// time: opening cannot tell. The first sync does — the peer holds more of
// this node's changes than the file — and the file continues under a fresh
// node id, receiving what it lost.
TEST_F(SyncCopiesTest, ABackupCopiedBackInPlaceTakesAFreshNodeIdAtItsFirstSync) {
  auto c = Open("c.blazedb");
  NodeId original;
  {
    auto a = Open("a.blazedb");
    original = a->node_id();
    ASSERT_TRUE(a->Put("bugs", "x", J("{}")).ok());
    EXPECT_EQ(SyncTwo(*a, *c).error, "");
  }
  Shell("cp '" + File("a.blazedb") + "' '" + File("backup") + "'");
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "after-backup", J("{}")).ok());
    EXPECT_EQ(SyncTwo(*a, *c).error, "");
  }
  CopyInPlace(File("backup"), File("a.blazedb"));
  auto a = Open("a.blazedb");
  EXPECT_EQ(a->node_id(), original);  // not noticed on open
  SyncOutcome o = SyncTwo(*a, *c);
  EXPECT_EQ(o.error, "");
  EXPECT_TRUE(o.same_vectors && o.same_states);
  EXPECT_NE(a->node_id(), original);
  EXPECT_EQ(Ids(*a), "after-backup x ");
  ASSERT_TRUE(a->Put("bugs", "after-restore", J("{}")).ok());
  o = SyncTwo(*a, *c);
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(Ids(*c), "after-backup after-restore x ");
  // Reopened, the file keeps the id it took.
  NodeId taken = a->node_id();
  a.reset();
  EXPECT_EQ(Open("a.blazedb")->node_id(), taken);
}

// Restored in place and written before any sync: two different changes now
// claim one (origin, seq). That cannot be undone; it is reported on every
// sync, and the states are never equal.
TEST_F(SyncCopiesTest, ADisputeThatAlreadyHappenedIsReportedOnEverySync) {
  auto c = Open("c.blazedb");
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "x", J("{}")).ok());
    EXPECT_EQ(SyncTwo(*a, *c).error, "");
  }
  Shell("cp '" + File("a.blazedb") + "' '" + File("backup") + "'");
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "after-backup", J("{}")).ok());
    EXPECT_EQ(SyncTwo(*a, *c).error, "");
  }
  CopyInPlace(File("backup"), File("a.blazedb"));
  auto a = Open("a.blazedb");
  const NodeId original = a->node_id();
  ASSERT_TRUE(a->Put("bugs", "after-restore", J("{}")).ok());  // a second (original, 2)
  for (int i = 0; i < 3; ++i) {
    SyncOutcome o = SyncTwo(*a, *c);
    EXPECT_NE(o.error.find("two different changes claim origin " + original.ToHex() + " seq 2"), std::string::npos)
        << o.error;
    EXPECT_FALSE(o.same_states);
  }
  // This file was one of the two writers: its later writes use a fresh id.
  EXPECT_NE(a->node_id(), original);
}

// Copied before this build recorded the file's identity, neither copy can
// tell on open. Each syncing only with a third replica, the second to sync
// finds its change disputed instead of silently shadowed.
TEST_F(SyncCopiesTest, ACopyNobodyNoticedIsReportedNotSilentlyShadowed) {
  {
    auto a = Open("a.blazedb");
    ASSERT_TRUE(a->Put("bugs", "x", J("{}")).ok());
  }
  ForgetFileIdentity(File("a.blazedb"));
  Shell("cp '" + File("a.blazedb") + "' '" + File("b.blazedb") + "'");
  auto a = Open("a.blazedb");
  auto b = Open("b.blazedb");
  ASSERT_EQ(a->node_id(), b->node_id());
  auto c = Open("c.blazedb");
  ASSERT_TRUE(a->Put("bugs", "in-a", J("{}")).ok());
  ASSERT_TRUE(b->Put("bugs", "in-b", J("{}")).ok());
  EXPECT_EQ(SyncTwo(*b, *c).error, "");
  for (int i = 0; i < 2; ++i) {
    SyncOutcome o = SyncTwo(*a, *c);
    EXPECT_NE(o.error.find("two different changes claim origin"), std::string::npos) << o.error;
    EXPECT_FALSE(o.same_states);
  }
}

// Two handles of one file are not copies: a peer holding this node's
// changes written through the other handle (which this engine has not heard
// of) is not a reason to take a fresh node id.
TEST_F(SyncCopiesTest, ChangesWrittenThroughAnotherHandleOfTheFileAreNotMistakenForACopy) {
  auto h1 = Open("a.blazedb");
  auto h2 = Open("a.blazedb");
  auto c = Open("c.blazedb");
  const NodeId node = h1->node_id();
  sync::ManualExecutor ex[2];
  auto e1 = std::move(sync::SyncEngine::Create(h1.get(), &ex[0])).value();  // before h2 writes
  ASSERT_TRUE(h2->Put("bugs", "via-h2", J("{}")).ok());
  EXPECT_EQ(SyncTwo(*h2, *c).error, "");  // c now holds (node, 1)
  auto ec = std::move(sync::SyncEngine::Create(c.get(), &ex[1])).value();
  auto [x, y] = sync::MakeInMemoryLinkPair();
  e1->AddPeer(x);
  ec->AddPeer(y);
  while (ex[0].RunUntilIdle() + ex[1].RunUntilIdle() > 0) {
  }
  EXPECT_EQ(e1->Stats()[0].error, "");
  e1.reset();
  ec.reset();
  EXPECT_EQ(DatabaseAccess::Node(*h1), node);
  EXPECT_EQ(Open("a.blazedb")->node_id(), node);
}

// Probes cost nothing in the common case: a second sync of equal replicas
// re-sends one held change per origin and applies nothing.
TEST_F(SyncCopiesTest, EqualReplicasCompareHistoriesAndStayEqual) {
  auto a = Open("a.blazedb");
  auto c = Open("c.blazedb");
  ASSERT_TRUE(a->Put("bugs", "x", J("{}")).ok());
  ASSERT_TRUE(c->Put("bugs", "y", J("{}")).ok());
  EXPECT_EQ(SyncTwo(*a, *c).error, "");
  SyncOutcome o = SyncTwo(*a, *c);
  EXPECT_EQ(o.error, "");
  EXPECT_TRUE(o.same_vectors && o.same_states);
  EXPECT_EQ(Ids(*a), "x y ");
}

}  // namespace
}  // namespace blaze
