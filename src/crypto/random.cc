// random.cc — see random.h.
#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>

#include "crypto/openssl_error.h"

namespace blaze::crypto {

Status SecureRandom(uint8_t* out, size_t len) {
  while (len > 0) {
    int chunk = len > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(len);
    if (RAND_bytes(out, chunk) != 1) return OpenSslError("RAND_bytes");
    out += chunk;
    len -= static_cast<size_t>(chunk);
  }
  return Status::Ok();
}

}  // namespace blaze::crypto
