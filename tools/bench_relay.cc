// bench_relay.cc — `blazedb bench relay`: the workload of issue 10 through a
// real relay, every party its own process on loopback, durable files.
//
// The bench process starts `blazedb serve` (temp data dir, its own identity
// and access file) and is client A itself; client B is this binary again
// (`blazedb bench relay-peer`, hidden), driven over a pipe:
//
//   1. A inserts N records x 5 fields (transactions of 1000) and waits until
//      the relay acknowledged them all; then B starts on an empty file:
//      initial sync = B's RemoteNode::Start until B holds A's version vector;
//   2. U single-field updates on A, one per transaction: from the first
//      Patch until B holds them all (updates/s); the TCP payload bytes of
//      each leg (A's socket to the relay, B's socket from it), both
//      directions, from the kernel (TCP_INFO tcpi_bytes_acked/received), so
//      WebSocket framing, frame headers, AEAD tags and acks are all counted;
//   3. S sequential samples: a Put on A until B's Watch callback runs (both
//      processes read CLOCK_MONOTONIC), and until the bench process has heard
//      of it through B's pipe (one more process wake-up);
//   then the relay's RSS (VmRSS, VmHWM from /proc), and floors measured in
//   the same run: A's own durable commit (the probe Put alone), a bare SQLite
//   commit with the same settings, a pipe round trip between A and B.
//
// Thread safety: single-threaded apart from the RemoteNodes' own threads; B's
// watch callback writes whole lines with one write(2) each (atomic on a pipe).
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "blaze/json.h"
#include "blaze/keys.h"
#include "blaze/remote_node.h"
#include "commands.h"
#include "store/replica.h"

namespace blaze::cli {
namespace {

using Clock = std::chrono::steady_clock;
const char* kStatus[] = {"open", "closed", "triage", "wontfix"};
constexpr char kDbName[] = "bench";

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double Percentile(std::vector<double> v, int pct) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * pct / 100)];
}

// TCP payload bytes (sent and acknowledged, received) of this process's TCP
// sockets whose peer is 127.0.0.1:port, from the kernel.
struct SocketBytes {
  uint64_t sent = 0, received = 0;
};
SocketBytes TcpBytesTo(uint16_t port) {
  SocketBytes b;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(e.path().filename().c_str());
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 || peer.sin_family != AF_INET ||
        ntohs(peer.sin_port) != port) {
      continue;
    }
    tcp_info info{};
    len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) continue;
    b.sent += info.tcpi_bytes_acked;
    b.received += info.tcpi_bytes_received;
  }
  return b;
}

// "VmRSS" or "VmHWM" of a process, in KiB (0 when unreadable).
int64_t ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atoll(line.c_str() + field.size() + 1);
  }
  return 0;
}

Status WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError(std::string("bench relay: write to a pipe failed: ") + std::strerror(errno));
    s.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// A counter from the relay's /metrics (0 when absent); a plain HTTP/1.1
// GET on its own connection, closed before this returns.
Result<uint64_t> RelayMetric(uint16_t port, const std::string& name) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("bench relay: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string text;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      WriteAll(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()) {
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) text.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  if (text.empty()) return Status::IOError("bench relay: no answer from the relay's /metrics");
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return uint64_t{0};
  return static_cast<uint64_t>(std::strtoull(text.c_str() + at + name.size() + 2, nullptr, 10));
}

// Reads lines from a pipe, with a deadline.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  Result<std::string> Next(std::chrono::milliseconds timeout, const char* what) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Status::Aborted(std::string("bench relay: timed out waiting for ") + what);
      fd_set set;
      FD_ZERO(&set);
      FD_SET(fd_, &set);
      timeval tv{static_cast<time_t>(left / 1000), static_cast<suseconds_t>((left % 1000) * 1000)};
      int r = select(fd_ + 1, &set, nullptr, nullptr, &tv);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::Aborted(std::string("bench relay: the process ended while waiting for ") + what);
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
};

struct Child {
  pid_t pid = -1;
  int in = -1;   // its stdin (we write)
  int out = -1;  // its stdout (we read)
};

// Starts `exe args...` with pipes on stdin and stdout; stderr to err_path.
Result<Child> Spawn(const std::string& exe, const std::vector<std::string>& args, const std::string& err_path) {
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) return Status::IOError("bench relay: pipe failed");
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("bench relay: fork failed");
  if (pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) dup2(err, 2);
    // Nothing else crosses: the bench's own sockets (client A's connection
    // to the relay is not close-on-exec) would be counted as the child's.
    close_range(3, ~0U, 0);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  return Child{pid, to[1], from[0]};
}

