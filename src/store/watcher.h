// watcher.h — the change feed: delivers committed changes to Watch callbacks.
//
// One thread per Database (started by the first Watch) wakes on a local
// commit or every Options::watch_poll_ms, asks the database for the change
// log entries after its cursor (which also catches other processes' commits,
// seen through PRAGMA data_version), and hands each record-level event to the
// watches of that collection, in commit order.
//
// Commits of this process carry the record exactly as the change left it;
// commits of other processes are read back from the change log and carry the
// record as it is when the watcher reads it (it may include later commits).
//
// A watch with a query tracks the ids that currently match it, so it is told
// about a record that matched before the change or matches after it —
// including the delete of a record it was showing.
//
// After a round that found events, the thread polls for the next Notify for
// up to `spin` before it sleeps (a sleeping thread costs 20-30 us to wake on
// an idle CPU); rounds woken by the poll timer alone do not spin.
//
// Thread safety: Add/Remove/Notify may be called from any thread, Remove also
// from inside a callback. Callbacks run on the watcher thread, one at a time,
// without any database lock held.
#ifndef BLAZE_STORE_WATCHER_H_
#define BLAZE_STORE_WATCHER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blaze/database.h"
#include "query/query.h"

namespace blaze::store {

struct WatchEvent {
  int64_t local_seq = 0;  // position in this file's change log
  ChangeEvent event;
  bool exact = false;     // doc is the record right after this change (a commit of this process)
};

class Watcher {
 public:
  // Collects events after *cursor for the listed collections (takes the database lock).
  using Source = std::function<Status(const std::vector<std::string>&, int64_t*, std::vector<WatchEvent>*)>;

  Watcher(Source source, int64_t cursor, int poll_ms, std::chrono::microseconds spin = {});
  ~Watcher();  // stops and joins the thread

  struct Spec {
    std::string collection;
    std::optional<query::BoundQuery> query;
    std::set<std::string> matching;  // ids matching `query` at start_seq
    int64_t start_seq = 0;           // deliver changes after this local seq
    std::function<void(const ChangeEvent&)> callback;
  };
  uint64_t Add(Spec spec);
  void Remove(uint64_t id);
  void Notify();

 private:
  struct Entry {
    Spec spec;
    bool cancelled = false;  // guarded by mu_
  };
  void Run();
  void Deliver(const std::vector<WatchEvent>& events);

  Source source_;
  int poll_ms_;
  std::chrono::microseconds spin_;
  std::atomic<uint64_t> notified_{0};  // bumped by every Notify, polled while spinning
  std::mutex mu_;  // guards entries_, stop_, wake_
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<Entry>> entries_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  bool wake_ = false;
  int64_t cursor_;               // only the watcher thread touches it
  std::mutex deliver_mu_;        // held while callbacks run
  std::thread thread_;
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_WATCHER_H_
