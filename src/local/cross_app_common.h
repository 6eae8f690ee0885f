// cross_app_common.h — what the owner and the reader of a shared database
// both need: the group's trust store, the grant of one app, and the sync
// messages sent over a secure channel.
#ifndef BLAZE_LOCAL_CROSS_APP_COMMON_H_
#define BLAZE_LOCAL_CROSS_APP_COMMON_H_

#include <memory>
#include <string>

#include "blaze/app_group.h"
#include "blaze/cross_app.h"
#include "blaze/secure_channel.h"
#include "blaze/trust_store.h"
#include "policy/app_policy.h"
#include "store/write_scope.h"
#include "sync/messages.h"

namespace blaze::local {

// Every app registered in the group, trusted under its app name.
Result<std::unique_ptr<TrustStore>> GroupTrustStore(const AppGroup& group);

// `policy` resolved for `app` (its own entry for a collection wins over "*"):
// a policy with that app's entry only — what the owner sends the app.
ExportPolicy GrantFor(const ExportPolicy& policy, const std::string& app);

// Channel options both sides use: the database name and protocol bound into
// the handshake prologue.
ChannelOptions CrossAppChannelOptions(const KeyPair& identity, const TrustStore* trust, const std::string& db_name,
                                      const CrossAppOptions& options);

Status SendMessage(SecureChannel& channel, const sync::Message& m);

// The write scope (store/write_scope.h) a replica of `db_name` keeps for
// `app` under `grant`: the collections granted read-write, with the fields
// that travel. Enforced by the store on every handle of the replica file.
store::WriteScope WriteScopeOf(const ExportPolicy& grant, const std::string& app, const std::string& db_name);

// The meta key under which a replica keeps the grant it last received.
inline constexpr const char* kGrantMetaKey = "crossapp.grant";

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_CROSS_APP_COMMON_H_