void Stop(Child& c, int sig) {
  if (c.pid <= 0) return;
  if (c.in >= 0) close(c.in);
  kill(c.pid, sig);
  int st;
  waitpid(c.pid, &st, 0);
  if (c.out >= 0) close(c.out);
  c = Child{};
}

std::string VvLine(const VersionVector& vv) {
  std::string s = "wait";
  for (const auto& [origin, seq] : vv) s += " " + std::to_string(origin.value) + " " + std::to_string(seq);
  return s + "\n";
}

struct Figures {
  double a_upload_ms = 0;          // A's 10k inserts until the relay acknowledged them
  double initial_sync_ms = 0;      // B's Start until B holds them
  double updates_per_s = 0;        // first Patch until B holds all
  double writer_updates_per_s = 0; // A's Patch loop alone
  double a_leg_bytes = 0, a_leg_out = 0, a_leg_in = 0;  // per update
  double relay_frames_in = 0, relay_frames_out = 0;     // per update, both clients
  double b_leg_bytes = 0, b_leg_in = 0, b_leg_out = 0;
  double p50_us = 0, p99_us = 0;          // Put on A until B's watch callback
  double heard_p50_us = 0, heard_p99_us = 0;  // ... until the bench process heard of it
  double commit_p50_us = 0, commit_p99_us = 0;
  double bare_sqlite_commit_p50_us = 0;
  double pipe_round_trip_p50_us = 0;
  int64_t relay_rss_kb = 0, relay_hwm_kb = 0;
  bool converged = false;
};

