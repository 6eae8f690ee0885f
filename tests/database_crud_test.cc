#include "blaze/database.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "store/change.h"
#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;
using testing::OpenOrDie;
using testing::ReadLog;
using testing::TempDir;

class CrudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    opts_.clock = &clock_;
    db_ = OpenOrDie(dir_.File("t.blazedb"), opts_);
  }
  std::string path() const { return dir_.File("t.blazedb"); }
  TempDir dir_;
  testing::FakeClock clock_;
  Options opts_;
  std::unique_ptr<Database> db_;
};

TEST_F(CrudTest, InsertGeneratesAnIdAndGetReturnsTheDocument) {
  Value doc = J(R"({"title":"crash on save","priority":2,"tags":["ui"],"meta":{"a":1.5},"raw":{"$bytes":"AQI="}})");
  auto id = db_->Insert("bugs", doc);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 26u);
  auto got = db_->Get("bugs", *id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, doc);
}

TEST_F(CrudTest, PutReplacesTheWholeDocument) {
  ASSERT_TRUE(db_->Put("bugs", "b1", J(R"({"a":1,"b":2})")).ok());
  ASSERT_TRUE(db_->Put("bugs", "b1", J(R"({"b":3,"c":4})")).ok());
  EXPECT_EQ(*db_->Get("bugs", "b1"), J(R"({"b":3,"c":4})"));
}

TEST_F(CrudTest, PatchFollowsRfc7396) {
  ASSERT_TRUE(db_->Put("bugs", "b1", J(R"({"a":"b","c":{"d":"e","f":"g"},"keep":1})")).ok());
  ASSERT_TRUE(db_->Patch("bugs", "b1", J(R"({"a":"z","c":{"f":null,"h":[1]},"keep":null,"n":{"x":null,"y":1}})")).ok());
  EXPECT_EQ(*db_->Get("bugs", "b1"), J(R"({"a":"z","c":{"d":"e","h":[1]},"n":{"y":1}})"));
}

TEST_F(CrudTest, PatchOfAMissingRecordIsNotFound) {
  Status s = db_->Patch("bugs", "ghost", J(R"({"a":1})"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(ReadLog(path()).empty());
}

TEST_F(CrudTest, DeleteRemovesAndASecondDeleteIsNotFound) {
  ASSERT_TRUE(db_->Put("bugs", "b1", J(R"({"a":1})")).ok());
  ASSERT_TRUE(db_->Delete("bugs", "b1").ok());
  EXPECT_EQ(db_->Get("bugs", "b1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->Delete("bugs", "b1").code(), StatusCode::kNotFound);
  EXPECT_EQ(*db_->Count("bugs"), 0);
  // A put after the delete brings the record back with only the new fields.
  ASSERT_TRUE(db_->Put("bugs", "b1", J(R"({"z":9})")).ok());
  EXPECT_EQ(*db_->Get("bugs", "b1"), J(R"({"z":9})"));
}

TEST_F(CrudTest, FetchAllAndCount) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db_->Put("c", "id" + std::to_string(i), J("{\"i\":" + std::to_string(i) + "}")).ok());
  ASSERT_TRUE(db_->Put("other", "x", J("{}")).ok());
  auto all = db_->FetchAll("c");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].id, "id0");
  EXPECT_EQ(*db_->Count("c"), 5);
  EXPECT_EQ(*db_->Count("missing"), 0);
  EXPECT_TRUE(db_->FetchAll("missing")->empty());
  EXPECT_EQ(*db_->Collections(), (std::vector<std::string>{"c", "other"}));
}

