// env.cc — the real clock and randomness.
#include "blaze/env.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

namespace blaze {
namespace {

class RealClock final : public Clock {
 public:
  int64_t NowMillis() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

class RealRandom final : public Random {
 public:
  void Fill(void* out, size_t len) override {
    auto* p = static_cast<unsigned char*>(out);
    while (len > 0) {
      ssize_t n = getrandom(p, len, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::abort();  // no entropy source: ids and node ids would collide
      }
      p += n;
      len -= static_cast<size_t>(n);
    }
  }
};

}  // namespace

Clock* SystemClock() {
  static RealClock clock;
  return &clock;
}

Random* SystemRandom() {
  static RealRandom random;
  return &random;
}

}  // namespace blaze
