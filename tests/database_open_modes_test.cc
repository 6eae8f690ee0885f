// database_open_modes_test.cc — how Database::Open treats empty files,
// read-only opens (Options::read_only) and another process's locks.
// Single-threaded except where a test starts a thread to release a lock.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "blaze/database.h"
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

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void Touch(const std::string& path) {
  std::ofstream(path, std::ios::binary).flush();
}

// ---- empty files (issue 9, item 15) ----

TEST(DatabaseOpenModesTest, AnEmptyFileIsNotFoundWithoutCreateIfMissingAndStaysEmpty) {
  TempDir dir;
  const std::string path = dir.File("empty.blazedb");
  Touch(path);
  Options o;
  o.create_if_missing = false;
  auto db = Database::Open(o, path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kNotFound);
  EXPECT_NE(db.status().message().find("empty file"), std::string::npos) << db.status().message();
  EXPECT_EQ(Slurp(path), "");
  EXPECT_FALSE(Exists(path + "-wal"));
  EXPECT_FALSE(Exists(path + "-shm"));
}

TEST(DatabaseOpenModesTest, AnEmptyFileBecomesADatabaseWithCreateIfMissing) {
  TempDir dir;
  const std::string path = dir.File("mktemp.blazedb");
  Touch(path);
  {
    auto db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Put("c", "x", J(R"({"a":1})")).ok());
  }
  Options o;
  o.create_if_missing = false;
  auto again = OpenOrDie(path, o);
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->Get("c", "x").ok());
}

// ---- read-only opens (item 16) ----

TEST(DatabaseOpenModesTest, ReadOnlyReadsAndLeavesNoFileBehind) {
  TempDir dir;
  const std::string path = dir.File("ro.blazedb");
  {
    auto db = OpenOrDie(path);
    ASSERT_TRUE(db->Put("bugs", "b1", J(R"({"t":"one"})")).ok());
  }
  ASSERT_FALSE(Exists(path + "-wal"));  // the last writer checkpointed and removed it
  const std::string before = Slurp(path);
  Options o;
  o.read_only = true;
  {
    auto db = OpenOrDie(path, o);
    ASSERT_NE(db, nullptr);
    auto doc = db->Get("bugs", "b1");
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    EXPECT_EQ(*doc, J(R"({"t":"one"})"));
    EXPECT_EQ(*db->Count("bugs"), 1);
    // A reader must not leave -wal/-shm files: made by another user they
    // would block the owner's writes.
    EXPECT_FALSE(Exists(path + "-wal"));
    EXPECT_FALSE(Exists(path + "-shm"));
  }
  EXPECT_FALSE(Exists(path + "-wal"));
  EXPECT_FALSE(Exists(path + "-shm"));
  EXPECT_EQ(Slurp(path), before);
}

TEST(DatabaseOpenModesTest, ReadOnlyRefusesEveryWrite) {
  TempDir dir;
  const std::string path = dir.File("ro.blazedb");
  { ASSERT_TRUE(OpenOrDie(path)->Put("bugs", "b1", J("{}")).ok()); }
  const std::string before = Slurp(path);
  Options o;
  o.read_only = true;
  auto db = OpenOrDie(path, o);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Put("bugs", "b2", J("{}")).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(db->Insert("bugs", J("{}")).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(db->Delete("bugs", "b1").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(db->CreateIndex("bugs", "t").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(db->Compact({}).status().code(), StatusCode::kPermissionDenied);
  db.reset();
  EXPECT_EQ(Slurp(path), before);
}

TEST(DatabaseOpenModesTest, ReadOnlySeesCommitsOfAWriterThatHasTheFileOpen) {
  TempDir dir;
  const std::string path = dir.File("live.blazedb");
  auto writer = OpenOrDie(path);
  ASSERT_TRUE(writer->Put("bugs", "b1", J(R"({"n":1})")).ok());  // in the writer's -wal, not yet in the file
  ASSERT_TRUE(Exists(path + "-wal"));
  Options o;
  o.read_only = true;
  auto reader = OpenOrDie(path, o);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(*reader->Get("bugs", "b1"), J(R"({"n":1})"));
  ASSERT_TRUE(writer->Put("bugs", "b2", J(R"({"n":2})")).ok());
  EXPECT_EQ(*reader->Count("bugs"), 2);
  EXPECT_EQ(reader->Put("bugs", "b3", J("{}")).code(), StatusCode::kPermissionDenied);
}

TEST(DatabaseOpenModesTest, ReadOnlyNeverCreatesAFile) {
  TempDir dir;
  Options o;
  o.read_only = true;
  auto missing = Database::Open(o, dir.File("absent.blazedb"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(Exists(dir.File("absent.blazedb")));
  const std::string empty = dir.File("empty.blazedb");
  Touch(empty);
  auto opened = Database::Open(o, empty);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Slurp(empty), "");
}

// ---- another process's lock (item 14) ----

// Another connection holds the file exclusively for a moment: Open must wait
// for it (Options::busy_timeout_ms) from its very first statement, not fail
// at once with "database is locked".
TEST(DatabaseOpenModesTest, OpenWaitsForAnotherConnectionsLock) {
  TempDir dir;
  const std::string path = dir.File("locked.blazedb");
  { ASSERT_TRUE(OpenOrDie(path)->Put("bugs", "b1", J("{}")).ok()); }
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other,
                         "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; "
                         "INSERT INTO blaze_meta(key, value) VALUES ('lock-test', 1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  std::atomic<bool> released{false};
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);  // ends exclusive locking mode's hold on the file
    released = true;
  });
  Options o;
  o.busy_timeout_ms = 60000;  // far beyond the hold: only a wait can explain success
  auto db = Database::Open(o, path);
  release.join();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(released.load());
  EXPECT_TRUE((*db)->Get("bugs", "b1").ok());
}

}  // namespace
}  // namespace blaze
