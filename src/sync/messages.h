// messages.h — the sync protocol's messages and their BlazeBinary bodies.
//
//   hello    {node, version vector, wants answer}  sent first by both sides
//   changes  {batch, [change...]}            changes the peer lacks, per origin in seq order
//   ack      {batch, version vector}         the receiver's vector after applying a batch
//   error    {message}                       then the sender closes the link
//   grant    {policy JSON}                   cross-app: what the owner grants this app
//   snapshot {batch, index, count, vv, [record...], replace, [eviction...]}  one chunk of current state,
//            for a peer behind the sender's compacted log; the receiver merges
//            all `count` chunks of a batch at once, then acks the batch
//   own-history {[(seq, hlc)...]}            cross-app protocol version 2, owner -> app,
//            right before the owner's hello: the stamps of the app's own
//            changes the owner holds at some seqs, so a replica restored in
//            place can tell that its history forked from the owner's
//
// Encoding (docs/sync-protocol.md): one type byte, then the body. A changes
// body lists the batch's origins once (8 bytes each) and refers to them by
// index; seq and hlc are delta-coded against the previous change of the
// batch; ops use the change-log op encoding. Decoding is strict and bounded
// like every BlazeDB decoder. The 7-byte frame and encryption wrap these
// bodies in the secure channel (issue 4). Thread-safe (values only).
#ifndef BLAZE_SYNC_MESSAGES_H_
#define BLAZE_SYNC_MESSAGES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "blaze/status.h"
#include "blaze/types.h"
#include "store/change.h"
#include "store/snapshot.h"

namespace blaze::sync {

struct Hello {
  NodeId node;
  VersionVector vv;
  bool wants_answer = true;  // the sender has not heard the peer's hello yet
};
struct ChangesMsg {
  uint64_t batch = 0;
  std::vector<store::Change> changes;
};
struct Ack {
  uint64_t batch = 0;
  VersionVector vv;
};
struct ErrorMsg {
  std::string message;
};
struct SnapshotChunk {
  uint64_t batch = 0;
  uint32_t index = 0;  // 0 .. count-1
  uint32_t count = 1;
  VersionVector vv;    // the snapshot's vector (the same in every chunk)
  std::vector<store::SnapshotRecord> records;
  // Filtered streams (cross-app): records to evict, and whether the batch is
  // a full image (store/snapshot.h). Plain snapshots have neither.
  std::vector<std::pair<std::string, std::string>> evictions;
  bool replace = false;
};
// What the owner of a shared database grants the app at the other end: an
// export policy (JSON, docs/cross-app.md) with that app's entry only.
struct GrantMsg {
  std::string policy_json;
};
// What the owner of a shared database holds of the app's own node, for the
// app to compare with its file (docs/cross-app.md, "Replicas restored in
// place"): the hlc of the change the owner holds at each listed seq, seqs
// strictly increasing. Sent only on a channel of cross-app version >= 2.
struct OwnHistory {
  std::vector<std::pair<Seq, Hlc>> stamps;
};
using Message = std::variant<Hello, ChangesMsg, Ack, ErrorMsg, SnapshotChunk, GrantMsg, OwnHistory>;

enum class MessageType : uint8_t {
  kHello = 1, kChanges = 2, kAck = 3, kError = 4, kSnapshot = 5, kGrant = 6, kOwnHistory = 7
};

// At most this many stamps in an own-history message.
inline constexpr size_t kMaxOwnHistoryStamps = 128;

// Snapshot chunks hold at most this many records (a chunk stays well under
// the secure channel's message limit for ordinary records).
inline constexpr size_t kSnapshotChunkRecords = 512;
inline constexpr uint32_t kMaxSnapshotChunks = 1u << 20;

std::string EncodeMessage(const Message& m);
// kCorruption for any malformed or truncated input.
Result<Message> DecodeMessage(std::string_view bytes);

}  // namespace blaze::sync

#endif  // BLAZE_SYNC_MESSAGES_H_
