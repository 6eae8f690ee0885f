// fuzz_frame_decoder — arbitrary bytes through the stream frame decoder (in
// chunks whose size the first byte picks), the reassembler and the
// one-frame-per-message decoder: errors are fine, crashes, unbounded
// buffering and non-canonical round trips are not.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/frame_decoder.h"
#include "protocol/message_assembler.h"

using namespace blaze::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  StreamFrameDecoder decoder;
  MessageAssembler assembler(1 << 16);
  std::string reencoded;
  size_t fed = 0;
  for (size_t off = 0; off < in.size(); off += chunk) {
    std::string_view piece = in.substr(off, chunk);
    if (!decoder.Feed(piece).ok()) break;
    fed += piece.size();
    while (auto f = decoder.Next()) {
      if (f->body.size() != f->header.length) std::abort();
      if (!AppendFrame(f->header, f->body, &reencoded).ok()) std::abort();
      auto m = assembler.Add(f->header, f->body);
      if (m.ok() && m->has_value() && (*m)->body.size() > (1 << 16)) std::abort();
    }
    if (decoder.partial_bytes() > kFrameHeaderSize + kMaxFrameBody) std::abort();
  }
  // Every decoded frame is the exact bytes it came from.
  if (in.substr(0, reencoded.size()) != reencoded) std::abort();
  if (!decoder.failed() && reencoded.size() + decoder.partial_bytes() != fed) std::abort();

  auto single = DecodeSingleFrame(in);
  if (single.ok()) {
    std::string again;
    if (!AppendFrame(single->header, single->body, &again).ok() || again != in) std::abort();
  }
  return 0;
}
