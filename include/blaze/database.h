// database.h — the BlazeDB embedded database.
//
// A Database is one SQLite file (or an in-memory database) holding named
// collections of records. Every local transaction appends one change
// {origin, seq, hlc, ops} to the change log in the same SQLite transaction as
// the data, so the file always carries exactly what sync needs
// (docs/on-disk-format.md).
//
//   blaze::Options options;
//   auto db = blaze::Database::Open(options, "bugs.blazedb");
//   if (!db.ok()) { ...db.status()... }
//   auto id = (*db)->Insert("bugs", doc);
//
// Thread safety: a Database may be used from any number of threads; calls are
// serialized internally. Watch callbacks run on the database's own watcher
// thread, one at a time, in commit order; they may call back into the
// Database. Several processes may open the same file; writes are serialized by
// SQLite's lock (a writer waits up to Options::busy_timeout_ms).
#ifndef BLAZE_DATABASE_H_
#define BLAZE_DATABASE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/env.h"
#include "blaze/status.h"
#include "blaze/types.h"
#include "blaze/value.h"

namespace blaze {

inline constexpr int kFormatVersion = 1;  // on-disk format, docs/on-disk-format.md
inline constexpr size_t kMaxCollectionNameBytes = 256;
inline constexpr size_t kMaxDocumentBytes = 16 << 20;  // BlazeBinary size of one record

enum class Durability {
  kNormal,  // WAL + synchronous=NORMAL: survives kill -9; power loss may drop the last commits
  kFull,    // WAL + synchronous=FULL: survives power loss too
};

struct Options {
  // Create the database when the file does not exist or is empty (0 bytes,
  // e.g. made by mktemp); when false, such a file is kNotFound, left as is.
  bool create_if_missing = true;
  bool in_memory = false;         // ignore the path; nothing touches disk
  // Open for reading only: never creates, changes or leaves behind a file
  // (not even -wal/-shm), and works without write access to the file or its
  // directory; writes fail with kPermissionDenied. A missing or empty file is
  // kNotFound. While no writer has the file open, the handle reads the file
  // as it stands and does not see later commits (docs/on-disk-format.md,
  // "Read-only access").
  bool read_only = false;
  Durability durability = Durability::kNormal;
  int busy_timeout_ms = 5000;     // how long a write waits for another process's lock
  int watch_poll_ms = 10;         // how often watchers look for other processes' commits
  // After delivering events, the watcher thread polls for the next commit
  // this long before it sleeps (waking a sleeping thread costs 20-30 us on an
  // idle CPU); at most this much CPU per delivery round. 0: sleep at once.
  int watch_spin_us = 50;
  int cache_size_mb = 32;         // SQLite page cache of this connection
  int64_t mmap_size_mb = 256;     // read the file through a memory map up to this size (0: off)
  Clock* clock = nullptr;         // defaults to SystemClock()
  Random* random = nullptr;       // defaults to SystemRandom()
};

// What Database::Compact may remove (docs/sync-protocol.md, "Compaction").
struct CompactOptions {
  // The change log keeps every change some known peer (one with a sync
  // checkpoint in this file) has not acknowledged, unless it is older than
  // this; older ones go too, and a peer that still needs them is brought up
  // to date from a snapshot instead. 0 prunes the whole log.
  int64_t log_horizon_ms = 7LL * 24 * 3600 * 1000;
  // Tombstones (deleted records, unset fields) go once every known peer holds
  // them and every known origin has written past them, or when they are older
  // than this, whichever comes first.
  int64_t tombstone_horizon_ms = 30LL * 24 * 3600 * 1000;
};

struct CompactStats {
  int64_t changes_pruned = 0;          // change-log entries removed
  int64_t tombstones_purged = 0;       // deleted records removed for good
  int64_t field_tombstones_purged = 0; // records whose unset-field stamps were dropped
  VersionVector horizon;               // per origin: the log holds every change after this
};

struct Record {
  std::string id;
  Value doc;  // a map; never contains "_id"
};

struct QueryOptions {
  std::string where;                     // query language text; empty matches all
  std::map<std::string, Value, std::less<>> vars;  // values for $variables
  std::string order_by;                  // a field path, "_id", or empty (order by id)
  bool descending = false;
  std::optional<int64_t> limit;
  int64_t offset = 0;
};

// One record-level effect of a committed change, as seen by watchers.
struct ChangeEvent {
  enum class Kind { kInserted, kUpdated, kDeleted };
  Kind kind;
  std::string collection;
  std::string id;
  Value doc;         // the record as of delivery; null for kDeleted
  NodeId origin;     // the node whose change this is
  Seq seq = 0;       // that change's seq in its origin's log
};
std::string_view ChangeKindName(ChangeEvent::Kind kind);  // "inserted", "updated", "deleted"

// Keeps a watch alive; destroying (or Cancel()ing) it stops delivery. After
// Cancel returns, the callback is not running and will not run again (unless
// Cancel is called from inside the callback itself, which is allowed).
class WatchHandle {
 public:
  WatchHandle() = default;
  WatchHandle(WatchHandle&&) noexcept = default;
  WatchHandle& operator=(WatchHandle&& other) noexcept;
  ~WatchHandle();
  void Cancel();
  bool active() const { return static_cast<bool>(cancel_); }

