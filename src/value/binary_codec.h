// binary_codec.h — the building blocks of BlazeBinary, shared by every
// encoder in BlazeDB (values, record state, change operations, and later the
// wire protocol): a byte Writer, a bounds-checked Reader, and the headerless
// value encoding. Layout: docs/blaze-binary.md.
//
// Reader never reads past its end; each Read* returns false (or a
// kCorruption Status) instead. Not thread-safe per object; no shared state.
#ifndef BLAZE_VALUE_BINARY_CODEC_H_
#define BLAZE_VALUE_BINARY_CODEC_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "blaze/status.h"
#include "blaze/value.h"

namespace blaze::value {

// Tags of the value encoding (one byte, then a payload).
namespace tag {
inline constexpr uint8_t kNull = 0x00;
inline constexpr uint8_t kFalse = 0x01;
inline constexpr uint8_t kTrue = 0x02;
inline constexpr uint8_t kInt = 0x03;        // zigzag varint, only outside the small range
inline constexpr uint8_t kDouble = 0x04;     // 8 bytes, IEEE 754 little-endian
inline constexpr uint8_t kString = 0x05;     // varint length >= 32, then UTF-8
inline constexpr uint8_t kBytes = 0x06;      // varint length, then octets
inline constexpr uint8_t kArray = 0x07;      // varint count >= 16, then items
inline constexpr uint8_t kMap = 0x08;        // varint count >= 16, then (key, value)
inline constexpr uint8_t kSmallIntFirst = 0x20;  // 0x20..0x7F: ints -32..63 (tag - 0x40)
inline constexpr uint8_t kSmallIntLast = 0x7F;
inline constexpr int64_t kSmallIntMin = -32;
inline constexpr int64_t kSmallIntMax = 63;
inline constexpr uint8_t kShortString = 0x80;  // 0x80..0x9F: string of length 0..31
inline constexpr uint8_t kShortArray = 0xA0;   // 0xA0..0xAF: array of 0..15 items
inline constexpr uint8_t kShortMap = 0xB0;     // 0xB0..0xBF: map of 0..15 entries
}  // namespace tag

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void PutByte(uint8_t b) { out_->push_back(static_cast<char>(b)); }
  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      PutByte(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    PutByte(static_cast<uint8_t>(v));
  }
  void PutFixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) PutByte(static_cast<uint8_t>(v >> (8 * i)));
  }
  void PutRaw(std::string_view s) { out_->append(s); }
  // varint length, then the bytes.
  void PutLengthPrefixed(std::string_view s) {
    PutVarint(s.size());
    PutRaw(s);
  }
  std::string* out() { return out_; }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in)
      : p_(reinterpret_cast<const uint8_t*>(in.data())), end_(p_ + in.size()) {}
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  bool ReadByte(uint8_t* b) {
    if (p_ == end_) return false;
    *b = *p_++;
    return true;
  }
  // Canonical varints only: at most 10 bytes, no trailing zero group, no overflow.
  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      uint8_t b = *p_++;
      if (shift == 63 && b > 1) return false;
      result |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) {
        if (b == 0 && shift > 0) return false;  // overlong
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool ReadFixed64(uint64_t* v) {
    if (remaining() < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += 8;
    *v = r;
    return true;
  }
  bool ReadRaw(size_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  bool ReadLengthPrefixed(std::string_view* out) {
    uint64_t n;
    return ReadVarint(&n) && n <= remaining() && ReadRaw(static_cast<size_t>(n), out);
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Appends the headerless canonical encoding of `v`.
void AppendValue(Writer& w, const Value& v);
// Reads one headerless value; kCorruption on any non-canonical or truncated input.
Status ReadValue(Reader& r, Value* out);

}  // namespace blaze::value

#endif  // BLAZE_VALUE_BINARY_CODEC_H_
