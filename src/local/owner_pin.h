// owner_pin.h — which app may serve a shared database to a reader. The
// owner's public key is pinned in the replica file the first time a
// connection is established (trust on first use), and can be required up
// front by app name (CrossAppOptions::owner, `blazedb connect --owner`): any
// other registered app that serves the same name later — while the real
// owner is down — is refused before anything is sent to it or received from
// it. Thread-safe as the Database it is given.
#ifndef BLAZE_LOCAL_OWNER_PIN_H_
#define BLAZE_LOCAL_OWNER_PIN_H_

#include <string>

#include "blaze/database.h"
#include "blaze/secure_channel.h"
#include "blaze/status.h"

namespace blaze::local {

// The meta key under which a replica keeps its owner's public key (hex).
inline constexpr const char* kOwnerKeyMetaKey = "crossapp.owner_key";

// OK if `peer` (the authenticated end of a connection to the owner of
// `db_name`) may serve `replica`: its app name is `required_app` when that is
// set, and its key is the pinned one; pins the key when none is yet.
// kPermissionDenied naming both identities otherwise.
Status CheckAndPinOwner(Database& replica, const PeerInfo& peer, const std::string& required_app,
                        const std::string& db_name);

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_OWNER_PIN_H_
