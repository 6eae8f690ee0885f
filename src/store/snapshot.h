// snapshot.h — current state with its stamps, for a peer the change log can
// no longer bring up to date (its log was compacted past what the peer holds).
//
// A snapshot is every stored record state (tombstones included) read in one
// SQLite read transaction, together with the version vector of that same
// moment: it holds exactly the effects of the changes the vector covers.
// Merging it is the same merge as applying changes (RecordState::Merge is the
// join of two histories), so a receiver ends with its own writes and the
// sender's, whatever it held before. Thread-safe (values only).
#ifndef BLAZE_STORE_SNAPSHOT_H_
#define BLAZE_STORE_SNAPSHOT_H_

#include <string>
#include <vector>

#include "blaze/types.h"

namespace blaze::store {

struct SnapshotRecord {
  std::string collection;
  std::string id;
  std::string state;  // RecordState::Encode()
};

struct Snapshot {
  VersionVector vv;
  std::vector<SnapshotRecord> records;
  // Filtered streams (cross-app replicas) also carry records to drop
  // locally — evicted, not deleted: no tombstone, nothing logged as a change
  // — and full images: with `replace`, every row not in `records` is evicted,
  // except the records of this file's own changes above `vv` (written after
  // the sender read the image; the sender never sends them back).
  // Evictions apply before the records merge, so a record both evicted and
  // sent ends as exactly the sent state (whatever the local stamps).
  std::vector<std::pair<std::string, std::string>> evictions;  // (collection, id)
  bool replace = false;
};

}  // namespace blaze::store

#endif  // BLAZE_STORE_SNAPSHOT_H_
