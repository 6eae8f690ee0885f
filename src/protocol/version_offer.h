// version_offer.h — protocol-version negotiation of a channel handshake
// (docs/protocol.md §2.1).
//
// Each side supports a set of protocol versions (1..16 distinct values,
// 1..255). The initiator sends its whole set as the *offer*, the payload of
// Noise message 1; the responder picks the highest version both support and
// answers with its own whole set and the choice in its hello (message 2);
// the initiator repeats its set and the choice in its hello (message 3).
// Noise hashes every payload into the handshake hash, so an attacker who
// edits the offer (strips a version to force a downgrade) makes message 2
// fail to decrypt at the initiator, and each side checks the other's choice.
//
// Offer bytes: N (1 byte, 1..16), then N versions, one byte each, strictly
// increasing (so there is exactly one encoding of a set). Stateless
// functions; thread-safe.
#ifndef BLAZE_PROTOCOL_VERSION_OFFER_H_
#define BLAZE_PROTOCOL_VERSION_OFFER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/status.h"

namespace blaze::protocol {

inline constexpr size_t kMaxVersions = 16;

// The configured versions in canonical order (increasing); kInvalidArgument
// unless there are 1..16 of them, each 1..255, with no duplicates.
Result<std::vector<uint8_t>> CanonicalVersions(const std::vector<uint8_t>& configured);

// The offer bytes of a canonical set (see above).
std::string EncodeVersionOffer(const std::vector<uint8_t>& canonical);
// The canonical set an offer holds; kCorruption ("protocol error: ...")
// for any other byte string, including trailing bytes.
Result<std::vector<uint8_t>> DecodeVersionOffer(std::string_view bytes);

// The highest version in both sets, if any.
std::optional<uint8_t> HighestCommonVersion(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace blaze::protocol

#endif  // BLAZE_PROTOCOL_VERSION_OFFER_H_
