// sync_executor_test.cc — ThreadExecutor's Dispatch: inline on the calling
// thread when idle, queued otherwise, and tasks never overlap either way;
// and the bounded spin before its thread sleeps loses no task.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "sync/executor.h"

namespace blaze::sync {
namespace {

TEST(ThreadExecutorTest, DispatchOnAnIdleExecutorRunsOnTheCallingThread) {
  ThreadExecutor ex;
  std::thread::id ran_on;
  ex.Dispatch([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());  // ran before Dispatch returned
}

TEST(ThreadExecutorTest, DispatchWhileATaskRunsQueuesBehindIt) {
  ThreadExecutor ex;
  std::promise<void> started, release;
  std::shared_future<void> go = release.get_future().share();
  std::atomic<int> order{0};
  int first = 0, second = 0;
  ex.Post([&] {
    started.set_value();
    go.wait();
    first = ++order;
  });
  started.get_future().wait();
  std::promise<std::thread::id> second_thread;
  ex.Dispatch([&] {
    second = ++order;
    second_thread.set_value(std::this_thread::get_id());
  });
  EXPECT_EQ(second, 0);  // not run inline: the executor was busy
  release.set_value();
  EXPECT_NE(second_thread.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
}

TEST(ThreadExecutorTest, DispatchFromItsOwnTaskDoesNotNest) {
  ThreadExecutor ex;
  std::promise<void> done;
  bool inner_ran_inside = true;
  std::atomic<bool> outer_done{false};
  ex.Post([&] {
    ex.Dispatch([&] {
      inner_ran_inside = !outer_done;
      done.set_value();
    });
    outer_done = true;
  });
  done.get_future().wait();
  EXPECT_FALSE(inner_ran_inside);
}

TEST(ThreadExecutorTest, TasksQueuedDuringAnInlineTaskAllRun) {
  ThreadExecutor ex;
  std::atomic<int> ran{0};
  std::promise<void> all;
  constexpr int kFollowUps = 20;  // more than run inline: the rest go to the executor's thread
  ex.Dispatch([&] {
    for (int i = 0; i < kFollowUps; ++i) {
      ex.Post([&] {
        if (++ran == kFollowUps) all.set_value();
      });
    }
  });
  all.get_future().wait();
  EXPECT_EQ(ran.load(), kFollowUps);
}

// Tasks posted one after another, each by the task before it's waiter: most
// land while the thread is still polling after the last one, some after it
// went to sleep (long spin, none, and the default). Every one runs, in order,
// on the executor's thread, and the destructor returns while it spins.
TEST(ThreadExecutorTest, TasksPostedWhileItSpinsOrSleepsAllRunInOrder) {
  for (auto spin : {std::chrono::microseconds(0), ThreadExecutor::kDefaultSpin, std::chrono::microseconds(100000)}) {
    auto ex = std::make_unique<ThreadExecutor>(spin);
    std::vector<int> order;
    for (int i = 0; i < 200; ++i) {
      std::promise<std::thread::id> ran;
      ex->Post([&, i] {
        order.push_back(i);
        ran.set_value(std::this_thread::get_id());
      });
      EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ex.reset();  // just ran a task: the thread is polling (100 ms with the long spin)
    ASSERT_EQ(order.size(), 200u) << spin.count();
    for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
  }
}

}  // namespace
}  // namespace blaze::sync
