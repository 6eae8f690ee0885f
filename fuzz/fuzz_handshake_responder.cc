// fuzz_handshake_responder — the channel's responder, exactly as
// SecureChannel::Accept runs it (transport::RunHandshake over a ByteStream),
// fed by a scripted peer on a single thread. Mode byte (data[0]):
//
//   bit 0 clear  raw: the rest of the input (after a read-chunk byte) is
//                everything the "initiator" sends: frames, offers, Noise
//                messages. The responder must fail cleanly, and write only
//                well-formed frames.
//   bit 0 set    a genuine initiator (fixed keys, HandshakeState) talks to the
//                responder. Input: 2 bytes flip position, 1 byte offer length,
//                the offer bytes, then the message-3 hello.
//     bit 1      flip one byte of message 1 (bit 3 clear) or message 3 (set)
//     bit 2      send a genuine hello (built from the offer and the choice)
//                instead of the raw remaining bytes
//     bit 4      the responder does not trust the initiator's key
//
// The invariants are the protocol's: an untampered genuine handshake with a
// common version succeeds with the highest common version and the same
// handshake hash on both sides; any flipped byte, or no common version, or
// an untrusted key makes it fail; no common version is answered with one
// plaintext "no-common-version" error frame and nothing else.
//
// Speed: key pairs (static and ephemeral, both sides) are made once. Every
// X25519 in a run uses one of those fixed private keys, and the peer key is
// either fixed too (genuine mode: six DHs whose results never change) or
// comes from the input, which mutations mostly leave alone. The target links
// with -Wl,--wrap=EVP_PKEY_derive and remembers the results of the real
// EVP_PKEY_derive for the last 4,096 (fixed private key, peer key) pairs; a
// pure function memoised. The responder's code runs unchanged, OpenSSL
// computes each new pair (and rejects low-order keys) itself, and a run no
// longer spends ~50 us of scalar multiplication per DH re-deriving a result.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include <deque>
#include <map>
#include <utility>

#include "crypto/handshake_state.h"
#include "protocol/frame_decoder.h"
#include "protocol/hello.h"
#include "protocol/version_offer.h"
#include "transport/channel_handshake.h"

using namespace blaze;

namespace {

KeyPair Fixed(uint8_t fill) {
  std::array<uint8_t, 32> k;
  k.fill(fill);
  return *KeyPairFromPrivateKey(PrivateKey(k));
}

struct Keys {
  KeyPair init_static = Fixed(0x11), init_ephemeral = Fixed(0x33);
  KeyPair resp_static = Fixed(0x21), resp_ephemeral = Fixed(0x42);
  TrustStore trusting, distrusting;
  Keys() { trusting.Add(init_static.public_key, {"initiator", {}}); }
};

const Keys& K() {
  static const Keys keys;
  return keys;
}

const std::vector<uint8_t> kResponderVersions = {1, 2, 5};

bool IsFixedPrivate(const std::array<uint8_t, 32>& k) {
  const Keys& keys = K();
  for (const KeyPair* p : {&keys.init_static, &keys.init_ephemeral, &keys.resp_static, &keys.resp_ephemeral}) {
    if (p->private_key.bytes() == k) return true;
  }
  return false;
}

}  // namespace

