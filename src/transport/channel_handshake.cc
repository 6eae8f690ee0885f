// channel_handshake.cc — see channel_handshake.h.
#include "transport/channel_handshake.h"

#include <chrono>

namespace blaze::transport {

Result<HandshakeOutcome> RunHandshake(const ChannelOptions& options, bool initiator, ByteStream* stream,
                                      FrameReader* reader, const KeyPair* fixed_ephemeral) {
  HandshakeMachine machine(options, initiator, fixed_ephemeral);
  std::string out;
  Status s = machine.Start(&out);
  const auto deadline = std::chrono::steady_clock::now() + options.handshake_timeout;
  while (s.ok()) {
    if (!out.empty()) {
      Status written = stream->Write(out);
      out.clear();
      if (!written.ok()) {
        s = machine.Fail(written, &out);
        break;
      }
    }
    if (machine.done()) return machine.TakeOutcome();
    Result<protocol::Frame> frame = reader->Read(deadline);
    s = frame.ok() ? machine.OnFrame(*frame, &out) : machine.Fail(frame.status(), &out);
  }
  // Failed: the machine's last words (an error frame, when one is due), then close.
  if (!out.empty()) stream->Write(out).IgnoreError();
  stream->Close();
  return s;
}

}  // namespace blaze::transport
