// frame_reader.cc — see frame_reader.h.
#include "transport/frame_reader.h"

namespace blaze::transport {

Result<protocol::Frame> FrameReader::Read(std::chrono::steady_clock::time_point deadline) {
  char buf[16384];
  for (;;) {
    if (std::optional<protocol::Frame> f = decoder_.Next()) return std::move(*f);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    BLAZE_ASSIGN_OR_RETURN(size_t n, stream_->Read(buf, sizeof(buf), left));
    if (n == 0) {
      if (decoder_.partial_bytes() > 0) {
        return Status::Corruption("protocol error: stream ended inside a frame (truncated frame, " +
                                  std::to_string(decoder_.partial_bytes()) + " bytes of it received)");
      }
      return Status::Aborted("the peer closed the connection");
    }
    BLAZE_RETURN_IF_ERROR(decoder_.Feed(std::string_view(buf, n)));
  }
}

}  // namespace blaze::transport
