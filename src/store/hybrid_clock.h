// hybrid_clock.h — the hybrid logical clock (HLC) of one database.
//
// A reading is 48 bits of Unix milliseconds and a 16-bit counter (blaze::Hlc).
// Readings handed out are strictly increasing even if the wall clock steps
// back; when the counter overflows it carries into the milliseconds, so a
// burst of more than 65536 stamps in one millisecond runs the clock slightly
// ahead of real time (by a millisecond per 65536 stamps) instead of failing.
//
// A transaction stamps its n operations with n consecutive readings:
// Next(floor) gives the first, Advance(first + n - 1) commits them. `floor` is
// the last reading any process recorded in the file, so processes sharing a
// file never reuse a stamp. Observe() absorbs a remote reading (Lamport rule)
// and rejects one further ahead of the wall clock than the allowed drift.
//
// Not thread-safe: owned by the Database and used under its mutex.
#ifndef BLAZE_STORE_HYBRID_CLOCK_H_
#define BLAZE_STORE_HYBRID_CLOCK_H_

#include <cstdint>

#include "blaze/env.h"
#include "blaze/status.h"
#include "blaze/types.h"

namespace blaze::store {

class HybridClock {
 public:
  explicit HybridClock(Clock* clock) : clock_(clock) {}

  // The next reading: greater than every reading handed out and than `floor`,
  // and at least the wall clock. Does not consume it.
  Hlc Next(Hlc floor) const;
  // Records that readings up to `last` are used.
  void Advance(Hlc last) {
    if (last > last_) last_ = last;
  }
  // Absorbs a remote reading. kInvalidArgument, changing nothing, if `remote`
  // is more than `max_drift_ms` ahead of this node's wall clock.
  Status Observe(Hlc remote, int64_t max_drift_ms);
  Hlc last() const { return last_; }

 private:
  Clock* clock_;
  Hlc last_;
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_HYBRID_CLOCK_H_
