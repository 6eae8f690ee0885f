// frame.h — the 7-byte frame header of the wire protocol (DESIGN.md §6,
// docs/protocol.md) and its validation.
//
//   byte 0    version   protocol version of the frame (kProtocolVersion)
//   byte 1    type      FrameType
//   byte 2    flags     FIN 0x01, KEY_UPDATE 0x02, COMPRESSED 0x04; others must be 0
//   bytes 3-4 stream    big-endian
//   bytes 5-6 length    big-endian body length, 0..65535
//
// Plain values and stateless functions; thread-safe.
#ifndef BLAZE_PROTOCOL_FRAME_H_
#define BLAZE_PROTOCOL_FRAME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "blaze/status.h"

namespace blaze::protocol {

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderSize = 7;
inline constexpr size_t kMaxFrameBody = 65535;

namespace flag {
inline constexpr uint8_t kFin = 0x01;        // last (or only) frame of a message
inline constexpr uint8_t kKeyUpdate = 0x02;  // the sender rekeys this direction after this frame
inline constexpr uint8_t kCompressed = 0x04; // body is compressed (not negotiated yet: refused)
inline constexpr uint8_t kKnown = kFin | kKeyUpdate | kCompressed;
}  // namespace flag

// Message types so far. Values are wire constants; never renumber.
enum class FrameType : uint8_t {
  kHandshake = 0x01,  // a Noise handshake message (not sealed)
  kAccept = 0x02,     // responder: the peer is authorized; the channel is open
  kError = 0x03,      // ErrorMessage; the sender closes after it
  kClose = 0x04,      // orderly close, empty body
  kPing = 0x05,       // body echoed back in a kPong
  kPong = 0x06,
  kData = 0x10,       // application message
};

// True for the values above.
bool IsKnownFrameType(uint8_t type);
std::string_view FrameTypeName(FrameType type);

struct FrameHeader {
  uint8_t version = kProtocolVersion;
  FrameType type = FrameType::kData;
  uint8_t flags = flag::kFin;
  uint16_t stream = 0;
  uint16_t length = 0;
};

// Writes the 7 header bytes to `out`.
void EncodeFrameHeader(const FrameHeader& h, uint8_t out[kFrameHeaderSize]);
// Parses and validates 7 header bytes: kCorruption ("protocol error: ...")
// for an unknown version or type or a reserved flag bit.
Result<FrameHeader> DecodeFrameHeader(const uint8_t in[kFrameHeaderSize]);

struct Frame {
  FrameHeader header;
  std::string body;  // header.length bytes
};

// Appends header (with length = body.size()) and body to *out;
// kInvalidArgument if the body is longer than 65535 bytes.
Status AppendFrame(FrameHeader header, std::string_view body, std::string* out);

}  // namespace blaze::protocol

#endif  // BLAZE_PROTOCOL_FRAME_H_
