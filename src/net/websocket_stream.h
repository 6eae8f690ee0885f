// websocket_stream.h — a blocking ByteStream over a MessagePipe, so a
// SecureChannel runs over WebSocket unchanged. Writes are split on frame
// boundaries (the frame header's length), one frame per WebSocket message,
// and a piece of a frame is held until the rest is written; a Write returns
// once its messages are on the socket (or the write timeout ran out). Reads
// hand out the bytes of received messages in order; the pipe stops reading
// while more than a megabyte waits unread. Thread safety: byte_stream.h.
#ifndef BLAZE_NET_WEBSOCKET_STREAM_H_
#define BLAZE_NET_WEBSOCKET_STREAM_H_

#include <memory>

#include "blaze/byte_stream.h"
#include "net/message_pipe.h"

namespace blaze::net {

// Takes over `pipe` (not started yet): disarms its deadline and starts it.
std::unique_ptr<ByteStream> MakeWebSocketStream(std::shared_ptr<MessagePipe> pipe);

}  // namespace blaze::net

#endif  // BLAZE_NET_WEBSOCKET_STREAM_H_
