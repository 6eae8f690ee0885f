// handshake_state.h — the Noise HandshakeState (rev 34 §5.3) for
// Noise_XX_25519_AESGCM_SHA256 (what BlazeDB runs) and
// Noise_IK_25519_AESGCM_SHA256 (implemented to run the published vectors).
//
//   XX:  -> e
//        <- e, ee, s, es
//        -> s, se
//   IK:  <- s                (pre-message: the initiator knows rs)
//        ...
//        -> e, es, s, ss
//        <- e, ee, se
//
// Not thread-safe: one object per handshake, used by one thread. After the
// last message, Split() gives the two transport CipherStates. Any failure is
// terminal (kFailed); a failed handshake cannot be resumed or retried.
#ifndef BLAZE_CRYPTO_HANDSHAKE_STATE_H_
#define BLAZE_CRYPTO_HANDSHAKE_STATE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/keys.h"
#include "blaze/status.h"
#include "crypto/cipher_state.h"
#include "crypto/symmetric_state.h"

namespace blaze::crypto {

inline constexpr size_t kMaxNoiseMessage = 65535;  // Noise §3

enum class HandshakePattern { kXX, kIK };

// "Noise_XX_25519_AESGCM_SHA256" or "Noise_IK_25519_AESGCM_SHA256".
std::string_view ProtocolName(HandshakePattern pattern);

struct HandshakeConfig {
  HandshakePattern pattern = HandshakePattern::kXX;
  bool initiator = true;
  std::string prologue;
  KeyPair local_static;
  // Required for the IK initiator (the responder's key is a pre-message); unused by XX.
  std::optional<PublicKey> remote_static;
  // Tests, vectors and fuzzing only: use this key pair instead of generating
  // the ephemeral key (Noise's GENERATE_KEYPAIR()). The public half must match.
  std::optional<KeyPair> fixed_ephemeral;
};

// Where a handshake is. Each arrow is one WriteMessage or ReadMessage call:
//
//          Create
//   initiator |    | responder
//             v    v
//   kWriteMessage <------> kReadMessage     (the pattern alternates turns)
//             |              |
//             +------+-------+
//                    | after the pattern's last message
//                    v
//                kFinished --> Split()
//
//   a failed call in either state --> kFailed (terminal)
enum class HandshakePhase { kWriteMessage, kReadMessage, kFinished, kFailed };

class HandshakeState {
 public:
  static Result<std::unique_ptr<HandshakeState>> Create(HandshakeConfig config);

  HandshakePhase phase() const { return phase_; }
  // Appends the next handshake message carrying `payload` to *out.
  [[nodiscard]] Status WriteMessage(std::string_view payload, std::string* out);
  // Processes the next handshake message; appends its payload to *payload.
  [[nodiscard]] Status ReadMessage(std::string_view message, std::string* payload);
  // After kFinished: the CipherStates for sending and for receiving.
  [[nodiscard]] Status Split(CipherState* send, CipherState* receive);

  // The handshake hash h (channel binding); final once kFinished.
  const Digest32& handshake_hash() const { return symmetric_.handshake_hash(); }
  // The peer's static key, once a message carrying it was read (or the pre-message).
  const std::optional<PublicKey>& remote_static() const { return rs_; }

 private:
  enum class Token { kE, kS, kEE, kES, kSE, kSS };

  HandshakeState(HandshakeConfig config, SymmetricState symmetric);
  Status Write(std::string_view payload, std::string* out);
  Status Read(std::string_view message, std::string* payload);
  Status MixDh(Token token);
  void Advance();

  HandshakeConfig config_;
  SymmetricState symmetric_;
  std::vector<std::vector<Token>> messages_;
  size_t next_message_ = 0;
  HandshakePhase phase_ = HandshakePhase::kFailed;
  std::optional<KeyPair> e_;
  std::optional<PublicKey> re_;
  std::optional<PublicKey> rs_;
};

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_HANDSHAKE_STATE_H_
