// aes_gcm.h — AES-256-GCM with a 96-bit nonce and a 16-byte tag, through
// OpenSSL 3 EVP. An AesGcm object holds one key (scheduled once) and two
// cipher contexts; it is move-only and not thread-safe (confine it to one
// thread, as CipherState does). The key is wiped when the object dies.
#ifndef BLAZE_CRYPTO_AES_GCM_H_
#define BLAZE_CRYPTO_AES_GCM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "blaze/status.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace blaze::crypto {

inline constexpr size_t kAesKeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

class AesGcm {
 public:
  // `key` is kAesKeySize bytes.
  static Result<AesGcm> Create(const uint8_t* key);
  AesGcm(AesGcm&&) noexcept;
  AesGcm& operator=(AesGcm&&) noexcept;
  ~AesGcm();

  // Appends ciphertext || tag (plaintext.size() + 16 bytes) to *out.
  Status Seal(const uint8_t* nonce, std::string_view ad, std::string_view plaintext, std::string* out);
  // Checks the tag and appends the plaintext to *out. kCorruption if the tag
  // does not verify (nothing is appended then) or the input is shorter than a tag.
  Status Open(const uint8_t* nonce, std::string_view ad, std::string_view ciphertext, std::string* out);

 private:
  AesGcm() = default;
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
};

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_AES_GCM_H_
