// fuzz_handshake_responder — a Noise XX responder (fixed keys) fed attacker
// messages. Mode byte even: messages 1 and 3 are raw fuzz bytes. Mode byte
// odd: a genuine initiator runs the handshake, the fuzz bytes become its
// third-message payload (the hello the responder then decodes) and may flip
// one byte of message 3. Failures must be clean Status values.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/handshake_state.h"
#include "protocol/hello.h"

using namespace blaze;
using namespace blaze::crypto;

namespace {

KeyPair Fixed(uint8_t fill) {
  std::array<uint8_t, 32> k;
  k.fill(fill);
  return *KeyPairFromPrivateKey(PrivateKey(k));
}

// Key pairs are derived once; each run only pays for the handshake itself.
std::unique_ptr<HandshakeState> Make(bool initiator) {
  static const KeyPair kInitStatic = Fixed(0x11), kInitEphemeral = Fixed(0x33);
  static const KeyPair kRespStatic = Fixed(0x21), kRespEphemeral = Fixed(0x42);
  HandshakeConfig c;
  c.initiator = initiator;
  c.prologue = *protocol::BuildPrologue({1}, "fuzz");
  c.local_static = initiator ? kInitStatic : kRespStatic;
  c.fixed_ephemeral = initiator ? kInitEphemeral : kRespEphemeral;
  return HandshakeState::Create(c).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const size_t split = static_cast<size_t>(data[1]) << 8 | data[2];
  std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
  auto resp = Make(false);
  std::string payload, out;
  if (mode % 2 == 0) {
    std::string_view m1 = rest.substr(0, split), m3 = rest.substr(std::min(split, rest.size()));
    if (!resp->ReadMessage(m1, &payload).ok()) return 0;
    // Writing can only fail on a low-order ephemeral key from the attacker
    // (the all-zero DH result is refused).
    Status w = resp->WriteMessage("hello", &out);
    if (!w.ok()) {
      if (w.code() != StatusCode::kInvalidArgument) std::abort();
      return 0;
    }
    payload.clear();
    if (resp->ReadMessage(m3, &payload).ok()) protocol::DecodeHello(payload).IgnoreError();
    return 0;
  }
  auto init = Make(true);
  std::string m1, m2, m3, p;
  if (!init->WriteMessage({}, &m1).ok() || !resp->ReadMessage(m1, &p).ok() || !resp->WriteMessage("x", &m2).ok() ||
      !init->ReadMessage(m2, &p).ok() || !init->WriteMessage(rest, &m3).ok()) {
    return 0;  // a payload over 65535 - 64 bytes is refused by WriteMessage
  }
  if (mode & 0x02) m3[split % m3.size()] ^= static_cast<char>(mode | 1);
  Status s = resp->ReadMessage(m3, &payload);
  if ((mode & 0x02) == 0 && !s.ok()) std::abort();  // an untouched genuine message must be accepted
  if (s.ok()) {
    if (payload != rest) std::abort();
    protocol::DecodeHello(payload).IgnoreError();
    CipherState a, b;
    if (!resp->Split(&a, &b).ok()) std::abort();
  }
  return 0;
}
