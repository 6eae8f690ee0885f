// commands.h — the blazedb subcommands, one function each.
//
// Each returns a Status; main() turns it into the documented exit code and
// the "blazedb: error: ..." line (docs/cli.md). Output goes to stdout only on
// success, so a failed command prints nothing there.
#ifndef BLAZE_TOOLS_COMMANDS_H_
#define BLAZE_TOOLS_COMMANDS_H_

#include <signal.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/database.h"
#include "blaze/status.h"

namespace blaze::cli {

struct QueryArgs {
  std::string where;
  std::string order_by;
  bool desc = false;
  std::optional<int64_t> limit;
  int64_t offset = 0;
  std::vector<std::string> vars;  // name=JSON
  bool explain = false;
};

// Opens a database that must already exist (every command but init); a
// missing or empty file is kNotFound and left untouched.
Result<std::unique_ptr<Database>> OpenExisting(const std::string& path);
// Opens an existing database for a command that only reads: read-only
// (Options::read_only) when this process cannot write the file, or cannot
// create its -wal file; read-write otherwise, as OpenExisting.
Result<std::unique_ptr<Database>> OpenForReading(const std::string& path);
// Runs `read` on a handle from OpenForReading. When that handle is read-only
// and the main file changed while it read (a writer started and
// checkpointed), `read` runs again on a new handle: it must only collect,
// and print once this returns.
Status ReadDatabase(const std::string& path, const std::function<Status(Database&)>& read);

// Writes `line` and a newline to stdout; kIOError when the write fails (a
// full disk, /dev/full, a closed pipe), so a command stops at once.
Status PrintLine(std::string_view line);
// Flushes stdout; kIOError when anything written to it was lost. main()
// calls it after every successful command: output that did not arrive is a
// failure (exit 4), never a silent truncation.
Status FinishOutput();

Status Init(const std::string& db);
Status Put(const std::string& db, const std::string& collection, const std::string& json,
           const std::optional<std::string>& id);
Status Get(const std::string& db, const std::string& collection, const std::string& id);
Status Patch(const std::string& db, const std::string& collection, const std::string& id, const std::string& json);
Status Delete(const std::string& db, const std::string& collection, const std::string& id);
Status Query(const std::string& db, const std::string& collection, const QueryArgs& args);
Status Count(const std::string& db, const std::string& collection, const std::string& where,
             const std::vector<std::string>& vars);
Status Watch(const std::string& db, const std::string& collection, const std::string& where);
Status Index(const std::string& db, const std::string& collection, const std::string& field);
Status Import(const std::string& db, const std::string& collection, const std::string& file);
Status Export(const std::string& db, const std::string& collection);
// Writes a new X25519 key file (mode 0600) and prints its public key (hex).
Status Keygen(const std::string& file);
// Prints the public key (hex) of a key file.
Status Pubkey(const std::string& file);

// Creates (or checks) the app group DIR; prints {"apps":N,"created":bool,"group":DIR}.
Status GroupInit(const std::string& dir);
// Registers APP_NAME with PUBLIC_KEY (64 hex digits) in the group DIR; prints
// {"added":bool,"app":...,"group":...,"public_key":...} (added is false when
// that exact pair was already registered).
Status GroupAdd(const std::string& dir, const std::string& app, const std::string& public_key);
// The registered apps as JSON lines {"app":...,"public_key":...}, by name.
Status GroupList(const std::string& dir);

// One-shot sync of every listed database with every other (in memory, in
// this process); prints a JSON summary.
Status Sync(const std::vector<std::string>& paths);
// The change log as JSON lines; only changes with seq > since_seq.
Status Changes(const std::string& db, uint64_t since_seq);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it
// starts later), for a command that then waits for them with sigwait.
sigset_t BlockStopSignals();
// Serves DB to the apps of a group until interrupted (SIGHUP reloads the
// policy file); docs/cross-app.md.
Status Share(const std::string& db, const std::string& group, const std::string& key_file,
             const std::string& policy_file);
// Keeps a replica of a shared database until interrupted, or (once) until
// it has caught up. `owner` (may be empty): the app that must serve it.
Status Connect(const std::string& group, const std::string& db_name, const std::string& key_file,
               const std::string& replica, bool once, int timeout_ms, const std::string& owner);
struct ServeArgs {
  std::string listen = "127.0.0.1:7070";
  std::string data_dir;
  std::string identity;
  std::string access;
  int64_t max_connections = 10000;
  int64_t handshake_timeout_ms = 10000;
  int64_t max_message_bytes = 16 << 20;
  int64_t send_queue_bytes = 4 << 20;
};
// Runs a relay until SIGTERM or SIGINT (SIGHUP re-reads the access file);
// prints {"listening":...,"public_key":...} once it accepts (docs/relay.md).
Status Serve(const ServeArgs& args);

struct RelaySyncArgs {
  std::string db;
  std::vector<std::string> relays;  // ws://HOST:PORT/sync, tried in order
  std::string identity;             // key file
  std::string relay_key;            // 64 hex digits
  std::string name;                 // on the relay; default: DB's file name without extension
  bool once = false;
  int64_t timeout_ms = 30000;       // --once: give up after this long
};
// Syncs DB with its copy on a relay: until interrupted, or (once) until both
// hold the same version vector; prints a JSON summary.
Status RelaySync(const RelaySyncArgs& args);

// Prunes the change log and purges tombstones (docs/sync-protocol.md); prints
// what it removed as JSON.
Status Compact(const std::string& db, int64_t log_horizon_ms, int64_t tombstone_horizon_ms);
// The standard local sync workload (docs/cli.md); prints figures.
Status BenchLocalSync(int replicas, int records, int updates, bool json);
// p50 of 1000 bare SQLite commits of one replaced row in a file under dir
// (WAL, synchronous=NORMAL, as BlazeDB configures it): a floor for benches.
Result<double> BareSqliteCommitP50(const std::string& dir);
// `blazedb bench relay` (tools/bench_relay.cc): relay and two clients as
// separate processes on loopback; prints the figures (JSON with json).
Status BenchRelay(int records, int updates, int samples, bool json);
// `blazedb bench relay --writers W --readers R`: the relay's forwarding
// capacity, every client its own process; `changes` per writer.
Status BenchRelayFanOut(int writers, int readers, int changes, bool json);
// Client B of `bench relay`, driven by the bench over stdin/stdout (hidden).
Status BenchRelayPeer(const std::string& db_path, const std::string& url, const std::string& relay_key,
                      const std::string& identity);

// Exit code for a failed command: 2 bad input, 3 not found, 4 I/O or
// corruption, 5 anything else.
int ExitCodeFor(const Status& s);

}  // namespace blaze::cli

#endif  // BLAZE_TOOLS_COMMANDS_H_
