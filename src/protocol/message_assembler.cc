// message_assembler.cc — see message_assembler.h.
#include "protocol/message_assembler.h"

namespace blaze::protocol {

std::vector<std::string_view> SplitMessage(std::string_view body, size_t max_piece) {
  std::vector<std::string_view> pieces;
  do {
    size_t n = body.size() < max_piece ? body.size() : max_piece;
    pieces.push_back(body.substr(0, n));
    body.remove_prefix(n);
  } while (!body.empty());
  return pieces;
}

Result<std::optional<Message>> MessageAssembler::Add(const FrameHeader& header, std::string_view body) {
  if (in_progress_ && (header.type != partial_.type || header.stream != partial_.stream)) {
    return Status::Corruption("protocol error: a " + std::string(FrameTypeName(header.type)) + " frame on stream " +
                              std::to_string(header.stream) + " arrived inside a fragmented " +
                              std::string(FrameTypeName(partial_.type)) + " message on stream " +
                              std::to_string(partial_.stream));
  }
  size_t have = in_progress_ ? partial_.body.size() : 0;
  if (body.size() > max_message_size_ - have || have > max_message_size_) {
    in_progress_ = false;
    partial_ = Message();
    return Status::Corruption("protocol error: message larger than the maximum of " +
                              std::to_string(max_message_size_) + " bytes");
  }
  if (!in_progress_) {
    partial_.type = header.type;
    partial_.stream = header.stream;
    partial_.body.clear();
    in_progress_ = true;
  }
  partial_.body.append(body);
  if ((header.flags & flag::kFin) == 0) return std::optional<Message>();
  in_progress_ = false;
  Message done = std::move(partial_);
  partial_ = Message();
  return std::optional<Message>(std::move(done));
}

}  // namespace blaze::protocol
