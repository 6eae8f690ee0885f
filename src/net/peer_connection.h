// peer_connection.h — the async network server of the relay and what it
// hands the layer above: one authenticated connection per peer, messages in
// and out on numbered streams, over WebSocket (docs/protocol.md §7).
//
//   PeerServerOptions o;  o.server.port = 0;  o.channel.identity = relay_key;
//   o.authorize = [&](const PublicKey& k) { return access.Find(k); };   // unknown → nullopt
//   o.http = [&](std::string_view target) -> std::optional<HttpResponse> { ... /health, /metrics ... };
//   auto server = PeerServer::Start(o, [&](std::shared_ptr<PeerConnection> c) {
//     return std::make_unique<MySession>(c);   // c->peer() is authenticated
//   });
//
// The server runs the Noise responder (transport/channel_core.h, the code the
// blocking SecureChannel runs) on an Asio io_context: thousands of idle
// connections cost a socket and a few kilobytes each, no thread.
//
// Thread safety: PeerConnection::Send and Close may be called from any thread.
// The PeerHandler and a session's OnMessage and OnClosed run on the server's
// io threads — one at a time per connection, never concurrently for one
// connection — and must not block (hand long work to another thread).
#ifndef BLAZE_NET_PEER_CONNECTION_H_
#define BLAZE_NET_PEER_CONNECTION_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "blaze/secure_channel.h"
#include "blaze/status.h"
#include "net/websocket_io.h"
#include "transport/channel_core.h"

namespace blaze::net {

// One authenticated peer, after the handshake.
class PeerConnection {
 public:
  virtual ~PeerConnection() = default;
  // Queues `body` on `stream`: sealed, fragmented into frames, one frame per
  // WebSocket message; returns at once. kBusy when the connection's send
  // queue would pass ServerOptions::max_send_queue (a peer not reading): the
  // connection is then closed. kFailedPrecondition once closed.
  [[nodiscard]] virtual Status Send(uint16_t stream, std::string body) = 0;
  // Sends an error frame {"code": ErrorCode(why), "message": why.message()}
  // (a close frame when `why` is ok), flushes what is queued (at most a
  // second) and closes. The session gets no OnMessage after it, then
  // OnClosed(why). Idempotent.
  virtual void Close(Status why) = 0;
  // The same with an explicit protocol error code (e.g. "database-not-allowed").
  virtual void CloseWithError(std::string code, std::string message) = 0;
  virtual const PeerInfo& peer() const = 0;
  virtual const std::array<uint8_t, 32>& handshake_hash() const = 0;
  virtual const std::string& remote_address() const = 0;
  // Bytes queued and not yet written to the socket.
  virtual uint64_t queued_bytes() const = 0;
};

// What the layer above keeps per connection. Destroyed right after OnClosed.
class PeerSession {
 public:
  virtual ~PeerSession() = default;
  virtual void OnMessage(uint16_t stream, std::string body) = 0;
  // The connection ended: the peer closed (kAborted) or sent an error
  // (kFailedPrecondition naming its code), a bad frame (kCorruption), the
  // send queue overflowed (kBusy), Close was called, or the server stopped.
  virtual void OnClosed(const Status& why) = 0;
};

// Called once per peer that completed the handshake; returning null closes
// the connection (with a close frame).
using PeerHandler = std::function<std::unique_ptr<PeerSession>(std::shared_ptr<PeerConnection> connection)>;

struct PeerServerOptions {
  ServerOptions server;  // listen address, limits, deadline (HTTP + upgrade + Noise)
  // The responder's side of the channel: identity, versions, database (the
  // prologue), node_name, capabilities, max_message_size (what one
  // connection may hold of an unfinished message), partial_message_timeout
  // (zero: none; else a fragmented message must be whole within it), rekey
  // policy. Its trust, handshake and send timeouts and log are not used: see
  // authorize, server.handshake_deadline, server.max_send_queue and log.
  ChannelOptions channel;
  // Whether a peer's static key may connect, and as whom. An unknown key
  // (nullopt) gets a sealed "untrusted-peer" error frame and nothing else.
  // Runs on an io thread; must be thread-safe.
  transport::PeerLookup authorize;
  HttpHandler http;  // GETs other than the sync path; may be empty (404)
  // Told why a connection failed (handshake or later). May be empty.
  std::function<void(std::string_view)> log;
};

struct PeerServerStats {
  uint64_t handshakes_ok = 0;
  uint64_t handshakes_failed = 0;  // including deadlines and unknown keys
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t bytes_in = 0;   // frame bytes (headers, sealed bodies)
  uint64_t bytes_out = 0;
  uint64_t send_queue_overflows = 0;
};

class PeerServer {
 public:
  static Result<std::unique_ptr<PeerServer>> Start(PeerServerOptions options, PeerHandler handler);
  ~PeerServer();  // Stop()
  PeerServer(const PeerServer&) = delete;
  PeerServer& operator=(const PeerServer&) = delete;

  // Stops accepting and closes every connection (sessions get OnClosed);
  // joins the io threads. Idempotent; not from an io thread.
  void Stop();
  // Graceful: stops accepting, closes every authenticated connection with
  // Close(why) (what is queued is sent, then the error frame), waits at most
  // `grace` for them to go, then Stop(). Not from an io thread.
  void Shutdown(const Status& why, std::chrono::milliseconds grace);
  uint16_t port() const;
  std::string address() const;  // "HOST:PORT"
  size_t connections() const;   // WebSocket connections open (handshaking or authenticated)
  PeerServerStats stats() const;

  class Impl;

 private:
  explicit PeerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The protocol error code Close(why) sends for a status code.
std::string ErrorCode(const Status& why);

}  // namespace blaze::net

#endif  // BLAZE_NET_PEER_CONNECTION_H_
