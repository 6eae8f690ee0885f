// x25519.cc — see x25519.h; also the key-pair functions of blaze/keys.h.
#include "crypto/x25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "crypto/openssl_error.h"
#include "crypto/random.h"

namespace blaze {

PrivateKey::~PrivateKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Result<KeyPair> GenerateKeyPair() {
  PrivateKey priv;
  BLAZE_RETURN_IF_ERROR(crypto::SecureRandom(priv.data(), kKeySize));
  return KeyPairFromPrivateKey(priv);
}

Result<KeyPair> KeyPairFromPrivateKey(const PrivateKey& private_key) {
  BLAZE_ASSIGN_OR_RETURN(PublicKey pub, crypto::X25519PublicFromPrivate(private_key));
  KeyPair pair;
  pair.private_key = private_key;
  pair.public_key = pub;
  return pair;
}

namespace crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

}  // namespace

Result<PublicKey> X25519PublicFromPrivate(const PrivateKey& private_key) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), kKeySize));
  if (!key) return OpenSslError("loading an X25519 private key");
  PublicKey pub;
  size_t n = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &n) != 1 || n != pub.size()) {
    return OpenSslError("computing an X25519 public key");
  }
  return pub;
}

Result<Secret32> X25519(const PrivateKey& private_key, const PublicKey& peer) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), kKeySize));
  if (!key) return OpenSslError("loading an X25519 private key");
  Pkey peer_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!peer_key) return OpenSslError("loading an X25519 public key");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return OpenSslError("X25519 derive init");
  Secret32 shared;
  size_t n = shared.size();
  // OpenSSL itself fails the derivation when the result is all zeros
  // (a low-order peer key); the explicit check below does not rely on it.
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &n) != 1 || n != shared.size()) {
    ClearOpenSslErrors();
    return Status::InvalidArgument("X25519 with this peer public key failed (low-order point, shared secret would be all zeros)");
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= shared.data()[i];
  if (acc == 0) {
    return Status::InvalidArgument("X25519 shared secret is all zeros (peer sent a low-order public key)");
  }
  return shared;
}

}  // namespace crypto
}  // namespace blaze
