// message_assembler.h — fragmentation of messages into frame bodies and their
// reassembly.
//
// A message longer than one frame is sent as consecutive frames of the same
// type and stream; all but the last have FIN clear. The assembler accepts one
// partial message at a time (a sender never interleaves fragments), refuses a
// message growing past the configured maximum, and so holds at most
// `max_message_size` bytes. Not thread-safe per object.
#ifndef BLAZE_PROTOCOL_MESSAGE_ASSEMBLER_H_
#define BLAZE_PROTOCOL_MESSAGE_ASSEMBLER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/status.h"
#include "protocol/frame.h"

namespace blaze::protocol {

struct Message {
  FrameType type = FrameType::kData;
  uint16_t stream = 0;
  std::string body;
};

// Splits `body` into pieces of at most `max_piece` bytes (at least one piece,
// empty for an empty body). `max_piece` must be > 0.
std::vector<std::string_view> SplitMessage(std::string_view body, size_t max_piece);

class MessageAssembler {
 public:
  explicit MessageAssembler(size_t max_message_size) : max_message_size_(max_message_size) {}

  // Adds one frame's body. Returns the message when `header` has FIN, nullopt
  // while it is incomplete, kCorruption ("protocol error: ...") if the
  // message would exceed the maximum or a frame of another type or stream
  // arrives in the middle of a message.
  Result<std::optional<Message>> Add(const FrameHeader& header, std::string_view body);
  bool in_progress() const { return in_progress_; }
  // Drops a partial message and frees its memory (the channel failed).
  void Reset() {
    in_progress_ = false;
    partial_ = Message();
  }

 private:
  size_t max_message_size_;
  bool in_progress_ = false;
  Message partial_;
};

}  // namespace blaze::protocol

#endif  // BLAZE_PROTOCOL_MESSAGE_ASSEMBLER_H_
