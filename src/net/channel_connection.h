// channel_connection.h — a Connection (connection.h) over a blocking
// SecureChannel: how the relay and its clients talk over Unix sockets and
// in-memory streams, and how everything above is tested before the network
// server exists.
//
// Two threads per connection: a reader that receives and calls the handler,
// and a sender that drains a bounded queue into the channel. Send only
// queues, so the sync engines calling it never wait on the peer; a queue
// past `max_queue_bytes` (the peer stopped reading) aborts the connection.
// Close lets the sender finish the queue, each write bounded by the
// channel's send_timeout, then closes the channel; Abort (and the
// destructor) shuts the byte stream down at once, which also ends a write
// blocked on a peer that does not read — no path waits on the peer.
//
// Thread safety: as Connection. Destroy it from any thread but its own
// (not from a handler callback); the destructor aborts and joins.
#ifndef BLAZE_NET_CHANNEL_CONNECTION_H_
#define BLAZE_NET_CHANNEL_CONNECTION_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "blaze/byte_stream.h"
#include "blaze/secure_channel.h"
#include "net/connection.h"

namespace blaze::net {

struct ChannelConnectionOptions {
  size_t max_queue_bytes = 8 << 20;  // queued, unsent message bytes at most
};

class ChannelConnection final : public Connection {
 public:
  // Runs the handshake as the connecting (Connect) or accepting (Accept)
  // side over `stream`; the connection keeps a second handle on the stream
  // so Abort can shut it down whatever the channel is doing. Not started:
  // call Start with the handler.
  static Result<std::shared_ptr<ChannelConnection>> Connect(const ChannelOptions& options,
                                                            std::unique_ptr<ByteStream> stream,
                                                            ChannelConnectionOptions connection_options = {});
  static Result<std::shared_ptr<ChannelConnection>> Accept(const ChannelOptions& options,
                                                           std::unique_ptr<ByteStream> stream,
                                                           ChannelConnectionOptions connection_options = {});
  ~ChannelConnection() override;
  ChannelConnection(const ChannelConnection&) = delete;
  ChannelConnection& operator=(const ChannelConnection&) = delete;

  // Starts the reader and sender threads; messages go to `handler`, which
  // the connection keeps until it has been told OnClosed. Call once.
  void Start(std::shared_ptr<ConnectionHandler> handler);

  Status Send(uint16_t stream, std::string body) override;
  void Close(const Status& why) override;
  const PublicKey& peer_key() const override { return peer_key_; }
  // Shuts the connection down now, dropping what is queued. Never blocks.
  void Abort(const Status& why);
  // Waits for both threads to end (after Close or Abort, or the peer's
  // close): the handler has then heard OnClosed. Not from a callback.
  void Join();
  const PeerInfo& peer() const { return channel_->peer(); }

 private:
  ChannelConnection(std::unique_ptr<SecureChannel> channel, std::shared_ptr<ByteStream> raw,
                    ChannelConnectionOptions options);
  void RunReader();
  void RunSender();

  const ChannelConnectionOptions options_;
  std::unique_ptr<SecureChannel> channel_;
  std::shared_ptr<ByteStream> raw_;
  PublicKey peer_key_{};
  std::shared_ptr<ConnectionHandler> handler_;  // set by Start; dropped after OnClosed

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<uint16_t, std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool closing_ = false;  // Close: no more sends; the sender finishes the queue
  bool aborted_ = false;  // the stream is shut down
  Status reason_;         // why we closed, if we did

  std::thread reader_;
  std::thread sender_;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_CHANNEL_CONNECTION_H_
