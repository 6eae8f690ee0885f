// base64.h — standard base64 (RFC 4648 §4, with padding) through OpenSSL.
// Thread-safe.
#ifndef BLAZE_VALUE_BASE64_H_
#define BLAZE_VALUE_BASE64_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blaze::value {

std::string Base64Encode(const std::vector<uint8_t>& bytes);
// nullopt unless `text` is canonical padded base64.
std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text);

}  // namespace blaze::value

#endif  // BLAZE_VALUE_BASE64_H_
