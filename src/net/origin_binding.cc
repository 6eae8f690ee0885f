// origin_binding.cc — binding replica node ids to relay users.
#include "net/origin_binding.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "store/replica.h"

namespace blaze::net {

namespace {
constexpr std::string_view kPrefix = "relay.node.";
}  // namespace

Status OriginBindings::Claim(const std::string& user, NodeId node) {
  auto refuse = [&] {
    return Status::PermissionDenied("user '" + user + "' may not write as node id " + node.ToHex() +
                                    ": it is another user's replica (a copied replica file?); "
                                    "sync from a replica file of this user's own");
  };
  if (node.value == 0 || node == DatabaseAccess::Node(*db_)) return refuse();
  const std::string key = std::string(kPrefix) + node.ToHex();
  std::lock_guard<std::mutex> l(mu_);
  auto bound = DatabaseAccess::GetMeta(*db_, key);
  if (bound.ok()) return *bound == user ? Status::Ok() : refuse();
  if (!bound.status().IsNotFound()) return bound.status();
  BLAZE_RETURN_IF_ERROR(DatabaseAccess::SetMeta(*db_, key, user));
  return PruneIdleLocked(user, node);
}

Status OriginBindings::PruneIdleLocked(const std::string& user, NodeId keep) {
  BLAZE_ASSIGN_OR_RETURN(auto all, DatabaseAccess::ListMeta(*db_, std::string(kPrefix)));
  BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(*db_));
  std::vector<std::string> idle;
  std::vector<NodeId> idle_nodes;
  for (const auto& [key, bound_user] : all) {
    if (bound_user != user) continue;
    const std::string_view hex = std::string_view(key).substr(kPrefix.size());
    NodeId n;
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), n.value, 16);
    if (ec != std::errc() || end != hex.data() + hex.size() || n == keep || SeqOf(vv, n) > 0) continue;
    idle.push_back(key);
    idle_nodes.push_back(n);
  }
  if (idle.size() <= kMaxIdleBindingsPerUser) return Status::Ok();
  // Their checkpoints go too: each would otherwise stay in the file, and
  // hold compaction back, for ever.
  for (NodeId n : idle_nodes) BLAZE_RETURN_IF_ERROR(DatabaseAccess::DeleteCheckpoint(*db_, n));
  return DatabaseAccess::DeleteMeta(*db_, idle);
}

}  // namespace blaze::net
