// x25519.cc — see x25519.h; also the key-pair functions of blaze/keys.h.
#include "crypto/x25519.h"

#include <openssl/core_names.h>
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

namespace {

// A private key known with its public half, loaded through EVP_PKEY_fromdata.
// EVP_PKEY_new_raw_private_key would recompute the public key (a full scalar
// multiplication, as costly as the DH itself) on every load.
Pkey LoadKeyPair(const KeyPair& pair) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, const_cast<uint8_t*>(pair.private_key.data()),
                                        kKeySize),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(pair.public_key.data()),
                                        kKeySize),
      OSSL_PARAM_END};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params) != 1) return nullptr;
  return Pkey(key);
}

Result<Secret32> Derive(EVP_PKEY* key, const PublicKey& peer) {
  Pkey peer_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!peer_key) return OpenSslError("loading an X25519 public key");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key, nullptr));
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

}  // namespace

Result<Secret32> X25519(const PrivateKey& private_key, const PublicKey& peer) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), kKeySize));
  if (!key) return OpenSslError("loading an X25519 private key");
  return Derive(key.get(), peer);
}

Result<Secret32> X25519(const KeyPair& local, const PublicKey& peer) {
  Pkey key = LoadKeyPair(local);
  if (!key) return OpenSslError("loading an X25519 key pair");
  return Derive(key.get(), peer);
}

}  // namespace crypto
}  // namespace blaze
