// executor.h — where sync work runs. A SyncEngine confines all its state to
// one Executor: everything it does is a task posted there, so it needs no
// locks of its own (LiteCore's actor model, Asio's strand).
//
// ThreadExecutor runs tasks on its own thread; ManualExecutor runs them when
// the caller says so, which makes multi-replica tests single-threaded and
// deterministic under a seed. Post() is thread-safe on both.
#ifndef BLAZE_SYNC_EXECUTOR_H_
#define BLAZE_SYNC_EXECUTOR_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace blaze::sync {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Post(std::function<void()> task) = 0;
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
  ThreadExecutor();
  ~ThreadExecutor() override;  // runs what is queued, then joins
  void Post(std::function<void()> task) override;
  bool OnExecutorThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace blaze::sync

#endif  // BLAZE_SYNC_EXECUTOR_H_
