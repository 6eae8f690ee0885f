// json.h — conversion between Value and JSON text.
//
// Mapping (docs/data-model.md):
//   null, true/false, strings, arrays, objects map one to one;
//   integers that fit int64 become int, other numbers become double;
//   bytes are written as {"$bytes": "<standard base64 with padding>"} and an
//   object of exactly that shape is read back as bytes;
//   doubles that are NaN or infinite have no JSON form and are written as null;
//   invalid UTF-8 in a string (possible only for Values built in C++) is
//   written as U+FFFD per bad byte, so the output is always valid JSON.
// Parsing rejects invalid JSON (with the byte offset), invalid UTF-8 and
// nesting deeper than kMaxJsonDepth. Thread-safe (pure functions).
#ifndef BLAZE_JSON_H_
#define BLAZE_JSON_H_

#include <string>
#include <string_view>

#include "blaze/status.h"
#include "blaze/value.h"

namespace blaze {

inline constexpr int kMaxJsonDepth = 64;

Result<Value> ParseJson(std::string_view text);
// As ParseJson; with `reject_duplicate_keys`, an object naming a key twice is
// refused (kInvalidArgument naming the key) instead of the last one winning:
// for configuration where a second entry could silently widen access.
struct JsonParseOptions {
  bool reject_duplicate_keys = false;
};
Result<Value> ParseJson(std::string_view text, const JsonParseOptions& options);
std::string ToJson(const Value& value);

}  // namespace blaze

#endif  // BLAZE_JSON_H_
