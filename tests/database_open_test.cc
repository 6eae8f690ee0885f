#include "blaze/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>

#include "support/db_fixture.h"

namespace blaze {
namespace {

using testing::J;
using testing::OpenOrDie;
using testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

TEST(DatabaseOpenTest, CreatesAFileAndKeepsItsNodeId) {
  TempDir dir;
  NodeId first;
  {
    auto db = OpenOrDie(dir.File("a.blazedb"));
    first = db->node_id();
    EXPECT_NE(first.value, 0u);
    ASSERT_TRUE(db->Put("bugs", "b1", J(R"({"t":1})")).ok());
  }
  auto again = OpenOrDie(dir.File("a.blazedb"));
  EXPECT_EQ(again->node_id(), first);
  EXPECT_TRUE(again->Get("bugs", "b1").ok());
}

TEST(DatabaseOpenTest, MissingFileIsNotFoundWithoutCreateIfMissing) {
  TempDir dir;
  Options o;
  o.create_if_missing = false;
  auto db = Database::Open(o, dir.File("nope.blazedb"));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::ifstream(dir.File("nope.blazedb")).good());
}

TEST(DatabaseOpenTest, RefusesAForeignFileAndLeavesItUntouched) {
  TempDir dir;
  std::string path = dir.File("notes.txt");
  std::string content = "these are my notes, not a database\n";
  Spit(path, content);
  auto db = Database::Open({}, path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kCorruption);
  EXPECT_NE(db.status().message().find("not a BlazeDB database"), std::string::npos);
  EXPECT_EQ(Slurp(path), content);
}

TEST(DatabaseOpenTest, RefusesSomeoneElsesSqliteDatabase) {
  TempDir dir;
  std::string path = dir.File("other.db");
  sqlite3* raw;
  sqlite3_open(path.c_str(), &raw);
  sqlite3_exec(raw, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  std::string before = Slurp(path);
  auto db = Database::Open({}, path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Slurp(path), before);
  EXPECT_FALSE(std::ifstream(path + "-wal").good());  // not even switched to WAL
}

TEST(DatabaseOpenTest, RefusesAFileFromANewerFormat) {
  TempDir dir;
  std::string path = dir.File("future.blazedb");
  { OpenOrDie(path); }
  sqlite3* raw;
  sqlite3_open(path.c_str(), &raw);
  sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  std::string before = Slurp(path);
  auto db = Database::Open({}, path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(db.status().message().find("format 99"), std::string::npos) << db.status().message();
  EXPECT_EQ(Slurp(path), before);
}

TEST(DatabaseOpenTest, RefusesACorruptFile) {
  TempDir dir;
  std::string path = dir.File("broken.blazedb");
  {
    auto db = OpenOrDie(path);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(db->Insert("bugs", J(R"({"title":"some text to fill pages"})")).ok());
  }
  std::string bytes = Slurp(path);
  ASSERT_GT(bytes.size(), 4096u);
  for (size_t i = 100; i < bytes.size(); ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  Spit(path, bytes);
  auto db = Database::Open({}, path);
  if (db.ok()) {
    // The header survived; the damage must then surface as an error on read.
    auto all = (*db)->FetchAll("bugs");
    EXPECT_FALSE(all.ok());
  } else {
    EXPECT_EQ(db.status().code(), StatusCode::kCorruption) << db.status().ToString();
  }
}

TEST(DatabaseOpenTest, InMemoryDatabasesTouchNoFile) {
  Options o;
  o.in_memory = true;
  auto db = OpenOrDie("", o);
  ASSERT_TRUE(db->Put("c", "x", J("{}")).ok());
  EXPECT_EQ(*db->Count("c"), 1);
}

TEST(DatabaseOpenTest, TwoInMemoryDatabasesHaveDistinctNodeIds) {
  Options o;
  o.in_memory = true;
  auto a = OpenOrDie("", o);
  auto b = OpenOrDie("", o);
  EXPECT_NE(a->node_id(), b->node_id());
}

}  // namespace
}  // namespace blaze
