// secure_channel.h — an authenticated, encrypted message channel over any
// ByteStream: Noise_XX_25519_AESGCM_SHA256 handshake, then every frame sealed
// with AES-256-GCM, the 7 header bytes as associated data (docs/protocol.md).
//
//   auto ch = SecureChannel::Connect(options, std::move(stream));  // client
//   auto ch = SecureChannel::Accept(options, std::move(stream));   // server
//   ch->Send(stream_id, bytes);  auto msg = ch->Receive(timeout);
//
// Both sides authenticate: the peer's static key must be in the options'
// trust store, else the side that found out sends an error frame and closes,
// and Connect/Accept fail. Any bad frame (tampered, replayed, reordered,
// truncated, malformed) fails the call that met it and closes the channel for
// good. Thread safety: one thread may Send while another Receives; two
// threads must not Send (or Receive) at the same time; Close is safe from any thread.
#ifndef BLAZE_SECURE_CHANNEL_H_
#define BLAZE_SECURE_CHANNEL_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/byte_stream.h"
#include "blaze/keys.h"
#include "blaze/status.h"
#include "blaze/trust_store.h"

namespace blaze {

struct ChannelOptions {
  KeyPair identity;                      // this node's static key
  const TrustStore* trust = nullptr;     // required; must outlive the channel
  // Protocol versions this side speaks: 1 to 16 distinct values 1..255, any
  // order. The channel uses the highest version both sides list (PeerInfo::
  // version); the lists are bound into the handshake, so a man in the middle
  // who strips versions makes it fail. No common version: Connect/Accept
  // fail with kNotSupported, and the peer is told only "no-common-version".
  std::vector<uint8_t> versions = {1};
  std::string database;                  // the database/app opened; bound into the prologue
  std::string node_name;                 // sent in the hello
  std::vector<std::string> capabilities; // sent in the hello
  std::chrono::milliseconds handshake_timeout{5000};
  // Every write (handshake, Send, a pong, the close frame) must finish within
  // this, else it fails and the channel closes: a peer that stops reading
  // cannot hold a sender for longer. Zero: no bound.
  std::chrono::milliseconds send_timeout{30000};
  size_t max_message_size = 16 << 20;    // reassembled message limit (bytes)
  // A message (fragmented over several frames) must be complete within this
  // from its first frame, else Receive fails (kAborted) and the channel
  // closes, freeing what was received of it. Zero: no limit.
  std::chrono::milliseconds partial_message_timeout{0};
  uint64_t rekey_after_frames = uint64_t{1} << 20;  // per direction
  uint64_t rekey_after_bytes = uint64_t{1} << 30;   // per direction
  // Told why a handshake or channel failed (the peer is told nothing more
  // than an error code). Called on the failing thread; may be empty.
  std::function<void(std::string_view)> log;
};

struct PeerInfo {
  PublicKey static_key{};          // authenticated by the handshake
  PeerIdentity identity;           // from the trust store
  std::string hello_identity;      // what the peer called itself
  uint8_t version = 0;             // negotiated: the highest version both sides support
  std::vector<uint8_t> versions;   // every version the peer supports, increasing
  std::vector<std::string> capabilities;
};

struct ChannelMessage {
  uint16_t stream = 0;
  std::string body;
};

struct ChannelStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t rekeys_sent = 0;      // KEY_UPDATE frames sent
  uint64_t rekeys_received = 0;
};

class SecureChannel {
 public:
  static Result<std::unique_ptr<SecureChannel>> Connect(const ChannelOptions& options,
                                                        std::unique_ptr<ByteStream> stream);
  static Result<std::unique_ptr<SecureChannel>> Accept(const ChannelOptions& options,
                                                       std::unique_ptr<ByteStream> stream);
  ~SecureChannel();

  const PeerInfo& peer() const;
  // 32 bytes identical on both ends (Noise channel binding).
  const std::array<uint8_t, 32>& handshake_hash() const;

  // Sends one message (fragmented when longer than a frame).
  [[nodiscard]] Status Send(uint16_t stream, std::string_view body);
  // Waits at most `timeout` for the next message. kAborted when the peer
  // closed the channel, its error if it sent one, kCorruption on a bad frame.
  Result<ChannelMessage> Receive(std::chrono::milliseconds timeout);
  // Sends a close frame (best effort: only if no Send is under way, and
  // waiting at most 50 ms for room) and closes the stream, which makes a Send
  // or Receive blocked in another thread return. Never waits for a blocked
  // sender. Idempotent.
  void Close();
  ChannelStats stats() const;

  class Impl;

 private:
  explicit SecureChannel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace blaze

#endif  // BLAZE_SECURE_CHANNEL_H_
