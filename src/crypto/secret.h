// secret.h — fixed-size byte arrays that wipe themselves, for keys, chaining
// keys and other secrets held by the crypto layer. Plain values; not shared.
#ifndef BLAZE_CRYPTO_SECRET_H_
#define BLAZE_CRYPTO_SECRET_H_

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace blaze::crypto {

template <size_t N>
class Secret {
 public:
  Secret() { bytes_.fill(0); }
  explicit Secret(const std::array<uint8_t, N>& b) : bytes_(b) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  ~Secret() { OPENSSL_cleanse(bytes_.data(), N); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), N}; }
  const std::array<uint8_t, N>& array() const { return bytes_; }

 private:
  std::array<uint8_t, N> bytes_;
};

using Secret32 = Secret<32>;

// Wipes and empties a string that held secret bytes.
inline void WipeString(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

inline std::string_view AsView(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace blaze::crypto

#endif  // BLAZE_CRYPTO_SECRET_H_
