// trust_store.h — which peer static keys a node accepts, and as whom.
//
// After a handshake the channel looks the peer's authenticated X25519 key up
// here; an unknown key gets an error frame and the channel closes. A
// TrustStore is filled before channels use it and then only read: concurrent
// Find calls are safe, Add must not run concurrently with anything.
#ifndef BLAZE_TRUST_STORE_H_
#define BLAZE_TRUST_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "blaze/keys.h"

namespace blaze {

struct PeerIdentity {
  std::string name;                // user, node or app name
  std::vector<std::string> roles;  // e.g. "reader", "writer", "admin"
};

class TrustStore {
 public:
  // Trusts `key` as `identity` (replacing an earlier entry for the key).
  void Add(const PublicKey& key, PeerIdentity identity) { entries_[key] = std::move(identity); }
  void Remove(const PublicKey& key) { entries_.erase(key); }
  // The identity of a trusted key, or nullopt.
  std::optional<PeerIdentity> Find(const PublicKey& key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() const { return entries_.size(); }

 private:
  std::map<PublicKey, PeerIdentity> entries_;
};

}  // namespace blaze

#endif  // BLAZE_TRUST_STORE_H_
