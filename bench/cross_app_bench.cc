// cross_app_bench — cross-app sync between two processes on one device,
// through the encrypted channel over a Unix socket (issue 5's figures):
//
//   1. catch-up: a fresh reader replica of N records (5 fields each);
//   2. latency: S sequential samples — the owner commits a one-field update,
//      the reader process's WatchCrossApp callback sees it and answers on a
//      pipe (the pipe's hop, a few µs, is included: the figure is an upper
//      bound);
//   3. throughput: U single-field updates, one per transaction, on distinct
//      records, as fast as the owner can commit them; time until the reader
//      has seen them all.
//
// Beside the latency, the floors it stands on, measured in the same run: the
// owner's commit (each sample's Patch) and a bare Unix socket round trip
// between the two processes (one byte there and back, S samples, a thread
// of the reader process echoing).
//
// Both replicas are durable files (WAL, synchronous=NORMAL). The process is
// forked before any thread starts; each side then builds its own threads.
//
//   cross_app_bench [--records N] [--updates U] [--samples S]   prints JSON
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "blaze/app_group.h"
#include "blaze/cross_app.h"
#include "blaze/json.h"

namespace {

using namespace blaze;
using Steady = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "cross_app_bench: %s\n", what.c_str());
  std::_Exit(1);
}

template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

void WriteAll(int fd, const void* p, size_t n) {
  if (::write(fd, p, n) != static_cast<ssize_t>(n)) Die("pipe write failed");
}

void ReadAll(int fd, void* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = ::read(fd, static_cast<char*>(p) + got, n - got);
    if (k <= 0) Die("pipe read failed (the reader process died?)");
    got += static_cast<size_t>(k);
  }
}

std::string Id(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "t%07d", i);
  return buf;
}

