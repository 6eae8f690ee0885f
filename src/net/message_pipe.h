// message_pipe.h — one WebSocket connection seen as a pipe of messages, each
// message exactly one protocol frame (docs/protocol.md §1, §7). The
// implementation (websocket_io.cc) runs on a Boost.Asio io_context; this
// header keeps Beast and Asio out of everything that uses a pipe: the blocking
// ByteStream adapter (websocket_stream.cc) and the async peer server
// (peer_server.cc).
//
// Thread safety: Send, PauseReading, DisarmDeadline, Close and CloseAfterFlush
// may be called from any thread. The PipeEvents of a pipe are called on its
// strand, one at a time, never concurrently with each other.
#ifndef BLAZE_NET_MESSAGE_PIPE_H_
#define BLAZE_NET_MESSAGE_PIPE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "blaze/status.h"

namespace blaze::net {

// The largest message a pipe accepts or sends: one frame, 7 + 65535 bytes.
inline constexpr size_t kMaxFrameMessage = 7 + 65535;

class PipeEvents {
 public:
  virtual ~PipeEvents() = default;
  // A binary message that is exactly one frame (its length matches the
  // header's). Anything else (text, oversize, short, not one frame) closes
  // the pipe with kCorruption instead.
  virtual void OnMessage(std::string frame) = 0;
  // `total` bytes of messages handed to Send have been written to the socket.
  virtual void OnFlushed(uint64_t total) { (void)total; }
  // The pipe closed (by either side, an error, or the deadline). Called once;
  // nothing is called after it.
  virtual void OnClosed(const Status& why) = 0;
};

class MessagePipe {
 public:
  virtual ~MessagePipe() = default;
  // Starts reading and delivering events. Call once.
  virtual void Start(std::shared_ptr<PipeEvents> events) = 0;
  // Queues one message (one frame, at most kMaxFrameMessage bytes) and
  // returns at once. kBusy, and the pipe closes, when the bytes queued but
  // not yet written would exceed the pipe's send-queue bound (the peer is not
  // reading); kFailedPrecondition once closed or closing.
  [[nodiscard]] virtual Status Send(std::string frame) = 0;
  // Flow control: while paused, nothing more is read from the socket.
  virtual void PauseReading(bool paused) = 0;
  // Stops the connection deadline armed when the connection was accepted
  // (HTTP, WebSocket and Noise handshakes must finish before it), or the
  // last one armed with ArmDeadline.
  virtual void DisarmDeadline() = 0;
  // Closes the pipe with kAborted(`reason`) unless DisarmDeadline comes
  // within `after`; replaces any deadline armed before.
  virtual void ArmDeadline(std::chrono::milliseconds after, std::string reason) = 0;
  // Closes at once: pending writes are dropped. OnClosed(why) follows.
  virtual void Close(Status why) = 0;
  // Writes what is queued, sends FIN and waits for the peer to close too
  // (reading and dropping what it still sends, so the close never turns into
  // a reset that destroys the last frames), then closes with `why` — all
  // within `limit`, else it closes then. What arrives once the queue is
  // written is dropped (no OnMessage).
  virtual void CloseAfterFlush(Status why, std::chrono::milliseconds limit) = 0;
  // Bytes handed to Send and not yet written.
  virtual uint64_t queued_bytes() const = 0;
  // "IP:PORT" of the peer.
  virtual const std::string& remote_address() const = 0;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_MESSAGE_PIPE_H_
