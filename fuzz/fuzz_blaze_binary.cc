// fuzz_blaze_binary — DecodeBinary on arbitrary bytes must return a value or
// an error, never crash or read out of bounds; whatever decodes must
// re-encode to the same bytes (the encoding is canonical).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "blaze/binary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto v = blaze::DecodeBinary(in);
  if (v.ok() && blaze::EncodeBinary(*v) != in) std::abort();
  return 0;
}
