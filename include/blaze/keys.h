// keys.h — long-term X25519 identities: key pairs, key files and the text
// form of public keys.
//
// A key file holds one X25519 private key; it is written with mode 0600 and
// refused on load when any group or other permission bit is set. Public keys
// are printed and parsed as 64 lower-case hex digits (docs/protocol.md).
// PrivateKey wipes its bytes (OPENSSL_cleanse) when destroyed. All functions
// are thread-safe; the types are plain values.
#ifndef BLAZE_KEYS_H_
#define BLAZE_KEYS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "blaze/status.h"

namespace blaze {

inline constexpr size_t kKeySize = 32;  // X25519 private and public keys

// An X25519 public key (RFC 7748 u-coordinate, little-endian bytes).
using PublicKey = std::array<uint8_t, kKeySize>;

// An X25519 private key; copies are independent and each is wiped on destruction.
class PrivateKey {
 public:
  PrivateKey() { bytes_.fill(0); }
  explicit PrivateKey(const std::array<uint8_t, kKeySize>& bytes) : bytes_(bytes) {}
  PrivateKey(const PrivateKey&) = default;
  PrivateKey& operator=(const PrivateKey&) = default;
  ~PrivateKey();

  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  const std::array<uint8_t, kKeySize>& bytes() const { return bytes_; }

 private:
  std::array<uint8_t, kKeySize> bytes_;
};

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key{};
};

// A fresh key pair from the operating system's CSPRNG (through OpenSSL).
Result<KeyPair> GenerateKeyPair();
// The key pair whose private key is `private_key` (public = X25519(priv, 9)).
Result<KeyPair> KeyPairFromPrivateKey(const PrivateKey& private_key);

// Writes `pair`'s private key to a new file at `path` with mode 0600.
// kAlreadyExists if the path exists (a key is never overwritten).
Status WriteKeyFile(const std::string& path, const KeyPair& pair);
// Reads a key file. kNotFound if missing, kFailedPrecondition if group- or
// world-accessible, kCorruption if malformed.
Result<KeyPair> ReadKeyFile(const std::string& path);

// 64 lower-case hex digits.
std::string PublicKeyToHex(const PublicKey& key);
// kInvalidArgument unless `text` is exactly 64 hex digits.
Result<PublicKey> PublicKeyFromHex(std::string_view text);

}  // namespace blaze

#endif  // BLAZE_KEYS_H_
