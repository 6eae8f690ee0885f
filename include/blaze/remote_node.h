// remote_node.h — keeps a Database in sync with its copy on a relay
// (docs/relay.md), over WebSocket, with reconnection and failover.
//
//   RemoteNodeOptions o;
//   o.relays = {"ws://relay1:7070/sync", "ws://relay2:7070/sync"};
//   o.identity = *ReadKeyFile("me.key");
//   o.relay_key = *PublicKeyFromHex("...");   // pinned: any other relay is refused
//   o.database = "bugs";
//   auto node = RemoteNode::Start(db.get(), o);
//   (*node)->WaitForCatchUp(10s);
//
// The node connects to the first relay of the list, opens the database there
// and syncs both ways (catching up from the checkpoints the database keeps,
// then live). When a relay cannot be reached, refuses, or the connection
// ends, the next relay of the list is tried; after a whole round fails the
// node waits (jittered exponential backoff, at least what a full relay's
// Retry-After asked) and starts again.
//
// Thread safety: every method may be called from any thread. The watch
// callback runs on the node's own thread and must not call back into the
// node's destructor. Destroying the node stops it; it waits at most for an
// attempt under way (bounded by connect_timeout).
#ifndef BLAZE_REMOTE_NODE_H_
#define BLAZE_REMOTE_NODE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "blaze/database.h"
#include "blaze/keys.h"
#include "blaze/status.h"

namespace blaze {

enum class RelayState { kConnecting, kHandshaking, kCatchingUp, kLive, kDown };
const char* RelayStateName(RelayState state);  // "connecting", "handshaking", ...

struct RelayReport {
  std::string url;
  RelayState state = RelayState::kDown;
  uint64_t lag = 0;         // our changes the relay has not acknowledged
  std::string last_error;   // why the last attempt on this relay failed ("" if none)
  uint64_t connects = 0;    // sessions opened on this relay
};

struct RemoteNodeReport {
  std::vector<RelayReport> relays;  // in the order of RemoteNodeOptions::relays
  int active = -1;                  // the relay in use, -1 when none
  bool caught_up = false;           // both sides hold the same version vector
  uint64_t changes_sent = 0;        // over every session since Start
  uint64_t changes_received = 0;
};

struct RemoteNodeOptions {
  std::vector<std::string> relays;  // ws://HOST:PORT/PATH, tried in order
  KeyPair identity;                 // this client's key, listed in the relay's access file
  PublicKey relay_key;              // the relays' public key (pinned)
  std::string database;             // the database's name on the relay
  std::chrono::milliseconds connect_timeout{5000};  // TCP, upgrade, handshake and open
  std::chrono::milliseconds tick_interval{50};      // engine ticks and report refresh
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{30000};
  // Called (on the node's thread) when the report changed.
  std::function<void(const RemoteNodeReport&)> on_report;
};

class RemoteNode {
 public:
  // kInvalidArgument for an empty relay list or database name. Connecting
  // happens in the background.
  static Result<std::unique_ptr<RemoteNode>> Start(Database* db, RemoteNodeOptions options);
  ~RemoteNode();
  RemoteNode(const RemoteNode&) = delete;
  RemoteNode& operator=(const RemoteNode&) = delete;

  RemoteNodeReport report() const;
  // Waits until a session is live and both sides hold the same version
  // vector. kIOError naming each relay's last error when the time runs out;
  // kPermissionDenied at once when every relay refused us (unknown key,
  // database not allowed, wrong relay key).
  Status WaitForCatchUp(std::chrono::milliseconds timeout);

  class Impl;

 private:
  explicit RemoteNode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace blaze

#endif  // BLAZE_REMOTE_NODE_H_
