// net_idle_bench — what idle authenticated connections cost the relay's
// network server (PeerServer, net/peer_connection.h): the server process's
// resident memory before and after N clients have completed the WebSocket
// upgrade and the Noise handshake and sit idle, and how long it took them.
//
// The process forks before any thread starts: the parent runs the server, the
// child opens the N clients (blocking SecureChannels over WebSocket, one io
// thread for all) and holds them until told to go. Everything on loopback.
//
//   net_idle_bench [--connections N] [--threads T]    prints one JSON line
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "blaze/net.h"
#include "blaze/secure_channel.h"
#include "net/peer_connection.h"

namespace {

using namespace std::chrono_literals;
using namespace blaze;

long RssBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

bool ReadAll(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

class IdleSession final : public net::PeerSession {
 public:
  void OnMessage(uint16_t, std::string) override {}
  void OnClosed(const Status&) override {}
};

// The child: N clients, then waits for the parent's word.
int RunClients(int port_fd, int done_fd, int go_fd, int n, const KeyPair& client, const KeyPair& relay) {
  uint16_t port = 0;
  if (!ReadAll(port_fd, &port, sizeof(port))) return 1;
  TrustStore trust;
  trust.Add(relay.public_key, {"relay", {}});
  ChannelOptions o;
  o.identity = client;
  o.trust = &trust;
  o.database = "relay";
  o.node_name = "idle-client";
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/sync";
  std::vector<std::unique_ptr<SecureChannel>> channels;
  channels.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto stream = ConnectWebSocket(url, 10s);
    if (!stream.ok()) {
      std::fprintf(stderr, "client %d: %s\n", i, stream.status().ToString().c_str());
      return 1;
    }
    auto ch = SecureChannel::Connect(o, std::move(*stream));
    if (!ch.ok()) {
      std::fprintf(stderr, "client %d: %s\n", i, ch.status().ToString().c_str());
      return 1;
    }
    channels.push_back(std::move(*ch));
  }
  int32_t count = n;
  if (::write(done_fd, &count, sizeof(count)) != sizeof(count)) return 1;
  char go;
  ReadAll(go_fd, &go, 1);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 10000;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--connections") == 0) n = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
  }
  auto client = GenerateKeyPair();
  auto relay = GenerateKeyPair();
  if (!client.ok() || !relay.ok()) return 1;
  int port_pipe[2], done_pipe[2], go_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(done_pipe) != 0 || ::pipe(go_pipe) != 0) return 1;
  pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid == 0) _exit(RunClients(port_pipe[0], done_pipe[1], go_pipe[0], n, *client, *relay));

  net::PeerServerOptions o;
  o.server.threads = threads;
  o.server.max_connections = static_cast<size_t>(n) + 10;
  o.server.handshake_deadline = 60s;
  o.channel.identity = *relay;
  o.channel.database = "relay";
  o.channel.node_name = "relay";
  const PublicKey allowed = client->public_key;
  o.authorize = [allowed](const PublicKey& k) -> std::optional<PeerIdentity> {
    if (k == allowed) return PeerIdentity{"idle", {}};
    return std::nullopt;
  };
  std::atomic<int> sessions{0};
  auto server = net::PeerServer::Start(std::move(o), [&](std::shared_ptr<net::PeerConnection> c) {
    sessions++;
    return std::make_unique<IdleSession>();
  });
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  const long rss_before = RssBytes();
  const auto start = std::chrono::steady_clock::now();
  uint16_t port = (*server)->port();
  if (::write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) return 1;
  int32_t opened = 0;
  const bool ok = ReadAll(done_pipe[0], &opened, sizeof(opened));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long rss_after = RssBytes();
  const net::PeerServerStats stats = (*server)->stats();
  const size_t open_now = (*server)->connections();
  (void)!::write(go_pipe[1], "g", 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  (*server)->Stop();
  if (!ok || opened != n) {
    std::fprintf(stderr, "the clients did not all connect\n");
    return 1;
  }
  std::printf(
      "{\"connections\":%d,\"open_on_server\":%zu,\"handshakes_ok\":%llu,\"server_threads\":%d,"
      "\"seconds_to_connect_all\":%.2f,\"server_rss_before_bytes\":%ld,\"server_rss_after_bytes\":%ld,"
      "\"server_bytes_per_idle_connection\":%ld}\n",
      n, open_now, static_cast<unsigned long long>(stats.handshakes_ok), threads, seconds, rss_before, rss_after,
      n > 0 ? (rss_after - rss_before) / n : 0);
  return 0;
}
