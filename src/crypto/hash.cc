// hash.cc — see hash.h. Message digests use EVP_MD_CTX; HMAC uses EVP_MAC and
// HKDF uses EVP_KDF. SHA-256, HMAC and HKDF are each fetched once and shared
// (fetched objects are immutable and safe to share between threads); an
// implicit fetch per call would cost more than hashing a handshake message.
#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

#include "crypto/openssl_error.h"

namespace blaze::crypto {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

EVP_MD* Sha256Algorithm() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

}  // namespace

Result<Digest32> Sha256(std::initializer_list<std::string_view> parts) {
  EVP_MD* md = Sha256Algorithm();
  if (md == nullptr) return OpenSslError("fetching SHA-256");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) return OpenSslError("SHA-256 init");
  for (std::string_view p : parts) {
    if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) return OpenSslError("SHA-256 update");
  }
  Digest32 out;
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &n) != 1 || n != out.size()) return OpenSslError("SHA-256 final");
  return out;
}

Result<Digest32> HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  EVP_MAC* mac = HmacAlgorithm();
  if (mac == nullptr) return OpenSslError("fetching HMAC");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  // EVP_MAC_init refuses a null key pointer even with length 0.
  static const unsigned char kEmpty[1] = {0};
  const unsigned char* k = key.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_MAC_init(ctx.get(), k, key.size(), params) != 1) return OpenSslError("HMAC-SHA256 init");
  for (std::string_view p : parts) {
    if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(p.data()), p.size()) != 1) {
      return OpenSslError("HMAC-SHA256 update");
    }
  }
  Digest32 out;
  size_t n = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &n, out.size()) != 1 || n != out.size()) {
    return OpenSslError("HMAC-SHA256 final");
  }
  return out;
}

Status HkdfSha256(std::string_view salt, std::string_view ikm, std::string_view info, size_t length,
                  std::string* okm) {
  if (length > 255 * kSha256Size) {
    return Status::InvalidArgument("HKDF-SHA256 output of " + std::to_string(length) +
                                   " bytes requested; at most 8160 are possible");
  }
  okm->assign(length, '\0');
  if (length == 0) return Status::Ok();
  EVP_KDF* kdf = HkdfAlgorithm();
  if (kdf == nullptr) return OpenSslError("fetching HKDF");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return OpenSslError("HKDF context");
  char digest[] = "SHA256";
  // OpenSSL wants non-null pointers; an empty salt is the RFC's default
  // (HashLen zeros), which HMAC treats exactly like an empty key.
  static const char kZeros[kSha256Size] = {};
  std::string_view s = salt.empty() ? std::string_view(kZeros, kSha256Size) : salt;
  static const char kNothing[1] = {0};
  OSSL_PARAM params[5];
  int i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.empty() ? kNothing : ikm.data()), ikm.size());
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(s.data()), s.size());
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_INFO, const_cast<char*>(info.empty() ? kNothing : info.data()), info.size());
  params[i] = OSSL_PARAM_END;
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(okm->data()), length, params) != 1) {
    okm->clear();
    return OpenSslError("HKDF-SHA256 derive");
  }
  return Status::Ok();
}

}  // namespace blaze::crypto
