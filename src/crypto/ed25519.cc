// ed25519.cc — see ed25519.h.
#include "crypto/ed25519.h"

#include <openssl/evp.h>

#include <memory>

#include "crypto/openssl_error.h"
#include "crypto/random.h"

namespace blaze::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

}  // namespace

Result<Ed25519KeyPair> GenerateEd25519() {
  Secret32 seed;
  BLAZE_RETURN_IF_ERROR(SecureRandom(seed.data(), seed.size()));
  return Ed25519FromSeed(seed);
}

Result<Ed25519KeyPair> Ed25519FromSeed(const Secret32& seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return OpenSslError("loading an Ed25519 private key");
  Ed25519KeyPair pair;
  pair.seed = seed;
  size_t n = pair.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pair.public_key.data(), &n) != 1 || n != pair.public_key.size()) {
    return OpenSslError("computing an Ed25519 public key");
  }
  return pair;
}

Result<Ed25519Signature> Ed25519Sign(const Secret32& seed, std::string_view message) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return OpenSslError("loading an Ed25519 private key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  Ed25519Signature sig;
  size_t n = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &n, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      n != sig.size()) {
    return OpenSslError("Ed25519 sign");
  }
  return sig;
}

Status Ed25519Verify(const Ed25519PublicKey& key, std::string_view message, const Ed25519Signature& signature) {
  Pkey pub(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  if (!pub) {
    ClearOpenSslErrors();
    return Status::Corruption("Ed25519 public key is not a valid point");
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pub.get()) != 1) {
    return OpenSslError("Ed25519 verify init");
  }
  int r = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                           reinterpret_cast<const unsigned char*>(message.data()), message.size());
  if (r != 1) {
    ClearOpenSslErrors();
    return Status::Corruption("Ed25519 signature does not verify");
  }
  return Status::Ok();
}

}  // namespace blaze::crypto