Result<Figures> RunOnce(const std::string& exe, const std::string& dir, int records, int updates, int samples) {
  Figures f;
  // Keys and the access file.
  BLAZE_ASSIGN_OR_RETURN(KeyPair relay_key, GenerateKeyPair());
  BLAZE_ASSIGN_OR_RETURN(KeyPair a_key, GenerateKeyPair());
  BLAZE_ASSIGN_OR_RETURN(KeyPair b_key, GenerateKeyPair());
  BLAZE_RETURN_IF_ERROR(WriteKeyFile(dir + "/relay.key", relay_key));
  BLAZE_RETURN_IF_ERROR(WriteKeyFile(dir + "/b.key", b_key));
  {
    std::ofstream access(dir + "/access.json");
    access << "{\"users\":{\"a\":{\"keys\":[\"" << PublicKeyToHex(a_key.public_key) << "\"]},\"b\":{\"keys\":[\""
           << PublicKeyToHex(b_key.public_key) << "\"]}},\"databases\":{\"" << kDbName
           << "\":{\"mode\":\"smart\",\"users\":[\"a\",\"b\"]}}}\n";
    if (!access) return Status::IOError("bench relay: cannot write " + dir + "/access.json");
  }
  std::filesystem::create_directory(dir + "/data");

  BLAZE_ASSIGN_OR_RETURN(Child relay, Spawn(exe,
                                            {"serve", "--listen", "127.0.0.1:0", "--data", dir + "/data", "--identity",
                                             dir + "/relay.key", "--access", dir + "/access.json"},
                                            dir + "/relay.err"));
  Child peer;
  std::unique_ptr<RemoteNode> a_node;
  std::unique_ptr<Database> a_db;
  auto cleanup = [&] {
    a_node.reset();
    a_db.reset();
    Stop(peer, SIGKILL);
    Stop(relay, SIGTERM);
  };
  auto body = [&]() -> Status {
    LineReader relay_out(relay.out);
    BLAZE_ASSIGN_OR_RETURN(std::string ready, relay_out.Next(std::chrono::seconds(30), "the relay's ready line"));
    BLAZE_ASSIGN_OR_RETURN(Value ready_json, ParseJson(ready));
    const Value* listening = ready_json.Find("listening");
    if (listening == nullptr) return Status::Internal("bench relay: unexpected ready line from the relay: " + ready);
    std::string address = listening->as_string();
    uint16_t port = static_cast<uint16_t>(std::atoi(address.substr(address.rfind(':') + 1).c_str()));
    std::string url = "ws://" + address + "/sync";

    // Client A: this process.
    BLAZE_ASSIGN_OR_RETURN(a_db, Database::Open(Options{}, dir + "/a.blazedb"));
    RemoteNodeOptions o;
    o.relays = {url};
    o.identity = a_key;
    o.relay_key = relay_key.public_key;
    o.database = kDbName;
    BLAZE_ASSIGN_OR_RETURN(a_node, RemoteNode::Start(a_db.get(), o));
    BLAZE_RETURN_IF_ERROR(a_node->WaitForCatchUp(std::chrono::seconds(30)));

    // 1. Records on A, acknowledged by the relay; then B from scratch.
    std::vector<std::string> ids;
    auto t0 = Clock::now();
    for (int base = 0; base < records; base += 1000) {
      BLAZE_RETURN_IF_ERROR(a_db->Transaction([&](Txn& t) -> Status {
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
    BLAZE_RETURN_IF_ERROR(a_node->WaitForCatchUp(std::chrono::seconds(120)));
    f.a_upload_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

    BLAZE_ASSIGN_OR_RETURN(peer, Spawn(exe,
                                       {"bench", "relay-peer", "--db", dir + "/b.blazedb", "--relay", url,
                                        "--relay-key", PublicKeyToHex(relay_key.public_key), "--identity",
                                        dir + "/b.key"},
                                       dir + "/peer.err"));
    LineReader peer_out(peer.out);
    BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*a_db));
    BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, VvLine(vv)));
    BLAZE_ASSIGN_OR_RETURN(std::string started, peer_out.Next(std::chrono::seconds(30), "B's start"));
    BLAZE_ASSIGN_OR_RETURN(std::string reached, peer_out.Next(std::chrono::seconds(120), "B's initial sync"));
    long long start_ns = 0, reached_ns = 0;
    if (std::sscanf(started.c_str(), "started %lld", &start_ns) != 1 ||
        std::sscanf(reached.c_str(), "reached %lld", &reached_ns) != 1) {
      return Status::Internal("bench relay: unexpected lines from B: '" + started + "', '" + reached + "'");
    }
    f.initial_sync_ms = (reached_ns - start_ns) / 1e6;

    // 2. Updates, one per transaction.
    auto peer_bytes = [&]() -> Result<SocketBytes> {
      BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, "bytes\n"));
      BLAZE_ASSIGN_OR_RETURN(std::string line, peer_out.Next(std::chrono::seconds(10), "B's byte counts"));
      SocketBytes b;
      unsigned long long s = 0, r = 0;
      if (std::sscanf(line.c_str(), "bytes %llu %llu", &s, &r) != 2) {
        return Status::Internal("bench relay: unexpected line from B: " + line);
      }
      b.sent = s;
      b.received = r;
      return b;
    };
    BLAZE_ASSIGN_OR_RETURN(uint64_t frames_in0, RelayMetric(port, "blazedb_relay_frames_in_total"));
    BLAZE_ASSIGN_OR_RETURN(uint64_t frames_out0, RelayMetric(port, "blazedb_relay_frames_out_total"));
    SocketBytes a0 = TcpBytesTo(port);
    BLAZE_ASSIGN_OR_RETURN(SocketBytes b0, peer_bytes());
    std::mt19937_64 rng(7);
    t0 = Clock::now();
    for (int u = 0; u < updates; ++u) {
      const std::string& id = ids[rng() % ids.size()];
      Value patch = (u % 2) ? Value(Value::Map{{"status", Value(kStatus[rng() % 4])}})
                            : Value(Value::Map{{"priority", Value(static_cast<int64_t>(rng() % 5))}});
      BLAZE_RETURN_IF_ERROR(a_db->Patch("bugs", id, patch));
    }
    f.writer_updates_per_s = updates / std::chrono::duration<double>(Clock::now() - t0).count();
    BLAZE_ASSIGN_OR_RETURN(vv, DatabaseAccess::GetVersionVector(*a_db));
    BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, VvLine(vv)));
    BLAZE_ASSIGN_OR_RETURN(reached, peer_out.Next(std::chrono::seconds(300), "B holding the updates"));
    if (std::sscanf(reached.c_str(), "reached %lld", &reached_ns) != 1) {
      return Status::Internal("bench relay: unexpected line from B: " + reached);
    }
    int64_t t0_ns = MonoNs() - std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    f.updates_per_s = updates / ((reached_ns - t0_ns) / 1e9);
    // Acks trail the changes: let both sides settle before reading the counters.
    BLAZE_RETURN_IF_ERROR(a_node->WaitForCatchUp(std::chrono::seconds(60)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    SocketBytes a1 = TcpBytesTo(port);
    BLAZE_ASSIGN_OR_RETURN(SocketBytes b1, peer_bytes());
    BLAZE_ASSIGN_OR_RETURN(uint64_t frames_in1, RelayMetric(port, "blazedb_relay_frames_in_total"));
    BLAZE_ASSIGN_OR_RETURN(uint64_t frames_out1, RelayMetric(port, "blazedb_relay_frames_out_total"));
    f.relay_frames_in = static_cast<double>(frames_in1 - frames_in0) / updates;
    f.relay_frames_out = static_cast<double>(frames_out1 - frames_out0) / updates;
    f.a_leg_out = static_cast<double>(a1.sent - a0.sent) / updates;
    f.a_leg_in = static_cast<double>(a1.received - a0.received) / updates;
    f.a_leg_bytes = f.a_leg_out + f.a_leg_in;
    f.b_leg_in = static_cast<double>(b1.received - b0.received) / updates;
    f.b_leg_out = static_cast<double>(b1.sent - b0.sent) / updates;
    f.b_leg_bytes = f.b_leg_in + f.b_leg_out;

    // 3. Latency samples.
    BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, "probe\n"));
    BLAZE_ASSIGN_OR_RETURN(std::string watching, peer_out.Next(std::chrono::seconds(10), "B's probe watch"));
    if (watching != "watching") return Status::Internal("bench relay: unexpected line from B: " + watching);
    std::vector<double> lat, heard, commits;
    for (int k = 0; k < samples; ++k) {
      int64_t start = MonoNs();
      BLAZE_RETURN_IF_ERROR(a_db->Put("probe", "p", Value(Value::Map{{"n", Value(k)}})));
      commits.push_back((MonoNs() - start) / 1e3);
      while (true) {
        BLAZE_ASSIGN_OR_RETURN(std::string line, peer_out.Next(std::chrono::seconds(10), "a probe on B"));
        long long n = -1, at = 0;
        if (std::sscanf(line.c_str(), "seen %lld %lld", &n, &at) != 2) {
          return Status::Internal("bench relay: unexpected line from B: " + line);
        }
        if (n != k) continue;
        heard.push_back((MonoNs() - start) / 1e3);
        lat.push_back((at - start) / 1e3);
        break;
      }
    }
    f.p50_us = Percentile(lat, 50);
    f.p99_us = Percentile(lat, 99);
    f.heard_p50_us = Percentile(heard, 50);
    f.heard_p99_us = Percentile(heard, 99);
    f.commit_p50_us = Percentile(commits, 50);
    f.commit_p99_us = Percentile(commits, 99);

    // Floors.
    std::vector<double> pings;
    for (int k = 0; k < 200; ++k) {
      int64_t start = MonoNs();
      BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, "ping\n"));
      BLAZE_ASSIGN_OR_RETURN(std::string pong, peer_out.Next(std::chrono::seconds(10), "B's pong"));
      pings.push_back((MonoNs() - start) / 1e3);
    }
    f.pipe_round_trip_p50_us = Percentile(pings, 50);
    BLAZE_ASSIGN_OR_RETURN(f.bare_sqlite_commit_p50_us, BareSqliteCommitP50(dir));

    f.relay_rss_kb = ProcStatusKb(relay.pid, "VmRSS");
    f.relay_hwm_kb = ProcStatusKb(relay.pid, "VmHWM");

    // Convergence: B's export equals A's (B's node stopped first).
    BLAZE_ASSIGN_OR_RETURN(vv, DatabaseAccess::GetVersionVector(*a_db));
    BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, VvLine(vv)));
    BLAZE_ASSIGN_OR_RETURN(reached, peer_out.Next(std::chrono::seconds(60), "B holding everything"));
    BLAZE_RETURN_IF_ERROR(WriteAll(peer.in, "quit\n"));
    BLAZE_ASSIGN_OR_RETURN(std::string bye, peer_out.Next(std::chrono::seconds(30), "B's exit"));
    int st = 0;
    waitpid(peer.pid, &st, 0);
    close(peer.in);
    close(peer.out);
    peer = Child{};
    a_node.reset();
    BLAZE_ASSIGN_OR_RETURN(auto sa, DatabaseAccess::DumpStates(*a_db));
    BLAZE_ASSIGN_OR_RETURN(auto b_db, OpenExisting(dir + "/b.blazedb"));
    BLAZE_ASSIGN_OR_RETURN(auto sb, DatabaseAccess::DumpStates(*b_db));
    f.converged = sa == sb;
    return Status::Ok();
  };
  Status s = body();
  cleanup();
  if (!s.ok()) {
    std::ifstream err(dir + "/relay.err");
    std::stringstream text;
    text << err.rdbuf();
    if (!text.str().empty()) std::fprintf(stderr, "relay's stderr:\n%s", text.str().c_str());
    return s;
  }
  return f;
}