// See "Speed" above. Single-threaded, like the fuzzer.
extern "C" int __real_EVP_PKEY_derive(EVP_PKEY_CTX* ctx, unsigned char* key, size_t* keylen);
extern "C" int __wrap_EVP_PKEY_derive(EVP_PKEY_CTX* ctx, unsigned char* key, size_t* keylen) {
  using Inputs = std::pair<std::array<uint8_t, 32>, PublicKey>;
  static std::map<Inputs, std::array<uint8_t, 32>> known;
  static std::deque<Inputs> order;  // oldest first, for eviction
  constexpr size_t kMaxKnown = 4096;
  Inputs in{};
  size_t priv_len = 32, peer_len = 32;
  EVP_PKEY* own = EVP_PKEY_CTX_get0_pkey(ctx);
  EVP_PKEY* other = EVP_PKEY_CTX_get0_peerkey(ctx);
  const bool cacheable = key != nullptr && keylen != nullptr && *keylen >= 32 && own != nullptr && other != nullptr &&
                         EVP_PKEY_get_raw_private_key(own, in.first.data(), &priv_len) == 1 && priv_len == 32 &&
                         EVP_PKEY_get_raw_public_key(other, in.second.data(), &peer_len) == 1 && peer_len == 32 &&
                         IsFixedPrivate(in.first);
  if (!cacheable) return __real_EVP_PKEY_derive(ctx, key, keylen);
  auto it = known.find(in);
  if (it == known.end()) {
    // Failures (low-order peer keys) are not stored: OpenSSL decides each time.
    int ok = __real_EVP_PKEY_derive(ctx, key, keylen);
    if (ok != 1 || *keylen != 32) return ok;
    if (known.size() == kMaxKnown) {
      known.erase(order.front());
      order.pop_front();
    }
    it = known.emplace(in, std::array<uint8_t, 32>{}).first;
    order.push_back(in);
    std::copy_n(key, 32, it->second.begin());
  }
  std::copy_n(it->second.begin(), 32, key);
  *keylen = 32;
  return 1;
}

namespace {

std::string Frame(protocol::FrameType type, std::string_view body) {
  protocol::FrameHeader h;
  h.type = type;
  std::string out;
  if (!protocol::AppendFrame(h, body, &out).ok()) std::abort();
  return out;
}

// A ByteStream whose reads come from a script and whose writes go to a
// callback that may append to the script (the genuine initiator's answer).
// Reads never block: an exhausted script is end of stream.
class ScriptedStream final : public ByteStream {
 public:
  ScriptedStream(size_t chunk, std::function<void(std::string_view, ScriptedStream*)> on_write)
      : chunk_(chunk), on_write_(std::move(on_write)) {}
  Status Write(std::string_view bytes) override {
    if (closed_) return Status::IOError("write on a closed scripted stream");
    written_.append(bytes);
    if (on_write_) on_write_(bytes, this);
    return Status::Ok();
  }
  Result<size_t> Read(char* out, size_t max, std::chrono::milliseconds) override {
    size_t n = std::min({max, chunk_, script_.size() - read_});
    std::memcpy(out, script_.data() + read_, n);
    read_ += n;
    return n;
  }
  void Close() override { closed_ = true; }

  void Append(std::string_view bytes) { script_.append(bytes); }
  const std::string& written() const { return written_; }

