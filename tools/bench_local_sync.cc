// bench_local_sync.cc — `blazedb bench local-sync`: the standard workload of
// issue 3, replicas in one process syncing through in-memory links.
//
//   1. insert N records x 5 fields (title, status, priority, assignee,
//      updatedAt) on replica 0 in transactions of 1000; time until every
//      replica holds them;
//   2. U single-field updates (status or priority), one per transaction;
//      time until every replica holds them; bytes on the links per update
//      (every message counted: changes, acks, hellos);
//   3. 1000 sequential samples: a write on replica 0 until a watcher on
//      replica 1 sees it; beside it, how long that write's own commit took
//      (the Put call on replica 0 alone), and a bare SQLite commit (one row
//      replaced in a plain table, same journal and sync settings): the
//      floors a propagation stands on. Two end points are reported: when the
//      watch callback runs on replica 1 (the change is visible to the app),
//      and when the benchmark thread waiting for that callback has woken up
//      (one thread wake-up later; the figure the goals were first set on).
// Run twice: durable SQLite files (WAL, synchronous=NORMAL) and in memory.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "blaze/json.h"
#include "commands.h"
#include "store/replica.h"
#include "store/sqlite.h"
#include "sync/sync_engine.h"

namespace blaze::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Counts the bytes of every message sent through the wrapped link.
class CountingLink final : public sync::Link {
 public:
  CountingLink(std::shared_ptr<sync::Link> inner, std::atomic<uint64_t>* bytes) : inner_(std::move(inner)), bytes_(bytes) {}
  Status Send(std::string message) override {
    *bytes_ += message.size();
    return inner_->Send(std::move(message));
  }
  void Close(const Status& why) override { inner_->Close(why); }
  void Attach(std::shared_ptr<sync::LinkHandler> h, sync::Executor* e) override { inner_->Attach(std::move(h), e); }

 private:
  std::shared_ptr<sync::Link> inner_;
  std::atomic<uint64_t>* bytes_;
};

struct Run {
  double insert_records_per_s = 0;
  double update_ops_per_s = 0;
  double writer_update_ops_per_s = 0;  // the writer's Patch loop alone (before convergence)
  double p50_us = 0, p99_us = 0;
  double callback_p50_us = 0, callback_p99_us = 0;  // write until the watch callback runs
  double commit_p50_us = 0, commit_p99_us = 0;  // the probe's Put on replica 0 alone
  double sqlite_commit_p50_us = 0;              // a bare SQLite commit, same settings
  double handoff_round_trip_p50_us = 0;         // thread A wakes B, B wakes A
  double bytes_per_update = 0;
  bool converged = false;
};

const char* kStatus[] = {"open", "closed", "triage", "wontfix"};

