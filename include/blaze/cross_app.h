// cross_app.h — sharing a database with the other apps of an app group on
// one device (docs/cross-app.md).
//
// The owner serves its database on a Unix socket in the group directory:
//
//   auto share = EnableCrossAppSync(*db, "/path/group", identity, policy);
//
// Each app that connects runs the secure-channel handshake with its app
// identity; the owner maps the key to an app registered in the group (or the
// handshake fails with an error frame) and streams it what the export policy
// grants: granted collections only, excluded fields stripped, rows filtered
// by `where`, records evicted from the app's replica when they leave its
// view. Changes the app sends are applied when the policy allows them;
// refused ones get an error naming them and nothing of them is applied.
//
// A reader keeps a replica in its own BlazeDB file:
//
//   auto replica = ConnectToSharedDB("/path/group", "bugs.blazedb", identity, "dash.blazedb");
//   replica->db().Query("bugs", {...});            // never waits for the owner
//   replica->WatchCrossApp("bugs", "", callback);   // every change that arrives
//
// The replica stays readable (and writable where granted) while the owner
// is away; both sides catch up from checkpoints when it returns.
//
// Thread safety: both classes may be used from any thread; their work runs on
// threads of their own, stopped by the destructor.
#ifndef BLAZE_CROSS_APP_H_
#define BLAZE_CROSS_APP_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "blaze/database.h"
#include "blaze/export_policy.h"
#include "blaze/keys.h"
#include "blaze/status.h"

namespace blaze {

struct CrossAppOptions {
  // The name the database is shared under in the group (a file name such as
  // "bugs.blazedb"); empty: the database file's base name.
  std::string db_name;
  size_t batch_changes = 256;            // changes folded into one message at most
  size_t window = 8;                     // unacknowledged messages per connection at most
  int64_t max_drift_ms = 5 * 60 * 1000;  // remote clocks further ahead are refused
  std::chrono::milliseconds handshake_timeout{5000};
  // A peer that reads nothing for this long while we send is disconnected
  // (it reconnects and catches up): no app can hold the other side's threads.
  std::chrono::milliseconds send_timeout{30000};

  // Limits of the owner (docs/cross-app.md, "Limits"). Connections beyond
  // them are closed at once; the app retries.
  size_t max_connections = 64;          // open connections per shared socket (two threads each)
  size_t max_connections_per_app = 4;   // of them, from one app
  size_t max_handshakes = 8;            // not yet authenticated, at once (each ends within handshake_timeout)
  // One message, reassembled (both sides; owner and readers should agree).
  // The default holds one record of the largest size (kMaxDocumentBytes);
  // the owner splits its batches to fit, the reader its changes.
  size_t max_message_size = kMaxDocumentBytes + (size_t{1} << 20);
  size_t max_changes_per_message = 4096;  // a changes message with more is refused (batch_changes must be <=)
  // How often the owner re-reads the group registry: an app removed from it
  // is disconnected within this.
  std::chrono::milliseconds registry_check_interval{1000};

  // Reader only: the app name (in the group registry) that must serve the
  // database. Empty: the first registered app that serves it is pinned in
  // the replica file, and only that key is accepted afterwards.
  std::string owner;

  // Told why a connection failed or a change was refused (may be empty).
  // Text that came from another app is escaped (no control characters).
  std::function<void(const std::string&)> log;
};

// One connected app, as the owner sees it.
struct CrossAppConnection {
  std::string app;
  bool live = false;              // handshake done, hello received, not closed
  uint64_t records_sent = 0;      // record states streamed
  uint64_t evictions_sent = 0;
  uint64_t images_sent = 0;       // full images (after a policy change or a compacted log)
  uint64_t changes_applied = 0;   // the app's changes the owner applied
  uint64_t changes_refused = 0;   // refused by the policy (error sent, nothing applied)
  std::string error;              // why it closed, if it did
};

class CrossAppShare {
 public:
  ~CrossAppShare();  // stops serving, closes every connection, releases the socket
  CrossAppShare(const CrossAppShare&) = delete;
  CrossAppShare& operator=(const CrossAppShare&) = delete;

  // Replaces the export policy; connected apps get what it grants now (newly
  // visible records arrive, newly hidden ones are evicted) without reconnecting.
  Status SetPolicy(const ExportPolicy& policy);
  // The open connections, and the last 16 that ended.
  std::vector<CrossAppConnection> Connections() const;
  const std::string& socket_path() const;

  class Impl;

 private:
  friend Result<std::unique_ptr<CrossAppShare>> EnableCrossAppSync(Database& db, const std::string& group_dir,
                                                                   const KeyPair& identity,
                                                                   const ExportPolicy& policy,
                                                                   const CrossAppOptions& options);
  explicit CrossAppShare(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Serves `db` to the apps of the group at `group_dir`. `identity` must be
// registered in the group (the readers authenticate the owner by it). Fails if
// another process already serves a database of that name in the group.
// `db` must outlive the returned share.
Result<std::unique_ptr<CrossAppShare>> EnableCrossAppSync(Database& db, const std::string& group_dir,
                                                          const KeyPair& identity, const ExportPolicy& policy,
                                                          const CrossAppOptions& options = {});

struct SharedReplicaStatus {
  bool connected = false;        // live link to the owner
  uint64_t batches_applied = 0;  // state batches merged into the replica
  uint64_t records_received = 0;
  uint64_t changes_sent = 0;     // this app's own changes sent to the owner
  uint64_t changes_refused = 0;  // the owner refused them (see last_error)
  uint64_t connects = 0;         // successful connections so far
  std::string last_error;
};

class SharedReplica {
 public:
  ~SharedReplica();  // disconnects; the replica file stays
  SharedReplica(const SharedReplica&) = delete;
  SharedReplica& operator=(const SharedReplica&) = delete;

  // The replica: an ordinary BlazeDB file. Local writes the grant does not
  // allow fail with kPermissionDenied before anything is written.
  Database& db();
  // Database::Watch on the replica: fires for every change that arrives from
  // the owner (and for this app's own writes).
  Result<WatchHandle> WatchCrossApp(std::string_view collection, std::string_view where,
                                    std::function<void(const ChangeEvent&)> callback);
  SharedReplicaStatus status() const;
  // Waits until connected and both sides hold what the other had when the
  // connection started (the owner's changes merged, ours acknowledged).
  // kDeadlineExceeded-like kIOError on timeout.
  Status WaitForCatchUp(std::chrono::milliseconds timeout);

  class Impl;

 private:
  friend Result<std::unique_ptr<SharedReplica>> ConnectToSharedDB(const std::string& group_dir,
                                                                  const std::string& db_name,
                                                                  const KeyPair& identity,
                                                                  const std::string& replica_path,
                                                                  const CrossAppOptions& options);
  explicit SharedReplica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens (or creates) the replica at `replica_path` and keeps it in sync with
// the owner of `db_name` in the group, reconnecting whenever the owner comes
// back. `identity` must be registered in the group.
Result<std::unique_ptr<SharedReplica>> ConnectToSharedDB(const std::string& group_dir, const std::string& db_name,
                                                         const KeyPair& identity, const std::string& replica_path,
                                                         const CrossAppOptions& options = {});

}  // namespace blaze

#endif  // BLAZE_CROSS_APP_H_
