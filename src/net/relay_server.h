// relay_server.h — a RelayCore (relay_core.h) served over WebSocket by the
// async PeerServer (peer_connection.h): each authenticated peer becomes a
// Connection handed to RelayCore::Accept, and the handler it returns hears the
// peer's messages. The channel binds the relay's name (kRelayChannelName);
// a key the access file does not list is refused during the handshake
// (sealed "untrusted-peer", nothing else).
//
//   PeerServerOptions o;  o.server.port = 7070;  o.channel.identity = relay_key;
//   auto server = ServeRelay(core.get(), std::move(o));   // core outlives server
//
// Thread safety: as PeerServer; the core's callbacks run on the io threads.
#ifndef BLAZE_NET_RELAY_SERVER_H_
#define BLAZE_NET_RELAY_SERVER_H_

#include <memory>

#include "net/peer_connection.h"
#include "net/relay_core.h"

namespace blaze::net {

// Fills in options.channel.database, options.authorize and the handler;
// the rest (listen address, limits, identity, http routes) is the caller's.
Result<std::unique_ptr<PeerServer>> ServeRelay(RelayCore* core, PeerServerOptions options);

}  // namespace blaze::net

#endif  // BLAZE_NET_RELAY_SERVER_H_
