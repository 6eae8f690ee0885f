// handshake_state.cc — see handshake_state.h. The token processing follows
// Noise rev 34 §5.3 line by line; no PSK tokens (neither pattern uses them).
#include "crypto/handshake_state.h"

#include <cstring>

#include "crypto/x25519.h"

namespace blaze::crypto {

std::string_view ProtocolName(HandshakePattern pattern) {
  switch (pattern) {
    case HandshakePattern::kXX: return "Noise_XX_25519_AESGCM_SHA256";
    case HandshakePattern::kIK: return "Noise_IK_25519_AESGCM_SHA256";
  }
  return "";
}

HandshakeState::HandshakeState(HandshakeConfig config, SymmetricState symmetric)
    : config_(std::move(config)), symmetric_(std::move(symmetric)) {}

Result<std::unique_ptr<HandshakeState>> HandshakeState::Create(HandshakeConfig config) {
  BLAZE_ASSIGN_OR_RETURN(SymmetricState symmetric, SymmetricState::Create(ProtocolName(config.pattern)));
  std::unique_ptr<HandshakeState> hs(new HandshakeState(std::move(config), std::move(symmetric)));
  BLAZE_RETURN_IF_ERROR(hs->symmetric_.MixHash(hs->config_.prologue));
  auto key_view = [](const PublicKey& k) { return AsView(k.data(), k.size()); };
  switch (hs->config_.pattern) {
    case HandshakePattern::kXX:
      hs->messages_ = {{Token::kE}, {Token::kE, Token::kEE, Token::kS, Token::kES}, {Token::kS, Token::kSE}};
      break;
    case HandshakePattern::kIK:
      hs->messages_ = {{Token::kE, Token::kES, Token::kS, Token::kSS}, {Token::kE, Token::kEE, Token::kSE}};
      // Pre-message "<- s": both sides hash the responder's static key.
      if (hs->config_.initiator) {
        if (!hs->config_.remote_static) {
          return Status::InvalidArgument("the IK initiator needs the responder's static public key");
        }
        hs->rs_ = hs->config_.remote_static;
        BLAZE_RETURN_IF_ERROR(hs->symmetric_.MixHash(key_view(*hs->rs_)));
      } else {
        BLAZE_RETURN_IF_ERROR(hs->symmetric_.MixHash(key_view(hs->config_.local_static.public_key)));
      }
      break;
  }
  hs->phase_ = hs->config_.initiator ? HandshakePhase::kWriteMessage : HandshakePhase::kReadMessage;
  return hs;
}

void HandshakeState::Advance() {
  ++next_message_;
  if (next_message_ == messages_.size()) {
    phase_ = HandshakePhase::kFinished;
  } else {
    phase_ = phase_ == HandshakePhase::kWriteMessage ? HandshakePhase::kReadMessage : HandshakePhase::kWriteMessage;
  }
}

Status HandshakeState::WriteMessage(std::string_view payload, std::string* out) {
  if (phase_ != HandshakePhase::kWriteMessage) {
    return Status::FailedPrecondition("Noise handshake: not this side's turn to write a message");
  }
  size_t start = out->size();
  Status s = Write(payload, out);
  if (s.ok() && out->size() - start > kMaxNoiseMessage) {
    s = Status::InvalidArgument("Noise handshake message would exceed 65535 bytes");
  }
  if (!s.ok()) {
    out->resize(start);
    phase_ = HandshakePhase::kFailed;
    return s;
  }
  Advance();
  return Status::Ok();
}

Status HandshakeState::ReadMessage(std::string_view message, std::string* payload) {
  if (phase_ != HandshakePhase::kReadMessage) {
    return Status::FailedPrecondition("Noise handshake: not this side's turn to read a message");
  }
  size_t start = payload->size();
  Status s = message.size() > kMaxNoiseMessage
                 ? Status::Corruption("Noise handshake message longer than 65535 bytes")
                 : Read(message, payload);
  if (!s.ok()) {
    payload->resize(start);
    phase_ = HandshakePhase::kFailed;
    return s;
  }
  Advance();
  return Status::Ok();
}

Status HandshakeState::MixDh(Token token) {
  const bool init = config_.initiator;
  const KeyPair* priv = nullptr;
  const std::optional<PublicKey>* pub = nullptr;
  switch (token) {
    case Token::kEE:
      priv = e_ ? &*e_ : nullptr;
      pub = &re_;
      break;
    case Token::kES:  // initiator: DH(e, rs); responder: DH(s, re)
      priv = init ? (e_ ? &*e_ : nullptr) : &config_.local_static;
      pub = init ? &rs_ : &re_;
      break;
    case Token::kSE:  // initiator: DH(s, re); responder: DH(e, rs)
      priv = init ? &config_.local_static : (e_ ? &*e_ : nullptr);
      pub = init ? &re_ : &rs_;
      break;
    case Token::kSS:
      priv = &config_.local_static;
      pub = &rs_;
      break;
    case Token::kE:
    case Token::kS:
      return Status::Internal("Noise handshake: MixDh called for a non-DH token");
  }
  if (priv == nullptr || !pub->has_value()) {
    return Status::Internal("Noise handshake: DH token before both keys are known");
  }
  BLAZE_ASSIGN_OR_RETURN(Secret32 dh, X25519(*priv, **pub));
  return symmetric_.MixKey(dh.view());
}

Status HandshakeState::Write(std::string_view payload, std::string* out) {
  for (Token t : messages_[next_message_]) {
    switch (t) {
      case Token::kE: {
        if (config_.fixed_ephemeral) {
          e_ = *config_.fixed_ephemeral;
        } else {
          BLAZE_ASSIGN_OR_RETURN(e_, GenerateKeyPair());
        }
        std::string_view pub = AsView(e_->public_key.data(), e_->public_key.size());
        out->append(pub);
        BLAZE_RETURN_IF_ERROR(symmetric_.MixHash(pub));
        break;
      }
      case Token::kS: {
        const PublicKey& s = config_.local_static.public_key;
        BLAZE_RETURN_IF_ERROR(symmetric_.EncryptAndHash(AsView(s.data(), s.size()), out));
        break;
      }
      case Token::kEE:
      case Token::kES:
      case Token::kSE:
      case Token::kSS:
        BLAZE_RETURN_IF_ERROR(MixDh(t));
        break;
    }
  }
  return symmetric_.EncryptAndHash(payload, out);
}

Status HandshakeState::Read(std::string_view message, std::string* payload) {
  for (Token t : messages_[next_message_]) {
    switch (t) {
      case Token::kE: {
        if (message.size() < kKeySize) return Status::Corruption("Noise handshake message truncated (ephemeral key)");
        PublicKey re;
        std::memcpy(re.data(), message.data(), kKeySize);
        re_ = re;
        BLAZE_RETURN_IF_ERROR(symmetric_.MixHash(message.substr(0, kKeySize)));
        message.remove_prefix(kKeySize);
        break;
      }
      case Token::kS: {
        size_t len = kKeySize + (symmetric_.HasKey() ? kGcmTagSize : 0);
        if (message.size() < len) return Status::Corruption("Noise handshake message truncated (static key)");
        std::string rs;
        Status s = symmetric_.DecryptAndHash(message.substr(0, len), &rs);
        if (!s.ok()) return Status::Corruption("Noise handshake: peer static key does not decrypt (" + s.message() + ")");
        PublicKey key;
        std::memcpy(key.data(), rs.data(), kKeySize);
        rs_ = key;
        message.remove_prefix(len);
        break;
      }
      case Token::kEE:
      case Token::kES:
      case Token::kSE:
      case Token::kSS:
        BLAZE_RETURN_IF_ERROR(MixDh(t));
        break;
    }
  }
  if (symmetric_.HasKey() && message.size() < kGcmTagSize) {
    return Status::Corruption("Noise handshake message truncated (payload tag)");
  }
  Status s = symmetric_.DecryptAndHash(message, payload);
  if (!s.ok()) return Status::Corruption("Noise handshake: payload does not decrypt (" + s.message() + ")");
  return Status::Ok();
}

Status HandshakeState::Split(CipherState* send, CipherState* receive) {
  if (phase_ != HandshakePhase::kFinished) {
    return Status::FailedPrecondition("Noise handshake: Split() before the last message");
  }
  return config_.initiator ? symmetric_.Split(send, receive) : symmetric_.Split(receive, send);
}

}  // namespace blaze::crypto
