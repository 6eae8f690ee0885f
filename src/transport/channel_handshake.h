// channel_handshake.h — runs a channel's Noise XX handshake over a blocking
// stream: a thin driver of HandshakeMachine (channel_core.h), which holds the
// protocol (docs/protocol.md, "Handshake"):
//
//   initiator                                responder
//   kHandshake  -> e, version offer     --->
//                                       <---  kHandshake  <- e, ee, s, es, Hello (its versions, the choice)
//   kHandshake  -> s, se, Hello         --->
//                                       <---  sealed kAccept (or sealed kError, then close)
//
// The driver writes what the machine produces, reads frames until it is
// done, and on any failure writes the machine's last words (an error frame,
// when one is due) and closes the stream. Called once per channel, on the
// thread that opens it.
#ifndef BLAZE_TRANSPORT_CHANNEL_HANDSHAKE_H_
#define BLAZE_TRANSPORT_CHANNEL_HANDSHAKE_H_

#include <array>

#include "blaze/byte_stream.h"
#include "blaze/secure_channel.h"
#include "transport/channel_core.h"
#include "transport/frame_reader.h"

namespace blaze::transport {

// `fixed_ephemeral`: tests and fuzzing only (reproducible handshakes); a
// real channel passes nothing and gets a fresh ephemeral key.
Result<HandshakeOutcome> RunHandshake(const ChannelOptions& options, bool initiator, ByteStream* stream,
                                      FrameReader* reader, const KeyPair* fixed_ephemeral = nullptr);

}  // namespace blaze::transport

#endif  // BLAZE_TRANSPORT_CHANNEL_HANDSHAKE_H_
