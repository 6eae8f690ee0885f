// record_id.h — record identifiers.
//
// A record id is a non-empty UTF-8 string of at most kMaxRecordIdBytes bytes.
// Ids BlazeDB generates are 128 bits — 48 bits of Unix milliseconds then 80
// random bits — written as 26 characters of Crockford base32, so they sort by
// creation time (byte order == time order); within one millisecond one
// generator increments the random part, so its ids stay strictly increasing.
#ifndef BLAZE_RECORD_ID_H_
#define BLAZE_RECORD_ID_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blaze/env.h"
#include "blaze/status.h"

namespace blaze {

inline constexpr size_t kMaxRecordIdBytes = 256;
inline constexpr size_t kGeneratedIdLength = 26;

// OK for a valid user-supplied or generated id, kInvalidArgument otherwise.
Status ValidateRecordId(std::string_view id);

// For a generated id, the millisecond timestamp it carries; nullopt if `id`
// is not in the generated form.
std::optional<int64_t> GeneratedIdMillis(std::string_view id);

// The 16 bytes (big-endian: 6 of milliseconds, 10 random) of an id in the
// generated form — exactly: UnpackGeneratedId gives the same text back — or
// nullopt. The sync wire format sends generated ids this way.
std::optional<std::array<uint8_t, 16>> PackGeneratedId(std::string_view id);
std::string UnpackGeneratedId(const std::array<uint8_t, 16>& raw);

// Makes time-sortable ids. Not thread-safe: callers serialize (Database does).
class RecordIdGenerator {
 public:
  RecordIdGenerator(Clock* clock, Random* random) : clock_(clock), random_(random) {}
  std::string Next();

 private:
  Clock* clock_;
  Random* random_;
  int64_t last_ms_ = -1;
  uint8_t last_random_[10] = {};
};

}  // namespace blaze

#endif  // BLAZE_RECORD_ID_H_