// The reader process: catch up, then report watch events on the pipe.
[[noreturn]] void RunReader(const std::string& group, const KeyPair& key, const std::string& replica, int go_fd,
                            int report_fd, int echo_fd, int updates) {
  // Echoes every byte on the socket until the owner closes it.
  std::thread echo([echo_fd] {
    char b;
    while (::read(echo_fd, &b, 1) == 1) WriteAll(echo_fd, &b, 1);
  });
  echo.detach();
  char go;
  ReadAll(go_fd, &go, 1);  // the owner serves now
  auto t0 = Steady::now();
  auto shared = Check(ConnectToSharedDB(group, "tasks.blazedb", key, replica), "connect");
  Check(shared->WaitForCatchUp(std::chrono::minutes(10)), "catch-up");
  int64_t catch_up_us = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t0).count();
  std::atomic<int> seen{0};
  auto watch = Check(shared->WatchCrossApp("tasks", "", [&](const ChangeEvent& e) {
    if (e.id == "probe") {
      const Value* n = e.doc.Find("n");
      int64_t v = n != nullptr && n->is_int() ? n->as_int() : -1;
      WriteAll(report_fd, &v, sizeof v);
    } else if (++seen == updates) {
      int64_t done = -2;
      WriteAll(report_fd, &done, sizeof done);
    }
  }), "watch");
  // Reported once the watch exists, so the owner's first sample cannot be missed.
  WriteAll(report_fd, &catch_up_us, sizeof catch_up_us);
  ReadAll(go_fd, &go, 1);  // the owner is done
  watch.Cancel();
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  int records = 100000, updates = 10000, samples = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (v <= 0) Die("bad value for " + a);
    if (a == "--records") records = v;
    else if (a == "--updates") updates = v;
    else if (a == "--samples") samples = v;
    else Die("unknown option " + a + " (--records N --updates U --samples S)");
  }
  updates = std::min(updates, records);
  char tmpl[] = "/tmp/blaze-xapp-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
  std::string dir = tmpl, group = dir + "/group";
  auto g = Check(AppGroup::Init(group), "group init");
  KeyPair owner_key = Check(GenerateKeyPair(), "keygen");
  KeyPair reader_key = Check(GenerateKeyPair(), "keygen");
  Check(g.AddApp("owner", owner_key.public_key).status(), "add owner");
  Check(g.AddApp("reader", reader_key.public_key).status(), "add reader");

  int go[2], report[2], echo[2];
  if (::pipe(go) != 0 || ::pipe(report) != 0) Die("pipe failed");
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, echo) != 0) Die("socketpair failed");
  pid_t child = ::fork();
  if (child < 0) Die("fork failed");
  if (child == 0) {
    ::close(echo[0]);
    RunReader(group, reader_key, dir + "/reader.blazedb", go[0], report[1], echo[1], updates);
  }
  ::close(echo[1]);

  // The owner: N records of 5 fields, in transactions of 1000.
  auto db = Check(Database::Open(Options{}, dir + "/tasks.blazedb"), "open");
  const char* statuses[] = {"open", "in-progress", "review", "closed"};
  for (int base = 0; base < records; base += 1000) {
    Check(db->Transaction([&](Txn& t) -> Status {
      for (int i = base; i < std::min(records, base + 1000); ++i) {
        Value::Map doc{{"title", Value("task " + std::to_string(i))},
                       {"status", Value(statuses[i % 4])},
                       {"priority", Value(static_cast<int64_t>(i % 5))},
                       {"assignee", Value("user" + std::to_string(i % 97))},
                       {"updatedAt", Value(static_cast<int64_t>(1700000000000 + i))}};
        BLAZE_RETURN_IF_ERROR(t.Put("tasks", Id(i), Value(std::move(doc))));
      }
      return Status::Ok();
    }), "insert");
  }
  Check(db->Put("tasks", "probe", Value(Value::Map{{"n", Value(int64_t{-1})}})), "probe");
  ExportPolicy policy;
  policy.apps["reader"].collections["tasks"].access = Access::kRead;
  auto share = Check(EnableCrossAppSync(*db, group, owner_key, policy), "share");
  char one = 1;
  WriteAll(go[1], &one, 1);
  int64_t catch_up_us;
  ReadAll(report[0], &catch_up_us, sizeof catch_up_us);

  // A bare Unix socket round trip between the two processes.
  std::vector<double> socket_rtt;
  for (int i = 0; i < samples; ++i) {
    auto t0 = Steady::now();
    char b = 1;
    WriteAll(echo[0], &b, 1);
    ReadAll(echo[0], &b, 1);
    socket_rtt.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  ::close(echo[0]);
  std::sort(socket_rtt.begin(), socket_rtt.end());

  // Latency: one write, until the other process has seen it.
  std::vector<double> lat, commit;
  for (int i = 0; i < samples; ++i) {
    auto t0 = Steady::now();
    Check(db->Patch("tasks", "probe", Value(Value::Map{{"n", Value(static_cast<int64_t>(i))}})), "probe write");
    commit.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
    int64_t v;
    do {
      ReadAll(report[0], &v, sizeof v);
    } while (v != i);
    lat.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  std::sort(lat.begin(), lat.end());
  std::sort(commit.begin(), commit.end());

  // Throughput: U updates, one per transaction, distinct records.
  auto t0 = Steady::now();
  for (int i = 0; i < updates; ++i) {
    Check(db->Patch("tasks", Id(i), Value(Value::Map{{"priority", Value(static_cast<int64_t>(9))}})), "update");
  }
  double write_s = std::chrono::duration<double>(Steady::now() - t0).count();
  int64_t v = 0;
  while (v != -2) ReadAll(report[0], &v, sizeof v);
  double all_s = std::chrono::duration<double>(Steady::now() - t0).count();
  WriteAll(go[1], &one, 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  share.reset();
  db.reset();
  std::filesystem::remove_all(dir);

  auto at = [](const std::vector<double>& v, double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  auto pct = [&](double p) { return at(lat, p); };
  Value out(Value::Map{
      {"benchmark", Value("cross-app")},
      {"transport", Value("Unix socket, Noise XX + AES-256-GCM, two processes, durable files")},
      {"catch_up", Value(Value::Map{{"records", Value(static_cast<int64_t>(records))},
                                    {"ms", Value(catch_up_us / 1000.0)},
                                    {"records_per_s", Value(records / (catch_up_us / 1e6))}})},
      {"latency_us", Value(Value::Map{{"samples", Value(static_cast<int64_t>(samples))},
                                      {"p50", Value(pct(0.50))},
                                      {"p99", Value(pct(0.99))},
                                      {"max", Value(lat.back())},
                                      {"owner_commit_p50", Value(at(commit, 0.50))},
                                      {"owner_commit_p99", Value(at(commit, 0.99))},
                                      {"bare_unix_socket_round_trip_p50", Value(at(socket_rtt, 0.50))},
                                      {"bare_unix_socket_round_trip_p99", Value(at(socket_rtt, 0.99))}})},
      {"throughput", Value(Value::Map{{"updates", Value(static_cast<int64_t>(updates))},
                                      {"owner_commits_per_s", Value(updates / write_s)},
                                      {"visible_in_reader_per_s", Value(updates / all_s)}})},
      {"reader_exit", Value(static_cast<int64_t>(WIFEXITED(status) ? WEXITSTATUS(status) : -1))}});
  std::printf("%s\n", ToJson(out).c_str());
  return 0;
}
