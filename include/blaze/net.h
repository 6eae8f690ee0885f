// net.h — network streams for SecureChannel: a WebSocket client (binary
// messages, one protocol frame per message; docs/protocol.md §7).
//
//   auto stream = ConnectWebSocket("ws://127.0.0.1:7070/sync", 5s);
//   auto channel = SecureChannel::Connect(options, std::move(*stream));
//
// The streams follow byte_stream.h's contract (one reader and one writer
// thread, Close from any thread, write timeouts). Thread safety of the
// functions: any thread.
#ifndef BLAZE_NET_H_
#define BLAZE_NET_H_

#include <chrono>
#include <memory>
#include <string>

#include "blaze/byte_stream.h"
#include "blaze/status.h"

namespace blaze {

// Why a server refused the WebSocket upgrade.
struct WebSocketRefusal {
  int http_status = 0;                 // e.g. 404, 503
  std::chrono::seconds retry_after{0};  // from a Retry-After header; 0 when absent
};

// Connects to `url` — ws://HOST:PORT/PATH (HOST a name, an IPv4 address or
// [IPv6]) — and upgrades to WebSocket, all within `timeout`. kBusy when the
// server answered 503 (full; *refusal says when to retry), kNotFound on 404,
// kIOError when it cannot be reached or the time ran out, kInvalidArgument
// for a malformed URL, kNotSupported for wss://.
Result<std::unique_ptr<ByteStream>> ConnectWebSocket(const std::string& url, std::chrono::milliseconds timeout,
                                                     WebSocketRefusal* refusal = nullptr);

}  // namespace blaze

#endif  // BLAZE_NET_H_
