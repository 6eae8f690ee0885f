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
// Compaction (any handle, any process) may prune log entries, and purge
// tombstones, before this watcher read them. So for each watched collection
// the watcher keeps what it last knew of every visible record: its id and a
// fingerprint of its document (Known). A round that finds a pruned entry it
// had not read (a gap in local_seq not covered by this process's own exact
// events) also gets the records whose current document differs from what it
// knew, or that are gone: one recovered event per such record (current
// document; a delete for a vanished one), delivered where the gap was, in id
// order, unless a later event of the round names the record (that one
// carries the change). Several changes of one record in the gap become one
// event. docs/on-disk-format.md "Change log" and the Watch comment in
// include/blaze/database.h describe this for users.
//
// After a round that found events, the thread polls for the next Notify for
// up to `spin` before it sleeps (a sleeping thread costs 20-30 us to wake on
// an idle CPU); rounds woken by the poll timer alone do not spin.
//
// Thread safety: Add/Remove/Notify may be called from any thread, Remove also
// from inside a callback. Callbacks run on the watcher thread, one at a time,
// without any database lock held. The Known maps are touched by the watcher
// thread only (new ones are handed over through mu_).
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
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "blaze/database.h"
#include "query/query.h"

namespace blaze::store {

struct WatchEvent {
  int64_t local_seq = 0;  // position in this file's change log
  ChangeEvent event;
  bool exact = false;     // doc is the record right after this change (a commit of this process)
  uint64_t fingerprint = 0;  // recovered events: DocFingerprint of the doc's stored JSON
};

// A 64-bit fingerprint of a record's document as stored (its JSON, the `doc`
// column; ToJson of the document gives the same text).
inline uint64_t DocFingerprint(std::string_view json) { return std::hash<std::string_view>{}(json); }

// What a watcher knows of a collection: each visible record's id and the
// fingerprint of its document as last delivered (or read when the watch began).
using KnownRecords = std::unordered_map<std::string, uint64_t>;

// One round's findings (see Watcher::Source).
struct WatchRound {
  std::vector<WatchEvent> events;  // in local_seq order
  // The first local_seq after the cursor whose log entry was pruned unread; 0: none.
  int64_t gap = 0;
  // With a gap: per record that differs from Known, its event (kind, current
  // doc, fingerprint; local_seq = the new cursor), ordered by collection and id.
  std::vector<WatchEvent> recovered;
};

class Watcher {
 public:
  // Collects the events after *cursor for the watched collections into the
  // round, comparing with `known` when it finds a gap; advances *cursor. It
  // takes the database lock, and only then calls `watched` for the
  // collections (and brings `known` up to date): a watch added before that
  // is served by this round, one added after it starts past this round's
  // cursor (Add runs under the same lock), so no commit falls between.
  using Source = std::function<Status(const std::function<std::vector<std::string>()>& watched,
                                      const std::map<std::string, KnownRecords>& known, int64_t*, WatchRound*)>;
  // Reads a collection's Known (called by Add under the database lock the caller holds).
  using Scan = std::function<Result<KnownRecords>(const std::string& collection)>;

  Watcher(Source source, int64_t cursor, int poll_ms, std::chrono::microseconds spin = {});
  ~Watcher();  // stops and joins the thread

  struct Spec {
    std::string collection;
    std::optional<query::BoundQuery> query;
    std::set<std::string> matching;  // ids matching `query` at start_seq
    int64_t start_seq = 0;           // deliver changes after this local seq
    std::function<void(const ChangeEvent&)> callback;
  };
  // Adds a watch; the first watch of a collection (while none is tracked)
  // scans it for its Known, as of spec.start_seq.
  Result<uint64_t> Add(Spec spec, const Scan& scan);
  void Remove(uint64_t id);
  void Notify();

 private:
  struct Entry {
    Spec spec;
    bool cancelled = false;  // guarded by mu_
  };
  struct Known {
    KnownRecords records;
    int64_t base_seq = 0;  // events at or before this are already in `records`
  };
  void Run();
  // The collections watches name now; installs new Knowns, drops unused ones
  // (watcher thread, inside the Source).
  std::vector<std::string> Watched();
  void Deliver(const WatchRound& round);
  // Hands one event to the watches of its collection and updates Known.
  void DeliverOne(const WatchEvent& we, const std::vector<std::shared_ptr<Entry>>& entries);
  // Whether Known already says what `we` would (same fingerprint, or gone).
  bool KnownAs(const WatchEvent& we) const;

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
  std::set<std::string> tracked_;             // guarded by mu_: collections with a Known (or pending)
  std::map<std::string, Known> pending_;      // guarded by mu_: new Knowns for the watcher thread
  std::map<std::string, KnownRecords> known_;  // only the watcher thread touches it
  std::map<std::string, int64_t> known_base_;  // likewise: each Known's base_seq
  int64_t cursor_;               // only the watcher thread touches it
  std::mutex deliver_mu_;        // held while callbacks run
  std::thread thread_;
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_WATCHER_H_
