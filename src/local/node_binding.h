// node_binding.h — which app may speak for which replica node id, at the
// owner of a shared database (docs/cross-app.md, "Origins are bound to apps").
//
// Every change carries its origin's node id, and the owner's version vector
// and checkpoints are keyed by it; an app that could announce any node id
// could write under another app's origin or burn its seqs. So the owner binds
// each node id to the app that first announced it and keeps the binding in
// its own file (blaze_meta, "crossapp.node.<hex>" -> app name). An app may
// announce node N only if N is bound to it, or N is unbound, not the owner's
// own node, and the owner holds no change of N (so nobody's history is taken
// over). An app may hold several nodes (a replica file made afresh).
//
// Bindings of nodes the owner holds no change of protect nothing anyone can
// name (such ids appear in no vector or stamp), so they are bounded: when an
// app binds a node while holding more than kMaxIdleBindingsPerApp others
// without history, those are dropped (an app reconnecting under fresh ids
// in a loop would otherwise grow the owner's file for ever). A replica whose
// idle binding was dropped binds it again at its next hello, and a session
// binds its node again before its first change is applied (Hold).
//
// Thread safety: Claim may be called from any thread; claims are serialized
// (the check and the binding are one step for concurrent sessions).
#ifndef BLAZE_LOCAL_NODE_BINDING_H_
#define BLAZE_LOCAL_NODE_BINDING_H_

#include <mutex>
#include <cstddef>
#include <string>

#include "blaze/database.h"
#include "blaze/status.h"
#include "blaze/types.h"

namespace blaze::local {

class NodeBindings {
 public:
  explicit NodeBindings(Database* db) : db_(db) {}

  // OK if `app` may announce `node` (binding it when unbound); otherwise
  // kPermissionDenied. The refusal reads the same whatever the reason (bound
  // to another app, or changes of it already held), so it tells the app
  // nothing about other apps.
  [[nodiscard]] Status Claim(const std::string& app, NodeId node);
  // Before applying changes of the node a session of `app` announced: binds
  // it again if it was dropped as idle meanwhile (kPermissionDenied if
  // another app holds it).
  [[nodiscard]] Status Hold(const std::string& app, NodeId node);

  static constexpr size_t kMaxIdleBindingsPerApp = 16;

 private:
  Status PruneIdleLocked(const std::string& app, NodeId keep, const VersionVector& vv);

  Database* db_;
  std::mutex mu_;
};

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_NODE_BINDING_H_