Value FiguresJson(const Figures& f) {
  return Value(Value::Map{
      {"initial_sync_ms", Value(f.initial_sync_ms)},
      {"a_upload_ms", Value(f.a_upload_ms)},
      {"updates_per_s", Value(f.updates_per_s)},
      {"writer_updates_per_s", Value(f.writer_updates_per_s)},
      {"propagation_p50_us", Value(f.p50_us)},
      {"propagation_p99_us", Value(f.p99_us)},
      {"heard_p50_us", Value(f.heard_p50_us)},
      {"heard_p99_us", Value(f.heard_p99_us)},
      {"bytes_per_update_a_leg", Value(f.a_leg_bytes)},
      {"bytes_per_update_a_leg_to_relay", Value(f.a_leg_out)},
      {"bytes_per_update_a_leg_from_relay", Value(f.a_leg_in)},
      {"bytes_per_update_b_leg", Value(f.b_leg_bytes)},
      {"bytes_per_update_b_leg_from_relay", Value(f.b_leg_in)},
      {"bytes_per_update_b_leg_to_relay", Value(f.b_leg_out)},
      {"relay_frames_in_per_update", Value(f.relay_frames_in)},
      {"relay_frames_out_per_update", Value(f.relay_frames_out)},
      {"relay_rss_kib", Value(f.relay_rss_kb)},
      {"relay_peak_rss_kib", Value(f.relay_hwm_kb)},
      {"commit_p50_us", Value(f.commit_p50_us)},
      {"commit_p99_us", Value(f.commit_p99_us)},
      {"bare_sqlite_commit_p50_us", Value(f.bare_sqlite_commit_p50_us)},
      {"pipe_round_trip_p50_us", Value(f.pipe_round_trip_p50_us)},
      {"converged", Value(f.converged)}});
}

