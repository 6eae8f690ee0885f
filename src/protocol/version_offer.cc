// version_offer.cc — see version_offer.h.
#include "protocol/version_offer.h"

#include <algorithm>

namespace blaze::protocol {

Result<std::vector<uint8_t>> CanonicalVersions(const std::vector<uint8_t>& configured) {
  if (configured.empty() || configured.size() > kMaxVersions) {
    return Status::InvalidArgument("a channel needs 1 to 16 protocol versions, got " +
                                   std::to_string(configured.size()));
  }
  std::vector<uint8_t> v = configured;
  std::sort(v.begin(), v.end());
  if (v.front() == 0) return Status::InvalidArgument("protocol version 0 does not exist; versions are 1..255");
  if (std::adjacent_find(v.begin(), v.end()) != v.end()) {
    return Status::InvalidArgument("protocol versions must be distinct");
  }
  return v;
}

std::string EncodeVersionOffer(const std::vector<uint8_t>& canonical) {
  std::string out;
  out.reserve(1 + canonical.size());
  out.push_back(static_cast<char>(canonical.size()));
  for (uint8_t v : canonical) out.push_back(static_cast<char>(v));
  return out;
}

Result<std::vector<uint8_t>> DecodeVersionOffer(std::string_view bytes) {
  if (bytes.empty()) return Status::Corruption("protocol error: empty version offer");
  const size_t n = static_cast<uint8_t>(bytes[0]);
  if (n == 0 || n > kMaxVersions) {
    return Status::Corruption("protocol error: version offer with " + std::to_string(n) +
                              " versions; 1 to 16 expected");
  }
  if (bytes.size() != 1 + n) {
    return Status::Corruption("protocol error: version offer of " + std::to_string(bytes.size()) +
                              " bytes; its count says " + std::to_string(1 + n));
  }
  std::vector<uint8_t> v;
  v.reserve(n);
  for (size_t i = 1; i <= n; ++i) {
    const uint8_t x = static_cast<uint8_t>(bytes[i]);
    // Strictly increasing also rules out version 0 after the first entry
    // and duplicates anywhere.
    if (x == 0 || (!v.empty() && x <= v.back())) {
      return Status::Corruption("protocol error: version offer must list versions 1..255 in strictly increasing order");
    }
    v.push_back(x);
  }
  return v;
}

std::optional<uint8_t> HighestCommonVersion(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  std::optional<uint8_t> best;
  for (uint8_t x : a) {
    if ((!best || x > *best) && std::find(b.begin(), b.end(), x) != b.end()) best = x;
  }
  return best;
}

}  // namespace blaze::protocol
