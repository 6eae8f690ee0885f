// openssl_error.h — turns a failed OpenSSL call into a Status that names the
// operation and OpenSSL's own reason. Thread-safe (OpenSSL's error queue is
// per thread).
#ifndef BLAZE_CRYPTO_OPENSSL_ERROR_H_
#define BLAZE_CRYPTO_OPENSSL_ERROR_H_

#include <string_view>

#include "blaze/status.h"

namespace blaze::crypto {

// kInternal "<what> failed: <OpenSSL reason>"; drains the thread's error queue.
Status OpenSslError(std::string_view what);
// Drops whatever is on the thread's OpenSSL error queue.
void ClearOpenSslErrors();

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_OPENSSL_ERROR_H_