// p50 of 1000 bare SQLite commits of one replaced row: WAL and
// synchronous=NORMAL in a file (as BlazeDB configures it), or in memory.
// p50 of 1000 round trips between two threads that sleep on a condition
// variable: what two thread hops cost on this machine right now.
double HandoffRoundTripP50() {
  std::mutex mu;
  std::condition_variable cv;
  int turn = 0;  // even: the main thread's, odd: the echo thread's
  bool stop = false;
  std::thread echo([&] {
    std::unique_lock<std::mutex> l(mu);
    while (true) {
      cv.wait(l, [&] { return stop || turn % 2 == 1; });
      if (stop) return;
      ++turn;
      cv.notify_all();
    }
  });
  std::vector<double> samples;
  for (int k = 0; k < 1000; ++k) {
    auto start = Clock::now();
    std::unique_lock<std::mutex> l(mu);
    ++turn;
    cv.notify_all();
    cv.wait(l, [&] { return turn % 2 == 0; });
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  {
    std::lock_guard<std::mutex> l(mu);
    stop = true;
  }
  cv.notify_all();
  echo.join();
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

Result<double> BareCommitP50(bool durable, const std::string& dir) {
  std::string path = durable ? dir + "/bare.sqlite" : ":memory:";
  if (durable) std::filesystem::remove(path);
  BLAZE_ASSIGN_OR_RETURN(auto conn, store::Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                                            Options{}.busy_timeout_ms));
  if (durable) {
    BLAZE_ASSIGN_OR_RETURN(auto mode, conn->PrepareUncached("PRAGMA journal_mode=WAL"));
    BLAZE_RETURN_IF_ERROR(mode->Step().status());
    BLAZE_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=NORMAL"));
  }
  BLAZE_RETURN_IF_ERROR(conn->Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)"));
  std::vector<double> samples;
  for (int k = 0; k < 1000; ++k) {
    auto start = Clock::now();
    BLAZE_RETURN_IF_ERROR(conn->Exec("BEGIN IMMEDIATE"));
    BLAZE_ASSIGN_OR_RETURN(auto stmt, conn->Prepare("INSERT OR REPLACE INTO t(k, v) VALUES (1, ?)"));
    stmt->BindInt(1, k);
    BLAZE_RETURN_IF_ERROR(stmt->Run());
    BLAZE_RETURN_IF_ERROR(conn->Exec("COMMIT"));
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  conn.reset();
  if (durable) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

Result<Run> RunOnce(int replicas, int records, int updates, bool durable, const std::string& dir) {
  std::vector<std::unique_ptr<Database>> dbs;
  std::vector<std::unique_ptr<sync::ThreadExecutor>> executors;
  std::vector<std::unique_ptr<sync::SyncEngine>> engines;
  std::atomic<uint64_t> bytes{0};
  for (int i = 0; i < replicas; ++i) {
    Options o;
    o.in_memory = !durable;
    std::string path = dir + "/replica" + std::to_string(i) + ".blazedb";
    if (durable) std::filesystem::remove(path);
    BLAZE_ASSIGN_OR_RETURN(auto db, Database::Open(o, path));
    dbs.push_back(std::move(db));
    executors.push_back(std::make_unique<sync::ThreadExecutor>());
    BLAZE_ASSIGN_OR_RETURN(auto engine, sync::SyncEngine::Create(dbs.back().get(), executors.back().get()));
    engines.push_back(std::move(engine));
  }
  for (int i = 0; i < replicas; ++i) {
    for (int j = i + 1; j < replicas; ++j) {
      auto [a, b] = sync::MakeInMemoryLinkPair();
      engines[i]->AddPeer(std::make_shared<CountingLink>(a, &bytes));
      engines[j]->AddPeer(std::make_shared<CountingLink>(b, &bytes));
    }
  }
  auto wait_converged = [&]() -> Status {
    for (int tries = 0; tries < 600'000; ++tries) {
      BLAZE_ASSIGN_OR_RETURN(VersionVector v0, DatabaseAccess::GetVersionVector(*dbs[0]));
      bool all = true;
      for (int i = 1; i < replicas && all; ++i) {
        BLAZE_ASSIGN_OR_RETURN(VersionVector vi, DatabaseAccess::GetVersionVector(*dbs[i]));
        all = vi == v0;
      }
      if (all) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return Status::Aborted("replicas did not converge within a minute");
  };

  Run run;
  std::vector<std::string> ids;
  auto t0 = Clock::now();
  for (int base = 0; base < records; base += 1000) {
    BLAZE_RETURN_IF_ERROR(dbs[0]->Transaction([&](Txn& t) -> Status {
      for (int i = base; i < std::min(records, base + 1000); ++i) {
        Value::Map doc{{"title", Value("bug number " + std::to_string(i))},
                       {"status", Value(kStatus[i % 4])},
                       {"priority", Value(i % 5)},
                       {"assignee", Value("user" + std::to_string(i % 50))},
                       {"updatedAt", Value(int64_t{1'700'000'000'000} + i)}};
        BLAZE_ASSIGN_OR_RETURN(std::string id, t.Insert("bugs", Value(std::move(doc))));
        ids.push_back(std::move(id));
      }
      return Status::Ok();
    }));
  }
  BLAZE_RETURN_IF_ERROR(wait_converged());
  run.insert_records_per_s = records / std::chrono::duration<double>(Clock::now() - t0).count();

  std::mt19937_64 rng(7);
  uint64_t bytes_before = bytes.load();
  t0 = Clock::now();
  for (int u = 0; u < updates; ++u) {
    const std::string& id = ids[rng() % ids.size()];
    Value patch = (u % 2) ? Value(Value::Map{{"status", Value(kStatus[rng() % 4])}})
                          : Value(Value::Map{{"priority", Value(static_cast<int64_t>(rng() % 5))}});
    BLAZE_RETURN_IF_ERROR(dbs[0]->Patch("bugs", id, patch));
  }
  run.writer_update_ops_per_s = updates / std::chrono::duration<double>(Clock::now() - t0).count();
  BLAZE_RETURN_IF_ERROR(wait_converged());
  run.update_ops_per_s = updates / std::chrono::duration<double>(Clock::now() - t0).count();
  run.bytes_per_update = static_cast<double>(bytes.load() - bytes_before) / updates;

  // Latency: write on replica 0, until replica 1's watcher sees it.
  std::mutex mu;
  std::condition_variable cv;
  int64_t seen = -1;
  Clock::time_point seen_at;
  BLAZE_ASSIGN_OR_RETURN(WatchHandle watch, dbs[1]->Watch("probe", "", [&](const ChangeEvent& e) {
    auto now = Clock::now();
    std::lock_guard<std::mutex> l(mu);
    seen = e.doc.Find("n") ? e.doc.Find("n")->as_int() : -1;
    seen_at = now;
    cv.notify_all();
  }));
  std::vector<double> samples, commits, callbacks;
  for (int k = 0; k < 1000; ++k) {
    auto start = Clock::now();
    BLAZE_RETURN_IF_ERROR(dbs[0]->Put("probe", "p", Value(Value::Map{{"n", Value(k)}})));
    commits.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(10), [&] { return seen == k; })) {
      return Status::Aborted("a probe write never reached replica 1");
    }
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    callbacks.push_back(std::chrono::duration<double, std::micro>(seen_at - start).count());
  }
  watch.Cancel();
  std::sort(callbacks.begin(), callbacks.end());
  run.callback_p50_us = callbacks[callbacks.size() / 2];
  run.callback_p99_us = callbacks[callbacks.size() * 99 / 100];
  std::sort(samples.begin(), samples.end());
  run.p50_us = samples[samples.size() / 2];
  run.p99_us = samples[samples.size() * 99 / 100];
  std::sort(commits.begin(), commits.end());
  run.commit_p50_us = commits[commits.size() / 2];
  run.commit_p99_us = commits[commits.size() * 99 / 100];
  BLAZE_ASSIGN_OR_RETURN(run.sqlite_commit_p50_us, BareCommitP50(durable, dir));
  run.handoff_round_trip_p50_us = HandoffRoundTripP50();

  for (auto& e : engines) e.reset();
  for (auto& x : executors) x.reset();
  BLAZE_ASSIGN_OR_RETURN(auto s0, DatabaseAccess::DumpStates(*dbs[0]));
  run.converged = true;
  for (int i = 1; i < replicas; ++i) {
    BLAZE_ASSIGN_OR_RETURN(auto si, DatabaseAccess::DumpStates(*dbs[i]));
    run.converged = run.converged && si == s0;
  }
  return run;
}

Value RunJson(const Run& r) {
  return Value(Value::Map{{"insert_records_per_s", Value(r.insert_records_per_s)},
                          {"update_ops_per_s", Value(r.update_ops_per_s)},
                          {"propagation_p50_us", Value(r.p50_us)},
                          {"propagation_p99_us", Value(r.p99_us)},
                          {"callback_p50_us", Value(r.callback_p50_us)},
                          {"callback_p99_us", Value(r.callback_p99_us)},
                          {"writer_update_ops_per_s", Value(r.writer_update_ops_per_s)},
                          {"commit_p50_us", Value(r.commit_p50_us)},
                          {"commit_p99_us", Value(r.commit_p99_us)},
                          {"bare_sqlite_commit_p50_us", Value(r.sqlite_commit_p50_us)},
                          {"bare_thread_round_trip_p50_us", Value(r.handoff_round_trip_p50_us)},
                          {"wire_bytes_per_update", Value(r.bytes_per_update)},
                          {"converged", Value(r.converged)}});
}

}  // namespace

Result<double> BareSqliteCommitP50(const std::string& dir) { return BareCommitP50(true, dir); }

Status BenchLocalSync(int replicas, int records, int updates, bool json) {
  if (replicas < 2) return Status::InvalidArgument("--replicas must be at least 2");
  if (records < 1 || updates < 1) return Status::InvalidArgument("--records and --updates must be at least 1");
  std::string tmpl = (std::filesystem::temp_directory_path() / "blaze-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a temporary directory");
  auto durable = RunOnce(replicas, records, updates, true, tmpl);
  auto memory = durable.ok() ? RunOnce(replicas, records, updates, false, tmpl) : Result<Run>(durable.status());
  std::filesystem::remove_all(tmpl);
  BLAZE_RETURN_IF_ERROR(durable.status());
  BLAZE_RETURN_IF_ERROR(memory.status());
  Value out(Value::Map{{"workload", Value(Value::Map{{"replicas", Value(replicas)},
                                                      {"records", Value(records)},
                                                      {"updates", Value(updates)},
                                                      {"latency_samples", Value(1000)}})},
                       {"durable", RunJson(*durable)},
                       {"in_memory", RunJson(*memory)}});
  if (json) {
    std::printf("%s\n", ToJson(out).c_str());
  } else {
    std::printf("local-sync: %d replicas, %d records, %d updates\n", replicas, records, updates);
    std::printf("%-26s %14s %14s\n", "", "durable", "in memory");
    auto row = [&](const char* name, double a, double b) { std::printf("%-26s %14.1f %14.1f\n", name, a, b); };
    row("insert records/s", durable->insert_records_per_s, memory->insert_records_per_s);
    row("update ops/s", durable->update_ops_per_s, memory->update_ops_per_s);
    row("writer's update ops/s", durable->writer_update_ops_per_s, memory->writer_update_ops_per_s);
    row("propagation p50 (us)", durable->p50_us, memory->p50_us);
    row("propagation p99 (us)", durable->p99_us, memory->p99_us);
    row("to callback p50 (us)", durable->callback_p50_us, memory->callback_p50_us);
    row("to callback p99 (us)", durable->callback_p99_us, memory->callback_p99_us);
    row("writer's commit p50 (us)", durable->commit_p50_us, memory->commit_p50_us);
    row("writer's commit p99 (us)", durable->commit_p99_us, memory->commit_p99_us);
    row("bare SQLite commit p50 (us)", durable->sqlite_commit_p50_us, memory->sqlite_commit_p50_us);
    row("thread round trip p50 (us)", durable->handoff_round_trip_p50_us, memory->handoff_round_trip_p50_us);
    row("wire bytes per update", durable->bytes_per_update, memory->bytes_per_update);
    std::printf("%-26s %14s %14s\n", "converged", durable->converged ? "yes" : "NO", memory->converged ? "yes" : "NO");
  }
  if (!durable->converged || !memory->converged) return Status::Internal("replicas did not converge");
  return Status::Ok();
}

}  // namespace blaze::cli
