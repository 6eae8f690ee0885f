// node_binding.cc — binding replica node ids to apps at the owner.
#include "local/node_binding.h"

#include "store/replica.h"

namespace blaze::local {

Status NodeBindings::Claim(const std::string& app, NodeId node) {
  auto refuse = [&] {
    return Status::PermissionDenied("app '" + app + "' may not announce node id " + node.ToHex() +
                                    ": it is not this app's replica (a copied or another app's replica file?); "
                                    "connect with a fresh replica file");
  };
  if (node.value == 0 || node == DatabaseAccess::Node(*db_)) return refuse();
  const std::string key = "crossapp.node." + node.ToHex();
  std::lock_guard<std::mutex> l(mu_);
  auto bound = DatabaseAccess::GetMeta(*db_, key);
  if (bound.ok()) return *bound == app ? Status::Ok() : refuse();
  if (!bound.status().IsNotFound()) return bound.status();
  BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*db_));
  if (SeqOf(vv, node) > 0) return refuse();  // someone's history: never taken over
  return DatabaseAccess::SetMeta(*db_, key, app);
}

}  // namespace blaze::local
