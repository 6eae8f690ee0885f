// record_id.cc — validation and generation of record ids.
#include "blaze/record_id.h"

#include <cstring>

#include "value/utf8.h"

namespace blaze {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int CrockfordDigit(char c) {
  const char* p = std::strchr(kCrockford, c);
  return (p == nullptr || c == '\0') ? -1 : static_cast<int>(p - kCrockford);
}

}  // namespace

Status ValidateRecordId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("record id is empty; expected 1 to 256 bytes of UTF-8");
  if (id.size() > kMaxRecordIdBytes) {
    return Status::InvalidArgument("record id is " + std::to_string(id.size()) +
                                   " bytes long; the limit is 256 bytes");
  }
  if (!value::IsValidUtf8(id)) return Status::InvalidArgument("record id is not valid UTF-8");
  return Status::Ok();
}

std::optional<int64_t> GeneratedIdMillis(std::string_view id) {
  if (id.size() != kGeneratedIdLength) return std::nullopt;
  uint64_t ms = 0;
  // 128 bits in 26 digits: the first digit carries 3 bits, so the 48-bit
  // timestamp is digits 0..9 (3 + 9*5 = 48 bits).
  for (size_t i = 0; i < id.size(); ++i) {
    int d = CrockfordDigit(id[i]);
    if (d < 0 || (i == 0 && d > 7)) return std::nullopt;
    if (i < 10) ms = (ms << 5) | static_cast<uint64_t>(d);
  }
  return static_cast<int64_t>(ms);
}

std::optional<std::array<uint8_t, 16>> PackGeneratedId(std::string_view id) {
  if (id.size() != kGeneratedIdLength) return std::nullopt;
  std::array<uint8_t, 16> raw{};
  int bit = -2;  // the 26 digits hold 130 bits; the first two must be zero
  for (size_t d = 0; d < kGeneratedIdLength; ++d) {
    int v = CrockfordDigit(id[d]);
    if (v < 0 || (d == 0 && v > 7)) return std::nullopt;
    for (int k = 4; k >= 0; --k, ++bit) {
      if (bit >= 0 && ((v >> k) & 1)) raw[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    }
  }
  return raw;
}

std::string UnpackGeneratedId(const std::array<uint8_t, 16>& raw) {
  // Big-endian 128-bit number -> 26 base32 digits (first holds 3 bits).
  std::string out(kGeneratedIdLength, '0');
  int bit = -2;  // 130 bits of digits, the first two are always zero
  for (size_t d = 0; d < kGeneratedIdLength; ++d) {
    int v = 0;
    for (int k = 0; k < 5; ++k, ++bit) {
      v <<= 1;
      if (bit >= 0) v |= (raw[bit / 8] >> (7 - bit % 8)) & 1;
    }
    out[d] = kCrockford[v];
  }
  return out;
}

std::string RecordIdGenerator::Next() {
  int64_t now = clock_->NowMillis();
  if (now < 0) now = 0;
  if (now <= last_ms_) {
    // Same (or earlier) millisecond: keep ids increasing by incrementing the
    // 80-bit random part; on overflow borrow the next millisecond.
    now = last_ms_;
    int i = 9;
    while (i >= 0 && ++last_random_[i] == 0) --i;
    if (i < 0) ++now;
  } else {
    random_->Fill(last_random_, sizeof last_random_);
  }
  last_ms_ = now;

  std::array<uint8_t, 16> raw;
  uint64_t ms = static_cast<uint64_t>(now) & ((uint64_t{1} << 48) - 1);
  for (int i = 0; i < 6; ++i) raw[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  std::memcpy(raw.data() + 6, last_random_, 10);
  return UnpackGeneratedId(raw);
}

}  // namespace blaze
