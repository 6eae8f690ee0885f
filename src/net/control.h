// control.h — the relay protocol's control messages (stream 0 of a relay
// connection) and the rules for database names (docs/protocol.md §6).
//
//   open    {type, stream, database}         client → relay: open DATABASE on STREAM
//   opened  {type, stream}                   relay → client: sync messages may flow on STREAM
//   error   {type, stream, code, message}    relay → client: the open of STREAM failed
//                                            (stream 0: the request could not be read)
//   close   {type, stream, code, message}    either side: STREAM is closed, the sender
//                                            dropped it; nothing answers a close
//
// Bodies are BlazeBinary maps (docs/blaze-binary.md); unknown keys are
// ignored, a missing or mistyped known key is malformed. Decoding is strict
// and bounded like every BlazeDB decoder. Thread-safe (values only).
#ifndef BLAZE_NET_CONTROL_H_
#define BLAZE_NET_CONTROL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "blaze/status.h"

namespace blaze::net {

// The prologue name of a relay channel (ChannelOptions::database): a relay
// connection serves many databases, so it binds this fixed name instead.
inline constexpr std::string_view kRelayChannelName = "blazedb-relay";
// Stream 0 carries control messages; databases use 1..65535.
inline constexpr uint16_t kControlStream = 0;
inline constexpr size_t kMaxDatabaseName = 64;
inline constexpr size_t kMaxControlText = 1024;  // code and message, bytes

// Error codes of `error` and `close` (docs/protocol.md §6.3).
inline constexpr std::string_view kCodeBadRequest = "bad-request";
inline constexpr std::string_view kCodeForbidden = "forbidden";
inline constexpr std::string_view kCodeStreamInUse = "stream-in-use";
inline constexpr std::string_view kCodeTooManyStreams = "too-many-streams";
inline constexpr std::string_view kCodeUnavailable = "unavailable";
inline constexpr std::string_view kCodeAccessRevoked = "access-revoked";
inline constexpr std::string_view kCodeSyncFailed = "sync-failed";
inline constexpr std::string_view kCodeOverloaded = "overloaded";
inline constexpr std::string_view kCodeClosed = "closed";

struct ControlMessage {
  enum class Type : uint8_t { kOpen, kOpened, kError, kClose };
  Type type = Type::kOpen;
  uint16_t stream = 0;
  std::string database;  // open
  std::string code;      // error, close
  std::string message;   // error, close (human-readable)
};

// Text fields are cut to their limits (at a character boundary) and
// invalid UTF-8 replaced, so whatever is encoded decodes.
std::string EncodeControl(const ControlMessage& m);
// kCorruption for anything but a well-formed control message (what was wrong
// and what was expected in the message).
Result<ControlMessage> DecodeControl(std::string_view bytes);

// A database name is 1..64 bytes of [a-z0-9_-], not starting with '-' or '_'
// (docs/relay.md): it is a file name on the relay, so no '/', no '.', no
// upper case (two names must never map to one file on a case-insensitive
// file system). kInvalidArgument saying what was wrong.
Status ValidateDatabaseName(std::string_view name);

}  // namespace blaze::net

#endif  // BLAZE_NET_CONTROL_H_
