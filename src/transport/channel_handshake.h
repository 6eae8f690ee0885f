// channel_handshake.h — runs a channel's Noise XX handshake over a stream and
// decides whether the peer is trusted (docs/protocol.md, "Handshake").
//
//   initiator                                responder
//   kHandshake  -> e, version offer     --->
//                                       <---  kHandshake  <- e, ee, s, es, Hello (its versions, the choice)
//   kHandshake  -> s, se, Hello         --->
//                                       <---  sealed kAccept (or sealed kError, then close)
//
// The responder chooses the highest version in both lists, or refuses with
// a plaintext kError "no-common-version"; each side checks the other's
// lists and choice (protocol/version_offer.h). A side that fails before it
// has transport keys sends a plaintext kError with only an error code, then
// closes. Called once per channel, on the
// thread that opens it.
#ifndef BLAZE_TRANSPORT_CHANNEL_HANDSHAKE_H_
#define BLAZE_TRANSPORT_CHANNEL_HANDSHAKE_H_

#include <array>

#include "blaze/byte_stream.h"
#include "blaze/secure_channel.h"
#include "crypto/cipher_state.h"
#include "transport/frame_reader.h"

namespace blaze::transport {

struct HandshakeOutcome {
  crypto::CipherState send;
  crypto::CipherState receive;
  PeerInfo peer;
  std::array<uint8_t, 32> handshake_hash{};
};

// `fixed_ephemeral`: tests and fuzzing only (reproducible handshakes); a
// real channel passes nothing and gets a fresh ephemeral key.
Result<HandshakeOutcome> RunHandshake(const ChannelOptions& options, bool initiator, ByteStream* stream,
                                      FrameReader* reader, const KeyPair* fixed_ephemeral = nullptr);

}  // namespace blaze::transport

#endif  // BLAZE_TRANSPORT_CHANNEL_HANDSHAKE_H_
