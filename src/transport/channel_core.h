// channel_core.h — the secure channel without I/O: the Noise XX handshake as
// a state machine (frames in, bytes to send out) and the sealed-frame logic
// of an open channel (messages in → sealed frames out; frames in → messages
// out). The blocking SecureChannel (secure_channel.cc, channel_handshake.cc)
// drives it over a ByteStream; the async network server (src/net) drives the
// same code from its event loop. docs/protocol.md §2-§4.
//
//   HandshakeMachine m(options, initiator);
//   std::string out;
//   Status s = m.Start(&out);                   // send `out`
//   while (s.ok() && !m.done()) s = m.OnFrame(next_frame, &out);  // send `out` each time
//   if (!s.ok()) { send `out` (best effort), close }   // out holds an error frame if one is due
//   if the transport fails (read timeout, closed, write error): s = m.Fail(error, &out), same.
//
// Not thread-safe: each object belongs to one connection's driver. A
// FrameSender and a FrameReceiver of one channel may be used by two threads
// (one each).
#ifndef BLAZE_TRANSPORT_CHANNEL_CORE_H_
#define BLAZE_TRANSPORT_CHANNEL_CORE_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/secure_channel.h"
#include "crypto/cipher_state.h"
#include "crypto/handshake_state.h"
#include "protocol/frame.h"
#include "protocol/message_assembler.h"
#include "transport/frame_cipher.h"

namespace blaze::transport {

struct HandshakeOutcome {
  crypto::CipherState send;
  crypto::CipherState receive;
  PeerInfo peer;
  std::array<uint8_t, 32> handshake_hash{};
};

// Decides whether a peer's authenticated static key is allowed, and as whom.
using PeerLookup = std::function<std::optional<PeerIdentity>(const PublicKey&)>;

class HandshakeMachine {
 public:
  // `options` must outlive the machine. `lookup`, when given, replaces
  // options.trust (which may then be null). `fixed_ephemeral`: tests and
  // fuzzing only (reproducible handshakes).
  HandshakeMachine(const ChannelOptions& options, bool initiator, const KeyPair* fixed_ephemeral = nullptr,
                   PeerLookup lookup = {});
  ~HandshakeMachine();
  HandshakeMachine(const HandshakeMachine&) = delete;
  HandshakeMachine& operator=(const HandshakeMachine&) = delete;

  // Sets up; the initiator appends message 1 to *out. An error means failed
  // (see OnFrame).
  [[nodiscard]] Status Start(std::string* out);
  // Takes the next frame from the peer and appends what to send to *out.
  // Ok: send *out, then wait for the next frame unless done(). An error: the
  // handshake failed ("secure channel handshake failed: ..."); send *out (an
  // error frame, when one is due) and close.
  [[nodiscard]] Status OnFrame(const protocol::Frame& frame, std::string* out);
  // The transport failed (timeout, end of stream, bad bytes, a write error):
  // returns the handshake's failure and appends the plaintext
  // "handshake-failed" refusal when one is due.
  [[nodiscard]] Status Fail(const Status& why, std::string* out);
  // Succeeded: TakeOutcome() may be called (once).
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }
  HandshakeOutcome TakeOutcome() { return std::move(outcome_); }

 private:
  enum class State { kNew, kAwaitMessage1, kAwaitMessage2, kAwaitMessage3, kAwaitAnswer, kDone, kFailed };

  Status Step(const protocol::Frame& frame, std::string* out);
  Status InitiatorOnMessage2(const protocol::Frame& frame, std::string* out);
  Status InitiatorOnAnswer(const protocol::Frame& frame);
  Status ResponderOnMessage1(const protocol::Frame& frame, std::string* out);
  Status ResponderOnMessage3(const protocol::Frame& frame, std::string* out);
  Result<protocol::Frame> CheckHandshakeFrame(const protocol::Frame& frame);
  std::optional<PeerIdentity> Lookup(const PublicKey& key) const;
  Status Finish(Status s, std::string* out);

  const ChannelOptions& options_;
  const bool initiator_;
  const KeyPair* fixed_ephemeral_;
  PeerLookup lookup_;
  State state_ = State::kNew;
  bool keys_ready_ = false;  // transport keys exist: a plaintext error would be out of place
  bool answered_ = false;    // an error frame was sent, or the peer sent one: say nothing more
  std::unique_ptr<crypto::HandshakeState> hs_;
  std::vector<uint8_t> ours_;
  std::vector<uint8_t> offer_;  // responder: the initiator's versions
  uint8_t chosen_ = 0;          // responder: the negotiated version
  HandshakeOutcome outcome_;
};

// The send direction of an open channel.
class FrameSender {
 public:
  FrameSender(crypto::CipherState cipher, RekeyPolicy policy) : sealer_(std::move(cipher), policy) {}
  // Appends `body` as sealed frames of `type` on `stream` (fragmented past
  // kMaxSealedPiece) to *out; *frames counts them.
  [[nodiscard]] Status SealMessage(protocol::FrameType type, uint16_t stream, std::string_view body, std::string* out,
                                   size_t* frames = nullptr);
  uint64_t rekeys() const { return sealer_.rekeys(); }

 private:
  FrameSealer sealer_;
};

// What the receive direction made of a frame.
struct ReceivedMessage {
  enum class Kind { kData, kPing };  // kPing: answer with a pong of the same stream and body
  Kind kind = Kind::kData;
  uint16_t stream = 0;
  std::string body;
};

// The receive direction of an open channel: opens, reassembles and
// dispatches frames. nullopt: nothing complete yet (or a pong). An error is
// final (the channel must close): kCorruption for a bad frame, kAborted when
// the peer closed, kFailedPrecondition with its code when it sent an error.
class FrameReceiver {
 public:
  FrameReceiver(crypto::CipherState cipher, size_t max_message_size)
      : opener_(std::move(cipher)), assembler_(max_message_size) {}
  Result<std::optional<ReceivedMessage>> OnFrame(const protocol::Frame& frame);
  bool in_progress() const { return assembler_.in_progress(); }  // a fragmented message is unfinished
  void Reset() { assembler_.Reset(); }                            // frees an unfinished message
  uint64_t rekeys() const { return opener_.rekeys(); }
  uint64_t frames() const { return frames_; }  // frames that authenticated

 private:
  FrameOpener opener_;
  uint64_t frames_ = 0;
  protocol::MessageAssembler assembler_;
};

}  // namespace blaze::transport

#endif  // BLAZE_TRANSPORT_CHANNEL_CORE_H_
