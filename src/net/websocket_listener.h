// websocket_listener.h — a blocking WebSocket listener: a WsServer whose
// upgraded connections queue up for Accept as ByteStreams (for a
// SecureChannel::Accept on the caller's thread). Plain GETs get 404; the
// connection deadline covers only HTTP and the upgrade. Thread safety: Accept
// from one thread at a time; the destructor stops the server.
#ifndef BLAZE_NET_WEBSOCKET_LISTENER_H_
#define BLAZE_NET_WEBSOCKET_LISTENER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "blaze/byte_stream.h"
#include "net/websocket_io.h"

namespace blaze::net {

class WebSocketListener {
 public:
  static Result<std::unique_ptr<WebSocketListener>> Listen(ServerOptions options);
  ~WebSocketListener();

  // Waits at most `timeout` for an upgraded connection.
  Result<std::unique_ptr<ByteStream>> Accept(std::chrono::milliseconds timeout);
  uint16_t port() const { return server_->port(); }
  // ws://HOST:PORT/PATH of this listener.
  std::string url() const;
  WsServer& server() { return *server_; }

 private:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::shared_ptr<MessagePipe>> pipes;
  };
  WebSocketListener() = default;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::string path_;
  std::unique_ptr<WsServer> server_;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_WEBSOCKET_LISTENER_H_
