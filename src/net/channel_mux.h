// channel_mux.h — the client side of a relay connection: one connection,
// several databases, one stream each (docs/protocol.md §6).
//
//   auto mux = ChannelMux::Connect(options, std::move(stream));  // handshake
//   auto link = (*mux)->Open("bugs");          // control open → opened
//   engine->AddPeer(*link);                    // sync messages on its stream
//
// Open sends `open` on stream 0 and waits for the relay's answer; the
// returned link carries the database's sync messages on its own stream, and
// closing it (the engine does on RemovePeer or a sync failure) tells the
// relay with a control `close`. A `close` from the relay, or the end of the
// connection, closes the link (the engine hears OnClosed).
//
// Over ChannelConnection (Connect), sends never block on the relay: a relay
// that stops reading fills the bounded queue and the connection is aborted;
// Close and the destructor shut the socket down at once, so neither ever
// waits on a blocked write.
//
// Thread safety: all methods may be called from any thread; Open blocks the
// caller (not the connection) until the answer or the timeout. Destroy the
// mux from any thread but a connection callback, and before the executors of
// the engines its links are attached to (closing the links posts their
// OnClosed there).
#ifndef BLAZE_NET_CHANNEL_MUX_H_
#define BLAZE_NET_CHANNEL_MUX_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "blaze/byte_stream.h"
#include "blaze/secure_channel.h"
#include "net/channel_connection.h"
#include "net/connection.h"
#include "net/stream_link.h"
#include "sync/link.h"

namespace blaze::net {

class ChannelMux {
 public:
  // Runs the handshake over `stream` as the connecting side (the channel's
  // database name is set to kRelayChannelName) and starts the connection.
  static Result<std::unique_ptr<ChannelMux>> Connect(ChannelOptions options, std::unique_ptr<ByteStream> stream,
                                                     ChannelConnectionOptions connection_options = {});
  ~ChannelMux();
  ChannelMux(const ChannelMux&) = delete;
  ChannelMux& operator=(const ChannelMux&) = delete;

  // Opens `database` on a fresh stream. kPermissionDenied ("forbidden": the
  // database does not exist or this user may not open it), kInvalidArgument
  // ("bad-request"), kBusy (too many streams, or no answer within `timeout`),
  // kAborted (the connection closed), kUnavailable-like kFailedPrecondition
  // (the relay cannot open it now); the message carries the relay's.
  Result<std::shared_ptr<sync::Link>> Open(const std::string& database,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends a raw message, for tests of the relay's handling of bad input.
  [[nodiscard]] Status SendRaw(uint16_t stream, std::string body);
  // Closes the connection (the relay's streams close with it). Never blocks.
  void Close(const Status& why);
  bool closed() const;
  Status close_reason() const;
  // The last connection-level error the relay sent (control error on
  // stream 0), if any: "code: message".
  std::string last_relay_error() const;
  const PeerInfo& peer() const { return connection_->peer(); }

  class Core;

 private:
  ChannelMux(std::shared_ptr<ChannelConnection> connection, std::shared_ptr<Core> core)
      : connection_(std::move(connection)), core_(std::move(core)) {}
  std::shared_ptr<ChannelConnection> connection_;
  std::shared_ptr<Core> core_;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_CHANNEL_MUX_H_
