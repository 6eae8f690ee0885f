// x25519.h — X25519 Diffie-Hellman (RFC 7748) through OpenSSL 3 EVP_PKEY.
// Stateless functions; thread-safe. Key types live in blaze/keys.h.
#ifndef BLAZE_CRYPTO_X25519_H_
#define BLAZE_CRYPTO_X25519_H_

#include "blaze/keys.h"
#include "blaze/status.h"
#include "crypto/secret.h"

namespace blaze::crypto {

// X25519(private_key, 9).
Result<PublicKey> X25519PublicFromPrivate(const PrivateKey& private_key);
// The shared secret X25519(private_key, peer). A peer key of small order
// gives the all-zero output; that is refused with kInvalidArgument (Noise
// rev 34 §12.1 allows it, and it stops an attacker forcing a known secret).
Result<Secret32> X25519(const PrivateKey& private_key, const PublicKey& peer);
// The same from a key pair whose public half is trusted to match (as a
// KeyPair's is): half the work, since OpenSSL need not derive the public key.
// A mismatched public half cannot change the result; only the private key enters the DH.
Result<Secret32> X25519(const KeyPair& local, const PublicKey& peer);

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_X25519_H_
