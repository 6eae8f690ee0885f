// types.h — strong types for identity and time used across BlazeDB.
#ifndef BLAZE_TYPES_H_
#define BLAZE_TYPES_H_

#include <compare>
#include <cstdint>
#include <map>
#include <string>

namespace blaze {

// A replica's identity: random 64 bits, created once per database file.
struct NodeId {
  uint64_t value = 0;
  friend auto operator<=>(const NodeId&, const NodeId&) = default;
  std::string ToHex() const;  // 16 lower-case hex digits
};

// A hybrid logical clock reading: 48 bits of Unix milliseconds, then a
// 16-bit counter, packed so that integer order is clock order.
struct Hlc {
  uint64_t value = 0;
  static Hlc From(uint64_t millis, uint16_t counter) { return Hlc{(millis << 16) | counter}; }
  uint64_t millis() const { return value >> 16; }
  uint16_t counter() const { return static_cast<uint16_t>(value & 0xFFFF); }
  friend auto operator<=>(const Hlc&, const Hlc&) = default;
};

// The stamp of a write: ordered by hlc, then origin. Every write in a
// database history has a distinct stamp (docs/merge-semantics.md).
struct Stamp {
  Hlc hlc;
  NodeId origin;
  friend auto operator<=>(const Stamp&, const Stamp&) = default;
  bool IsZero() const { return hlc.value == 0 && origin.value == 0; }
};

// Position of a change in its origin's log: 1, 2, 3... without gaps.
using Seq = uint64_t;

// What a replica holds: for each origin, the highest seq it holds with no
// gap below it.
using VersionVector = std::map<NodeId, Seq>;

// The seq `vv` holds for `origin` (0: none of its changes).
inline Seq SeqOf(const VersionVector& vv, NodeId origin) {
  auto it = vv.find(origin);
  return it == vv.end() ? 0 : it->second;
}

}  // namespace blaze

#endif  // BLAZE_TYPES_H_
