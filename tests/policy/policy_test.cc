#include "policy/app_policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "blaze/export_policy.h"
#include "blaze/json.h"
#include "support/fakes.h"

namespace blaze::policy {
namespace {

// The example of issue 5 and docs/cross-app.md.
constexpr const char* kIssuePolicy = R"({ "apps": {
    "dashboard": { "collections": {
        "bugs":     { "access": "read", "fields": { "exclude": ["internalNotes"] }, "where": "team == \"mobile\"" },
        "comments": { "access": "read-write" } } },
    "*": { "collections": { "releases": { "access": "read" } } } } })";

Value J(const char* json) {
  return std::move(ParseJson(json)).value();
}

std::shared_ptr<const AppPolicy> CompileOrDie(const std::string& json, const std::string& app) {
  auto p = ParseExportPolicy(json);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  auto c = AppPolicy::Compile(*p, app);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

// The message of parsing `json`, which must fail with kInvalidArgument.
std::string ParseError(const std::string& json) {
  auto p = ParseExportPolicy(json);
  EXPECT_FALSE(p.ok()) << json;
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  return p.status().message();
}

std::string Coll(const std::string& body) {
  return R"({"apps": {"dashboard": {"collections": {"bugs": )" + body + "}}}}";
}

TEST(ExportPolicyParseTest, ParsesTheIssueExample) {
  auto p = ParseExportPolicy(kIssuePolicy);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->apps.size(), 2u);
  const CollectionGrant& bugs = p->apps.at("dashboard").collections.at("bugs");
  EXPECT_EQ(bugs.access, Access::kRead);
  EXPECT_EQ(bugs.fields.exclude, std::vector<std::string>{"internalNotes"});
  EXPECT_FALSE(bugs.fields.include.has_value());
  EXPECT_EQ(bugs.where, "team == \"mobile\"");
  EXPECT_EQ(p->apps.at("dashboard").collections.at("comments").access, Access::kReadWrite);
  EXPECT_EQ(p->apps.at("*").collections.at("releases").access, Access::kRead);
}

TEST(ExportPolicyParseTest, RoundTripsThroughCanonicalJson) {
  auto p = ParseExportPolicy(kIssuePolicy);
  ASSERT_TRUE(p.ok());
  auto again = ParseExportPolicy(ExportPolicyToJson(*p));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *p);
  ExportPolicy inc;
  inc.apps["a"].collections["c"].fields.include = std::vector<std::string>{"x", "y"};
  auto inc_again = ParseExportPolicy(ExportPolicyToJson(inc));
  ASSERT_TRUE(inc_again.ok()) << inc_again.status().ToString();
  EXPECT_EQ(*inc_again, inc);
}

TEST(ExportPolicyParseTest, EmptyAppsDeniesEverything) {
  auto p = ParseExportPolicy(R"({"apps": {}})");
  ASSERT_TRUE(p.ok());
  auto c = AppPolicy::Compile(*p, "dashboard");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Collections().empty());
  EXPECT_EQ((*c)->access("bugs"), Access::kNone);
}

TEST(ExportPolicyParseTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(ParseError(Coll(R"({"access": "write"})")),
            R"(policy apps.dashboard.collections.bugs.access: expected "read" or "read-write", found "write")");
  EXPECT_EQ(ParseError(Coll(R"({"access": 1})")),
            R"(policy apps.dashboard.collections.bugs.access: expected "read" or "read-write", found the number 1)");
  EXPECT_EQ(ParseError(Coll(R"({})")),
            R"(policy apps.dashboard.collections.bugs.access: missing; expected "read" or "read-write")");
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "acess": "read"})")),
            R"(policy apps.dashboard.collections.bugs: unknown key "acess" (expected "access", "fields", or "where"))");
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "where": 3})")),
            R"(policy apps.dashboard.collections.bugs.where: expected a query (a string), found the number 3)");
  EXPECT_EQ(
      ParseError(Coll(R"({"access": "read", "fields": ["a"]})")),
      R"(policy apps.dashboard.collections.bugs.fields: expected an object {"exclude": [...]} or {"include": [...]}, found an array)");
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "fields": {"exclude": "a"}})")),
            R"(policy apps.dashboard.collections.bugs.fields.exclude: expected an array of field names, found "a")");
  EXPECT_EQ(
      ParseError(Coll(R"({"access": "read", "fields": {"exclude": ["a", 2]}})")),
      R"(policy apps.dashboard.collections.bugs.fields.exclude[1]: expected a field name (a string), found the number 2)");
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "fields": {"only": ["a"]}})")),
            R"(policy apps.dashboard.collections.bugs.fields: unknown key "only" (expected "exclude" or "include"))");
  EXPECT_EQ(
      ParseError(Coll(R"("read")")),
      R"(policy apps.dashboard.collections.bugs: expected an object {"access": ..., "fields": ..., "where": ...}, found "read")");
}

