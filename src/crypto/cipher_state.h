// cipher_state.h — the Noise CipherState (Noise rev 34 §5.1) for
// AESGCM: a key k, a 64-bit counter n, and the AEAD built on them.
//
// Nonce layout for AESGCM (§12.5): 4 zero bytes, then n as 64-bit big-endian.
// n = 2^64-1 is reserved for Rekey(), so encryption or decryption with
// n = 2^64-1 fails instead of wrapping. A failed decryption leaves n
// unchanged (Noise §5.1: "the nonce is not incremented"). Not thread-safe:
// one CipherState belongs to one direction of one channel.
#ifndef BLAZE_CRYPTO_CIPHER_STATE_H_
#define BLAZE_CRYPTO_CIPHER_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blaze/status.h"
#include "crypto/aes_gcm.h"
#include "crypto/secret.h"

namespace blaze::crypto {

inline constexpr uint64_t kMaxNonce = UINT64_MAX;  // reserved for Rekey()

class CipherState {
 public:
  CipherState() = default;
  CipherState(CipherState&&) noexcept = default;
  CipherState& operator=(CipherState&&) noexcept = default;

  // Sets k and n = 0.
  [[nodiscard]] Status InitializeKey(const Secret32& key);
  bool HasKey() const { return aead_.has_value(); }
  uint64_t nonce() const { return n_; }
  // Noise SetNonce(): used to resume or, in tests, to reach the counter limit.
  void SetNonce(uint64_t n) { n_ = n; }

  // Appends ENCRYPT(k, n++, ad, plaintext) to *out, or the plaintext when there is no key.
  [[nodiscard]] Status EncryptWithAd(std::string_view ad, std::string_view plaintext, std::string* out);
  // Appends DECRYPT(k, n, ad, ciphertext) to *out and then increments n; on
  // failure appends nothing and keeps n.
  [[nodiscard]] Status DecryptWithAd(std::string_view ad, std::string_view ciphertext, std::string* out);
  // k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes); n is kept.
  [[nodiscard]] Status Rekey();

 private:
  static void Nonce(uint64_t n, uint8_t out[kGcmNonceSize]);

  Secret32 k_;
  std::optional<AesGcm> aead_;
  uint64_t n_ = 0;
};

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_CIPHER_STATE_H_
