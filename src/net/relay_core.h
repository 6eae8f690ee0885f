// relay_core.h — the relay's core in smart mode (docs/relay.md): a hub peer
// that keeps, per database, a replica file under its data directory and
// syncs it with every client stream that opened the database. Transport
// agnostic: whatever accepts and authenticates connections (the network
// server, or ChannelConnection in tests) hands each one to Accept and feeds
// the returned handler.
//
//   auto relay = RelayCore::Open(options);             // reads the access file
//   auto handler = relay->Accept(connection);          // after the handshake
//   connection's OnMessage/OnClosed → *handler
//
// Per database, on the first open: DIR/<name>.blazedb is opened (created if
// missing), with one SyncEngine on its own ThreadExecutor; each client stream
// is one AddPeer. A ticker thread calls every engine's Tick each
// `tick_interval` (retransmission, checkpoints, commits by other handles).
// Store and forward is the hub replica itself: what a client wrote is in the
// relay's file once acknowledged, and a client that reconnects is sent what
// it lacks from its hello's version vector.
//
// Thread safety: every method may be called from any thread, except that
// Figures must not be called from a connection's callback. Destroying the
// core closes every connection's streams and every connection (telling the
// peer "relay shutting down"), then stops the engines and closes the files;
// handlers of connections still alive then ignore what arrives.
#ifndef BLAZE_NET_RELAY_CORE_H_
#define BLAZE_NET_RELAY_CORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/database.h"
#include "blaze/status.h"
#include "net/access.h"
#include "net/connection.h"
#include "sync/sync_engine.h"

namespace blaze::net {

struct RelayOptions {
  std::string data_dir;     // replica files: DIR/<database>.blazedb; must exist
  std::string access_path;  // the access file (access.h); read by Open and Reload
  Options database_options; // how replica files are opened (durability, ...)
  sync::SyncOptions sync;
  std::chrono::milliseconds tick_interval{200};
  size_t max_streams_per_connection = 64;
  // Bytes of a client stream's messages waiting for the database's engine,
  // at most; a client that sends faster than the relay applies past this
  // has the stream closed (close "overloaded"). 0: no bound.
  size_t max_stream_backlog_bytes = 64 << 20;
  // Handle control messages (opening a replica file the first time) on the
  // thread that delivers them, instead of the relay's control thread: for
  // deterministic tests and fuzzing. A network server leaves it false.
  bool control_on_caller = false;
  // Told what happened (refusals, reloads, failures); called on any thread. May be empty.
  std::function<void(std::string_view)> log;
};

// Per-database figures for health and metrics: counters since the relay
// started (they only grow), and the database's clients connected now.
struct DatabaseFigures {
  std::string name;
  size_t streams = 0;              // client streams open now
  uint64_t changes_received = 0;   // applied to the replica from clients
  uint64_t changes_forwarded = 0;  // sent to clients
  uint64_t max_lag = 0;            // the most changes one connected client has not acknowledged
  std::vector<sync::PeerStats> peers;  // one per open stream
};

class RelayCore {
 public:
  // Reads the access file (an error if it does not parse) and checks the
  // data directory exists. Replica files are opened lazily.
  static Result<std::unique_ptr<RelayCore>> Open(RelayOptions options);
  ~RelayCore();
  RelayCore(const RelayCore&) = delete;
  RelayCore& operator=(const RelayCore&) = delete;

  // An authenticated connection. A key the access file does not list gets
  // control `error {stream 0, code "unknown-key"}`, the connection is closed
  // and kPermissionDenied returned; otherwise the handler to feed its
  // callbacks (it holds the connection until OnClosed).
  Result<std::shared_ptr<ConnectionHandler>> Accept(std::shared_ptr<Connection> connection);
  // Whether the access file lists `key` (for a transport that refuses unknown
  // keys before the handshake ends).
  bool KnowsKey(const PublicKey& key) const;

  // Re-reads the access file. If it does not parse, the current one stays
  // and the error says why. Otherwise it replaces the current one at once,
  // and then connections of keys no longer listed are sent `error {stream 0,
  // code "access-revoked"}` and closed, and streams of databases their user
  // may no longer open are sent `close {code "access-revoked"}` and closed.
  Status Reload();
  // As Reload, with an access list already parsed.
  void SetAccess(std::shared_ptr<const AccessList> access);

  std::vector<DatabaseFigures> Figures();
  size_t connection_count() const;

  class State;

 private:
  explicit RelayCore(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_RELAY_CORE_H_
