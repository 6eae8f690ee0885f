// spin_wait.h — bounded busy-waiting before a thread goes to sleep.
//
// Waking a thread that sleeps on a futex costs ~1.5 us when its CPU is busy
// but 20-30 us when the CPU is idle (it has to leave its idle state). A thread
// that expects more work very soon (a sync engine or a watcher that just
// finished a task) polls a flag for a short, bounded time first; only when
// nothing arrives does it sleep. The poll yields the CPU now and then, so a
// spinner does not starve a thread that shares its core.
//
// Thread safety: SpinUntil only reads through `ready`; it holds no lock.
#ifndef BLAZE_STORE_SPIN_WAIT_H_
#define BLAZE_STORE_SPIN_WAIT_H_

#include <chrono>
#include <thread>

namespace blaze::store {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}

// Polls `ready` until it returns true (then true) or `budget` has passed
// (then false). A zero budget polls once.
template <typename Ready>
bool SpinUntil(std::chrono::microseconds budget, Ready&& ready) {
  if (ready()) return true;
  if (budget.count() <= 0) return false;
  auto deadline = std::chrono::steady_clock::now() + budget;
  for (unsigned round = 1;; ++round) {
    for (int k = 0; k < 32; ++k) {
      CpuRelax();
      if (ready()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
    // Every few microseconds give way to a thread that wants this CPU
    // (returns at once when none does).
    if (round % 8 == 0) std::this_thread::yield();
  }
}

}  // namespace blaze::store

#endif  // BLAZE_STORE_SPIN_WAIT_H_
