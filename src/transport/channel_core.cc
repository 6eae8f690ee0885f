// channel_core.cc — see channel_core.h. The handshake's rules (who says what
// when it fails) are those of docs/protocol.md §2; every failure goes
// through Finish, which logs it, adds the plaintext "handshake-failed"
// refusal where nothing was said yet and no transport keys exist, and
// prefixes the status.
#include "transport/channel_core.h"

#include "protocol/hello.h"
#include "protocol/version_offer.h"

namespace blaze::transport {
namespace {

using protocol::Frame;
using protocol::FrameHeader;
using protocol::FrameType;

constexpr std::string_view kUntrustedPeer = "untrusted-peer";
constexpr std::string_view kHandshakeFailed = "handshake-failed";
constexpr std::string_view kNoCommonVersion = "no-common-version";

std::string VersionList(const std::vector<uint8_t>& versions) {
  std::string out = "[";
  for (size_t i = 0; i < versions.size(); ++i) out += (i ? ", " : "") + std::to_string(versions[i]);
  return out + "]";
}

Status AppendPlain(FrameType type, std::string_view body, std::string* out) {
  FrameHeader h;
  h.type = type;
  return protocol::AppendFrame(h, body, out);
}

// A plaintext error frame with only the code.
void AppendPlainError(std::string_view code, std::string* out) {
  AppendPlain(FrameType::kError, protocol::EncodeErrorMessage({std::string(code), ""}), out).IgnoreError();
}

void TakeHello(const protocol::Hello& hello, PeerInfo* peer) {
  peer->hello_identity = hello.identity;
  peer->version = hello.version;
  peer->versions = hello.versions;
  peer->capabilities = hello.capabilities;
}

// Initiator, message 2: the responder must have chosen the highest version
// both lists hold. Its list is authenticated by message 2 itself, and our
// offer by the handshake hash message 2 was encrypted under.
Status CheckResponderChoice(const std::vector<uint8_t>& ours, const protocol::Hello& hello) {
  std::optional<uint8_t> expected = protocol::HighestCommonVersion(ours, hello.versions);
  if (!expected || hello.version != *expected) {
    return Status::Corruption("protocol error: the responder chose version " + std::to_string(hello.version) +
                              " from its versions " + VersionList(hello.versions) + ", but we offered " +
                              VersionList(ours) + (expected ? " (highest common: " + std::to_string(*expected) + ")" : ""));
  }
  return Status::Ok();
}

// Responder, message 3: the initiator's hello repeats its offer and our choice.
Status CheckInitiatorHello(const std::vector<uint8_t>& offer, uint8_t chosen, const protocol::Hello& hello) {
  if (hello.versions != offer || hello.version != chosen) {
    return Status::Corruption("protocol error: the initiator's hello names versions " + VersionList(hello.versions) +
                              " and version " + std::to_string(hello.version) + ", but it offered " +
                              VersionList(offer) + " and version " + std::to_string(chosen) + " was chosen");
  }
  return Status::Ok();
}

}  // namespace

HandshakeMachine::HandshakeMachine(const ChannelOptions& options, bool initiator, const KeyPair* fixed_ephemeral,
                                   PeerLookup lookup)
    : options_(options), initiator_(initiator), fixed_ephemeral_(fixed_ephemeral), lookup_(std::move(lookup)) {}

HandshakeMachine::~HandshakeMachine() = default;

std::optional<PeerIdentity> HandshakeMachine::Lookup(const PublicKey& key) const {
  if (lookup_) return lookup_(key);
  return options_.trust->Find(key);
}

Status HandshakeMachine::Finish(Status s, std::string* out) {
  if (s.ok()) return s;
  state_ = State::kFailed;
  if (options_.log) options_.log("handshake failed: " + s.ToString());
  // Where nothing was said yet and no transport keys exist, say only that it failed.
  if (!answered_ && !keys_ready_) AppendPlainError(kHandshakeFailed, out);
  answered_ = true;
  return Status(s.code(), "secure channel handshake failed: " + s.message());
}

Status HandshakeMachine::Fail(const Status& why, std::string* out) {
  if (state_ == State::kFailed) return Status(why.code(), "secure channel handshake failed: " + why.message());
  return Finish(why.ok() ? Status::Internal("handshake failed without a reason") : why, out);
}

Status HandshakeMachine::Start(std::string* out) {
  if (state_ != State::kNew) return Status::FailedPrecondition("the handshake was already started");
  return Finish([&]() -> Status {
    if (options_.trust == nullptr && !lookup_) return Status::InvalidArgument("ChannelOptions.trust is required");
    BLAZE_ASSIGN_OR_RETURN(ours_, protocol::CanonicalVersions(options_.versions));
    crypto::HandshakeConfig config;
    config.pattern = crypto::HandshakePattern::kXX;
    config.initiator = initiator_;
    BLAZE_ASSIGN_OR_RETURN(config.prologue, protocol::BuildPrologue(options_.database));
    config.local_static = options_.identity;
    if (fixed_ephemeral_ != nullptr) config.fixed_ephemeral = *fixed_ephemeral_;
    BLAZE_ASSIGN_OR_RETURN(hs_, crypto::HandshakeState::Create(config));
    if (!initiator_) {
      state_ = State::kAwaitMessage1;
      return Status::Ok();
    }
    // Message 1 carries the offer in plaintext; Noise hashes it into h.
    std::string msg;
    BLAZE_RETURN_IF_ERROR(hs_->WriteMessage(protocol::EncodeVersionOffer(ours_), &msg));
    BLAZE_RETURN_IF_ERROR(AppendPlain(FrameType::kHandshake, msg, out));
    state_ = State::kAwaitMessage2;
    return Status::Ok();
  }(), out);
}

Status HandshakeMachine::OnFrame(const Frame& frame, std::string* out) {
  if (state_ == State::kDone || state_ == State::kFailed || state_ == State::kNew) {
    return Status::FailedPrecondition("handshake frame outside a running handshake");
  }
  return Finish(Step(frame, out), out);
}

Status HandshakeMachine::Step(const Frame& frame, std::string* out) {
  switch (state_) {
    case State::kAwaitMessage1:
      return ResponderOnMessage1(frame, out);
    case State::kAwaitMessage2:
      return InitiatorOnMessage2(frame, out);
    case State::kAwaitMessage3:
      return ResponderOnMessage3(frame, out);
    case State::kAwaitAnswer:
      return InitiatorOnAnswer(frame);
    case State::kNew:
    case State::kDone:
    case State::kFailed:
      break;
  }
  return Status::Internal("handshake step in a final state");
}

Result<Frame> HandshakeMachine::CheckHandshakeFrame(const Frame& f) {
  switch (f.header.type) {
    case FrameType::kHandshake:
      if (f.header.flags != protocol::flag::kFin || f.header.stream != 0) {
        return Status::Corruption("protocol error: a handshake frame must have flags = FIN only and stream 0 (a "
                                  "handshake message is one frame), got flags " +
                                  std::to_string(f.header.flags) + " and stream " + std::to_string(f.header.stream));
      }
      return f;
    case FrameType::kError: {
      // The peer refused instead of sending a handshake message.
      answered_ = true;
      Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(f.body);
      if (e.ok() && e->code == kNoCommonVersion) {
        return Status::NotSupported("no common protocol version: the peer supports none of the versions we offered");
      }
      return Status::FailedPrecondition("the peer refused the handshake: " +
                                        (e.ok() ? e->code : std::string("malformed error frame")));
    }
    case FrameType::kAccept:
    case FrameType::kClose:
    case FrameType::kPing:
    case FrameType::kPong:
    case FrameType::kData:
      break;
  }
  return Status::Corruption("protocol error: " + std::string(protocol::FrameTypeName(f.header.type)) +
                            " frame during the handshake");
}

Status HandshakeMachine::InitiatorOnMessage2(const Frame& frame, std::string* out) {
  BLAZE_ASSIGN_OR_RETURN(Frame m2, CheckHandshakeFrame(frame));
  std::string payload;
  BLAZE_RETURN_IF_ERROR(hs_->ReadMessage(m2.body, &payload));
  BLAZE_ASSIGN_OR_RETURN(protocol::Hello theirs, protocol::DecodeHello(payload));
  BLAZE_RETURN_IF_ERROR(CheckResponderChoice(ours_, theirs));
  TakeHello(theirs, &outcome_.peer);
  outcome_.peer.static_key = *hs_->remote_static();
  std::optional<PeerIdentity> who = Lookup(outcome_.peer.static_key);
  if (!who) {
    // Refuse before sending our own static key to an unknown responder.
    AppendPlainError(kUntrustedPeer, out);
    answered_ = true;
    return Status::FailedPrecondition("the responder's static key " + PublicKeyToHex(outcome_.peer.static_key) +
                                      " is not in the trust store");
  }
  outcome_.peer.identity = *who;
  protocol::Hello hello{ours_, theirs.version, options_.node_name, options_.capabilities};
  std::string msg;
  BLAZE_RETURN_IF_ERROR(hs_->WriteMessage(protocol::EncodeHello(hello), &msg));
  BLAZE_RETURN_IF_ERROR(AppendPlain(FrameType::kHandshake, msg, out));
  BLAZE_RETURN_IF_ERROR(hs_->Split(&outcome_.send, &outcome_.receive));
  keys_ready_ = true;
  state_ = State::kAwaitAnswer;
  return Status::Ok();
}

Status HandshakeMachine::InitiatorOnAnswer(const Frame& answer) {
  // The responder answers with a sealed kAccept, or a sealed error. Past
  // message 3 only what the transport key opens counts: a plaintext error
  // frame here could come from anyone on the path, so it is not taken as
  // the responder's answer (its code is not believed) but as a failure.
  FrameOpener opener(std::move(outcome_.receive));
  std::string body;
  Status opened = opener.Open(answer, &body);
  if (!opened.ok()) {
    answered_ = true;  // say nothing more to a peer that broke the protocol
    if (answer.header.type == FrameType::kError) {
      return Status::Corruption("protocol error: the answer to handshake message 3 was an unauthenticated "
                                "(plaintext) error frame; expected a sealed accept or error");
    }
    return opened;
  }
  if (answer.header.flags != protocol::flag::kFin || answer.header.stream != 0) {
    return Status::Corruption("protocol error: the answer to handshake message 3 must have flags = FIN only and "
                              "stream 0");
  }
  outcome_.receive = std::move(opener.cipher());
  switch (answer.header.type) {
    case FrameType::kAccept:
      break;
    case FrameType::kError: {
      Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(body);
      return Status::FailedPrecondition("the peer refused us: " + (e.ok() ? e->code : std::string("malformed")));
    }
    case FrameType::kHandshake:
    case FrameType::kClose:
    case FrameType::kPing:
    case FrameType::kPong:
    case FrameType::kData:
      return Status::Corruption("protocol error: expected accept, got a " +
                                std::string(protocol::FrameTypeName(answer.header.type)) + " frame");
  }
  std::copy(hs_->handshake_hash().begin(), hs_->handshake_hash().end(), outcome_.handshake_hash.begin());
  state_ = State::kDone;
  return Status::Ok();
}

Status HandshakeMachine::ResponderOnMessage1(const Frame& frame, std::string* out) {
  BLAZE_ASSIGN_OR_RETURN(Frame m1, CheckHandshakeFrame(frame));
  std::string payload;
  BLAZE_RETURN_IF_ERROR(hs_->ReadMessage(m1.body, &payload));
  BLAZE_ASSIGN_OR_RETURN(offer_, protocol::DecodeVersionOffer(payload));
  std::optional<uint8_t> chosen = protocol::HighestCommonVersion(ours_, offer_);
  if (!chosen) {
    // The initiator learns only that there is no overlap, not our list.
    AppendPlainError(kNoCommonVersion, out);
    answered_ = true;
    return Status::NotSupported("no common protocol version: the initiator offered " + VersionList(offer_) +
                                ", we support " + VersionList(ours_));
  }
  chosen_ = *chosen;
  protocol::Hello hello{ours_, chosen_, options_.node_name, options_.capabilities};
  std::string msg;
  BLAZE_RETURN_IF_ERROR(hs_->WriteMessage(protocol::EncodeHello(hello), &msg));
  BLAZE_RETURN_IF_ERROR(AppendPlain(FrameType::kHandshake, msg, out));
  state_ = State::kAwaitMessage3;
  return Status::Ok();
}

Status HandshakeMachine::ResponderOnMessage3(const Frame& frame, std::string* out) {
  BLAZE_ASSIGN_OR_RETURN(Frame m3, CheckHandshakeFrame(frame));
  std::string payload;
  BLAZE_RETURN_IF_ERROR(hs_->ReadMessage(m3.body, &payload));
  BLAZE_ASSIGN_OR_RETURN(protocol::Hello theirs, protocol::DecodeHello(payload));
  BLAZE_RETURN_IF_ERROR(CheckInitiatorHello(offer_, chosen_, theirs));
  TakeHello(theirs, &outcome_.peer);
  outcome_.peer.static_key = *hs_->remote_static();
  BLAZE_RETURN_IF_ERROR(hs_->Split(&outcome_.send, &outcome_.receive));
  keys_ready_ = true;
  std::optional<PeerIdentity> who = Lookup(outcome_.peer.static_key);
  FrameSealer sealer(std::move(outcome_.send), RekeyPolicy{options_.rekey_after_frames, options_.rekey_after_bytes});
  FrameHeader h;
  if (!who) {
    h.type = FrameType::kError;
    BLAZE_RETURN_IF_ERROR(sealer.Seal(h, protocol::EncodeErrorMessage({std::string(kUntrustedPeer), ""}), out));
    answered_ = true;
    return Status::FailedPrecondition("the initiator's static key " + PublicKeyToHex(outcome_.peer.static_key) +
                                      " is not in the trust store");
  }
  outcome_.peer.identity = *who;
  h.type = FrameType::kAccept;
  BLAZE_RETURN_IF_ERROR(sealer.Seal(h, {}, out));
  outcome_.send = std::move(sealer.cipher());
  std::copy(hs_->handshake_hash().begin(), hs_->handshake_hash().end(), outcome_.handshake_hash.begin());
  state_ = State::kDone;
  return Status::Ok();
}

Status FrameSender::SealMessage(protocol::FrameType type, uint16_t stream, std::string_view body, std::string* out,
                                size_t* frames) {
  std::vector<std::string_view> pieces = protocol::SplitMessage(body, kMaxSealedPiece);
  for (size_t i = 0; i < pieces.size(); ++i) {
    FrameHeader h;
    h.type = type;
    h.stream = stream;
    h.flags = i + 1 == pieces.size() ? protocol::flag::kFin : 0;
    BLAZE_RETURN_IF_ERROR(sealer_.Seal(h, pieces[i], out));
  }
  if (frames != nullptr) *frames = pieces.size();
  return Status::Ok();
}

Result<std::optional<ReceivedMessage>> FrameReceiver::OnFrame(const Frame& frame) {
  std::string plain;
  BLAZE_RETURN_IF_ERROR(opener_.Open(frame, &plain));
  ++frames_;
  if (frame.header.flags & protocol::flag::kCompressed) {
    return Status::Corruption("protocol error: compressed frame, but compression was not negotiated");
  }
  BLAZE_ASSIGN_OR_RETURN(std::optional<protocol::Message> m, assembler_.Add(frame.header, plain));
  if (!m) return std::optional<ReceivedMessage>();
  protocol::Message& msg = *m;
  switch (msg.type) {
    case FrameType::kData:
      return std::optional<ReceivedMessage>(ReceivedMessage{ReceivedMessage::Kind::kData, msg.stream, std::move(msg.body)});
    case FrameType::kPing:
      return std::optional<ReceivedMessage>(ReceivedMessage{ReceivedMessage::Kind::kPing, msg.stream, std::move(msg.body)});
    case FrameType::kPong:
      return std::optional<ReceivedMessage>();
    case FrameType::kClose:
      return Status::Aborted("the peer closed the secure channel");
    case FrameType::kError: {
      BLAZE_ASSIGN_OR_RETURN(protocol::ErrorMessage e, protocol::DecodeErrorMessage(msg.body));
      return Status::FailedPrecondition("the peer reported an error: " + e.code +
                                        (e.message.empty() ? "" : ": " + e.message));
    }
    case FrameType::kHandshake:
    case FrameType::kAccept:
      return Status::Corruption("protocol error: " + std::string(protocol::FrameTypeName(msg.type)) +
                                " frame after the handshake");
  }
  return Status::Internal("unhandled frame type");
}

}  // namespace blaze::transport
