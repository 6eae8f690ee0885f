// frame.cc — see frame.h.
#include "protocol/frame.h"

namespace blaze::protocol {

bool IsKnownFrameType(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHandshake:
    case FrameType::kAccept:
    case FrameType::kError:
    case FrameType::kClose:
    case FrameType::kPing:
    case FrameType::kPong:
    case FrameType::kData:
      return true;
  }
  return false;
}

std::string_view FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHandshake: return "handshake";
    case FrameType::kAccept: return "accept";
    case FrameType::kError: return "error";
    case FrameType::kClose: return "close";
    case FrameType::kPing: return "ping";
    case FrameType::kPong: return "pong";
    case FrameType::kData: return "data";
  }
  return "unknown";
}

void EncodeFrameHeader(const FrameHeader& h, uint8_t out[kFrameHeaderSize]) {
  out[0] = h.version;
  out[1] = static_cast<uint8_t>(h.type);
  out[2] = h.flags;
  out[3] = static_cast<uint8_t>(h.stream >> 8);
  out[4] = static_cast<uint8_t>(h.stream);
  out[5] = static_cast<uint8_t>(h.length >> 8);
  out[6] = static_cast<uint8_t>(h.length);
}

Result<FrameHeader> DecodeFrameHeader(const uint8_t in[kFrameHeaderSize]) {
  if (in[0] != kProtocolVersion) {
    return Status::Corruption("protocol error: frame version " + std::to_string(in[0]) + ", expected " +
                              std::to_string(kProtocolVersion));
  }
  if (!IsKnownFrameType(in[1])) {
    return Status::Corruption("protocol error: unknown frame type " + std::to_string(in[1]));
  }
  if ((in[2] & ~flag::kKnown) != 0) {
    return Status::Corruption("protocol error: reserved frame flag bits set (flags " + std::to_string(in[2]) + ")");
  }
  FrameHeader h;
  h.version = in[0];
  h.type = static_cast<FrameType>(in[1]);
  h.flags = in[2];
  h.stream = static_cast<uint16_t>(in[3] << 8 | in[4]);
  h.length = static_cast<uint16_t>(in[5] << 8 | in[6]);
  return h;
}

Status AppendFrame(FrameHeader header, std::string_view body, std::string* out) {
  if (body.size() > kMaxFrameBody) {
    return Status::InvalidArgument("frame body of " + std::to_string(body.size()) + " bytes; at most 65535 fit");
  }
  header.length = static_cast<uint16_t>(body.size());
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(header, h);
  out->append(reinterpret_cast<const char*>(h), kFrameHeaderSize);
  out->append(body);
  return Status::Ok();
}

}  // namespace blaze::protocol
