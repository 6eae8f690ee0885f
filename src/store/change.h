// change.h — operations and changes, the unit of replication.
//
// A Change is everything one local transaction wrote: {origin, seq, hlc,
// ops}. Op i of a change carries the stamp (hlc + i, origin): consecutive HLC
// readings, so every write in a history has a distinct stamp and the stamps
// need no space in the encoding. Operations:
//   put(collection, id, fields)   set fields (and mark the record written)
//   unset(collection, id, names)  remove fields (a write of "absent")
//   delete(collection, id)        stamp the record deleted
// Encoding of an op list (the change log's `ops` column, and the body of the
// wire format to come): docs/on-disk-format.md. Thread-safe (values only).
#ifndef BLAZE_STORE_CHANGE_H_
#define BLAZE_STORE_CHANGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/status.h"
#include "blaze/types.h"
#include "blaze/value.h"

namespace blaze::store {

struct Op {
  enum class Type : uint8_t { kPut = 1, kUnset = 2, kDelete = 3 };
  Type type = Type::kPut;
  std::string collection;
  std::string id;
  Value::Map fields;               // kPut: the fields written
  std::vector<std::string> names;  // kUnset: the fields removed, sorted, distinct
};

struct Change {
  NodeId origin;
  Seq seq = 0;
  Hlc hlc;  // the stamp of ops[0]
  std::vector<Op> ops;
  Stamp StampOf(size_t i) const { return Stamp{Hlc{hlc.value + i}, origin}; }
};

// The outcome of applying a batch of remote changes in order.
struct BatchResult {
  size_t done = 0;        // changes processed: applied or already held
  size_t applied = 0;
  size_t duplicates = 0;  // already held: nothing changed
  Status error;           // why change `done` could not apply, if one could not
};

inline constexpr uint8_t kOpsFormatV1 = 0x01;

std::string EncodeOps(const std::vector<Op>& ops);

// kCorruption: two different changes claim (origin, seq) — two files wrote
// under one node id (a copied file, or one restored from a backup).
Status DivergentChange(NodeId origin, Seq seq);

// Streaming form of EncodeOps for the write path: append ops one by one to a
// body, then frame it with the op count.
void AppendPutOp(std::string* body, std::string_view collection, std::string_view id, const Value::Map& fields);
void AppendUnsetOp(std::string* body, std::string_view collection, std::string_view id,
                   const std::vector<std::string>& names);
void AppendDeleteOp(std::string* body, std::string_view collection, std::string_view id);
std::string FrameOps(size_t count, std::string_view body);
// kCorruption for anything but a canonical encoding.
Result<std::vector<Op>> DecodeOps(std::string_view bytes);

// Record-level effect of a change, one byte per op, kept beside the change in
// the local log for watchers: the effect sits on the last op of each record.
enum class Effect : uint8_t { kNone = 0, kInserted = 1, kUpdated = 2, kDeleted = 3 };

}  // namespace blaze::store

#endif  // BLAZE_STORE_CHANGE_H_
