#include "blaze/database.h"

#include <gtest/gtest.h>

#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;
using testing::OpenOrDie;
using testing::TempDir;

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenOrDie(dir_.File("q.blazedb"));
    const char* docs[] = {
        R"({"title":"a","status":"open","priority":3,"tags":["ui","crash"],"owner":{"name":"ann"}})",
        R"({"title":"b","status":"open","priority":1,"tags":["api"],"owner":{"name":"bob"}})",
        R"({"title":"c","status":"closed","priority":2,"tags":[],"owner":{"name":"ann"}})",
        R"({"title":"d","status":"open","priority":2.5})",
        R"({"title":"e","status":null,"priority":"high"})",
    };
    int i = 0;
    for (const char* d : docs) ASSERT_TRUE(db_->Put("bugs", "b" + std::to_string(i++), J(d)).ok());
  }
  std::vector<std::string> Ids(const QueryOptions& q) {
    auto r = db_->Query("bugs", q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> ids;
    if (r.ok()) for (const auto& rec : *r) ids.push_back(rec.id);
    return ids;
  }
  std::vector<std::string> Where(const std::string& where) {
    QueryOptions q;
    q.where = where;
    return Ids(q);
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
};

using V = std::vector<std::string>;

TEST_F(QueryTest, FiltersWithTheQueryLanguage) {
  EXPECT_EQ(Where(R"(status == "open" && (priority >= 2 || tags contains "ui"))"), (V{"b0", "b3"}));
  EXPECT_EQ(Where(R"(owner.name == "ann")"), (V{"b0", "b2"}));
  EXPECT_EQ(Where(R"(status in ["closed", null])"), (V{"b2", "b4"}));
  EXPECT_EQ(Where("!exists tags"), (V{"b3", "b4"}));
  EXPECT_EQ(Where(R"(_id == "b1")"), (V{"b1"}));
  EXPECT_EQ(Where(""), (V{"b0", "b1", "b2", "b3", "b4"}));
}

TEST_F(QueryTest, OrdersLimitsAndOffsets) {
  QueryOptions q;
  q.where = "priority >= 1";
  q.order_by = "priority";
  q.descending = true;
  EXPECT_EQ(Ids(q), (V{"b0", "b3", "b2", "b1"}));
  q.limit = 2;
  q.offset = 1;
  EXPECT_EQ(Ids(q), (V{"b3", "b2"}));
}

TEST_F(QueryTest, BindsVariablesAtRunTime) {
  QueryOptions q;
  q.where = "owner.name == $user && priority > $min";
  q.vars = {{"user", Value("ann")}, {"min", Value(2)}};
  EXPECT_EQ(Ids(q), (V{"b0"}));
  q.vars.erase("min");
  auto r = db_->Query("bugs", q);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("$min"), std::string::npos) << r.status().message();
}

TEST_F(QueryTest, CountUsesTheSameFilter) {
  EXPECT_EQ(*db_->Count("bugs", R"(status == "open")"), 3);
}

TEST_F(QueryTest, BadQueriesSayWhereAndWhat) {
  auto r = db_->Count("bugs", R"(status == )");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("column"), std::string::npos) << r.status().message();
  QueryOptions q;
  q.order_by = "not a path";
  EXPECT_FALSE(db_->Query("bugs", q).ok());
}

TEST_F(QueryTest, IndexesAreUsedForEqualityAndRanges) {
  QueryOptions eq;
  eq.where = R"(status == "open")";
  QueryOptions range;
  range.where = "priority > 1 && priority < 3";
  auto before = db_->Explain("bugs", eq);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->find("USING INDEX"), std::string::npos) << *before;

  ASSERT_TRUE(db_->CreateIndex("bugs", "status").ok());
  ASSERT_TRUE(db_->CreateIndex("bugs", "priority").ok());
  ASSERT_TRUE(db_->CreateIndex("bugs", "status").ok());  // idempotent
  auto plan = db_->Explain("bugs", eq);
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(plan->find("USING INDEX"), std::string::npos) << *plan;
  auto rplan = db_->Explain("bugs", range);
  EXPECT_NE(rplan->find("USING INDEX"), std::string::npos) << *rplan;
  // And the answers are unchanged.
  EXPECT_EQ(Where(R"(status == "open")"), (V{"b0", "b1", "b3"}));
  EXPECT_EQ(Where("priority > 1 && priority < 3"), (V{"b2", "b3"}));
  // Indexes persist and new writes are indexed.
  ASSERT_TRUE(db_->Put("bugs", "b9", J(R"({"status":"open"})")).ok());
  EXPECT_EQ(Where(R"(status == "open")"), (V{"b0", "b1", "b3", "b9"}));
}

TEST_F(QueryTest, DeletedRecordsNeverMatch) {
  ASSERT_TRUE(db_->Delete("bugs", "b0").ok());
  EXPECT_EQ(Where(R"(status == "open")"), (V{"b1", "b3"}));
  EXPECT_EQ(*db_->Count("bugs"), 4);
}

}  // namespace
}  // namespace blaze
