// The file-level write scope (store/write_scope.h): kept in the file, held by
// every handle on it, blind to remote changes and snapshot merges.
#include "store/write_scope.h"

#include <gtest/gtest.h>

#include "store/replica.h"
#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;

store::WriteScope CommentsOnly() {
  store::WriteScope s;
  s.by = "test scope";
  store::WriteScope::Collection c;
  c.fields = {"secret"};  // excluded
  s.collections.emplace("comments", c);
  store::WriteScope::Collection only;
  only.include_only = true;
  only.fields = {"title"};
  s.collections.emplace("notes", only);
  return s;
}

TEST(WriteScopeTest, EncodesAndDecodes) {
  store::WriteScope s = CommentsOnly();
  auto back = store::WriteScope::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == s);
  EXPECT_EQ(store::WriteScope::Decode("[]").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(store::WriteScope::Decode(R"({"by":"x","collections":{"c":{"all":[]}}})").status().code(),
            StatusCode::kCorruption);
}

TEST(WriteScopeTest, ADeleteIsRefusedWhereSomeFieldsAreNotWritable) {
  // A delete removes every field of the record, the unwritable ones too.
  testing::TempDir dir;
  auto db = testing::OpenOrDie(dir.File("r.blazedb"));
  ASSERT_TRUE(db->Put("comments", "c1", J(R"({"text":"a","secret":"s"})")).ok());
  ASSERT_TRUE(db->Put("notes", "n1", J(R"({"title":"t","body":"b"})")).ok());
  ASSERT_TRUE(db->Put("free", "f1", J(R"({"any":1})")).ok());
  store::WriteScope scope = CommentsOnly();
  scope.collections.emplace("free", store::WriteScope::Collection{});
  ASSERT_TRUE(DatabaseAccess::SetWriteScope(*db, &scope).ok());
  Status s = db->Delete("comments", "c1");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("cannot be deleted"), std::string::npos) << s.message();
  EXPECT_EQ(db->Delete("notes", "n1").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(*(*db->Get("comments", "c1")).Find("secret"), Value("s"));
  EXPECT_TRUE(db->Delete("free", "f1").ok());
}

TEST(WriteScopeTest, HoldsOnEveryHandleOfTheFile) {
  testing::TempDir dir;
  auto a = testing::OpenOrDie(dir.File("r.blazedb"));
  ASSERT_TRUE(a->Put("bugs", "b1", J(R"({"title":"x"})")).ok());
  auto b = testing::OpenOrDie(dir.File("r.blazedb"));  // opened before the scope was set
  store::WriteScope scope = CommentsOnly();
  ASSERT_TRUE(DatabaseAccess::SetWriteScope(*a, &scope).ok());
  for (Database* db : {a.get(), b.get()}) {
    Status s = db->Patch("bugs", "b1", J(R"({"title":"y"})"));
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
    EXPECT_NE(s.message().find("test scope"), std::string::npos) << s.message();
    EXPECT_EQ(db->Delete("bugs", "b1").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(db->Put("comments", "c1", J(R"({"secret":1})")).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(db->Put("notes", "n1", J(R"({"body":1})")).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(db->Put("comments", "c1", J(R"({"text":"ok"})")).ok());
    EXPECT_TRUE(db->Put("notes", "n1", J(R"({"title":"ok"})")).ok());
    EXPECT_TRUE(db->Insert("comments", J(R"({"text":"ok"})")).ok());
  }
  auto c = testing::OpenOrDie(dir.File("r.blazedb"));  // opened after
  EXPECT_EQ(c->Put("bugs", "b2", J("{}")).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(*(*c->Get("bugs", "b1")).Find("title"), Value("x"));
  // Remote changes are not local writes: they apply.
  store::Change remote;
  remote.origin = NodeId{77};
  remote.seq = 1;
  remote.hlc = Hlc::From(1, 0);
  store::Op op;
  op.collection = "bugs";
  op.id = "b3";
  op.fields = J(R"({"title":"from a peer"})").as_map();
  remote.ops.push_back(op);
  ASSERT_TRUE(DatabaseAccess::Apply(*c, remote, 1LL << 60).ok());
  EXPECT_TRUE(c->Get("bugs", "b3").ok());
  // Removed: every write goes again.
  ASSERT_TRUE(DatabaseAccess::SetWriteScope(*b, nullptr).ok());
  EXPECT_TRUE(a->Put("bugs", "b4", J("{}")).ok());
}

}  // namespace
}  // namespace blaze
