// access.h — the relay's access file: which keys belong to which user, and
// which users may open which database (docs/relay.md, "Access file").
//
//   { "users":     { "alice": { "keys": ["<64 hex>", ...] }, ... },
//     "databases": { "bugs":  { "mode": "smart", "users": ["alice", ...] }, ... } }
//
// Parsing is strict and fails closed: duplicate JSON keys, unknown fields at
// any level, a key that is not 64 lower-case hex digits, a key listed twice
// (for one user or two), a database user that is not in "users", an invalid
// database name, and a mode other than "smart" ("blind" is recognised and
// refused as not supported yet) are errors naming what was wrong. A file a
// later relay extends (roles, teams) is refused by this one rather than read
// with those restrictions silently dropped.
//
// Thread safety: an AccessList is immutable after parsing and is shared as
// shared_ptr<const AccessList>; all methods may be called from any thread.
#ifndef BLAZE_NET_ACCESS_H_
#define BLAZE_NET_ACCESS_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/keys.h"
#include "blaze/status.h"

namespace blaze::net {

enum class DatabaseMode { kSmart };

struct DatabaseRule {
  DatabaseMode mode = DatabaseMode::kSmart;
  std::set<std::string> users;
};

class AccessList {
 public:
  // kInvalidArgument naming the problem (and the file's path in ReadAccessFile).
  static Result<std::shared_ptr<const AccessList>> Parse(std::string_view json);

  // The user a key belongs to, if any.
  std::optional<std::string> UserOf(const PublicKey& key) const;
  // Whether `user` may open `database` (false for an unknown database).
  bool MayOpen(std::string_view user, std::string_view database) const;
  const std::map<std::string, DatabaseRule, std::less<>>& databases() const { return databases_; }
  size_t user_count() const { return users_.size(); }

 private:
  std::map<PublicKey, std::string> key_user_;
  std::map<std::string, std::vector<PublicKey>, std::less<>> users_;
  std::map<std::string, DatabaseRule, std::less<>> databases_;
};

// Reads and parses the file at `path`; errors name the path.
Result<std::shared_ptr<const AccessList>> ReadAccessFile(const std::string& path);

}  // namespace blaze::net

#endif  // BLAZE_NET_ACCESS_H_