// --writers W --readers R: W client processes each write `changes` records
// (one per transaction) at once; R client processes only receive. Figures:
// from the go until every reader holds every writer's changes.
struct FanOut {
  double elapsed_ms = 0;
  int64_t changes = 0;          // written, all writers together
  double changes_per_s = 0;     // written changes that reached every reader, per second
  double deliveries_per_s = 0;  // changes delivered to readers (changes x R) per second
  double writers_changes_per_s = 0;  // the writers' own loops (the slowest writer's end)
  int64_t relay_rss_kb = 0, relay_hwm_kb = 0;
};

Result<FanOut> RunFanOut(const std::string& exe, const std::string& dir, int writers, int readers, int changes) {
  FanOut r;
  BLAZE_ASSIGN_OR_RETURN(KeyPair relay_key, GenerateKeyPair());
  BLAZE_ASSIGN_OR_RETURN(KeyPair client_key, GenerateKeyPair());
  BLAZE_RETURN_IF_ERROR(WriteKeyFile(dir + "/relay.key", relay_key));
  BLAZE_RETURN_IF_ERROR(WriteKeyFile(dir + "/client.key", client_key));
  {
    std::ofstream access(dir + "/access.json");
    access << "{\"users\":{\"c\":{\"keys\":[\"" << PublicKeyToHex(client_key.public_key)
           << "\"]}},\"databases\":{\"" << kDbName << "\":{\"mode\":\"smart\",\"users\":[\"c\"]}}}\n";
    if (!access) return Status::IOError("bench relay: cannot write " + dir + "/access.json");
  }
  std::filesystem::create_directory(dir + "/data");
  BLAZE_ASSIGN_OR_RETURN(Child relay, Spawn(exe,
                                            {"serve", "--listen", "127.0.0.1:0", "--data", dir + "/data", "--identity",
                                             dir + "/relay.key", "--access", dir + "/access.json"},
                                            dir + "/relay.err"));
  std::vector<Child> peers;
  auto body = [&]() -> Status {
    LineReader relay_out(relay.out);
    BLAZE_ASSIGN_OR_RETURN(std::string ready, relay_out.Next(std::chrono::seconds(30), "the relay's ready line"));
    BLAZE_ASSIGN_OR_RETURN(Value ready_json, ParseJson(ready));
    const Value* listening = ready_json.Find("listening");
    if (listening == nullptr) return Status::Internal("bench relay: unexpected ready line from the relay: " + ready);
    std::string url = "ws://" + listening->as_string() + "/sync";
    std::vector<LineReader> outs;
    for (int i = 0; i < writers + readers; ++i) {
      std::string name = (i < writers ? "w" : "r") + std::to_string(i);
      BLAZE_ASSIGN_OR_RETURN(Child c, Spawn(exe,
                                            {"bench", "relay-peer", "--db", dir + "/" + name + ".blazedb", "--relay",
                                             url, "--relay-key", PublicKeyToHex(relay_key.public_key), "--identity",
                                             dir + "/client.key"},
                                            dir + "/peer.err"));
      peers.push_back(c);
      outs.emplace_back(c.out);
      BLAZE_RETURN_IF_ERROR(WriteAll(c.in, "live\n"));
    }
    for (int i = 0; i < writers + readers; ++i) {
      BLAZE_ASSIGN_OR_RETURN(std::string started, outs[i].Next(std::chrono::seconds(30), "a client's start"));
      BLAZE_ASSIGN_OR_RETURN(std::string live, outs[i].Next(std::chrono::seconds(60), "a client going live"));
    }
    int64_t go = MonoNs();
    for (int i = 0; i < writers; ++i) {
      BLAZE_RETURN_IF_ERROR(WriteAll(peers[i].in, "write " + std::to_string(changes) + "\n"));
    }
    std::map<uint64_t, uint64_t> all;
    int64_t writers_done = 0;
    for (int i = 0; i < writers; ++i) {
      BLAZE_ASSIGN_OR_RETURN(std::string wrote, outs[i].Next(std::chrono::seconds(300), "a writer's end"));
      std::istringstream words(wrote);
      std::string word;
      int64_t at = 0;
      words >> word >> at;
      writers_done = std::max(writers_done, at);
      uint64_t origin = 0, seq = 0;
      while (words >> origin >> seq) all[origin] = std::max(all[origin], seq);
    }
    std::string wait = "wait";
    for (const auto& [origin, seq] : all) wait += " " + std::to_string(origin) + " " + std::to_string(seq);
    int64_t last = 0;
    for (int i = writers; i < writers + readers; ++i) BLAZE_RETURN_IF_ERROR(WriteAll(peers[i].in, wait + "\n"));
    for (int i = writers; i < writers + readers; ++i) {
      BLAZE_ASSIGN_OR_RETURN(std::string reached, outs[i].Next(std::chrono::seconds(600), "a reader's end"));
      long long at = 0;
      if (std::sscanf(reached.c_str(), "reached %lld", &at) != 1) {
        return Status::Internal("bench relay: unexpected line from a reader: " + reached);
      }
      last = std::max<int64_t>(last, at);
    }
    r.changes = int64_t{writers} * changes;
    r.elapsed_ms = (last - go) / 1e6;
    r.changes_per_s = r.changes / ((last - go) / 1e9);
    r.deliveries_per_s = r.changes_per_s * readers;
    r.writers_changes_per_s = r.changes / ((writers_done - go) / 1e9);
    r.relay_rss_kb = ProcStatusKb(relay.pid, "VmRSS");
    r.relay_hwm_kb = ProcStatusKb(relay.pid, "VmHWM");
    return Status::Ok();
  };
  Status s = body();
  for (auto& c : peers) Stop(c, SIGKILL);
  Stop(relay, SIGTERM);
  BLAZE_RETURN_IF_ERROR(s);
  return r;
}

