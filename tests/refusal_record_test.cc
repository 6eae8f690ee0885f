// The store's record of changes a receiver's check refused (store/replica.h,
// LoadRefused / SettleRefused; src/store/refusals.cc): kept in the
// transaction that refuses the change, per origin and record, with the seq
// of the latest refusal; settled only up to a given seq.
//
// Thread safety: single-threaded tests.
#include <gtest/gtest.h>

#include "store/replica.h"
#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;

store::Change PutChange(NodeId origin, Seq seq, Hlc hlc, std::vector<std::string> ids) {
  store::Change c;
  c.origin = origin;
  c.seq = seq;
  c.hlc = hlc;
  for (auto& id : ids) {
    store::Op op;
    op.type = store::Op::Type::kPut;
    op.collection = "tasks";
    op.id = std::move(id);
    op.fields = J(R"({"owner":"x"})").as_map();
    c.ops.push_back(std::move(op));
  }
  return c;
}

Hlc Now() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
  return Hlc::From(static_cast<uint64_t>(ms), 0);
}

store::ChangeCheck RefuseAll() {
  return [](const store::Change&, const store::StateReader&) { return Status::PermissionDenied("no"); };
}

using Refused = std::map<DatabaseAccess::RecordKey, Seq>;

TEST(RefusalRecordTest, RefusedRecordsAreKeptUntilSettledUpToTheirLatestRefusal) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("owner.blazedb"));
  const NodeId app{0xa11ce};
  EXPECT_TRUE(DatabaseAccess::LoadRefused(*db, app)->empty());  // no table yet
  std::vector<std::pair<size_t, Status>> refused;
  auto r = DatabaseAccess::ApplyBatchChecked(*db, {PutChange(app, 1, Now(), {"t1"})}, 60000, RefuseAll(), &refused);
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(*DatabaseAccess::LoadRefused(*db, app), (Refused{{{"tasks", "t1"}, 1}}));
  r = DatabaseAccess::ApplyBatchChecked(*db, {PutChange(app, 2, Now(), {"t1", "t2"})}, 60000, RefuseAll(), &refused);
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(*DatabaseAccess::LoadRefused(*db, app), (Refused{{{"tasks", "t1"}, 2}, {{"tasks", "t2"}, 2}}));
  std::set<DatabaseAccess::RecordKey> only{{"tasks", "t2"}, {"tasks", "t9"}};
  EXPECT_EQ(*DatabaseAccess::LoadRefused(*db, app, &only), (Refused{{{"tasks", "t2"}, 2}}));
  EXPECT_TRUE(DatabaseAccess::LoadRefused(*db, NodeId{0xb0b})->empty());  // per origin
  // A settlement older than the latest refusal keeps the record.
  ASSERT_TRUE(DatabaseAccess::SettleRefused(*db, app, {{{"tasks", "t1"}, 1}}).ok());
  EXPECT_EQ(DatabaseAccess::LoadRefused(*db, app)->size(), 2u);
  ASSERT_TRUE(DatabaseAccess::SettleRefused(*db, app, {{{"tasks", "t1"}, 2}, {{"tasks", "t2"}, 2}}).ok());
  EXPECT_TRUE(DatabaseAccess::LoadRefused(*db, app)->empty());
  // Kept in the file.
  ASSERT_TRUE(DatabaseAccess::ApplyBatchChecked(*db, {PutChange(app, 3, Now(), {"t3"})}, 60000, RefuseAll(), &refused)
                  .error.ok());
  db.reset();
  db = testing::OpenOrDie(dir.File("owner.blazedb"));
  EXPECT_EQ(*DatabaseAccess::LoadRefused(*db, app), (Refused{{{"tasks", "t3"}, 3}}));
}

TEST(RefusalRecordTest, AChangeThatFailsLeavesNoRecordOfItsRefusal) {
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("owner.blazedb"));
  const NodeId app{0xa11ce};
  // Refused, then failing the drift check: nothing of it is kept.
  Hlc future = Hlc::From(Now().millis() + 3600 * 1000, 0);
  std::vector<std::pair<size_t, Status>> refused;
  auto r = DatabaseAccess::ApplyBatchChecked(*db, {PutChange(app, 1, future, {"t1"})}, 60000, RefuseAll(), &refused);
  EXPECT_FALSE(r.error.ok());
  EXPECT_TRUE(DatabaseAccess::LoadRefused(*db, app)->empty());
  EXPECT_EQ(SeqOf(*DatabaseAccess::GetVersionVector(*db), app), 0u);
}

}  // namespace
}  // namespace blaze
