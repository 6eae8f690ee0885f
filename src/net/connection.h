// connection.h — an authenticated, multiplexed message connection, as the
// relay and the client see it, whatever carries it: a blocking SecureChannel
// (channel_connection.h: Unix sockets, memory streams, tests) or the async
// network server's WebSocket connections.
//
// Messages are (stream, body): stream 0 is control (control.h), streams
// 1..65535 each carry one database's sync messages (sync/messages.h).
//
// Thread safety: Send and Close may be called from any thread, also from
// inside a handler callback. Handler callbacks of one connection are never
// run concurrently and arrive in order; OnClosed comes once, last.
#ifndef BLAZE_NET_CONNECTION_H_
#define BLAZE_NET_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "blaze/keys.h"
#include "blaze/status.h"

namespace blaze::net {

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // One whole message from the peer. Must not block for long: it runs on the
  // connection's receiving thread (or the server's I/O thread).
  virtual void OnMessage(uint16_t stream, std::string body) = 0;
  // The connection is closed (by either side, or broken); `why` says how.
  virtual void OnClosed(const Status& why) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Queues a message and returns at once (never blocks on the peer). A full
  // send queue (a peer that does not read) closes the connection and fails
  // (kBusy); kFailedPrecondition once closed.
  [[nodiscard]] virtual Status Send(uint16_t stream, std::string body) = 0;
  // Closes the connection: what is already queued is still sent (within the
  // transport's send deadline), then the peer is told `why`. Never blocks.
  // Idempotent.
  virtual void Close(const Status& why) = 0;
  // The peer's static key, authenticated by the handshake.
  virtual const PublicKey& peer_key() const = 0;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_CONNECTION_H_
