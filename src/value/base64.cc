// base64.cc — base64 via OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
//
// EVP_DecodeBlock ignores padding when sizing its output and accepts some
// non-canonical input, so decoding re-encodes and compares: a value decodes
// only from its one canonical text.
#include "value/base64.h"

#include <openssl/evp.h>

namespace blaze::value {

std::string Base64Encode(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  if (bytes.empty()) return out;
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::vector<uint8_t>{};
  std::vector<uint8_t> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (text[text.size() - 1] == '=') ++pad;
  if (text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  if (Base64Encode(out) != text) return std::nullopt;
  return out;
}

}  // namespace blaze::value