 private:
  friend class Database;
  friend class Topology;
  explicit WatchHandle(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  std::function<void()> cancel_;
};

class Txn;

class Database {
 public:
  // Opens or creates the database at `path`. Refuses, without modifying it, a
  // file that is not a BlazeDB database (kCorruption), one written by a newer
  // format (kNotSupported), and a missing or empty file unless
  // create_if_missing (kNotFound). Options::read_only opens without writing.
  // The first Open in a process turns SQLite's process-wide memory
  // statistics off unless the application initialized SQLite itself first
  // (docs/performance.md).
  static Result<std::unique_ptr<Database>> Open(const Options& options, const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  NodeId node_id() const;
  const std::string& path() const;

  // Single-record writes, each one transaction and one change.
  Result<std::string> Insert(std::string_view collection, const Value& doc);  // generated id
  Status Put(std::string_view collection, std::string_view id, const Value& doc);  // upsert, replaces
  Status Patch(std::string_view collection, std::string_view id, const Value& patch);  // RFC 7396
  Status Delete(std::string_view collection, std::string_view id);  // kNotFound if absent

  // Reads.
  Result<Value> Get(std::string_view collection, std::string_view id);  // kNotFound if absent
  Result<std::vector<Record>> FetchAll(std::string_view collection);    // ordered by id
  Result<std::vector<Record>> Query(std::string_view collection, const QueryOptions& query);
  Result<int64_t> Count(std::string_view collection, std::string_view where = {},
                        const std::map<std::string, Value, std::less<>>& vars = {});
  // SQLite's query plan for `query`, one step per line (EXPLAIN QUERY PLAN).
  Result<std::string> Explain(std::string_view collection, const QueryOptions& query);
  Result<std::vector<std::string>> Collections();

  // Declares a secondary index on a field path ("status", "owner.name").
  Status CreateIndex(std::string_view collection, std::string_view field);

  // Runs `body` in one transaction: everything it wrote commits atomically as
  // one change, or — if it returns a non-OK Status or throws — nothing does
  // (the exception is rethrown after the rollback).
  Status Transaction(const std::function<Status(Txn&)>& body);

  // Calls `callback` after each commit (of this process or another one on the
  // same file) for each record of `collection` the change inserted, updated or
  // deleted and that matches `where` before or after the change.
  //
  // Compaction (Compact, `blazedb compact`, on any handle or process) does
  // not wait for watches: it may prune log entries, and purge tombstones,
  // that a watch has not read yet. The watch then loses no record, but it
  // cannot replay those changes one by one: where the pruned entries were,
  // it delivers one event per record of `collection` whose document differs
  // from what it last delivered (or saw when the watch began) — kUpdated or
  // kInserted with the current document, or kDeleted for a record that is
  // gone (tombstone purged or not) — in id order, with `origin` the node of
  // the record's newest write (0 when nothing of it is left) and `seq` 0.
  // Several changes of one record become one event (a later event of the
  // same round carries them if there is one); a record both created and
  // deleted meanwhile, or put back exactly as it was, yields none; with
  // `where`, only records that matched before or match now. Commits of this
  // handle keep their exact events. To compare, each handle keeps, per
  // watched collection, every visible record's id and a 64-bit fingerprint
  // of its document in memory (one read of the collection when its first
  // watch starts).
  Result<WatchHandle> Watch(std::string_view collection, std::string_view where,
                            std::function<void(const ChangeEvent&)> callback);

  // Prunes the change log and purges tombstones (see CompactOptions), in one
  // transaction. The visible data and every sync guarantee are unchanged:
  // peers behind the pruned log are sent a snapshot of current state, and
  // running watches (any process) recover what they had not read (Watch).
  Result<CompactStats> Compact(const CompactOptions& options = {});

  class Impl;

 private:
  friend class DatabaseAccess;  // the sync layer's way in (src/store/replica.h)
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The writes and reads of one transaction; valid only inside
// Database::Transaction's body. Reads see the transaction's own writes.
class Txn {
 public:
  Result<std::string> Insert(std::string_view collection, const Value& doc);
  Status Put(std::string_view collection, std::string_view id, const Value& doc);
  Status Patch(std::string_view collection, std::string_view id, const Value& patch);
  Status Delete(std::string_view collection, std::string_view id);
  Result<Value> Get(std::string_view collection, std::string_view id);

  class Impl;

 private:
  friend class Database;
  explicit Txn(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace blaze

#endif  // BLAZE_DATABASE_H_
