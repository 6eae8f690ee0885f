// channel_handshake.cc — see channel_handshake.h.
#include "transport/channel_handshake.h"

#include <chrono>

#include "crypto/handshake_state.h"
#include "protocol/hello.h"
#include "protocol/version_offer.h"
#include "transport/frame_cipher.h"

namespace blaze::transport {
namespace {

using protocol::Frame;
using protocol::FrameHeader;
using protocol::FrameType;

constexpr std::string_view kUntrustedPeer = "untrusted-peer";
constexpr std::string_view kHandshakeFailed = "handshake-failed";
constexpr std::string_view kNoCommonVersion = "no-common-version";

// What the failure path of RunHandshake must still do.
struct Progress {
  bool keys_ready = false;  // transport keys exist: a plaintext error would be out of place
  bool answered = false;    // an error frame was sent, or the peer sent one: say nothing more
};

std::string VersionList(const std::vector<uint8_t>& versions) {
  std::string out = "[";
  for (size_t i = 0; i < versions.size(); ++i) out += (i ? ", " : "") + std::to_string(versions[i]);
  return out + "]";
}

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

// The status for an error frame the peer sent instead of a handshake message.
Status PeerRefused(std::string_view body, Progress* progress) {
  progress->answered = true;
  Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(body);
  if (e.ok() && e->code == kNoCommonVersion) {
    return Status::NotSupported("no common protocol version: the peer supports none of the versions we offered");
  }
  return Status::FailedPrecondition("the peer refused the handshake: " +
                                    (e.ok() ? e->code : std::string("malformed error frame")));
}

Result<Frame> ReadHandshakeFrame(FrameReader* reader, std::chrono::steady_clock::time_point deadline,
                                 Progress* progress) {
  BLAZE_ASSIGN_OR_RETURN(Frame f, reader->Read(deadline));
  switch (f.header.type) {
    case FrameType::kHandshake:
      if (f.header.flags != protocol::flag::kFin || f.header.stream != 0) {
        return Status::Corruption("protocol error: a handshake frame must have flags = FIN only and stream 0 (a "
                                  "handshake message is one frame), got flags " +
                                  std::to_string(f.header.flags) + " and stream " + std::to_string(f.header.stream));
      }
      return f;
    case FrameType::kError:
      return PeerRefused(f.body, progress);
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

Result<HandshakeOutcome> Run(const ChannelOptions& options, bool initiator, ByteStream* stream, FrameReader* reader,
                             const KeyPair* fixed_ephemeral, Progress* progress, HandshakeOutcome* out) {
  if (options.trust == nullptr) return Status::InvalidArgument("ChannelOptions.trust is required");
  BLAZE_ASSIGN_OR_RETURN(const std::vector<uint8_t> ours, protocol::CanonicalVersions(options.versions));
  const auto deadline = std::chrono::steady_clock::now() + options.handshake_timeout;
  crypto::HandshakeConfig config;
  config.pattern = crypto::HandshakePattern::kXX;
  config.initiator = initiator;
  BLAZE_ASSIGN_OR_RETURN(config.prologue, protocol::BuildPrologue(options.database));
  config.local_static = options.identity;
  if (fixed_ephemeral != nullptr) config.fixed_ephemeral = *fixed_ephemeral;
  BLAZE_ASSIGN_OR_RETURN(std::unique_ptr<crypto::HandshakeState> hs, crypto::HandshakeState::Create(config));
  protocol::Hello hello{ours, 0, options.node_name, options.capabilities};

  std::string msg, payload;
  if (initiator) {
    // Message 1 carries the offer in plaintext; Noise hashes it into h.
    BLAZE_RETURN_IF_ERROR(hs->WriteMessage(protocol::EncodeVersionOffer(ours), &msg));
    BLAZE_RETURN_IF_ERROR(SendPlain(stream, FrameType::kHandshake, msg));
    BLAZE_ASSIGN_OR_RETURN(Frame m2, ReadHandshakeFrame(reader, deadline, progress));
    BLAZE_RETURN_IF_ERROR(hs->ReadMessage(m2.body, &payload));
    BLAZE_ASSIGN_OR_RETURN(protocol::Hello theirs, protocol::DecodeHello(payload));
    BLAZE_RETURN_IF_ERROR(CheckResponderChoice(ours, theirs));
    TakeHello(theirs, &out->peer);
    out->peer.static_key = *hs->remote_static();
    std::optional<PeerIdentity> who = options.trust->Find(out->peer.static_key);
    if (!who) {
      // Refuse before sending our own static key to an unknown responder.
      RefuseInPlaintext(stream, kUntrustedPeer);
      progress->answered = true;
      return Status::FailedPrecondition("the responder's static key " + PublicKeyToHex(out->peer.static_key) +
                                        " is not in the trust store");
    }
    out->peer.identity = *who;
    hello.version = theirs.version;
    msg.clear();
    BLAZE_RETURN_IF_ERROR(hs->WriteMessage(protocol::EncodeHello(hello), &msg));
    BLAZE_RETURN_IF_ERROR(SendPlain(stream, FrameType::kHandshake, msg));
    BLAZE_RETURN_IF_ERROR(hs->Split(&out->send, &out->receive));
    progress->keys_ready = true;
    // The responder answers with a sealed kAccept, or a sealed error. Past
    // message 3 only what the transport key opens counts: a plaintext error
    // frame here could come from anyone on the path, so it is not taken as
    // the responder's answer (its code is not believed) but as a failure.
    BLAZE_ASSIGN_OR_RETURN(Frame answer, reader->Read(deadline));
    FrameOpener opener(std::move(out->receive));
    std::string body;
    Status opened = opener.Open(answer, &body);
    if (!opened.ok()) {
      progress->answered = true;  // say nothing more to a peer that broke the protocol
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
    BLAZE_ASSIGN_OR_RETURN(Frame m1, ReadHandshakeFrame(reader, deadline, progress));
    BLAZE_RETURN_IF_ERROR(hs->ReadMessage(m1.body, &payload));
    BLAZE_ASSIGN_OR_RETURN(const std::vector<uint8_t> offer, protocol::DecodeVersionOffer(payload));
    std::optional<uint8_t> chosen = protocol::HighestCommonVersion(ours, offer);
    if (!chosen) {
      // The initiator learns only that there is no overlap, not our list.
      RefuseInPlaintext(stream, kNoCommonVersion);
      progress->answered = true;
      return Status::NotSupported("no common protocol version: the initiator offered " + VersionList(offer) +
                                  ", we support " + VersionList(ours));
    }
    hello.version = *chosen;
    BLAZE_RETURN_IF_ERROR(hs->WriteMessage(protocol::EncodeHello(hello), &msg));
    BLAZE_RETURN_IF_ERROR(SendPlain(stream, FrameType::kHandshake, msg));
    BLAZE_ASSIGN_OR_RETURN(Frame m3, ReadHandshakeFrame(reader, deadline, progress));
    payload.clear();
    BLAZE_RETURN_IF_ERROR(hs->ReadMessage(m3.body, &payload));
    BLAZE_ASSIGN_OR_RETURN(protocol::Hello theirs, protocol::DecodeHello(payload));
    BLAZE_RETURN_IF_ERROR(CheckInitiatorHello(offer, *chosen, theirs));
    TakeHello(theirs, &out->peer);
    out->peer.static_key = *hs->remote_static();
    BLAZE_RETURN_IF_ERROR(hs->Split(&out->send, &out->receive));
    progress->keys_ready = true;
    std::optional<PeerIdentity> who = options.trust->Find(out->peer.static_key);
    FrameSealer sealer(std::move(out->send), RekeyPolicy{options.rekey_after_frames, options.rekey_after_bytes});
    std::string frame;
    FrameHeader h;
    if (!who) {
      h.type = FrameType::kError;
      BLAZE_RETURN_IF_ERROR(sealer.Seal(h, protocol::EncodeErrorMessage({std::string(kUntrustedPeer), ""}), &frame));
      stream->Write(frame).IgnoreError();
      stream->Close();
      progress->answered = true;
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
                                      FrameReader* reader, const KeyPair* fixed_ephemeral) {
  Progress progress;
  HandshakeOutcome outcome;
  Result<HandshakeOutcome> r = Run(options, initiator, stream, reader, fixed_ephemeral, &progress, &outcome);
  if (!r.ok()) {
    if (options.log) options.log("handshake failed: " + r.status().ToString());
    // Where nothing was said yet and no transport keys exist, say only that it failed.
    if (!progress.answered && !progress.keys_ready) RefuseInPlaintext(stream, kHandshakeFailed);
    stream->Close();
    return Status(r.status().code(), "secure channel handshake failed: " + r.status().message());
  }
  return r;
}

}  // namespace blaze::transport
