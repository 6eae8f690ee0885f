// frame_reader.h — reads whole frames from a ByteStream through a
// StreamFrameDecoder, with a deadline. Not thread-safe: owned by the
// receiving side of one channel.
#ifndef BLAZE_TRANSPORT_FRAME_READER_H_
#define BLAZE_TRANSPORT_FRAME_READER_H_

#include <chrono>

#include "blaze/byte_stream.h"
#include "blaze/status.h"
#include "protocol/frame_decoder.h"

namespace blaze::transport {

class FrameReader {
 public:
  explicit FrameReader(ByteStream* stream) : stream_(stream) {}

  // The next frame. kAborted if the stream ends at a frame boundary,
  // kCorruption if it ends inside a frame (truncated) or a header is bad,
  // kIOError on timeout or a stream error.
  Result<protocol::Frame> Read(std::chrono::steady_clock::time_point deadline);

 private:
  ByteStream* stream_;
  protocol::StreamFrameDecoder decoder_;
};

}  // namespace blaze::transport

#endif  // BLAZE_TRANSPORT_FRAME_READER_H_
