// frame_cipher.h — one direction of a channel's transport encryption.
//
// FrameSealer turns a plaintext piece into a sealed frame: body =
// AES-256-GCM(k, nonce n, AD = the 7 header bytes, piece), so the header's
// length counts the 16-byte tag. It sets KEY_UPDATE on the frame that
// completes `rekey_after_frames` frames or `rekey_after_bytes` bytes under one
// key and rekeys (Noise Rekey()) right after sealing it; FrameOpener rekeys
// right after opening such a frame. Both keep the Noise counter, which never
// reaches 2^64-1 (CipherState refuses). Not thread-safe.
#ifndef BLAZE_TRANSPORT_FRAME_CIPHER_H_
#define BLAZE_TRANSPORT_FRAME_CIPHER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "blaze/status.h"
#include "crypto/cipher_state.h"
#include "protocol/frame.h"

namespace blaze::transport {

inline constexpr size_t kMaxSealedPiece = protocol::kMaxFrameBody - crypto::kGcmTagSize;  // 65519

struct RekeyPolicy {
  uint64_t after_frames = uint64_t{1} << 20;
  uint64_t after_bytes = uint64_t{1} << 30;
};

class FrameSealer {
 public:
  FrameSealer(crypto::CipherState cipher, RekeyPolicy policy) : cipher_(std::move(cipher)), policy_(policy) {}
  // Appends the sealed frame (header + ciphertext) to *out. `header.length`
  // and KEY_UPDATE are set here; `piece` is at most kMaxSealedPiece bytes.
  [[nodiscard]] Status Seal(protocol::FrameHeader header, std::string_view piece, std::string* out);
  uint64_t rekeys() const { return rekeys_; }
  crypto::CipherState& cipher() { return cipher_; }

 private:
  crypto::CipherState cipher_;
  RekeyPolicy policy_;
  uint64_t frames_ = 0;  // under the current key
  uint64_t bytes_ = 0;
  uint64_t rekeys_ = 0;
};

class FrameOpener {
 public:
  explicit FrameOpener(crypto::CipherState cipher) : cipher_(std::move(cipher)) {}
  // Checks and decrypts `frame` into *plaintext. kCorruption when the frame
  // does not authenticate; the counter then stays where it was.
  [[nodiscard]] Status Open(const protocol::Frame& frame, std::string* plaintext);
  uint64_t rekeys() const { return rekeys_; }
  crypto::CipherState& cipher() { return cipher_; }

 private:
  crypto::CipherState cipher_;
  uint64_t rekeys_ = 0;
};

}  // namespace blaze::transport

#endif  // BLAZE_TRANSPORT_FRAME_CIPHER_H_
