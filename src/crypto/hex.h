// hex.h — lower-case hexadecimal text for keys and test vectors. Thread-safe.
#ifndef BLAZE_CRYPTO_HEX_H_
#define BLAZE_CRYPTO_HEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blaze::crypto {

std::string HexEncode(std::string_view bytes);
// Appends the hex of `bytes` to `*out` in place: for secrets, where a
// temporary copy would be freed unwiped (reserve room first so `*out` does
// not reallocate either).
void AppendHex(std::string_view bytes, std::string* out);
inline std::string HexEncode(const uint8_t* p, size_t n) { return HexEncode({reinterpret_cast<const char*>(p), n}); }
// nullopt unless `text` has an even number of hex digits (either case).
// What was decoded before a bad digit is wiped, not just dropped.
std::optional<std::string> HexDecode(std::string_view text);

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_HEX_H_