TEST(ExportPolicyParseTest, RefusesBadShapesAtTheTop) {
  EXPECT_EQ(ParseError("[]"), R"(policy: expected an object {"apps": {...}}, found an array)");
  EXPECT_EQ(ParseError("{}"), R"(policy apps: missing; expected an object of app names (or "*") to grants)");
  EXPECT_EQ(ParseError(R"({"apps": {}, "version": 1})"), R"(policy: unknown key "version" (expected "apps"))");
  EXPECT_EQ(ParseError(R"({"apps": {"a": {}}})"),
            R"(policy apps.a.collections: missing; expected an object of collection names to grants)");
  EXPECT_EQ(ParseError(R"({"apps": {"a": {"collections": []}}})"),
            R"(policy apps.a.collections: expected an object of collection names to grants, found an array)");
  EXPECT_EQ(ParseError(R"({"apps": {"a": {"collections": {}, "roles": []}}})"),
            R"(policy apps.a: unknown key "roles" (expected "collections"))");
  std::string bad_json = ParseError("{\"apps\": ");
  EXPECT_EQ(bad_json.rfind("policy: invalid JSON at byte", 0), 0u) << bad_json;
}

TEST(ExportPolicyParseTest, RefusesBadNames) {
  EXPECT_EQ(
      ParseError(R"({"apps": {"": {"collections": {}}}})"),
      R"(policy apps[""]: expected an app name of 1 to 64 characters a-z, 0-9, '_' or '-', found "" (or "*" for every app))");
  EXPECT_EQ(
      ParseError(R"({"apps": {"Dash Board": {"collections": {}}}})"),
      R"(policy apps["Dash Board"]: expected an app name of 1 to 64 characters a-z, 0-9, '_' or '-', found "Dash Board" (or "*" for every app))");
  EXPECT_EQ(ParseError(R"({"apps": {"a": {"collections": {"": {"access": "read"}}}}})"),
            R"(policy apps.a.collections[""]: a collection name must not be empty)");
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "fields": {"exclude": [""]}})")),
            R"(policy apps.dashboard.collections.bugs.fields.exclude[0]: a field name must not be empty)");
  EXPECT_EQ(
      ParseError(Coll(R"({"access": "read", "fields": {"include": ["a", "a.b"]}})")),
      R"(policy apps.dashboard.collections.bugs.fields.include[1]: expected a top-level field name, found "a.b" (nested paths are not supported: list the top-level field))");
  EXPECT_EQ(
      ParseError(Coll(R"({"access": "read", "fields": {"exclude": ["_id"]}})")),
      R"(policy apps.dashboard.collections.bugs.fields.exclude[0]: "_id" is the record id, which always travels; it cannot be listed)");
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "fields": {"exclude": ["a", "a"]}})")),
            R"(policy apps.dashboard.collections.bugs.fields.exclude[1]: "a" is listed twice)");
  // A collection name that is not a plain word is shown quoted.
  EXPECT_EQ(ParseError(R"({"apps": {"a": {"collections": {"bug reports": {"access": "all"}}}}})"),
            R"(policy apps.a.collections["bug reports"].access: expected "read" or "read-write", found "all")");
}

TEST(ExportPolicyParseTest, RefusesIncludeAndExcludeTogether) {
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "fields": {"exclude": ["a"], "include": ["b"]}})")),
            R"(policy apps.dashboard.collections.bugs.fields: give either "include" or "exclude", not both)");
}

TEST(ExportPolicyParseTest, QueryErrorsCarryTheQueryMessage) {
  EXPECT_EQ(ParseError(Coll(R"({"access": "read", "where": "team =="})")),
            "policy apps.dashboard.collections.bugs.where: query column 8: expected a value (string, number, true, "
            "false, null or $variable) after '==', found end of query");
  EXPECT_EQ(
      ParseError(Coll(R"({"access": "read", "where": "owner == $user"})")),
      "policy apps.dashboard.collections.bugs.where: query variable $user is not bound (a policy binds only $app)");
}

