// symmetric_state.h — the Noise SymmetricState (rev 34 §5.2) for
// SHA256 and AESGCM: chaining key ck, handshake hash h, and a CipherState.
// HKDF here is Noise's (§4.3): HMAC-SHA256 with ck as the key. Not
// thread-safe; owned by one HandshakeState.
#ifndef BLAZE_CRYPTO_SYMMETRIC_STATE_H_
#define BLAZE_CRYPTO_SYMMETRIC_STATE_H_

#include <string>
#include <string_view>

#include "blaze/status.h"
#include "crypto/cipher_state.h"
#include "crypto/hash.h"
#include "crypto/secret.h"

namespace blaze::crypto {

// Noise HKDF(chaining_key, input_key_material, 2 or 3 outputs).
[[nodiscard]] Status NoiseHkdf(std::string_view chaining_key, std::string_view ikm, Secret32* out1, Secret32* out2,
                               Secret32* out3 = nullptr);

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name).
  static Result<SymmetricState> Create(std::string_view protocol_name);

  [[nodiscard]] Status MixKey(std::string_view ikm);
  [[nodiscard]] Status MixHash(std::string_view data);
  [[nodiscard]] Status EncryptAndHash(std::string_view plaintext, std::string* out);
  [[nodiscard]] Status DecryptAndHash(std::string_view ciphertext, std::string* out);
  // Returns the two transport CipherStates (initiator-to-responder first).
  [[nodiscard]] Status Split(CipherState* c1, CipherState* c2);

  bool HasKey() const { return cipher_.HasKey(); }
  const Digest32& handshake_hash() const { return h_; }

 private:
  SymmetricState() = default;
  std::string_view HashView() const { return {reinterpret_cast<const char*>(h_.data()), h_.size()}; }

  Secret32 ck_;
  Digest32 h_{};
  CipherState cipher_;
};

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_SYMMETRIC_STATE_H_
