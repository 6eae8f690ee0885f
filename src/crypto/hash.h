// hash.h — SHA-256, HMAC-SHA256 and HKDF-SHA256 (RFC 5869) through OpenSSL 3.
// Stateless functions; thread-safe.
#ifndef BLAZE_CRYPTO_HASH_H_
#define BLAZE_CRYPTO_HASH_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "blaze/status.h"

namespace blaze::crypto {

inline constexpr size_t kSha256Size = 32;
using Digest32 = std::array<uint8_t, kSha256Size>;

// SHA-256 of the concatenation of `parts`.
Result<Digest32> Sha256(std::initializer_list<std::string_view> parts);
// HMAC-SHA256(key, concatenation of `parts`).
Result<Digest32> HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts);
// RFC 5869 HKDF-SHA256 (extract then expand) writing `length` bytes to *okm.
// An empty salt means HashLen zero bytes, as the RFC says. kInvalidArgument if
// `length` exceeds 255 * 32.
Status HkdfSha256(std::string_view salt, std::string_view ikm, std::string_view info, size_t length,
                  std::string* okm);

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_HASH_H_
