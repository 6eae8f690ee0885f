// executor.cc — the two executors.
#include "sync/executor.h"

#include "store/spin_wait.h"

namespace blaze::sync {

void ManualExecutor::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(std::move(task));
}

bool ManualExecutor::RunOne() {
  std::function<void()> task;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.empty()) return false;
    task = std::move(tasks_.front());
    tasks_.pop_front();
  }
  task();
  return true;
}

size_t ManualExecutor::RunUntilIdle() {
  size_t n = 0;
  while (RunOne()) ++n;
  return n;
}

bool ManualExecutor::idle() {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.empty();
}

ThreadExecutor::ThreadExecutor(std::chrono::microseconds spin) : spin_(spin), thread_([this] { Run(); }) {}

ThreadExecutor::~ThreadExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    Changed();
  }
  cv_.notify_all();
  thread_.join();  // Run returns only when drained and no dispatched task runs
}

void ThreadExecutor::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(std::move(task));
  Changed();
  // Notified under the lock: a dispatching thread may be the last to touch
  // the executor before its destructor runs.
  if (!running_) cv_.notify_one();
}

void ThreadExecutor::Dispatch(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_ || !tasks_.empty() || stop_) {
      tasks_.push_back(std::move(task));
      Changed();
      if (!running_) cv_.notify_one();
      return;
    }
    running_ = true;
  }
  // Ours now: run it, and a few of the tasks it caused (an engine's own
  // follow-ups), rather than waking our thread for them.
  constexpr int kInlineTasks = 8;
  for (int n = 0;; ++n) {
    task();
    task = nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.empty() || n + 1 >= kInlineTasks) {
      running_ = false;
      if (!tasks_.empty() || stop_) {
        Changed();
        cv_.notify_one();
      }
      return;
    }
    task = std::move(tasks_.front());
    tasks_.pop_front();
  }
}

void ThreadExecutor::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  auto can_run = [this] { return !running_ && (stop_ || !tasks_.empty()); };
  bool ran = false;  // a task ran since the thread last slept
  while (true) {
    if (!can_run() && ran && spin_.count() > 0) {
      // Poll a while before sleeping: the next task usually follows soon.
      uint64_t seen = epoch_.load(std::memory_order_acquire);
      lock.unlock();
      store::SpinUntil(spin_, [&] { return epoch_.load(std::memory_order_acquire) != seen; });
      lock.lock();
    }
    if (!can_run()) ran = false;
    cv_.wait(lock, can_run);
    if (tasks_.empty()) return;  // stop_ and drained
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    running_ = true;
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
    running_ = false;
    ran = true;
  }
}

}  // namespace blaze::sync
