// origin_binding.h — which relay user may write under which replica node id
// (docs/relay.md, "Origins are bound to users").
//
// Every change carries its origin's node id, and the relay's version vector
// and every client's checkpoints are keyed by it. Without binding, a client
// of user A could announce user B's node id or send changes under it: its
// writes would pass for B's, and they would take B's next seqs, so B's own
// changes under those seqs would be refused as a divergent history. So the
// relay binds each node id to the user that first announced it or first
// brought changes of it, in the database's replica file (blaze_meta,
// "relay.node.<hex>" -> user name), the approach of the cross-app owner
// (src/local/node_binding.h). A user may announce a node, and send changes of
// it the relay does not hold yet, only if the node is bound to that user or
// unbound (it is then bound to that user). The relay's own node id is never
// bound. A user may hold several nodes (several devices, a replica file made
// afresh); changes it forwards of an origin the relay has never seen bind it.
//
// Bindings of nodes the replica holds no change of protect nothing anyone can
// name, so they are bounded: when a user binds a node while holding more than
// kMaxIdleBindingsPerUser others without history, those are dropped with
// their sync checkpoints (a client reconnecting under fresh ids in a loop
// would otherwise grow the file, and each checkpoint would hold compaction
// back). A node dropped so that comes back is bound again at its hello, and
// is sent what it lacks (a snapshot if compaction pruned it meanwhile).
//
// Thread safety: one OriginBindings per replica; calls are serialized by its
// own mutex (the relay calls it on the database's engine executor).
#ifndef BLAZE_NET_ORIGIN_BINDING_H_
#define BLAZE_NET_ORIGIN_BINDING_H_

#include <cstddef>
#include <mutex>
#include <string>

#include "blaze/database.h"
#include "blaze/status.h"
#include "blaze/types.h"

namespace blaze::net {

class OriginBindings {
 public:
  explicit OriginBindings(Database* db) : db_(db) {}

  // OK if `user` may speak for `node` (binding it when unbound); otherwise
  // kPermissionDenied, worded the same whatever the reason, so it tells the
  // user nothing about other users.
  [[nodiscard]] Status Claim(const std::string& user, NodeId node);

  static constexpr size_t kMaxIdleBindingsPerUser = 16;

 private:
  Status PruneIdleLocked(const std::string& user, NodeId keep);

  Database* db_;
  std::mutex mu_;
};

}  // namespace blaze::net

#endif  // BLAZE_NET_ORIGIN_BINDING_H_
