// binary.h — BlazeBinary, the compact canonical encoding of a Value.
//
// Layout and version history: docs/blaze-binary.md. EncodeBinary writes a
// one-byte format header (kBlazeBinaryV1) then the value; the encoding of a
// given Value is unique (canonical), so equal Values have equal bytes.
// DecodeBinary accepts exactly the canonical encoding of some Value and
// returns kCorruption for anything else, whatever the input bytes: it never
// reads outside the input and bounds memory by the input size.
// Thread-safe (pure functions).
#ifndef BLAZE_BINARY_H_
#define BLAZE_BINARY_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "blaze/status.h"
#include "blaze/value.h"

namespace blaze {

inline constexpr uint8_t kBlazeBinaryV1 = 0xF1;
inline constexpr int kMaxBinaryDepth = 64;

std::string EncodeBinary(const Value& value);
Result<Value> DecodeBinary(std::string_view bytes);

}  // namespace blaze

#endif  // BLAZE_BINARY_H_
