// blazedb — the BlazeDB command line (docs/cli.md). Parses arguments with
// CLI11 and runs one command from commands.h.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>

#include "commands.h"

namespace {

int Fail(const std::string& what, int code) {
  std::string line = "blazedb: error: " + what + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // the whole message, a NUL in an id included
  return code;
}

// Accepts only a decimal integer in [lo, hi]: a number out of range is
// refused, never wrapped or clamped (CLI11's own conversion would turn
// -1 into 2^64-1 for an unsigned option and 1e20 into a clamped value).
CLI::Validator IntegerIn(int64_t lo, int64_t hi) {
  const std::string range = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, v);
        if (ec == std::errc() && p == end && v >= lo && v <= hi) return {};
        return "expected " + range + ", got '" + text + "'";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

}  // namespace

int main(int argc, char** argv) {
  using namespace blaze::cli;
  CLI::App app{"BlazeDB — embedded document database with sync built in"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 2 bad input (usage, JSON, query, id, document) or a refusal\n"
      "            (permissions, policy, duplicates), 3 not found,\n"
      "            4 I/O error, corruption or unsupported file, 5 other errors.");
  std::string db, coll, id, json, where, field, file;
  std::optional<std::string> opt_id;
  QueryArgs qa;
  std::vector<std::string> count_vars;

  auto* init = app.add_subcommand("init", "Create a database file (or check an existing one)");
  init->add_option("DB", db, "database file")->required();

  auto* put = app.add_subcommand("put", "Insert or replace a record; prints its id");
  put->add_option("DB", db)->required();
  put->add_option("COLLECTION", coll)->required();
  put->add_option("JSON", json, "a JSON object")->required();
  put->add_option("--id", opt_id, "record id (default: generated, or the document's \"_id\")");

  auto* get = app.add_subcommand("get", "Print one record as JSON, with \"_id\"");
  get->add_option("DB", db)->required();
  get->add_option("COLLECTION", coll)->required();
  get->add_option("ID", id)->required();

  auto* patch = app.add_subcommand("patch", "Apply an RFC 7396 JSON merge patch to a record");
  patch->add_option("DB", db)->required();
  patch->add_option("COLLECTION", coll)->required();
  patch->add_option("ID", id)->required();
  patch->add_option("JSON", json, "a JSON object; null removes a field")->required();

  auto* del = app.add_subcommand("delete", "Delete a record");
  del->add_option("DB", db)->required();
  del->add_option("COLLECTION", coll)->required();
  del->add_option("ID", id)->required();

  auto* query = app.add_subcommand("query", "Print matching records as JSON lines");
  query->add_option("DB", db)->required();
  query->add_option("COLLECTION", coll)->required();
  query->add_option("WHERE", qa.where, "query, e.g. 'status == \"open\" && priority >= 2'");
  query->add_option("--order-by", qa.order_by, "field path to sort by (default: _id)");
  query->add_flag("--desc", qa.desc, "sort descending");
  query->add_option("--limit", qa.limit, "at most N records")->check(IntegerIn(0, kInt64Max));
  query->add_option("--offset", qa.offset, "skip N records")->check(IntegerIn(0, kInt64Max));
  query->add_option("--var", qa.vars, "bind $NAME: --var NAME=JSON (repeatable)");
  query->add_flag("--explain", qa.explain, "print SQLite's query plan instead of records");

  auto* count = app.add_subcommand("count", "Print the number of matching records");
  count->add_option("DB", db)->required();
  count->add_option("COLLECTION", coll)->required();
  count->add_option("WHERE", where);
  count->add_option("--var", count_vars, "bind $NAME: --var NAME=JSON (repeatable)");

  auto* watch = app.add_subcommand("watch", "Print changes as JSON lines until interrupted");
  watch->add_option("DB", db)->required();
  watch->add_option("COLLECTION", coll)->required();
  watch->add_option("WHERE", where);

  auto* index = app.add_subcommand("index", "Create a secondary index on a field");
  index->add_option("DB", db)->required();
  index->add_option("COLLECTION", coll)->required();
  index->add_option("FIELD", field)->required();

  auto* import = app.add_subcommand("import", "Import JSON lines in one transaction; prints the count");
  import->add_option("DB", db)->required();
  import->add_option("COLLECTION", coll)->required();
  import->add_option("FILE", file, "JSON lines; a string \"_id\" member names the record")->required();

  auto* exp = app.add_subcommand("export", "Print every record as JSON lines");
  exp->add_option("DB", db)->required();
  exp->add_option("COLLECTION", coll)->required();

  std::vector<std::string> sync_dbs;
  uint64_t since_seq = 0;
  RelaySyncArgs rs;
  auto* sync = app.add_subcommand(
      "sync", "Make every listed database converge with every other, or sync one with a relay; prints a JSON summary");
  sync->add_option("DB", sync_dbs, "two or more database files; one with --relay")->required()->expected(1, -1);
  sync->add_option("--relay", rs.relays, "relay URL ws://HOST:PORT/sync (repeatable: tried in order)");
  sync->add_option("--identity", rs.identity, "with --relay: this client's key file");
  sync->add_option("--relay-key", rs.relay_key, "with --relay: the relay's public key (64 hex digits)");
  sync->add_option("--name", rs.name, "with --relay: the database's name on the relay (default: DB's file name)");
  sync->add_flag("--once", rs.once, "with --relay: exit once both sides hold the same changes");
  sync->add_option("--timeout-ms", rs.timeout_ms, "with --once: give up after this long (default 30000)")
      ->check(IntegerIn(1, kIntMax));

  ServeArgs sa;
  auto* serve = app.add_subcommand("serve", "Run a relay over WebSocket until SIGTERM/SIGINT (docs/relay.md)");
  serve->add_option("--listen", sa.listen, "HOST:PORT to listen on (default 127.0.0.1:7070; port 0: any free port)");
  serve->add_option("--data", sa.data_dir, "data directory: one replica file per database")->required();
  serve->add_option("--identity", sa.identity, "the relay's key file (see 'blazedb keygen')")->required();
  serve->add_option("--access", sa.access, "access file (JSON; SIGHUP re-reads it)")->required();
  serve->add_option("--max-connections", sa.max_connections, "WebSocket connections at once (default 10000)")
      ->check(IntegerIn(1, 1000000));
  serve->add_option("--handshake-timeout-ms", sa.handshake_timeout_ms,
                    "HTTP, upgrade and Noise handshake must end within this (default 10000)")
      ->check(IntegerIn(100, 600000));
  serve->add_option("--max-message-bytes", sa.max_message_bytes, "largest message a client may send (default 16 MiB)")
      ->check(IntegerIn(4096, int64_t{1} << 30));
  serve->add_option("--send-queue-bytes", sa.send_queue_bytes,
                    "per-connection send queue; a client past it is disconnected (default 4 MiB)")
      ->check(IntegerIn(65536, int64_t{1} << 32));
  auto* changes = app.add_subcommand("changes", "Print the change log as JSON lines");
  changes->add_option("DB", db)->required();
  changes->add_option("--since-seq", since_seq, "only changes with seq > N")->check(IntegerIn(0, kInt64Max));

  int64_t log_horizon_ms = blaze::CompactOptions{}.log_horizon_ms;
  int64_t tombstone_horizon_ms = blaze::CompactOptions{}.tombstone_horizon_ms;
  auto* compact = app.add_subcommand("compact", "Prune the change log and purge tombstones; prints a JSON summary");
  compact->add_option("DB", db)->required();
  compact
      ->add_option("--log-horizon-ms", log_horizon_ms,
                   "also prune changes older than this, acknowledged or not (default 7 days; 0: the whole log)")
      ->check(IntegerIn(0, kInt64Max));
  compact
      ->add_option("--tombstone-horizon-ms", tombstone_horizon_ms,
                   "purge tombstones older than this in any case (default 30 days)")
      ->check(IntegerIn(0, kInt64Max));

  int bench_replicas = 2, bench_records = 10000, bench_updates = 10000;
  bool bench_json = false;
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto* local_sync = bench->add_subcommand("local-sync", "Replicas in one process: throughput, latency, bytes per update");
  local_sync->add_option("--replicas", bench_replicas, "replicas (default 2)")->check(IntegerIn(2, 16));
  local_sync->add_option("--records", bench_records, "records inserted (default 10000)")->check(IntegerIn(1, kIntMax));
  local_sync->add_option("--updates", bench_updates, "single-field updates (default 10000)")
      ->check(IntegerIn(1, kIntMax));
  local_sync->add_flag("--json", bench_json, "print JSON");
  int bench_samples = 500;
  int relay_updates = 20000;
  auto* bench_relay = bench->add_subcommand(
      "relay", "A relay and two clients as separate processes on loopback: initial sync, updates/s, latency, bytes");
  bench_relay->add_option("--records", bench_records, "records inserted (default 10000)")->check(IntegerIn(1, kIntMax));
  bench_relay->add_option("--updates", relay_updates, "single-field updates (default 20000)")
      ->check(IntegerIn(1, kIntMax));
  bench_relay->add_option("--samples", bench_samples, "latency samples (default 500)")->check(IntegerIn(1, kIntMax));
  bench_relay->add_flag("--json", bench_json, "print JSON");
  int relay_writers = 0, relay_readers = 0, relay_changes = 5000;
  bench_relay->add_option("--writers", relay_writers, "fan-out mode: writer processes (with --readers)")
      ->check(IntegerIn(1, 64));
  bench_relay->add_option("--readers", relay_readers, "fan-out mode: reader processes (with --writers)")
      ->check(IntegerIn(1, 64));
  bench_relay->add_option("--changes", relay_changes, "fan-out mode: changes per writer (default 5000)")
      ->check(IntegerIn(1, kIntMax));
  std::string peer_db, peer_url, peer_key, peer_identity;
  auto* relay_peer = bench->add_subcommand("relay-peer", "client B of 'bench relay' (internal)");
  relay_peer->group("");  // hidden
  relay_peer->add_option("--db", peer_db)->required();
  relay_peer->add_option("--relay", peer_url)->required();
  relay_peer->add_option("--relay-key", peer_key)->required();
  relay_peer->add_option("--identity", peer_identity)->required();

  auto* keygen = app.add_subcommand("keygen", "Write a new X25519 key file (mode 0600); prints the public key in hex");
  keygen->add_option("FILE", file, "key file to create (never overwritten)")->required();

  auto* pubkey = app.add_subcommand("pubkey", "Print the public key (hex) of a key file");
  pubkey->add_option("FILE", file, "key file")->required();

  std::string group_dir, app_name, public_key;
  auto* group = app.add_subcommand("group", "App groups for cross-app sync (docs/cross-app.md)");
  group->require_subcommand(1);
  auto* group_init = group->add_subcommand("init", "Create an app group directory (0700), or check an existing one");
  group_init->add_option("DIR", group_dir, "group directory")->required();
  auto* group_add = group->add_subcommand("add", "Register an app's public key in a group");
  group_add->add_option("DIR", group_dir, "group directory")->required();
  group_add->add_option("APP_NAME", app_name, "1 to 64 characters a-z 0-9 _ -")->required();
  group_add->add_option("PUBLIC_KEY", public_key, "64 hex digits, as printed by 'blazedb pubkey'")->required();
  auto* group_list = group->add_subcommand("list", "Print the registered apps as JSON lines");
  group_list->add_option("DIR", group_dir, "group directory")->required();

  std::string identity_file, policy_file, shared_name, replica_path;
  auto* share = app.add_subcommand("share", "Serve DB to the apps of a group until interrupted (SIGHUP reloads the policy)");
  share->add_option("DB", db)->required();
  share->add_option("--group", group_dir, "app group directory")->required();
  share->add_option("--identity", identity_file, "this app's key file (registered in the group)")->required();
  share->add_option("--policy", policy_file, "export policy JSON file")->required();
  bool connect_once = false;
  int connect_timeout_ms = 30000;
  std::string connect_owner;
  auto* connect = app.add_subcommand("connect", "Keep a local replica of a shared database");
  connect->add_option("--group", group_dir, "app group directory")->required();
  connect->add_option("--db", shared_name, "shared database name, e.g. bugs.blazedb")->required();
  connect->add_option("--identity", identity_file, "this app's key file (registered in the group)")->required();
  connect->add_option("--replica", replica_path, "the replica file (created if missing)")->required();
  connect->add_flag("--once", connect_once, "catch up once, then exit");
  connect->add_option("--owner", connect_owner,
                      "the app (registered in the group) that must serve the database; default: the first one seen, "
                      "pinned in the replica");
  connect->add_option("--timeout-ms", connect_timeout_ms, "with --once: give up after this long (default 30000)")
      ->check(IntegerIn(1, kIntMax));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    return Fail(what + " (run 'blazedb --help' for usage)", 2);
  }

  blaze::Status s;
  if (*init) s = Init(db);
  else if (*put) s = Put(db, coll, json, opt_id);
  else if (*get) s = Get(db, coll, id);
  else if (*patch) s = Patch(db, coll, id, json);
  else if (*del) s = Delete(db, coll, id);
  else if (*query) s = Query(db, coll, qa);
  else if (*count) s = Count(db, coll, where, count_vars);
  else if (*watch) s = Watch(db, coll, where);
  else if (*index) s = Index(db, coll, field);
  else if (*import) s = Import(db, coll, file);
  else if (*exp) s = Export(db, coll);
  else if (*sync && !rs.relays.empty()) {
    if (sync_dbs.size() != 1) {
      return Fail("sync --relay takes one database file, got " + std::to_string(sync_dbs.size()), 2);
    }
    rs.db = sync_dbs[0];
    s = RelaySync(rs);
  } else if (*sync) {
    for (const char* flag : {"--identity", "--relay-key", "--name", "--once", "--timeout-ms"}) {
      if (sync->count(flag) > 0) return Fail(std::string(flag) + " needs --relay", 2);
    }
    if (sync_dbs.size() < 2) return Fail("sync needs two or more database files, or one with --relay", 2);
    s = Sync(sync_dbs);
  } else if (*serve) s = Serve(sa);
  else if (*changes) s = Changes(db, since_seq);
  else if (*compact) s = Compact(db, log_horizon_ms, tombstone_horizon_ms);
  else if (*local_sync) s = BenchLocalSync(bench_replicas, bench_records, bench_updates, bench_json);
  else if (*bench_relay && (relay_writers > 0 || relay_readers > 0)) {
    if (relay_writers == 0 || relay_readers == 0) return Fail("bench relay: --writers and --readers go together", 2);
    s = BenchRelayFanOut(relay_writers, relay_readers, relay_changes, bench_json);
  } else if (*bench_relay) s = BenchRelay(bench_records, relay_updates, bench_samples, bench_json);
  else if (*relay_peer) s = BenchRelayPeer(peer_db, peer_url, peer_key, peer_identity);
  else if (*keygen) s = Keygen(file);
  else if (*pubkey) s = Pubkey(file);
  else if (*group_init) s = GroupInit(group_dir);
  else if (*group_add) s = GroupAdd(group_dir, app_name, public_key);
  else if (*group_list) s = GroupList(group_dir);
  else if (*share) s = Share(db, group_dir, identity_file, policy_file);
  else if (*connect) s = Connect(group_dir, shared_name, identity_file, replica_path, connect_once, connect_timeout_ms,
                             connect_owner);
  if (s.ok()) s = FinishOutput();
  if (!s.ok()) return Fail(s.message().empty() ? s.ToString() : s.message(), ExitCodeFor(s));
  return 0;
}