// Runs `body(this executable, a fresh temporary directory)`, then removes
// the directory whatever the outcome.
template <typename T, typename F>
Result<T> InScratchDir(F body) {
  std::error_code ec;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Status::IOError("bench relay: cannot find this executable: " + ec.message());
  std::string tmpl = (std::filesystem::temp_directory_path() / "blaze-bench-relay-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a temporary directory");
  signal(SIGPIPE, SIG_IGN);
  Result<T> run = body(exe, tmpl);
  std::filesystem::remove_all(tmpl, ec);
  return run;
}

}  // namespace

Status BenchRelayFanOut(int writers, int readers, int changes, bool json) {
  if (writers < 1 || readers < 1 || changes < 1) {
    return Status::InvalidArgument("--writers, --readers and --changes must be at least 1");
  }
  auto run = InScratchDir<FanOut>([&](const std::string& exe, const std::string& dir) {
    return RunFanOut(exe, dir, writers, readers, changes);
  });
  BLAZE_RETURN_IF_ERROR(run.status());
  const FanOut& f = *run;
  Value out(Value::Map{
      {"workload", Value(Value::Map{{"writers", Value(writers)},
                                    {"readers", Value(readers)},
                                    {"changes_per_writer", Value(changes)},
                                    {"durable", Value(true)}})},
      {"fan_out", Value(Value::Map{{"elapsed_ms", Value(f.elapsed_ms)},
                                   {"changes", Value(f.changes)},
                                   {"changes_per_s", Value(f.changes_per_s)},
                                   {"reader_deliveries_per_s", Value(f.deliveries_per_s)},
                                   {"writers_changes_per_s", Value(f.writers_changes_per_s)},
                                   {"relay_rss_kib", Value(f.relay_rss_kb)},
                                   {"relay_peak_rss_kib", Value(f.relay_hwm_kb)}})}});
  if (json) return PrintLine(ToJson(out));
  std::printf("relay fan-out: %d writers x %d changes, %d readers\n", writers, changes, readers);
  std::printf("%-40s %12.1f\n", "until every reader holds all (ms)", f.elapsed_ms);
  std::printf("%-40s %12.1f\n", "changes/s (written, reached all)", f.changes_per_s);
  std::printf("%-40s %12.1f\n", "deliveries to readers/s", f.deliveries_per_s);
  std::printf("%-40s %12.1f\n", "writers' own changes/s", f.writers_changes_per_s);
  std::printf("%-40s %12.1f\n", "relay peak RSS (MiB)", f.relay_hwm_kb / 1024.0);
  return Status::Ok();
}