TEST(ExportPolicyStructTest, ValidatesAStructBuiltInCpp) {
  ExportPolicy p;
  CollectionGrant g;
  g.access = Access::kReadWrite;
  g.fields.exclude = {"secret"};
  g.where = "owner == $app";
  p.apps["dashboard"].collections["bugs"] = g;
  EXPECT_TRUE(ValidateExportPolicy(p).ok());
  auto c = AppPolicy::Compile(p, "dashboard");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->access("bugs"), Access::kReadWrite);

  p.apps["dashboard"].collections["bugs"].access = Access::kNone;
  Status s = ValidateExportPolicy(p);
  EXPECT_EQ(s.message(),
            R"(policy apps.dashboard.collections.bugs.access: expected "read" or "read-write", found "none")");
  EXPECT_FALSE(AppPolicy::Compile(p, "dashboard").ok());

  p.apps["dashboard"].collections["bugs"].access = Access::kRead;
  p.apps["dashboard"].collections["bugs"].fields.include = std::vector<std::string>{"title"};
  EXPECT_EQ(ValidateExportPolicy(p).message(),
            R"(policy apps.dashboard.collections.bugs.fields: give either "include" or "exclude", not both)");

  p.apps["dashboard"].collections["bugs"].fields.exclude.clear();
  p.apps["dashboard"].collections["bugs"].where = "(";
  EXPECT_EQ(ValidateExportPolicy(p).message().rfind("policy apps.dashboard.collections.bugs.where: query column 2:", 0),
            0u);
}

TEST(ExportPolicyStructTest, CompileRefusesAnInvalidAppName) {
  ExportPolicy p;
  EXPECT_EQ(AppPolicy::Compile(p, "*").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AppPolicy::Compile(p, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AppPolicy::Compile(p, "UPPER").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(AppPolicy::Compile(p, std::string(64, 'a')).ok());
  EXPECT_FALSE(AppPolicy::Compile(p, std::string(65, 'a')).ok());
}

TEST(AppPolicyTest, AppEntryWinsOverStarPerCollection) {
  auto json = R"({"apps": {
      "dashboard": {"collections": {"bugs": {"access": "read", "where": "team == \"mobile\""}}},
      "*": {"collections": {"bugs": {"access": "read-write"}, "releases": {"access": "read"}}}}})";
  auto dash = CompileOrDie(json, "dashboard");
  auto other = CompileOrDie(json, "reporter");
  // dashboard's own entry for bugs replaces "*"'s as a whole: read, filtered.
  EXPECT_EQ(dash->access("bugs"), Access::kRead);
  EXPECT_FALSE(dash->Visible("bugs", "b1", J(R"({"team":"web"})")));
  // releases is granted to every app through "*".
  EXPECT_EQ(dash->access("releases"), Access::kRead);
  EXPECT_EQ(dash->Collections(), (std::vector<std::string>{"bugs", "releases"}));
  // Any other app gets "*" unchanged.
  EXPECT_EQ(other->access("bugs"), Access::kReadWrite);
  EXPECT_TRUE(other->Visible("bugs", "b1", J(R"({"team":"web"})")));
}

TEST(AppPolicyTest, DeniesByDefault) {
  auto dash = CompileOrDie(kIssuePolicy, "dashboard");
  EXPECT_EQ(dash->access("secrets"), Access::kNone);
  EXPECT_FALSE(dash->Visible("secrets", "s1", J(R"({"a":1})")));
  EXPECT_EQ(dash->StripFields("secrets", J(R"({"a":1})")), Value::EmptyMap());
  EXPECT_FALSE(dash->Export("secrets", "s1", J(R"({"a":1})")).has_value());
  EXPECT_FALSE(dash->FieldExported("secrets", "a"));
  // An app absent from a policy without "*" gets nothing at all.
  auto p = ParseExportPolicy(R"({"apps": {"dashboard": {"collections": {"bugs": {"access": "read"}}}}})");
  ASSERT_TRUE(p.ok());
  auto stranger = AppPolicy::Compile(*p, "stranger");
  ASSERT_TRUE(stranger.ok());
  EXPECT_TRUE((*stranger)->Collections().empty());
  EXPECT_EQ((*stranger)->access("bugs"), Access::kNone);
}

