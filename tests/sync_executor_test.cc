// sync_executor_test.cc — ThreadExecutor's Dispatch: inline on the calling
// thread when idle, queued otherwise, and tasks never overlap either way.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

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

}  // namespace
}  // namespace blaze::sync