 private:
  size_t chunk_;
  std::function<void(std::string_view, ScriptedStream*)> on_write_;
  std::string script_;  // read_ bytes of it were read
  size_t read_ = 0;
  std::string written_;
  bool closed_ = false;
};

ChannelOptions ResponderOptions(bool trusting) {
  ChannelOptions o;
  o.identity = K().resp_static;
  o.trust = trusting ? &K().trusting : &K().distrusting;
  o.versions = kResponderVersions;
  o.database = "fuzz";
  o.node_name = "responder";
  return o;
}

// Every byte the responder wrote must be whole, well-formed frames.
void CheckWrittenFrames(const std::string& written) {
  protocol::StreamFrameDecoder d;
  if (!d.Feed(written).ok() || d.partial_bytes() != 0) std::abort();
}

void RunRaw(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const size_t chunk = data[0] == 0 ? SIZE_MAX : data[0];
  ScriptedStream stream(chunk, nullptr);
  stream.Append(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  transport::FrameReader reader(&stream);
  Result<transport::HandshakeOutcome> r =
      transport::RunHandshake(ResponderOptions(true), false, &stream, &reader, &K().resp_ephemeral);
  CheckWrittenFrames(stream.written());
  if (r.ok() && r->peer.version == 0) std::abort();
}

void RunGenuine(uint8_t mode, const uint8_t* data, size_t size) {
  if (size < 3) return;
  const bool tamper = mode & 0x02, genuine_hello = mode & 0x04, tamper_m3 = mode & 0x08;
  const bool trusting = (mode & 0x10) == 0;
  const size_t flip_at = static_cast<size_t>(data[0]) << 8 | data[1];
  const size_t offer_len = std::min<size_t>(data[2], size - 3);
  const std::string offer(reinterpret_cast<const char*>(data + 3), offer_len);
  const std::string raw_hello(reinterpret_cast<const char*>(data + 3 + offer_len), size - 3 - offer_len);
  Result<std::vector<uint8_t>> offered = protocol::DecodeVersionOffer(offer);
  std::optional<uint8_t> common;
  if (offered.ok()) common = protocol::HighestCommonVersion(kResponderVersions, *offered);

  crypto::HandshakeConfig ic;
  ic.initiator = true;
  ic.prologue = *protocol::BuildPrologue("fuzz");
  ic.local_static = K().init_static;
  ic.fixed_ephemeral = K().init_ephemeral;
  std::unique_ptr<crypto::HandshakeState> init = crypto::HandshakeState::Create(ic).value();
  std::string m1;
  if (!init->WriteMessage(offer, &m1).ok()) std::abort();
  std::string f1 = Frame(protocol::FrameType::kHandshake, m1);
  if (tamper && !tamper_m3) f1[flip_at % f1.size()] ^= 0x5a;

  // The initiator's side: on message 2 (the responder's first write), answer
  // with message 3, as SecureChannel::Connect would.
  protocol::StreamFrameDecoder from_responder;
  bool answered = false;
  auto on_write = [&](std::string_view bytes, ScriptedStream* stream) {
    if (answered || !from_responder.Feed(bytes).ok()) return;
    std::optional<protocol::Frame> m2 = from_responder.Next();
    if (!m2 || m2->header.type != protocol::FrameType::kHandshake) return;
    answered = true;
    std::string payload;
    if (!init->ReadMessage(m2->body, &payload).ok()) return;  // e.g. message 1 was tampered with
    Result<protocol::Hello> theirs = protocol::DecodeHello(payload);
    if (!theirs.ok() || theirs->versions != kResponderVersions || !common || theirs->version != *common) std::abort();
    std::string hello = raw_hello;
    if (genuine_hello) hello = protocol::EncodeHello({*offered, theirs->version, "initiator", {}});
    std::string m3;
    if (!init->WriteMessage(hello, &m3).ok()) return;  // too long for one Noise message
    std::string f3 = Frame(protocol::FrameType::kHandshake, m3);
    if (tamper && tamper_m3) f3[flip_at % f3.size()] ^= 0x5a;
    stream->Append(f3);
  };
  ScriptedStream stream(SIZE_MAX, on_write);
  stream.Append(f1);
  transport::FrameReader reader(&stream);
  Result<transport::HandshakeOutcome> r =
      transport::RunHandshake(ResponderOptions(trusting), false, &stream, &reader, &K().resp_ephemeral);
  CheckWrittenFrames(stream.written());

  if (r.ok()) {
    // Only an untampered handshake with a common version and a trusted key may succeed,
    // and then both sides agree on everything.
    if (tamper || !common || !trusting || r->peer.version != *common || r->peer.versions != *offered) std::abort();
    if (init->phase() != crypto::HandshakePhase::kFinished) std::abort();
    if (!std::equal(r->handshake_hash.begin(), r->handshake_hash.end(), init->handshake_hash().begin())) std::abort();
  } else if (!tamper && genuine_hello && common && trusting) {
    std::abort();  // a genuine handshake must succeed
  }
  if (offered.ok() && !common && !(tamper && !tamper_m3)) {
    // Refused with the code alone: one plaintext error frame, nothing else.
    if (r.ok() || r.status().code() != StatusCode::kNotSupported) std::abort();
    Result<protocol::Frame> f = protocol::DecodeSingleFrame(stream.written());
    if (!f.ok() || f->header.type != protocol::FrameType::kError) std::abort();
    Result<protocol::ErrorMessage> e = protocol::DecodeErrorMessage(f->body);
    if (!e.ok() || e->code != "no-common-version" || !e->message.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  if (mode & 0x01) {
    RunGenuine(mode, data + 1, size - 1);
  } else {
    RunRaw(data + 1, size - 1);
  }
  return 0;
}