TEST(AppPolicyTest, FiltersRowsWithWhere) {
  auto dash = CompileOrDie(kIssuePolicy, "dashboard");
  EXPECT_TRUE(dash->Visible("bugs", "b1", J(R"({"team":"mobile","title":"x"})")));
  EXPECT_FALSE(dash->Visible("bugs", "b2", J(R"({"team":"web","title":"x"})")));
  EXPECT_FALSE(dash->Visible("bugs", "b3", J(R"({"title":"x"})")));
  EXPECT_TRUE(dash->Visible("comments", "c1", J(R"({})")));
}

TEST(AppPolicyTest, BindsAppToTheAppName) {
  auto json =
      R"({"apps": {"*": {"collections": {"notes": {"access": "read-write", "where": "owner == $app || shared == true"}}}}})";
  auto ann = CompileOrDie(json, "ann");
  auto bob = CompileOrDie(json, "bob");
  Value anns = J(R"({"owner":"ann"})");
  EXPECT_TRUE(ann->Visible("notes", "n1", anns));
  EXPECT_FALSE(bob->Visible("notes", "n1", anns));
  EXPECT_TRUE(bob->Visible("notes", "n2", J(R"({"owner":"ann","shared":true})")));
  // `_id` is the record id, as in queries.
  auto by_id =
      CompileOrDie(R"({"apps": {"*": {"collections": {"inbox": {"access": "read", "where": "_id == $app"}}}}})", "bob");
  EXPECT_TRUE(by_id->Visible("inbox", "bob", J("{}")));
  EXPECT_FALSE(by_id->Visible("inbox", "ann", J("{}")));
}

TEST(AppPolicyTest, StripsExcludedFields) {
  auto dash = CompileOrDie(kIssuePolicy, "dashboard");
  Value doc = J(R"({"team":"mobile","title":"crash","internalNotes":"blame bob"})");
  EXPECT_EQ(dash->StripFields("bugs", doc), J(R"({"team":"mobile","title":"crash"})"));
  EXPECT_FALSE(dash->FieldExported("bugs", "internalNotes"));
  EXPECT_TRUE(dash->FieldExported("bugs", "title"));
  // No filter: the document is unchanged.
  EXPECT_EQ(dash->StripFields("comments", doc), doc);
  auto exported = dash->Export("bugs", "b1", doc);
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ(*exported, J(R"({"team":"mobile","title":"crash"})"));
  EXPECT_FALSE(dash->Export("bugs", "b1", J(R"({"team":"web"})")).has_value());
}

TEST(AppPolicyTest, KeepsOnlyIncludedFields) {
  auto p = CompileOrDie(Coll(R"({"access": "read", "fields": {"include": ["title", "status"]}})"), "dashboard");
  EXPECT_EQ(p->StripFields("bugs", J(R"({"title":"a","status":"open","owner":"x","n":{"title":1}})")),
            J(R"({"status":"open","title":"a"})"));
  EXPECT_TRUE(p->FieldExported("bugs", "title"));
  EXPECT_FALSE(p->FieldExported("bugs", "owner"));
  auto none = CompileOrDie(Coll(R"({"access": "read", "fields": {"include": []}})"), "dashboard");
  EXPECT_EQ(none->StripFields("bugs", J(R"({"title":"a"})")), Value::EmptyMap());
}

TEST(AppPolicyTest, WhereSeesExcludedFields) {
  auto p = CompileOrDie(Coll(R"({"access": "read", "fields": {"exclude": ["team"]}, "where": "team == \"mobile\""})"),
                        "dashboard");
  Value doc = J(R"({"team":"mobile","title":"a"})");
  auto exported = p->Export("bugs", "b1", doc);
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ(*exported, J(R"({"title":"a"})"));
}

TEST(AppPolicyTest, CheckWriteRefusesWhatIsNotWritable) {
  auto json = R"({"apps": {"dashboard": {"collections": {
      "bugs": {"access": "read"},
      "comments": {"access": "read-write", "fields": {"exclude": ["moderation"]}},
      "tasks": {"access": "read-write", "fields": {"include": ["title", "done"]}}}}}})";
  auto dash = CompileOrDie(json, "dashboard");
  EXPECT_TRUE(dash->CheckWrite("comments", {"text", "author"}).ok());
  EXPECT_TRUE(dash->CheckWrite("comments", {}).ok());  // a delete
  EXPECT_TRUE(dash->CheckWrite("tasks", {"done"}).ok());

  Status s = dash->CheckWrite("bugs", {"title"});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "app 'dashboard' may not write collection 'bugs': the export policy grants it read-only");
  s = dash->CheckWrite("secrets", {});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "app 'dashboard' may not write collection 'secrets': the export policy does not grant it to the app");
  s = dash->CheckWrite("comments", {"text", "moderation"});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "app 'dashboard' may not write field 'moderation' of collection 'comments': the export policy excludes it");
  s = dash->CheckWrite("tasks", {"title", "owner"});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "app 'dashboard' may not write field 'owner' of collection 'tasks': the export policy does not include it");
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission denied");
}

