// owner_pin.cc — see owner_pin.h.
#include "local/owner_pin.h"

#include "store/replica.h"

namespace blaze::local {

Status CheckAndPinOwner(Database& replica, const PeerInfo& peer, const std::string& required_app,
                        const std::string& db_name) {
  const std::string key = PublicKeyToHex(peer.static_key);
  const std::string who = "app '" + peer.identity.name + "' (key " + key + ")";
  if (!required_app.empty() && peer.identity.name != required_app) {
    return Status::PermissionDenied(who + " serves '" + db_name + "', but its owner must be app '" + required_app +
                                    "'; refusing it");
  }
  auto pinned = DatabaseAccess::GetMeta(replica, kOwnerKeyMetaKey);
  if (pinned.ok()) {
    if (*pinned == key) return Status::Ok();
    return Status::PermissionDenied(who + " serves '" + db_name + "', but this replica was made from the owner key " +
                                    *pinned + " (pinned at its first connection); refusing the impostor. A replica "
                                    "follows one owner: to follow a new owner key, start a new replica file");
  }
  if (!pinned.status().IsNotFound()) return pinned.status();
  return DatabaseAccess::SetMeta(replica, kOwnerKeyMetaKey, key);
}

}  // namespace blaze::local