Status BenchRelay(int records, int updates, int samples, bool json) {
  if (records < 1 || updates < 1 || samples < 1) {
    return Status::InvalidArgument("--records, --updates and --samples must be at least 1");
  }
  auto run = InScratchDir<Figures>([&](const std::string& exe, const std::string& dir) {
    return RunOnce(exe, dir, records, updates, samples);
  });
  BLAZE_RETURN_IF_ERROR(run.status());
  const Figures& f = *run;
  Value out(Value::Map{{"workload", Value(Value::Map{{"records", Value(records)},
                                                      {"updates", Value(updates)},
                                                      {"latency_samples", Value(samples)},
                                                      {"durable", Value(true)}})},
                       {"relay", FiguresJson(f)}});
  if (json) {
    BLAZE_RETURN_IF_ERROR(PrintLine(ToJson(out)));
  } else {
    std::printf("relay: %d records, %d updates, %d latency samples; relay and two clients on loopback\n", records,
                updates, samples);
    auto row = [](const char* name, double v) { std::printf("%-40s %12.1f\n", name, v); };
    row("initial sync to B (ms)", f.initial_sync_ms);
    row("A's records until the relay acked (ms)", f.a_upload_ms);
    row("live updates/s (until B holds all)", f.updates_per_s);
    row("writer's updates/s", f.writer_updates_per_s);
    row("propagation p50 (us)", f.p50_us);
    row("propagation p99 (us)", f.p99_us);
    row("bytes per update, A leg (both ways)", f.a_leg_bytes);
    row("bytes per update, B leg (both ways)", f.b_leg_bytes);
    row("relay frames in per 1000 updates", f.relay_frames_in * 1000);
    row("relay frames out per 1000 updates", f.relay_frames_out * 1000);
    row("relay RSS (MiB)", f.relay_rss_kb / 1024.0);
    row("relay peak RSS (MiB)", f.relay_hwm_kb / 1024.0);
    row("A's durable commit p50 (us)", f.commit_p50_us);
    row("bare SQLite commit p50 (us)", f.bare_sqlite_commit_p50_us);
    row("pipe round trip A<->B p50 (us)", f.pipe_round_trip_p50_us);
    std::printf("%-40s %12s\n", "converged", f.converged ? "yes" : "NO");
  }
  if (!f.converged) return Status::Internal("bench relay: B's state differs from A's");
  return Status::Ok();
}

