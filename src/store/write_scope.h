// write_scope.h — which local writes a database file allows, kept in the
// file itself (blaze_meta, key "write_scope") so that every handle on the
// file enforces it: the process that set it, and any other (`blazedb put`,
// another program opening the path). A cross-app replica keeps the owner's
// grant as its scope: only the collections granted read-write, and in them
// only the fields that travel, can be written locally (docs/cross-app.md).
// A file without a scope allows every write.
//
// The store knows nothing of policies: the scope is plain names, written by
// whoever manages the file (the cross-app reader) through DatabaseAccess::
// SetWriteScope and read by the store in every write transaction, so a scope
// changed by another process holds from that process's commit on.
//
// Encoding: JSON, {"by": TEXT, "collections": {NAME: {"exclude": [FIELD...]}
// | {"include": [FIELD...]}}}. Thread-safe as a value.
#ifndef BLAZE_STORE_WRITE_SCOPE_H_
#define BLAZE_STORE_WRITE_SCOPE_H_

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "blaze/status.h"
#include "store/change.h"

namespace blaze::store {

inline constexpr const char* kWriteScopeMetaKey = "write_scope";

struct WriteScope {
  struct Collection {
    bool include_only = false;                  // `fields` are the writable ones
    std::set<std::string, std::less<>> fields;  // excluded, or (include_only) included
  };
  // Why the file is limited, for messages (e.g. "the grant of app 'x' by
  // the owner of 'bugs.blazedb'").
  std::string by;
  // The writable collections; any other is refused.
  std::map<std::string, Collection, std::less<>> collections;

  // OK if the op is within the scope; kPermissionDenied naming the
  // collection (and field) otherwise.
  Status Check(const Op& op) const;

  std::string Encode() const;
  // kCorruption for anything that is not a scope.
  static Result<WriteScope> Decode(std::string_view text);

  friend bool operator==(const WriteScope& a, const WriteScope& b) {
    return a.by == b.by && a.collections.size() == b.collections.size() &&
           std::equal(a.collections.begin(), a.collections.end(), b.collections.begin(),
                      [](const auto& x, const auto& y) {
                        return x.first == y.first && x.second.include_only == y.second.include_only &&
                               x.second.fields == y.second.fields;
                      });
  }
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_WRITE_SCOPE_H_