TEST_F(CrudTest, BadInputIsRejectedAndChangesNothing) {
  EXPECT_EQ(db_->Insert("bugs", Value(3)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Insert("bugs", J(R"({"_id":"x"})")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Put("bugs", std::string(257, 'x'), J("{}")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Put("bugs", "", J("{}")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Put("", "x", J("{}")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Put("bugs", "x", Value(Value::Map{{"d", Value(std::nan(""))}})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Put("bugs", "x", Value(Value::Map{{"s", Value("\xff")}})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Put("bugs", "x", Value(Value::Map{{"m", Value(Value::Map{{"$bytes", Value("AA==")}})}})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ReadLog(path()).empty());
  EXPECT_EQ(*db_->Count("bugs"), 0);
}

TEST_F(CrudTest, EveryTransactionAppendsOneChangeWithGaplessSeq) {
  ASSERT_TRUE(db_->Put("bugs", "a", J(R"({"x":1})")).ok());
  ASSERT_TRUE(db_->Transaction([](Txn& t) -> Status {
    BLAZE_RETURN_IF_ERROR(t.Put("bugs", "b", J(R"({"x":2})")));
    BLAZE_RETURN_IF_ERROR(t.Put("bugs", "c", J(R"({"x":3})")));
    return t.Delete("bugs", "a");
  }).ok());
  ASSERT_TRUE(db_->Patch("bugs", "b", J(R"({"x":null})")).ok());
  auto log = ReadLog(path());
  ASSERT_EQ(log.size(), 3u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(static_cast<uint64_t>(log[i].origin), db_->node_id().value);
  }
  auto ops = store::DecodeOps(log[1].ops);
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 3u);
  EXPECT_EQ((*ops)[2].type, store::Op::Type::kDelete);
  auto unset = store::DecodeOps(log[2].ops);
  ASSERT_EQ(unset->size(), 1u);
  EXPECT_EQ((*unset)[0].type, store::Op::Type::kUnset);
  // Stamps strictly increase: the second change starts after the first's ops.
  EXPECT_GT(log[1].hlc, log[0].hlc);
  EXPECT_GE(log[2].hlc, log[1].hlc + 3);
}

TEST_F(CrudTest, StampsKeepIncreasingWhenTheWallClockStepsBack) {
  ASSERT_TRUE(db_->Put("c", "a", J(R"({"v":1})")).ok());
  clock_.Advance(-3'600'000);
  ASSERT_TRUE(db_->Put("c", "a", J(R"({"v":2})")).ok());
  auto log = ReadLog(path());
  ASSERT_EQ(log.size(), 2u);
  EXPECT_GT(log[1].hlc, log[0].hlc);
  EXPECT_EQ(*db_->Get("c", "a"), J(R"({"v":2})"));
}

TEST_F(CrudTest, AFailedTransactionLeavesNoTrace) {
  ASSERT_TRUE(db_->Put("bugs", "keep", J(R"({"v":1})")).ok());
  Status s = db_->Transaction([](Txn& t) -> Status {
    BLAZE_RETURN_IF_ERROR(t.Put("bugs", "keep", J(R"({"v":2})")));
    BLAZE_RETURN_IF_ERROR(t.Put("newcoll", "n", J(R"({"v":3})")));
    EXPECT_EQ(*t.Get("bugs", "keep"), J(R"({"v":2})"));  // reads see the transaction's writes
    return Status::Aborted("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(*db_->Get("bugs", "keep"), J(R"({"v":1})"));
  EXPECT_EQ(*db_->Count("newcoll"), 0);
  EXPECT_EQ(ReadLog(path()).size(), 1u);
  // The next change continues the sequence without a gap.
  ASSERT_TRUE(db_->Put("newcoll", "n", J(R"({"v":4})")).ok());
  EXPECT_EQ(ReadLog(path()).back().seq, 2);
}

TEST_F(CrudTest, AnExceptionInTheBodyRollsBackAndPropagates) {
  EXPECT_THROW(db_->Transaction([](Txn& t) -> Status {
    t.Put("bugs", "x", J("{}")).IgnoreError();
    throw std::runtime_error("boom");
  }).IgnoreError(), std::runtime_error);
  EXPECT_EQ(*db_->Count("bugs"), 0);
  EXPECT_TRUE(db_->Put("bugs", "y", J("{}")).ok());  // the database is still usable
}

TEST_F(CrudTest, CallingTheDatabaseInsideItsOwnTransactionIsAnErrorNotADeadlock) {
  Status inner;
  ASSERT_TRUE(db_->Transaction([&](Txn&) -> Status {
    inner = db_->Put("bugs", "x", J("{}"));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition);
}

TEST_F(CrudTest, AnEmptyTransactionLogsNothing) {
  ASSERT_TRUE(db_->Transaction([](Txn&) { return Status::Ok(); }).ok());
  ASSERT_TRUE(db_->Put("bugs", "x", J(R"({"a":1})")).ok());
  ASSERT_TRUE(db_->Patch("bugs", "x", J(R"({"zz":null})")).ok());  // removes nothing: no change
  EXPECT_EQ(ReadLog(path()).size(), 1u);
}

TEST_F(CrudTest, DataSurvivesReopen) {
  ASSERT_TRUE(db_->Put("bugs", "x", J(R"({"a":1})")).ok());
  db_.reset();
  db_ = OpenOrDie(path(), opts_);
  EXPECT_EQ(*db_->Get("bugs", "x"), J(R"({"a":1})"));
  ASSERT_TRUE(db_->Put("bugs", "y", J(R"({"a":2})")).ok());
  EXPECT_EQ(ReadLog(path()).back().seq, 2);
}

TEST_F(CrudTest, TwoHandlesOnOneFileShareOneGaplessSequence) {
  auto other = OpenOrDie(path(), opts_);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(db_->Put("c", "a" + std::to_string(i), J("{}")).ok());
    ASSERT_TRUE(other->Put("c", "b" + std::to_string(i), J("{}")).ok());
  }
  auto log = ReadLog(path());
  ASSERT_EQ(log.size(), 20u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i + 1));
    if (i > 0) {
      EXPECT_GT(log[i].hlc, log[i - 1].hlc);
    }
  }
}

}  // namespace
}  // namespace blaze