Status BenchRelayPeer(const std::string& db_path, const std::string& url, const std::string& relay_key,
                      const std::string& identity) {
  signal(SIGPIPE, SIG_IGN);
  RemoteNodeOptions o;
  o.relays = {url};
  BLAZE_ASSIGN_OR_RETURN(o.identity, ReadKeyFile(identity));
  BLAZE_ASSIGN_OR_RETURN(o.relay_key, PublicKeyFromHex(relay_key));
  o.database = kDbName;
  BLAZE_ASSIGN_OR_RETURN(auto db, Database::Open(Options{}, db_path));
  uint16_t port = static_cast<uint16_t>(std::atoi(url.substr(url.rfind(':') + 1).c_str()));
  LineReader in(0);
  // The first command waits for the records: the node starts only then, so
  // the initial sync is timed from an idle, empty client.
  BLAZE_ASSIGN_OR_RETURN(std::string first, in.Next(std::chrono::seconds(60), "the first command"));
  BLAZE_RETURN_IF_ERROR(WriteAll(1, "started " + std::to_string(MonoNs()) + "\n"));
  BLAZE_ASSIGN_OR_RETURN(auto node, RemoteNode::Start(db.get(), o));
  std::optional<WatchHandle> watch;
  std::string line = first;
  while (true) {
    std::istringstream words(line);
    std::string cmd;
    words >> cmd;
    if (cmd == "wait") {
      std::vector<std::pair<NodeId, Seq>> want;
      uint64_t origin = 0;
      Seq seq = 0;
      while (words >> origin >> seq) want.push_back({NodeId{origin}, seq});
      auto deadline = Clock::now() + std::chrono::seconds(300);
      while (true) {
        BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*db));
        bool all = std::all_of(want.begin(), want.end(), [&](const auto& w) { return SeqOf(vv, w.first) >= w.second; });
        if (all) break;
        if (Clock::now() > deadline) return Status::Aborted("bench relay-peer: the changes never arrived");
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      BLAZE_RETURN_IF_ERROR(WriteAll(1, "reached " + std::to_string(MonoNs()) + "\n"));
    } else if (cmd == "live") {
      BLAZE_RETURN_IF_ERROR(node->WaitForCatchUp(std::chrono::seconds(60)));
      BLAZE_RETURN_IF_ERROR(WriteAll(1, "live\n"));
    } else if (cmd == "write") {
      int n = 0;
      words >> n;
      std::string prefix = std::filesystem::path(db_path).stem().string() + "-";
      for (int k = 0; k < n; ++k) {
        BLAZE_RETURN_IF_ERROR(db->Put("load", prefix + std::to_string(k % 1000), Value(Value::Map{{"n", Value(k)}})));
      }
      BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*db));
      std::string out = "wrote " + std::to_string(MonoNs());
      for (const auto& [origin, seq] : vv) out += " " + std::to_string(origin.value) + " " + std::to_string(seq);
      BLAZE_RETURN_IF_ERROR(WriteAll(1, out + "\n"));
    } else if (cmd == "bytes") {
      SocketBytes b = TcpBytesTo(port);
      BLAZE_RETURN_IF_ERROR(WriteAll(1, "bytes " + std::to_string(b.sent) + " " + std::to_string(b.received) + "\n"));
    } else if (cmd == "probe") {
      BLAZE_ASSIGN_OR_RETURN(WatchHandle w, db->Watch("probe", "", [](const ChangeEvent& e) {
        int64_t at = MonoNs();
        const Value* n = e.doc.Find("n");
        std::string msg = "seen " + std::to_string(n ? n->as_int() : -1) + " " + std::to_string(at) + "\n";
        WriteAll(1, msg).IgnoreError();
      }));
      watch.emplace(std::move(w));
      BLAZE_RETURN_IF_ERROR(WriteAll(1, "watching\n"));
    } else if (cmd == "ping") {
      BLAZE_RETURN_IF_ERROR(WriteAll(1, "pong\n"));
    } else if (cmd == "quit") {
      if (watch) watch->Cancel();
      node.reset();
      db.reset();
      return WriteAll(1, "bye\n");
    } else {
      return Status::InvalidArgument("bench relay-peer: unknown command '" + line + "'");
    }
    BLAZE_ASSIGN_OR_RETURN(line, in.Next(std::chrono::seconds(600), "a command"));
  }
}

}  // namespace blaze::cli
