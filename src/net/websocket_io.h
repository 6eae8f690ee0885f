// websocket_io.h — the WebSocket endpoints of the net layer, declared without
// Boost: a server (TCP acceptor on an Asio io_context, HTTP routing, upgrade on
// one path, connection limit, connection deadline) and a client connect. Both
// hand out MessagePipes (message_pipe.h). Only websocket_io.cc includes Beast.
//
// Thread safety: WsServer's methods may be called from any thread; the
// callbacks run on the server's io threads and must not block.
#ifndef BLAZE_NET_WEBSOCKET_IO_H_
#define BLAZE_NET_WEBSOCKET_IO_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "blaze/net.h"
#include "blaze/status.h"
#include "net/message_pipe.h"

namespace blaze::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                    // 0: a free port (see WsServer::port())
  std::string sync_path = "/sync";      // the only path that upgrades to WebSocket
  // WebSocket connections open at once; an upgrade over it is answered with
  // HTTP 503 and Retry-After: retry_after.
  size_t max_connections = 10000;
  std::chrono::seconds retry_after{5};
  // TCP connections not yet upgraded; over it a new one is closed at once.
  size_t max_pending = 4096;
  // From TCP accept until the layer above calls DisarmDeadline (after its own
  // handshake): HTTP, the upgrade and that handshake must fit (slowloris).
  std::chrono::milliseconds handshake_deadline{10000};
  // Per connection: bytes queued to send and not yet written; a Send past it
  // closes the connection (a slow reader never stalls the others). Keep it
  // above the largest message sent (a message is queued whole).
  size_t max_send_queue = size_t{4} << 20;
  int threads = 2;                      // io threads
};

// Answers a plain HTTP GET (not an upgrade): nullopt → 404.
using HttpHandler = std::function<std::optional<HttpResponse>(std::string_view target)>;
// Takes a freshly upgraded connection; must call pipe->Start (now or later).
using UpgradeHandler = std::function<void(std::shared_ptr<MessagePipe> pipe)>;

class WsServer {
 public:
  static Result<std::unique_ptr<WsServer>> Start(ServerOptions options, HttpHandler http, UpgradeHandler upgrade);
  ~WsServer();  // Stop()
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  // Stops accepting, closes every connection (their OnClosed run) and joins
  // the io threads. Idempotent. Must not be called from an io thread.
  void Stop();
  // Closes the listening socket; an upgrade still in progress on an accepted
  // connection gets 503. Connections already upgraded go on. Idempotent.
  void StopAccepting();
  uint16_t port() const;
  std::string address() const;       // "HOST:PORT", "[IPv6]:PORT"
  size_t connections() const;        // upgraded WebSocket connections open now
  size_t pending() const;            // TCP connections not yet upgraded

  class Impl;

 private:
  explicit WsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Connects to `url` (ws://HOST:PORT/PATH) and completes the WebSocket
// upgrade within `timeout`; the pipe runs on a process-wide client io thread
// and has no send-queue bound. A refused upgrade fills *refusal if given.
Result<std::shared_ptr<MessagePipe>> ConnectPipe(const std::string& url, std::chrono::milliseconds timeout,
                                                 WebSocketRefusal* refusal);

}  // namespace blaze::net

#endif  // BLAZE_NET_WEBSOCKET_IO_H_
