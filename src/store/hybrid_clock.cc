// hybrid_clock.cc — HLC arithmetic.
#include "store/hybrid_clock.h"

#include <algorithm>
#include <string>

namespace blaze::store {
namespace {
constexpr uint64_t kMaxMillis = (uint64_t{1} << 48) - 1;

uint64_t WallMillis(Clock* clock) {
  int64_t ms = clock->NowMillis();
  if (ms < 0) return 0;
  return std::min<uint64_t>(static_cast<uint64_t>(ms), kMaxMillis);
}
}  // namespace

Hlc HybridClock::Next(Hlc floor) const {
  uint64_t wall = Hlc::From(WallMillis(clock_), 0).value;
  uint64_t after = std::max(last_.value, floor.value) + 1;
  return Hlc{std::max(wall, after)};
}

Status HybridClock::Observe(Hlc remote, int64_t max_drift_ms) {
  uint64_t wall = WallMillis(clock_);
  if (remote.millis() > wall && remote.millis() - wall > static_cast<uint64_t>(max_drift_ms)) {
    return Status::InvalidArgument("remote clock reading is " + std::to_string(remote.millis() - wall) +
                                   " ms ahead of this node's clock; the maximum allowed drift is " +
                                   std::to_string(max_drift_ms) + " ms");
  }
  Advance(remote);
  return Status::Ok();
}

}  // namespace blaze::store
