// frame_decoder.cc — see frame_decoder.h.
#include "protocol/frame_decoder.h"

#include <algorithm>

namespace blaze::protocol {

Status StreamFrameDecoder::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    if (!have_header_) {
      size_t n = std::min(kFrameHeaderSize - header_filled_, bytes.size());
      std::copy_n(bytes.data(), n, header_ + header_filled_);
      header_filled_ += n;
      bytes.remove_prefix(n);
      if (header_filled_ < kFrameHeaderSize) break;
      Result<FrameHeader> h = DecodeFrameHeader(header_);
      if (!h.ok()) {
        error_ = h.status();
        return error_;
      }
      partial_.header = *h;
      partial_.body.clear();
      partial_.body.reserve(h->length);
      have_header_ = true;
    }
    size_t want = partial_.header.length - partial_.body.size();
    size_t n = std::min(want, bytes.size());
    partial_.body.append(bytes.data(), n);
    bytes.remove_prefix(n);
    if (partial_.body.size() == partial_.header.length) {
      ready_.push_back(std::move(partial_));
      partial_ = Frame();
      have_header_ = false;
      header_filled_ = 0;
    }
  }
  return Status::Ok();
}

std::optional<Frame> StreamFrameDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  Frame f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

Result<Frame> DecodeSingleFrame(std::string_view message) {
  if (message.size() < kFrameHeaderSize) {
    return Status::Corruption("protocol error: message of " + std::to_string(message.size()) +
                              " bytes is shorter than a frame header");
  }
  BLAZE_ASSIGN_OR_RETURN(FrameHeader h, DecodeFrameHeader(reinterpret_cast<const uint8_t*>(message.data())));
  if (message.size() - kFrameHeaderSize != h.length) {
    return Status::Corruption("protocol error: frame header says " + std::to_string(h.length) +
                              " body bytes, the message holds " + std::to_string(message.size() - kFrameHeaderSize));
  }
  Frame f;
  f.header = h;
  f.body.assign(message.substr(kFrameHeaderSize));
  return f;
}

}  // namespace blaze::protocol
