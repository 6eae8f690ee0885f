// cipher_state.cc — see cipher_state.h.
#include "crypto/cipher_state.h"

#include <cstring>

namespace blaze::crypto {

void CipherState::Nonce(uint64_t n, uint8_t out[kGcmNonceSize]) {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
}

Status CipherState::InitializeKey(const Secret32& key) {
  BLAZE_ASSIGN_OR_RETURN(AesGcm aead, AesGcm::Create(key.data()));
  k_ = key;
  aead_.emplace(std::move(aead));
  n_ = 0;
  return Status::Ok();
}

Status CipherState::EncryptWithAd(std::string_view ad, std::string_view plaintext, std::string* out) {
  if (!aead_) {
    out->append(plaintext);
    return Status::Ok();
  }
  if (n_ == kMaxNonce) {
    return Status::FailedPrecondition("Noise nonce exhausted: counter reached 2^64-1; the session must end");
  }
  uint8_t nonce[kGcmNonceSize];
  Nonce(n_, nonce);
  BLAZE_RETURN_IF_ERROR(aead_->Seal(nonce, ad, plaintext, out));
  ++n_;
  return Status::Ok();
}

Status CipherState::DecryptWithAd(std::string_view ad, std::string_view ciphertext, std::string* out) {
  if (!aead_) {
    out->append(ciphertext);
    return Status::Ok();
  }
  if (n_ == kMaxNonce) {
    return Status::FailedPrecondition("Noise nonce exhausted: counter reached 2^64-1; the session must end");
  }
  uint8_t nonce[kGcmNonceSize];
  Nonce(n_, nonce);
  BLAZE_RETURN_IF_ERROR(aead_->Open(nonce, ad, ciphertext, out));
  ++n_;
  return Status::Ok();
}

Status CipherState::Rekey() {
  if (!aead_) return Status::FailedPrecondition("Rekey() on a CipherState without a key");
  uint8_t nonce[kGcmNonceSize];
  Nonce(kMaxNonce, nonce);
  static const char kZeros[32] = {};
  std::string block;
  BLAZE_RETURN_IF_ERROR(aead_->Seal(nonce, {}, std::string_view(kZeros, 32), &block));
  Secret32 next;
  std::memcpy(next.data(), block.data(), next.size());
  WipeString(&block);
  uint64_t n = n_;
  BLAZE_RETURN_IF_ERROR(InitializeKey(next));
  n_ = n;
  return Status::Ok();
}

}  // namespace blaze::crypto
