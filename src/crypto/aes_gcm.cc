// aes_gcm.cc — see aes_gcm.h. The key is set once per context; each call only
// sets the nonce. EVP_CIPHER_CTX_free cleanses the key schedule.
#include "crypto/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <utility>

#include "crypto/openssl_error.h"

namespace blaze::crypto {
namespace {

// Fetched once and shared (fetched objects are immutable and thread-safe).
// EVP_aes_256_gcm() would make OpenSSL 3 look the algorithm up again on
// every key setup, three times the cost of the setup itself.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

}  // namespace

Result<AesGcm> AesGcm::Create(const uint8_t* key) {
  const EVP_CIPHER* cipher = Aes256Gcm();
  if (cipher == nullptr) return OpenSslError("fetching AES-256-GCM");
  AesGcm g;
  g.enc_ = EVP_CIPHER_CTX_new();
  g.dec_ = EVP_CIPHER_CTX_new();
  if (g.enc_ == nullptr || g.dec_ == nullptr) return OpenSslError("allocating AES-GCM contexts");
  if (EVP_EncryptInit_ex(g.enc_, cipher, nullptr, key, nullptr) != 1 ||
      EVP_DecryptInit_ex(g.dec_, cipher, nullptr, key, nullptr) != 1) {
    return OpenSslError("AES-256-GCM key setup");
  }
  return g;
}

AesGcm::AesGcm(AesGcm&& o) noexcept : enc_(std::exchange(o.enc_, nullptr)), dec_(std::exchange(o.dec_, nullptr)) {}

AesGcm& AesGcm::operator=(AesGcm&& o) noexcept {
  if (this != &o) {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    enc_ = std::exchange(o.enc_, nullptr);
    dec_ = std::exchange(o.dec_, nullptr);
  }
  return *this;
}

AesGcm::~AesGcm() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

Status AesGcm::Seal(const uint8_t* nonce, std::string_view ad, std::string_view plaintext, std::string* out) {
  if (plaintext.size() > static_cast<size_t>(INT_MAX) - kGcmTagSize || ad.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("AES-GCM input too large");
  }
  size_t start = out->size();
  out->resize(start + plaintext.size() + kGcmTagSize);
  auto* dst = reinterpret_cast<unsigned char*>(out->data() + start);
  int len = 0;
  if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce) != 1 ||
      (!ad.empty() && EVP_EncryptUpdate(enc_, nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                                        static_cast<int>(ad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(enc_, dst, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                         static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(enc_, dst + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, dst + plaintext.size()) != 1) {
    out->resize(start);
    return OpenSslError("AES-256-GCM seal");
  }
  return Status::Ok();
}

Status AesGcm::Open(const uint8_t* nonce, std::string_view ad, std::string_view ciphertext, std::string* out) {
  if (ciphertext.size() < kGcmTagSize) {
    return Status::Corruption("AES-GCM ciphertext of " + std::to_string(ciphertext.size()) +
                              " bytes is shorter than the 16-byte tag");
  }
  if (ciphertext.size() > static_cast<size_t>(INT_MAX) || ad.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("AES-GCM input too large");
  }
  size_t body = ciphertext.size() - kGcmTagSize;
  size_t start = out->size();
  out->resize(start + body);
  auto* dst = reinterpret_cast<unsigned char*>(out->data() + start);
  const auto* src = reinterpret_cast<const unsigned char*>(ciphertext.data());
  unsigned char tag[kGcmTagSize];
  std::memcpy(tag, src + body, kGcmTagSize);
  int len = 0;
  if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) != 1 ||
      (!ad.empty() && EVP_DecryptUpdate(dec_, nullptr, &len, reinterpret_cast<const unsigned char*>(ad.data()),
                                        static_cast<int>(ad.size())) != 1) ||
      (body > 0 && EVP_DecryptUpdate(dec_, dst, &len, src, static_cast<int>(body)) != 1) ||
      EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag) != 1) {
    OPENSSL_cleanse(dst, body);
    out->resize(start);
    return OpenSslError("AES-256-GCM open");
  }
  if (EVP_DecryptFinal_ex(dec_, dst + body, &len) != 1) {
    ClearOpenSslErrors();
    OPENSSL_cleanse(dst, body);
    out->resize(start);
    return Status::Corruption("AES-256-GCM authentication failed (tampered or wrong key/nonce)");
  }
  return Status::Ok();
}

}  // namespace blaze::crypto
