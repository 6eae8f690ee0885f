// fuzz_change_ops — the change log's op list decoder on arbitrary bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/change.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ops = blaze::store::DecodeOps(in);
  if (ops.ok() && blaze::store::EncodeOps(*ops) != in) std::abort();
  return 0;
}
