// node_binding.cc — binding replica node ids to apps at the owner.
#include "local/node_binding.h"

#include <charconv>
#include <string_view>
#include <vector>

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
  BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(*db_, key, app));
  return PruneIdleLocked(app, node, vv);
}

Status NodeBindings::Hold(const std::string& app, NodeId node) {
  const std::string key = "crossapp.node." + node.ToHex();
  std::lock_guard<std::mutex> l(mu_);
  auto bound = DatabaseAccess::GetMeta(*db_, key);
  if (bound.ok()) {
    if (*bound == app) return Status::Ok();
    return Status::PermissionDenied("app '" + app + "' may not write as node id " + node.ToHex() +
                                    ": it is bound to another app");
  }
  if (!bound.status().IsNotFound()) return bound.status();
  return DatabaseAccess::SetMeta(*db_, key, app);  // pruned while idle: this session announced it
}

Status NodeBindings::PruneIdleLocked(const std::string& app, NodeId keep, const VersionVector& vv) {
  BLAZE_ASSIGN_OR_RETURN(auto all, DatabaseAccess::ListMeta(*db_, "crossapp.node."));
  std::vector<std::string> idle;
  for (const auto& [key, bound_app] : all) {
    if (bound_app != app) continue;
    const std::string_view hex = std::string_view(key).substr(std::string_view("crossapp.node.").size());
    NodeId n;
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), n.value, 16);
    if (ec != std::errc() || end != hex.data() + hex.size() || n == keep || SeqOf(vv, n) > 0) continue;
    idle.push_back(key);
  }
  if (idle.size() <= kMaxIdleBindingsPerApp) return Status::Ok();
  return DatabaseAccess::DeleteMeta(*db_, idle);
}

}  // namespace blaze::local
