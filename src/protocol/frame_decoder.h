// frame_decoder.h — splits incoming bytes into frames.
//
// StreamFrameDecoder is for byte streams (Unix sockets, TCP): feed it bytes as
// they arrive, in any chunking, and take complete frames out. It buffers at
// most one partial frame (7 + 65535 bytes). After the first error it stays
// failed: a byte stream cannot be resynchronised, the channel must close.
// DecodeSingleFrame is for message transports (WebSocket): one message must
// be exactly one frame. Not thread-safe per object.
#ifndef BLAZE_PROTOCOL_FRAME_DECODER_H_
#define BLAZE_PROTOCOL_FRAME_DECODER_H_

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "blaze/status.h"
#include "protocol/frame.h"

namespace blaze::protocol {

class StreamFrameDecoder {
 public:
  // Consumes all of `bytes`; complete frames queue up for Next(). Returns the
  // protocol error of the first bad header (and every later call returns it too).
  [[nodiscard]] Status Feed(std::string_view bytes);
  // The next complete frame, if any.
  std::optional<Frame> Next();
  // Bytes of an incomplete frame held back (0 at a frame boundary).
  size_t partial_bytes() const { return header_filled_ + partial_.body.size(); }
  bool failed() const { return !error_.ok(); }

 private:
  uint8_t header_[kFrameHeaderSize] = {};
  size_t header_filled_ = 0;
  bool have_header_ = false;
  Frame partial_;
  std::deque<Frame> ready_;
  Status error_;
};

// Exactly one frame; kCorruption if `message` is shorter or longer than its header says.
Result<Frame> DecodeSingleFrame(std::string_view message);

}  // namespace blaze::protocol

#endif  // BLAZE_PROTOCOL_FRAME_DECODER_H_
