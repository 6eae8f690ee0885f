// A database file notices that it is not the file it was — a copy, a backup
// restored under its name — and continues under a fresh node id, so two
// files never write different changes under one (origin, seq) (issue 9
// item 10). Moving the file, a hard link, and several handles of one file
// in one process are the same file and keep the node id.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

#include "store/file_identity.h"
#include "store/replica.h"
#include "store/schema.h"
#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;
using testing::OpenOrDie;
using testing::TempDir;

NodeId NodeOf(const std::string& path) {
  auto db = OpenOrDie(path);
  return db ? db->node_id() : NodeId{};
}

void Shell(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

Seq SeqOfOrigin(Database& db, NodeId origin) {
  auto vv = DatabaseAccess::GetVersionVector(db);
  EXPECT_TRUE(vv.ok());
  return vv.ok() ? SeqOf(*vv, origin) : 0;
}

class FileIdentityTest : public ::testing::TestWithParam<const char*> {};

// cp and cp -a make a new file (new inode, new birth time) whatever they preserve.
TEST_P(FileIdentityTest, ACopyContinuesUnderAFreshNodeIdAndTheOriginalKeepsItsOwn) {
  TempDir dir;
  const std::string a = dir.File("a.blazedb"), b = dir.File("b.blazedb");
  NodeId original;
  {
    auto db = OpenOrDie(a);
    original = db->node_id();
    ASSERT_TRUE(db->Put("bugs", "before", J("{}")).ok());
  }
  Shell(std::string(GetParam()) + " '" + a + "' '" + b + "'");
  auto copy = OpenOrDie(b);
  EXPECT_NE(copy->node_id(), original);
  EXPECT_NE(copy->node_id().value, 0u);
  EXPECT_EQ(SeqOfOrigin(*copy, original), 1u);  // the old origin's history stays
  ASSERT_TRUE(copy->Put("bugs", "in-copy", J("{}")).ok());
  EXPECT_EQ(SeqOfOrigin(*copy, copy->node_id()), 1u);
  EXPECT_EQ(SeqOfOrigin(*copy, original), 1u);

  auto orig = OpenOrDie(a);
  EXPECT_EQ(orig->node_id(), original);
  ASSERT_TRUE(orig->Put("bugs", "in-original", J("{}")).ok());
  EXPECT_EQ(SeqOfOrigin(*orig, original), 2u);
  // The copy, opened again, keeps the node id it took.
  NodeId taken = copy->node_id();
  copy.reset();
  EXPECT_EQ(NodeOf(b), taken);
}

INSTANTIATE_TEST_SUITE_P(CpAndCpA, FileIdentityTest, ::testing::Values("cp", "cp -a"));

TEST(FileIdentity, AMovedOrHardLinkedFileKeepsItsNodeId) {
  TempDir dir;
  const NodeId node = NodeOf(dir.File("a.blazedb"));
  std::filesystem::rename(dir.File("a.blazedb"), dir.File("moved.blazedb"));
  EXPECT_EQ(NodeOf(dir.File("moved.blazedb")), node);
  std::filesystem::create_hard_link(dir.File("moved.blazedb"), dir.File("link.blazedb"));
  EXPECT_EQ(NodeOf(dir.File("link.blazedb")), node);
  EXPECT_EQ(NodeOf(dir.File("moved.blazedb")), node);
}

TEST(FileIdentity, ABackupRestoredUnderTheNameContinuesUnderAFreshNodeId) {
  TempDir dir;
  const std::string a = dir.File("a.blazedb");
  NodeId original;
  {
    auto db = OpenOrDie(a);
    original = db->node_id();
    ASSERT_TRUE(db->Put("bugs", "x", J("{}")).ok());
  }
  Shell("cp '" + a + "' '" + dir.File("backup") + "'");
  {
    auto db = OpenOrDie(a);
    ASSERT_TRUE(db->Put("bugs", "after-backup", J("{}")).ok());  // (original, 2)
  }
  std::filesystem::rename(dir.File("backup"), a);  // restore
  auto db = OpenOrDie(a);
  EXPECT_NE(db->node_id(), original);
  ASSERT_TRUE(db->Put("bugs", "after-restore", J("{}")).ok());
  EXPECT_EQ(SeqOfOrigin(*db, original), 1u);  // never a second (original, 2)
  EXPECT_EQ(SeqOfOrigin(*db, db->node_id()), 1u);
}

TEST(FileIdentity, HandlesOfOneFileInOneProcessAreNotCopies) {
  TempDir dir;
  auto first = OpenOrDie(dir.File("a.blazedb"));
  auto second = OpenOrDie(dir.File("a.blazedb"));
  EXPECT_EQ(first->node_id(), second->node_id());
  ASSERT_TRUE(first->Put("bugs", "1", J("{}")).ok());
  ASSERT_TRUE(second->Put("bugs", "2", J("{}")).ok());
  EXPECT_EQ(SeqOfOrigin(*first, first->node_id()), 2u);  // one gapless sequence
}

TEST(FileIdentity, TheFirstHandleOfACopyRotatesAndLaterHandlesAgree) {
  TempDir dir;
  const NodeId original = NodeOf(dir.File("a.blazedb"));
  Shell("cp '" + dir.File("a.blazedb") + "' '" + dir.File("b.blazedb") + "'");
  auto h1 = OpenOrDie(dir.File("b.blazedb"));
  auto h2 = OpenOrDie(dir.File("b.blazedb"));
  EXPECT_NE(h1->node_id(), original);
  EXPECT_EQ(h1->node_id(), h2->node_id());
}

TEST(FileIdentity, AReadOnlyHandleOfACopyNeitherRewritesNorFails) {
  TempDir dir;
  const NodeId original = NodeOf(dir.File("a.blazedb"));
  Shell("cp '" + dir.File("a.blazedb") + "' '" + dir.File("b.blazedb") + "'");
  {
    auto conn = store::Connection::Open(dir.File("b.blazedb"), SQLITE_OPEN_READONLY, 1000);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    auto rotated = store::CheckFileIdentity(**conn, dir.File("b.blazedb"), SystemRandom());
    ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
    EXPECT_FALSE(*rotated);
    auto row = store::ReadNodeRow(**conn);
    ASSERT_TRUE(row.ok());
    EXPECT_EQ(row->node, original);
  }
  {
    Options read_only;
    read_only.read_only = true;
    auto db = Database::Open(read_only, dir.File("b.blazedb"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->node_id(), original);
    EXPECT_TRUE((*db)->Count("bugs").ok());
  }
  EXPECT_NE(NodeOf(dir.File("b.blazedb")), original);  // the first writable handle does it
}

TEST(FileIdentity, AFileFromAnOlderBuildKeepsItsNodeAndRecordsItsIdentity) {
  TempDir dir;
  const std::string a = dir.File("a.blazedb");
  const NodeId node = NodeOf(a);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(a.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "DELETE FROM blaze_meta WHERE key = 'file_identity'", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  EXPECT_EQ(NodeOf(a), node);  // nothing to compare with: the same file, as far as anyone can tell
  auto db = OpenOrDie(a);
  auto stored = DatabaseAccess::GetMeta(*db, store::kFileIdentityKey);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, *store::FileIdentityOf(a));
  db.reset();
  Shell("cp '" + a + "' '" + dir.File("b.blazedb") + "'");
  EXPECT_NE(NodeOf(dir.File("b.blazedb")), node);  // from now on copies are noticed
}

}  // namespace
}  // namespace blaze
