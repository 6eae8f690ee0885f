// channel_handshake.cc — see channel_handshake.h.
#include "transport/channel_handshake.h"

#include <chrono>

#include "crypto/handshake_state.h"
#include "protocol/hello.h"
#include "transport/frame_cipher.h"

namespace blaze::transport {
namespace {

using protocol::Frame;
using protocol::FrameHeader;
using protocol::FrameType;

constexpr std::string_view kUntrustedPeer = "untrusted-peer";
constexpr std::string_view kHandshakeFailed = "handshake-failed";

Status SendPlain(ByteStream* stream, FrameType type, std::string_view body) {
  FrameHeader h;
  h.type = type;
  std::string out;
  BLAZE_RETURN_IF_ERROR(protocol::AppendFrame(h, body, &out));
  return stream->Write(out);
}

// Best effort: tells the peer only the code, then closes.
void RefuseInPlaintext(ByteStream* stream, std::string_view code) {
  stream->Write([&] {
    std::string out;
    FrameHeader h;
    h.type = FrameType::kError;
    protocol::AppendFrame(h, protocol::EncodeErrorMessage({std::string(code), ""}), &out).IgnoreError();
    return out;
  }()).IgnoreError();
  stream->Close();
}

Result<Frame> ReadHandshakeFrame(FrameReader* reader, std::chrono::steady_clock::time_point deadline) {
  BLAZE_ASSIGN_OR_RETURN(Frame f, reader->Read(deadline));
  switch (f.header.type) {
    case FrameType::kHandshake:
      if ((f.header.flags & ~protocol::flag::kFin) != 0 || f.header.stream != 0) {
        return Status::Corruption("protocol error: handshake frame with flags or a stream set");
      }
      return f;
    case FrameType::kError: {
      Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(f.body);
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

Status CheckHello(const ChannelOptions& options, std::string_view payload, PeerInfo* peer) {
  BLAZE_ASSIGN_OR_RETURN(protocol::Hello hello, protocol::DecodeHello(payload));
  if (hello.versions != options.versions) {
    return Status::NotSupported("protocol version mismatch in the peer's hello");
  }
  peer->hello_identity = hello.identity;
  peer->versions = hello.versions;
  peer->capabilities = hello.capabilities;
  return Status::Ok();
}

Result<HandshakeOutcome> Run(const ChannelOptions& options, bool initiator, ByteStream* stream, FrameReader* reader,
                             bool* keys_ready, HandshakeOutcome* out) {
  if (options.trust == nullptr) return Status::InvalidArgument("ChannelOptions.trust is required");
  const auto deadline = std::chrono::steady_clock::now() + options.handshake_timeout;
  crypto::HandshakeConfig config;
  config.pattern = crypto::HandshakePattern::kXX;
  config.initiator = initiator;
  BLAZE_ASSIGN_OR_RETURN(config.prologue, protocol::BuildPrologue(options.versions, options.database));
  config.local_static = options.identity;
  BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<crypto::HandshakeState> hs, crypto::HandshakeState::Create(config));
  const std::string hello = protocol::EncodeHello({options.versions, options.node_name, options.capabilities});

  std::string msg, payload;
  if (initiator) {
    BLAZE_RETURN_IF_ERROR(hs->WriteMessage({}, &msg));
    BLAZE_RETURN_IF_ERROR(SendPlain(stream, FrameType::kHandshake, msg));
    BLAZE_ASSIGN_OR_RETURN(Frame m2, ReadHandshakeFrame(reader, deadline));
    BLAZE_RETURN_IF_ERROR(hs->ReadMessage(m2.body, &payload));
    BLAZE_RETURN_IF_ERROR(CheckHello(options, payload, &out->peer));
    out->peer.static_key = *hs->remote_static();
    std::optional<PeerIdentity> who = options.trust->Find(out->peer.static_key);
    if (!who) {
      // Refuse before sending our own static key to an unknown responder.
      RefuseInPlaintext(stream, kUntrustedPeer);
      return Status::FailedPrecondition("the responder's static key " + PublicKeyToHex(out->peer.static_key) +
                                        " is not in the trust store");
    }
    out->peer.identity = *who;
    msg.clear();
    BLAZE_RETURN_IF_ERROR(hs->WriteMessage(hello, &msg));
    BLAZE_RETURN_IF_ERROR(SendPlain(stream, FrameType::kHandshake, msg));
    BLAZE_RETURN_IF_ERROR(hs->Split(&out->send, &out->receive));
    *keys_ready = true;
    // The responder answers with a sealed kAccept, or an error.
    BLAZE_ASSIGN_OR_RETURN(Frame answer, reader->Read(deadline));
    FrameOpener opener(std::move(out->receive));
    std::string body;
    Status opened = opener.Open(answer, &body);
    if (!opened.ok()) {
      if (answer.header.type == FrameType::kError) {
        Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(answer.body);
        return Status::FailedPrecondition("the peer refused the handshake: " +
                                          (e.ok() ? e->code : std::string("malformed error frame")));
      }
      return opened;
    }
    out->receive = std::move(opener.cipher());
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
  } else {
    BLAZE_ASSIGN_OR_RETURN(Frame m1, ReadHandshakeFrame(reader, deadline));
    BLAZE_RETURN_IF_ERROR(hs->ReadMessage(m1.body, &payload));
    if (!payload.empty()) return Status::Corruption("protocol error: first handshake message carries a payload");
    BLAZE_RETURN_IF_ERROR(hs->WriteMessage(hello, &msg));
    BLAZE_RETURN_IF_ERROR(SendPlain(stream, FrameType::kHandshake, msg));
    BLAZE_ASSIGN_OR_RETURN(Frame m3, ReadHandshakeFrame(reader, deadline));
    payload.clear();
    BLAZE_RETURN_IF_ERROR(hs->ReadMessage(m3.body, &payload));
    BLAZE_RETURN_IF_ERROR(CheckHello(options, payload, &out->peer));
    out->peer.static_key = *hs->remote_static();
    BLAZE_RETURN_IF_ERROR(hs->Split(&out->send, &out->receive));
    *keys_ready = true;
    std::optional<PeerIdentity> who = options.trust->Find(out->peer.static_key);
    FrameSealer sealer(std::move(out->send), RekeyPolicy{options.rekey_after_frames, options.rekey_after_bytes});
    std::string frame;
    FrameHeader h;
    if (!who) {
      h.type = FrameType::kError;
      BLAZE_RETURN_IF_ERROR(sealer.Seal(h, protocol::EncodeErrorMessage({std::string(kUntrustedPeer), ""}), &frame));
      stream->Write(frame).IgnoreError();
      stream->Close();
      return Status::FailedPrecondition("the initiator's static key " + PublicKeyToHex(out->peer.static_key) +
                                        " is not in the trust store");
    }
    out->peer.identity = *who;
    h.type = FrameType::kAccept;
    BLAZE_RETURN_IF_ERROR(sealer.Seal(h, {}, &frame));
    BLAZE_RETURN_IF_ERROR(stream->Write(frame));
    out->send = std::move(sealer.cipher());
  }
  std::copy(hs->handshake_hash().begin(), hs->handshake_hash().end(), out->handshake_hash.begin());
  return std::move(*out);
}

}  // namespace

Result<HandshakeOutcome> RunHandshake(const ChannelOptions& options, bool initiator, ByteStream* stream,
                                      FrameReader* reader) {
  bool keys_ready = false;
  HandshakeOutcome outcome;
  Result<HandshakeOutcome> r = Run(options, initiator, stream, reader, &keys_ready, &outcome);
  if (!r.ok()) {
    if (options.log) options.log("handshake failed: " + r.status().ToString());
    // A refusal was already sent where one applies; otherwise say only that it failed.
    if (r.status().code() != StatusCode::kFailedPrecondition && !keys_ready) {
      RefuseInPlaintext(stream, kHandshakeFailed);
    }
    stream->Close();
    return Status(r.status().code(), "secure channel handshake failed: " + r.status().message());
  }
  return r;
}

}  // namespace blaze::transport
