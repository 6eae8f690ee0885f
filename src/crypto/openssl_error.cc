// openssl_error.cc — see openssl_error.h.
#include "crypto/openssl_error.h"

#include <openssl/err.h>

#include <string>

namespace blaze::crypto {

Status OpenSslError(std::string_view what) {
  std::string m(what);
  m += " failed";
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    m += ": ";
    m += buf;
  }
  ERR_clear_error();
  return Status::Internal(std::move(m));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace blaze::crypto
