// blaze_bench — storage benchmarks, BlazeDB side by side with raw SQLite in
// one run (Google Benchmark; --benchmark_format=json for JSON).
//
// Workloads (issue 2):
//   insert: batches of 1000 five-field records in one transaction, durable
//           file, WAL + synchronous=NORMAL on both sides. Raw SQLite stores
//           the same records as (id TEXT PRIMARY KEY, doc TEXT JSON) rows,
//           serialising each record with nlohmann::json.
//   get:    point get of a random record among 100k (raw SQLite: select the
//           JSON text and parse it).
//   query:  equality query returning 100 of 1M records, with and without
//           an index on the field.
// At exit it prints a summary JSON object (ratios computed in this run) to
// stdout after the benchmark output, or to --summary_out=FILE.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "blaze/database.h"
#include "blaze/json.h"
#include "blaze/record_id.h"

namespace {

using blaze::Value;

std::string BenchDir() {
  static std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "blazebench-XXXXXX").string();
    return std::string(mkdtemp(tmpl.data()));
  }();
  return dir;
}

const char* kStatus[] = {"open", "closed", "triage", "wontfix"};
const char* kPeople[] = {"ann", "bob", "cho", "dev", "eve", "fay"};

Value MakeRecord(int64_t i) {
  return Value(Value::Map{{"title", Value("bug number " + std::to_string(i))},
                          {"status", Value(kStatus[i % 4])},
                          {"priority", Value(i % 5)},
                          {"assignee", Value(kPeople[i % 6])},
                          {"updatedAt", Value(int64_t{1'700'000'000'000} + i)}});
}

nlohmann::json MakeJson(int64_t i) {
  return nlohmann::json{{"title", "bug number " + std::to_string(i)}, {"status", kStatus[i % 4]},
                        {"priority", i % 5},
                        {"assignee", kPeople[i % 6]},
                        {"updatedAt", int64_t{1'700'000'000'000} + i}};
}

std::unique_ptr<blaze::Database> OpenFresh(const std::string& name) {
  std::string path = BenchDir() + "/" + name;
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  auto db = blaze::Database::Open({}, path);
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(db).value();
}

constexpr int kBatch = 1000;

