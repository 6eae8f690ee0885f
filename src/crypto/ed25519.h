// ed25519.h — Ed25519 signatures (RFC 8032) through OpenSSL 3, for the
// envelopes blind mode will sign. Stateless functions; thread-safe.
#ifndef BLAZE_CRYPTO_ED25519_H_
#define BLAZE_CRYPTO_ED25519_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "blaze/status.h"
#include "crypto/secret.h"

namespace blaze::crypto {

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;

struct Ed25519KeyPair {
  Secret32 seed;  // the RFC 8032 private key
  Ed25519PublicKey public_key{};
};

Result<Ed25519KeyPair> GenerateEd25519();
Result<Ed25519KeyPair> Ed25519FromSeed(const Secret32& seed);
Result<Ed25519Signature> Ed25519Sign(const Secret32& seed, std::string_view message);
// Ok if `signature` is a valid signature of `message` by `key`, else kCorruption.
Status Ed25519Verify(const Ed25519PublicKey& key, std::string_view message, const Ed25519Signature& signature);

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_ED25519_H_
