// fuzz_relay_session — the relay's handling of a connected client's
// messages: control messages on stream 0 (open, close, anything malformed)
// and sync messages on the streams it opened, fed to one session of a relay
// core whose replicas are in memory. The input is a sequence of messages,
// each `stream selector (1 byte) | length (2 bytes, big-endian) | body`;
// the selector modulo 4 picks stream 0 (control) or stream 1..3. Whatever
// arrives, the relay must answer only well-formed control messages, never
// crash, and stay usable for the next client.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blaze/keys.h"
#include "net/control.h"
#include "net/relay_core.h"

namespace {

using blaze::PublicKey;
using blaze::Status;

class RecordingConnection final : public blaze::net::Connection {
 public:
  explicit RecordingConnection(PublicKey key) : key_(key) {}
  Status Send(uint16_t stream, std::string body) override {
    std::lock_guard<std::mutex> l(mu_);
    // What the relay says on stream 0 must always decode.
    if (stream == blaze::net::kControlStream && !blaze::net::DecodeControl(body).ok()) std::abort();
    return Status::Ok();
  }
  void Close(const Status&) override {}
  const PublicKey& peer_key() const override { return key_; }

 private:
  PublicKey key_;
  std::mutex mu_;
};

struct Fixture {
  PublicKey key{};
  std::unique_ptr<blaze::net::RelayCore> relay;
  Fixture() {
    key.fill(7);
    auto dir = std::filesystem::temp_directory_path() / ("fuzz_relay_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream((dir / "access.json").string())
        << R"({"users": {"u": {"keys": [")" + blaze::PublicKeyToHex(key) +
               R"("]}}, "databases": {"bugs": {"mode": "smart", "users": ["u"]}, "notes": {"mode": "smart", "users": []}}})";
    blaze::net::RelayOptions o;
    o.data_dir = dir.string();
    o.access_path = (dir / "access.json").string();
    o.database_options.in_memory = true;  // nothing on disk, nothing carried between inputs but the hub
    o.control_on_caller = true;           // each input's control messages are handled before it ends
    auto r = blaze::net::RelayCore::Open(o);
    if (!r.ok()) std::abort();
    relay = std::move(r).value();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture();
  auto conn = std::make_shared<RecordingConnection>(f->key);
  auto handler = f->relay->Accept(conn);
  if (!handler.ok()) std::abort();
  size_t i = 0;
  while (i + 3 <= size) {
    uint16_t stream = data[i] % 4;
    size_t len = (size_t{data[i + 1]} << 8) | data[i + 2];
    i += 3;
    len = std::min(len, size - i);
    (*handler)->OnMessage(stream, std::string(reinterpret_cast<const char*>(data + i), len));
    i += len;
  }
  (*handler)->OnClosed(Status::Aborted("input over"));
  return 0;
}
