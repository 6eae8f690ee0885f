// utf8.h — strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF). Thread-safe.
#ifndef BLAZE_VALUE_UTF8_H_
#define BLAZE_VALUE_UTF8_H_

#include <string_view>

namespace blaze::value {

bool IsValidUtf8(std::string_view s);

}  // namespace blaze::value

#endif  // BLAZE_VALUE_UTF8_H_