void BM_BlazeInsertBatched(benchmark::State& state) {
  auto db = OpenFresh("insert.blazedb");
  int64_t n = 0;
  for (auto _ : state) {
    blaze::Status s = db->Transaction([&](blaze::Txn& t) -> blaze::Status {
      for (int i = 0; i < kBatch; ++i) {
        auto id = t.Insert("bugs", MakeRecord(n++));
        if (!id.ok()) return id.status();
      }
      return blaze::Status::Ok();
    });
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void Check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
}

// A fresh raw SQLite file with the table an application would use for the
// same records, WAL + synchronous=NORMAL plus `pragmas`; returns its insert.
sqlite3_stmt* OpenRawSqlite(const std::string& name, const std::string& pragmas, sqlite3** db) {
  std::string path = BenchDir() + "/" + name;
  std::filesystem::remove(path);
  Check(sqlite3_open(path.c_str(), db), *db);
  std::string setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; " + pragmas +
                      "CREATE TABLE bugs(id TEXT PRIMARY KEY, doc TEXT NOT NULL)";
  Check(sqlite3_exec(*db, setup.c_str(), nullptr, nullptr, nullptr), *db);
  sqlite3_stmt* ins;
  Check(sqlite3_prepare_v2(*db, "INSERT INTO bugs(id, doc) VALUES (?, ?)", -1, &ins, nullptr), *db);
  return ins;
}

void BM_RawSqliteInsertBatched(benchmark::State& state) {
  sqlite3* db;
  sqlite3_stmt* ins = OpenRawSqlite("raw.sqlite", "", &db);
  blaze::RecordIdGenerator ids(blaze::SystemClock(), blaze::SystemRandom());
  int64_t n = 0;
  for (auto _ : state) {
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
    for (int i = 0; i < kBatch; ++i) {
      std::string id = ids.Next();
      std::string doc = MakeJson(n++).dump();
      sqlite3_bind_text(ins, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 2, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(ins), db);
      sqlite3_reset(ins);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  sqlite3_finalize(ins);
  sqlite3_close(db);
}

// A database of `n` records with ids "r<i>", built once and shared.
blaze::Database* Loaded(int64_t n, bool index_bucket) {
  static std::map<int64_t, std::unique_ptr<blaze::Database>> cache;
  auto& slot = cache[n];
  if (slot) return slot.get();
  slot = OpenFresh("loaded-" + std::to_string(n) + ".blazedb");
  for (int64_t base = 0; base < n; base += 10000) {
    blaze::Status s = slot->Transaction([&](blaze::Txn& t) -> blaze::Status {
      for (int64_t i = base; i < std::min(n, base + 10000); ++i) {
        Value rec = MakeRecord(i);
        rec.as_map()["bucket"] = Value(i % (n / 100));   // 100 records per value
        rec.as_map()["bucket2"] = Value(i % (n / 100));  // same, never indexed
        BLAZE_RETURN_IF_ERROR(t.Put("bugs", "r" + std::to_string(i), rec));
      }
      return blaze::Status::Ok();
    });
    if (!s.ok()) std::exit(1);
  }
  if (index_bucket && !slot->CreateIndex("bugs", "bucket").ok()) std::exit(1);
  return slot.get();
}

void BM_BlazePointGet(benchmark::State& state) {
  blaze::Database* db = Loaded(100'000, false);
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto v = db->Get("bugs", "r" + std::to_string(rng() % 100'000));
    if (!v.ok()) state.SkipWithError("get failed");
    benchmark::DoNotOptimize(v);
  }
}

// The same lookup in raw SQLite: 100k (id TEXT PRIMARY KEY, doc TEXT) rows,
// fetching the JSON text and parsing it into a Value as an application would.
void BM_RawSqlitePointGet(benchmark::State& state) {
  sqlite3* db;
  sqlite3_stmt* ins = OpenRawSqlite("raw-get.sqlite", "PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456; ", &db);
  Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
  for (int64_t i = 0; i < 100'000; ++i) {
    std::string id = "r" + std::to_string(i);
    std::string doc = MakeJson(i).dump();
    sqlite3_bind_text(ins, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
    Check(sqlite3_step(ins), db);
    sqlite3_reset(ins);
  }
  Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
  sqlite3_finalize(ins);
  sqlite3_stmt* sel;
  Check(sqlite3_prepare_v2(db, "SELECT doc FROM bugs WHERE id = ?", -1, &sel, nullptr), db);
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    std::string id = "r" + std::to_string(rng() % 100'000);
    sqlite3_bind_text(sel, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(sel) != SQLITE_ROW) state.SkipWithError("raw get failed");
    auto v = blaze::ParseJson(std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(sel, 0)),
                                               static_cast<size_t>(sqlite3_column_bytes(sel, 0))));
    benchmark::DoNotOptimize(v);
    sqlite3_reset(sel);
  }
  sqlite3_finalize(sel);
  sqlite3_close(db);
}

void QueryBench(benchmark::State& state, const char* field) {
  blaze::Database* db = Loaded(1'000'000, true);
  std::mt19937_64 rng(2);
  size_t rows = 0;
  for (auto _ : state) {
    blaze::QueryOptions q;
    q.where = std::string(field) + " == $b";
    q.vars["b"] = Value(static_cast<int64_t>(rng() % 10'000));
    auto r = db->Query("bugs", q);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    rows = r.ok() ? r->size() : 0;
  }
  state.counters["rows"] = static_cast<double>(rows);
}

void BM_IndexedQuery100of1M(benchmark::State& state) { QueryBench(state, "bucket"); }
void BM_UnindexedQuery100of1M(benchmark::State& state) { QueryBench(state, "bucket2"); }

BENCHMARK(BM_BlazeInsertBatched)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_RawSqliteInsertBatched)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_BlazePointGet)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawSqlitePointGet)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexedQuery100of1M)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UnindexedQuery100of1M)->Unit(benchmark::kMillisecond)->Iterations(5);

// Remembers each run so the summary can compare them.
class SummaryReporter : public benchmark::JSONReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      Entry e;
      e.ns_per_iter = r.GetAdjustedRealTime() * (r.time_unit == benchmark::kMillisecond   ? 1e6
                                                 : r.time_unit == benchmark::kMicrosecond ? 1e3
                                                                                           : 1.0);
      auto it = r.counters.find("items_per_second");
      e.items_per_second = it == r.counters.end() ? 0 : static_cast<double>(it->second);
      results[r.benchmark_name()] = e;
    }
    JSONReporter::ReportRuns(runs);
  }
  struct Entry {
    double ns_per_iter = 0;
    double items_per_second = 0;
  };
  std::map<std::string, Entry> results;
};

}  // namespace

int main(int argc, char** argv) {
  std::string summary_out;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--summary_out=", 0) == 0) {
      summary_out = a.substr(14);
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& r = reporter.results;
  auto get = [&](const char* k) { return r.count(k) ? r[k] : SummaryReporter::Entry{}; };
  nlohmann::json s;
  double blaze_ips = get("BM_BlazeInsertBatched/min_time:2.000").items_per_second;
  double raw_ips = get("BM_RawSqliteInsertBatched/min_time:2.000").items_per_second;
  s["insert_records_per_s"] = blaze_ips;
  s["raw_sqlite_insert_records_per_s"] = raw_ips;
  s["insert_time_ratio_vs_raw_sqlite"] = blaze_ips > 0 ? raw_ips / blaze_ips : 0;
  s["point_get_us"] = get("BM_BlazePointGet").ns_per_iter / 1e3;
  s["raw_sqlite_point_get_us"] = get("BM_RawSqlitePointGet").ns_per_iter / 1e3;
  s["indexed_query_100_of_1m_ms"] = get("BM_IndexedQuery100of1M").ns_per_iter / 1e6;
  s["unindexed_query_100_of_1m_ms"] = get("BM_UnindexedQuery100of1M/iterations:5").ns_per_iter / 1e6;
  s["goals"] = {{"insert_records_per_s", ">= 300000"},
                {"insert_time_ratio_vs_raw_sqlite", "<= 1.5"},
                {"point_get_us", "<= 5"},
                {"indexed_query_100_of_1m_ms", "<= 1"}};
  std::string text = s.dump(2);
  if (summary_out.empty()) {
    std::printf("%s\n", text.c_str());
  } else {
    std::ofstream(summary_out) << text << "\n";
  }
  std::filesystem::remove_all(BenchDir());
  return 0;
}
