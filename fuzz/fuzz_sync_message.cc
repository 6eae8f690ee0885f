// fuzz_sync_message — the sync protocol's message decoder (hello, changes,
// ack, error, snapshot with evictions, grant) on arbitrary bytes. Whatever it
// accepts must re-encode to a fixed point: decode(encode(m)) encodes the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sync/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = blaze::sync::DecodeMessage(in);
  if (!m.ok()) return 0;
  std::string once = blaze::sync::EncodeMessage(*m);
  auto again = blaze::sync::DecodeMessage(once);
  if (!again.ok() || blaze::sync::EncodeMessage(*again) != once) std::abort();
  return 0;
}
