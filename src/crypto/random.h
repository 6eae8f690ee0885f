// random.h — cryptographically secure random bytes (OpenSSL RAND_bytes, seeded
// by the operating system). Thread-safe.
#ifndef BLAZE_CRYPTO_RANDOM_H_
#define BLAZE_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>

#include "blaze/status.h"

namespace blaze::crypto {

// Fills `len` bytes at `out`; kInternal if the generator is not available.
Status SecureRandom(uint8_t* out, size_t len);

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_RANDOM_H_
