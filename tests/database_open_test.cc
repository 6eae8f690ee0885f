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

namespace blaze {
namespace {

// SQLite's process-wide memory statistics take a global mutex on every
// allocation (docs/performance.md): the first Open turns them off, unless
// the application initialized SQLite first. Process-wide state, so each case
// runs in a fresh process (a threadsafe death test re-executes the binary).
// Returns the database open: SQLite counts memory in use, none once closed.
std::unique_ptr<Database> OpenAndWrite(const std::string& path) {
  auto db = testing::OpenOrDie(path);
  for (int i = 0; i < 100; ++i) {
    if (!db->Put("bugs", "b" + std::to_string(i), testing::J(R"({"title":"x"})")).ok()) std::exit(3);
  }
  return db;
}

TEST(DatabaseOpenTest, TheFirstOpenTurnsSqlitesMemoryStatisticsOff) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  testing::TempDir dir;
  const std::string path = dir.File("stats.blazedb");
  EXPECT_EXIT(
      {
        auto db = OpenAndWrite(path);
        std::exit(sqlite3_memory_used() == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(DatabaseOpenTest, AnApplicationThatInitializedSqliteKeepsItsMemoryStatistics) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  testing::TempDir dir;
  const std::string path = dir.File("stats.blazedb");
  EXPECT_EXIT(
      {
        if (sqlite3_initialize() != SQLITE_OK) std::exit(2);
        auto db = OpenAndWrite(path);
        std::exit(sqlite3_memory_used() > 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace blaze
