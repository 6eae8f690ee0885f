// net_echo_bench — round trips of small messages through the relay's
// network server (PeerServer echoing every message), from a blocking
// SecureChannel client over WebSocket, and, as the floor beside it, the same
// round trip between two blocking SecureChannels over a Unix socket pair.
// One process, loopback; a sequential ping-pong of S samples after a warm-up.
//
//   net_echo_bench [--samples S] [--size BYTES]    prints one JSON line
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "blaze/net.h"
#include "blaze/secure_channel.h"
#include "net/peer_connection.h"

namespace {

using namespace std::chrono_literals;
using namespace blaze;

class Echo final : public net::PeerSession {
 public:
  explicit Echo(std::shared_ptr<net::PeerConnection> c) : c_(std::move(c)) {}
  void OnMessage(uint16_t stream, std::string body) override { c_->Send(stream, std::move(body)).IgnoreError(); }
  void OnClosed(const Status&) override {}

 private:
  std::shared_ptr<net::PeerConnection> c_;
};

struct Figures {
  double p50_us = 0, p99_us = 0, mean_us = 0;
};

Figures Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Figures f;
  f.p50_us = us[us.size() / 2];
  f.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  double sum = 0;
  for (double v : us) sum += v;
  f.mean_us = sum / static_cast<double>(us.size());
  return f;
}

// S round trips on `ch` (warm-up first); `echo` answers on the other side if given.
bool Measure(SecureChannel* ch, int samples, size_t size, std::vector<double>* out) {
  const std::string body(size, 'e');
  for (int i = 0; i < samples + 100; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!ch->Send(1, body).ok()) return false;
    auto m = ch->Receive(10s);
    if (!m.ok()) return false;
    auto t1 = std::chrono::steady_clock::now();
    if (i >= 100) out->push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 2000;
  size_t size = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--samples") == 0) samples = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--size") == 0) size = static_cast<size_t>(std::atoll(argv[i + 1]));
  }
  KeyPair client = *GenerateKeyPair(), relay = *GenerateKeyPair();
  TrustStore client_trust, relay_trust;
  client_trust.Add(relay.public_key, {"relay", {}});
  relay_trust.Add(client.public_key, {"client", {}});
  ChannelOptions co;
  co.identity = client;
  co.trust = &client_trust;
  co.database = "blazedb-relay";
  ChannelOptions so = co;
  so.identity = relay;
  so.trust = &relay_trust;

  // Through the async server over WebSocket.
  net::PeerServerOptions o;
  o.channel = so;
  o.channel.trust = nullptr;
  const PublicKey allowed = client.public_key;
  o.authorize = [allowed](const PublicKey& k) -> std::optional<PeerIdentity> {
    if (k == allowed) return PeerIdentity{"client", {}};
    return std::nullopt;
  };
  auto server = net::PeerServer::Start(std::move(o), [](std::shared_ptr<net::PeerConnection> c) {
    return std::make_unique<Echo>(std::move(c));
  });
  if (!server.ok()) return 1;
  auto stream = ConnectWebSocket("ws://127.0.0.1:" + std::to_string((*server)->port()) + "/sync", 5s);
  if (!stream.ok()) return 1;
  auto ws = SecureChannel::Connect(co, std::move(*stream));
  if (!ws.ok()) return 1;
  std::vector<double> ws_us;
  if (!Measure(ws->get(), samples, size, &ws_us)) return 1;

  // Floor: two blocking channels over a Unix socket pair, an echo thread.
  auto pair = MakeUnixSocketPair();
  if (!pair.ok()) return 1;
  Result<std::unique_ptr<SecureChannel>> a = Status::Internal("not run");
  std::thread t([&] { a = SecureChannel::Connect(co, std::move(pair->first)); });
  auto b = SecureChannel::Accept(so, std::move(pair->second));
  t.join();
  if (!a.ok() || !b.ok()) return 1;
  std::thread echo([&] {
    for (;;) {
      auto m = (*b)->Receive(10s);
      if (!m.ok() || !(*b)->Send(m->stream, m->body).ok()) return;
    }
  });
  std::vector<double> unix_us;
  bool ok = Measure(a->get(), samples, size, &unix_us);
  (*a)->Close();
  echo.join();
  if (!ok) return 1;

  Figures w = Summarize(ws_us), u = Summarize(unix_us);
  std::printf(
      "{\"samples\":%d,\"message_bytes\":%zu,"
      "\"websocket_peer_server\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f},"
      "\"unix_socket_blocking_channels\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}}\n",
      samples, size, w.p50_us, w.p99_us, w.mean_us, u.p50_us, u.p99_us, u.mean_us);
  return 0;
}
