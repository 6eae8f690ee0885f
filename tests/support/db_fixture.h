// db_fixture.h — helpers for tests that open real database files.
#ifndef BLAZE_TESTS_SUPPORT_DB_FIXTURE_H_
#define BLAZE_TESTS_SUPPORT_DB_FIXTURE_H_

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blaze/database.h"
#include "blaze/json.h"
#include "support/fakes.h"

namespace blaze::testing {

inline Value J(const std::string& json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << v.status().ToString() << " in " << json;
  return v.ok() ? *v : Value();
}

inline std::unique_ptr<Database> OpenOrDie(const std::string& path, Options options = {}) {
  auto db = Database::Open(options, path);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

// A row of blaze_changes read straight from the file.
struct LogRow {
  int64_t local_seq, origin, seq, hlc;
  std::string ops;
};

inline std::vector<LogRow> ReadLog(const std::string& path) {
  std::vector<LogRow> rows;
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT local_seq, origin, seq, hlc, ops FROM blaze_changes ORDER BY local_seq", -1, &st,
                     nullptr);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    rows.push_back(LogRow{sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                          sqlite3_column_int64(st, 3),
                          std::string(static_cast<const char*>(sqlite3_column_blob(st, 4)),
                                      static_cast<size_t>(sqlite3_column_bytes(st, 4)))});
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

// Polls `f` every 2 ms until it holds or `limit` passes; its last answer.
// For conditions another thread or process brings about.
template <typename F>
bool Eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return f();
}

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_DB_FIXTURE_H_
