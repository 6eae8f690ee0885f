// origin_alias.h — how the owner of a shared database names other replicas'
// node ids to an app (docs/cross-app.md, "What an app learns of other apps").
//
// The version-vector entries an app receives (in the owner's hello, state
// batches and acks) are its resume point: it must hold them gapless and send
// them back, but it has no use for the real node ids of the owner or of
// other apps. So every origin except the app's own node is replaced, per app,
// by an alias: the first 8 bytes of HMAC-SHA256(owner secret, app name,
// node id), never 0. The secret is random, made once and kept in the owner's
// file (blaze_meta, "crossapp.alias_key"); aliases are stable across restarts
// and differ between apps, so two apps cannot match their entries up, and a
// node id seen in one place (a file, a log) cannot be recognized in a vector.
// Entries coming back from the app are mapped to real node ids through the
// aliases the owner has shown that app (share_server.cc); an entry that maps
// to nothing is dropped (it only makes the owner send more).
//
// Thread safety: immutable after Load; any thread.
#ifndef BLAZE_LOCAL_ORIGIN_ALIAS_H_
#define BLAZE_LOCAL_ORIGIN_ALIAS_H_

#include <string>

#include "blaze/database.h"
#include "blaze/status.h"
#include "blaze/types.h"

namespace blaze::local {

class OriginAliases {
 public:
  // Reads the owner's alias secret from `db`, creating it on first use.
  static Result<OriginAliases> Load(Database& db);

  // The alias of `node` for `app` (never 0).
  NodeId Alias(const std::string& app, NodeId node) const;

 private:
  explicit OriginAliases(std::string key) : key_(std::move(key)) {}
  std::string key_;  // 32 random bytes
};

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_ORIGIN_ALIAS_H_
