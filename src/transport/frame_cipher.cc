// frame_cipher.cc — see frame_cipher.h.
#include "transport/frame_cipher.h"

namespace blaze::transport {

using protocol::FrameHeader;
using protocol::kFrameHeaderSize;

Status FrameSealer::Seal(FrameHeader header, std::string_view piece, std::string* out) {
  if (piece.size() > kMaxSealedPiece) {
    return Status::InvalidArgument("sealed frame piece of " + std::to_string(piece.size()) + " bytes; at most " +
                                   std::to_string(kMaxSealedPiece));
  }
  const uint64_t sealed = piece.size() + crypto::kGcmTagSize;
  header.length = static_cast<uint16_t>(sealed);
  header.flags &= static_cast<uint8_t>(~protocol::flag::kKeyUpdate);
  const bool rekey = frames_ + 1 >= policy_.after_frames || bytes_ + sealed >= policy_.after_bytes;
  if (rekey) header.flags |= protocol::flag::kKeyUpdate;
  uint8_t h[kFrameHeaderSize];
  protocol::EncodeFrameHeader(header, h);
  size_t start = out->size();
  out->append(reinterpret_cast<const char*>(h), kFrameHeaderSize);
  Status s = cipher_.EncryptWithAd(std::string_view(reinterpret_cast<const char*>(h), kFrameHeaderSize), piece, out);
  if (!s.ok()) {
    out->resize(start);
    return s;
  }
  ++frames_;
  bytes_ += sealed;
  if (rekey) {
    BLAZE_RETURN_IF_ERROR(cipher_.Rekey());
    frames_ = 0;
    bytes_ = 0;
    ++rekeys_;
  }
  return Status::Ok();
}

Status FrameOpener::Open(const protocol::Frame& frame, std::string* plaintext) {
  if (frame.body.size() < crypto::kGcmTagSize) {
    return Status::Corruption("protocol error: sealed frame body of " + std::to_string(frame.body.size()) +
                              " bytes is shorter than the 16-byte tag");
  }
  uint8_t h[kFrameHeaderSize];
  protocol::EncodeFrameHeader(frame.header, h);
  Status s = cipher_.DecryptWithAd(std::string_view(reinterpret_cast<const char*>(h), kFrameHeaderSize), frame.body,
                                   plaintext);
  if (!s.ok()) {
    if (s.code() == StatusCode::kCorruption) {
      return Status::Corruption("frame does not authenticate (tampered, replayed, reordered or wrong key)");
    }
    return s;
  }
  if (frame.header.flags & protocol::flag::kKeyUpdate) {
    BLAZE_RETURN_IF_ERROR(cipher_.Rekey());
    ++rekeys_;
  }
  return Status::Ok();
}

}  // namespace blaze::transport
