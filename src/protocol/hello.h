// hello.h — the bodies of the channel's control messages, as BlazeBinary
// maps (docs/blaze-binary.md):
//   Hello (payload of handshake messages 2 and 3):
//          {"versions": [int 1..255, ...] (strictly increasing),
//           "version": int (the negotiated version, one of "versions"),
//           "identity": string, "capabilities": [string, ...]}
//   ErrorMessage (kError frames):      {"code": string, "message": string}
// Unknown keys are ignored so later versions can add fields; known keys with
// the wrong shape are a protocol error. Stateless functions; thread-safe.
#ifndef BLAZE_PROTOCOL_HELLO_H_
#define BLAZE_PROTOCOL_HELLO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/status.h"
#include "protocol/version_offer.h"

namespace blaze::protocol {

inline constexpr size_t kMaxHelloVersions = kMaxVersions;
inline constexpr size_t kMaxHelloCapabilities = 64;
inline constexpr size_t kMaxHelloString = 256;

struct Hello {
  std::vector<uint8_t> versions;  // the sender's supported protocol versions, 1..255, increasing
  uint8_t version = 0;            // the version negotiated for this channel (version_offer.h)
  std::string identity;           // node or app name (informational; the key authenticates)
  std::vector<std::string> capabilities;
};

std::string EncodeHello(const Hello& hello);
// kCorruption ("protocol error: ...") unless `bytes` is a well-formed hello
// within the limits above.
Result<Hello> DecodeHello(std::string_view bytes);

struct ErrorMessage {
  std::string code;     // stable, machine-readable, e.g. "untrusted-peer"
  std::string message;  // for humans
};

std::string EncodeErrorMessage(const ErrorMessage& error);
Result<ErrorMessage> DecodeErrorMessage(std::string_view bytes);

// The Noise prologue of a BlazeDB channel: the ASCII bytes "BlazeDB-channel",
// a zero byte, the 2-byte big-endian length of the database/app name, then
// the name. Both sides must build the same bytes or the handshake fails.
// (Protocol versions are bound through the handshake payloads instead, since
// the two sides' lists may differ: version_offer.h.)
Result<std::string> BuildPrologue(std::string_view database);

}  // namespace blaze::protocol

#endif  // BLAZE_PROTOCOL_HELLO_H_