TEST(AppPolicyTest, CheckDeleteRefusesWhereTheGrantWithholdsFields) {
  // A delete takes every field of a record, withheld ones included.
  auto json = R"({"apps": {"dashboard": {"collections": {
      "bugs": {"access": "read"},
      "comments": {"access": "read-write", "fields": {"exclude": ["moderation"]}},
      "tasks": {"access": "read-write", "fields": {"include": ["title", "done"]}},
      "notes": {"access": "read-write"}}}}})";
  auto dash = CompileOrDie(json, "dashboard");
  EXPECT_TRUE(dash->CheckDelete("notes").ok());
  Status s = dash->CheckDelete("comments");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "app 'dashboard' may not delete records of collection 'comments': the export policy "
                         "withholds fields of it from the app, and a delete would remove those too");
  EXPECT_EQ(dash->CheckDelete("tasks").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(dash->CheckDelete("bugs").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(dash->CheckDelete("secrets").code(), StatusCode::kPermissionDenied);
}

TEST(AppPolicyTest, CheckWriteRowKeepsWritesInsideWhere) {
  auto p = CompileOrDie(
      R"({"apps": {"*": {"collections": {"notes": {"access": "read-write", "where": "owner == $app"}}}}})", "ann");
  Value mine = J(R"({"owner":"ann","t":1})");
  Value theirs = J(R"({"owner":"bob","t":1})");
  EXPECT_TRUE(p->CheckWriteRow("notes", "n1", nullptr, &mine).ok());  // create inside
  EXPECT_TRUE(p->CheckWriteRow("notes", "n1", &mine, &mine).ok());    // update inside
  EXPECT_TRUE(p->CheckWriteRow("notes", "n1", &mine, nullptr).ok());  // delete inside
  Status s = p->CheckWriteRow("notes", "n2", &theirs, &mine);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  const std::string refused =
      "app 'ann' may not write record 'n2' of collection 'notes': a write must find the record (if any) inside the "
      "app's where (owner == $app) and leave it there";
  EXPECT_EQ(s.message(), refused);
  // The same text whether a hidden record exists (before) or the write alone
  // is outside (after): a refusal does not tell that a hidden id exists.
  EXPECT_EQ(p->CheckWriteRow("notes", "n2", &theirs, nullptr).message(), refused);
  EXPECT_EQ(p->CheckWriteRow("notes", "n2", nullptr, &theirs).message(), refused);
  EXPECT_EQ(p->CheckWriteRow("notes", "n2", &mine, &theirs).message(), refused);
  EXPECT_EQ(p->CheckWriteRow("other", "x", nullptr, &mine).code(), StatusCode::kPermissionDenied);
}

TEST(AppPolicyTest, IsSharedAcrossThreadsAsConst) {
  // Compile returns shared_ptr<const AppPolicy>: a swapped-out policy stays
  // valid for whoever still holds it.
  auto old_policy = CompileOrDie(kIssuePolicy, "dashboard");
  std::shared_ptr<const AppPolicy> current = old_policy;
  current = CompileOrDie(R"({"apps": {}})", "dashboard");
  EXPECT_EQ(old_policy->access("bugs"), Access::kRead);
  EXPECT_EQ(current->access("bugs"), Access::kNone);
}

TEST(ExportPolicyFileTest, ReadsAFileAndPrefixesErrorsWithThePath) {
  testing::TempDir dir;
  std::string good = dir.File("policy.json");
  std::ofstream(good) << kIssuePolicy;
  auto p = ReadExportPolicyFile(good);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->apps.size(), 2u);
  std::string bad = dir.File("bad.json");
  std::ofstream(bad) << R"({"apps": {"a": {"collections": {"c": {"access": "write"}}}}})";
  auto b = ReadExportPolicyFile(bad);
  EXPECT_EQ(b.status().message(),
            bad + R"(: policy apps.a.collections.c.access: expected "read" or "read-write", found "write")");
  EXPECT_EQ(ReadExportPolicyFile(dir.File("absent.json")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace blaze::policy
