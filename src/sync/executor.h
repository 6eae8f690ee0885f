// executor.h — where sync work runs. A SyncEngine confines all its state to
// one Executor: everything it does is a task run there, one at a time, so it
// needs no locks of its own (LiteCore's actor model, Asio's strand).
//
// ThreadExecutor runs tasks on its own thread — or, through Dispatch, on the
// calling thread when it has nothing to do, which saves a thread hop (a
// wake-up costs more than a small task). Its tasks still never overlap, and
// each sees what the one before it wrote (the executor's mutex orders them).
// After a task, its thread polls for the next one for a short, bounded time
// (`spin`, default kDefaultSpin) before it sleeps: a sleeping thread costs
// 20-30 us to wake on an idle CPU, and sync work comes in bursts. An idle
// executor burns at most `spin` of CPU after each task; 0 turns it off.
// ManualExecutor runs tasks when the caller says so, which makes
// multi-replica tests single-threaded and deterministic under a seed.
// Post() and Dispatch() are thread-safe on both.
#ifndef BLAZE_SYNC_EXECUTOR_H_
#define BLAZE_SYNC_EXECUTOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace blaze::sync {

class Executor {
 public:
  virtual ~Executor() = default;
  // Queues the task; it runs later, never inside this call.
  virtual void Post(std::function<void()> task) = 0;
  // Runs the task now on the calling thread if the executor is idle (no task
  // running, none queued), else queues it like Post. The caller must hold no
  // lock the task may take. By default, Post.
  virtual void Dispatch(std::function<void()> task) { Post(std::move(task)); }
};

class ManualExecutor final : public Executor {
 public:
  void Post(std::function<void()> task) override;
  // Runs one queued task; false if there was none.
  bool RunOne();
  // Runs tasks (including ones they post) until the queue is empty; returns how many ran.
  size_t RunUntilIdle();
  bool idle();

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> tasks_;
};

class ThreadExecutor final : public Executor {
 public:
  static constexpr std::chrono::microseconds kDefaultSpin{50};
  explicit ThreadExecutor(std::chrono::microseconds spin = kDefaultSpin);
  ~ThreadExecutor() override;  // runs what is queued, waits out a dispatched task, then joins
  void Post(std::function<void()> task) override;
  // Inline when idle; tasks queued meanwhile (up to a few) run on the same
  // thread before it lets go, the rest on the executor's thread.
  void Dispatch(std::function<void()> task) override;
  bool OnExecutorThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Run();
  // Something changed that the thread may act on (a task queued, a dispatched
  // run ended, stop): bumped under mu_, polled without it while spinning.
  void Changed() { epoch_.fetch_add(1, std::memory_order_release); }
  const std::chrono::microseconds spin_;
  std::atomic<uint64_t> epoch_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool running_ = false;  // a task is running (on our thread or a dispatching one)
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace blaze::sync

#endif  // BLAZE_SYNC_EXECUTOR_H_
