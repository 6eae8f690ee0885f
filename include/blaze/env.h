// env.h — the outside world BlazeDB reads: wall-clock time and randomness.
//
// Both are interfaces so tests can inject fakes (tests/support/). The real
// implementations are returned by SystemClock() and SystemRandom(); they are
// stateless and thread-safe. An injected Clock or Random must outlive the
// Database using it and be safe to call from the database's threads.
#ifndef BLAZE_ENV_H_
#define BLAZE_ENV_H_

#include <cstddef>
#include <cstdint>

namespace blaze {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. May jump backwards; the hybrid logical
  // clock built on it never does.
  virtual int64_t NowMillis() = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  // Fills `len` bytes at `out` with unpredictable bytes.
  virtual void Fill(void* out, size_t len) = 0;
};

Clock* SystemClock();    // std::chrono::system_clock
Random* SystemRandom();  // getrandom(2)

}  // namespace blaze

#endif  // BLAZE_ENV_H_
