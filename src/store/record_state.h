// record_state.h — one record as stored: every field with its stamp, the
// record's last put stamp and its delete stamp, and the last-writer-wins
// rules that fold operations into it.
//
// Rules (docs/merge-semantics.md has them as algebra):
//   put(s, fields):  put = max(put, s); each field f takes (s, value) if
//                    s >= f.stamp (equal only when replaying the same op);
//   unset(s, names): each named field takes (s, absent) if s >= f.stamp;
//   delete(s):       del = max(del, s).
//   visible record:  put > del;  visible field: present and stamp > del.
// After every op, fields with stamp < del are dropped: they can never be
// visible again (any later op on them has a greater stamp and rewrites them),
// so dropping keeps the state canonical — two replicas with the same history
// hold byte-identical states whatever the order they saw it in.
//
// Thread-safe as a value (no shared state).
#ifndef BLAZE_STORE_RECORD_STATE_H_
#define BLAZE_STORE_RECORD_STATE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blaze/status.h"
#include "blaze/types.h"
#include "blaze/value.h"

namespace blaze::store {

struct FieldState {
  Stamp stamp;
  bool present = false;  // false: unset (a tombstone for the field)
  Value value;           // meaningful when present
};

class RecordState {
 public:
  bool visible() const { return del_ < put_; }
  const Stamp& put_stamp() const { return put_; }
  const Stamp& delete_stamp() const { return del_; }
  const std::map<std::string, FieldState, std::less<>>& fields() const { return fields_; }

  // The visible document: a map of the visible fields (empty if invisible).
  Value VisibleDoc() const;

  void ApplyPut(const Stamp& s, const Value::Map& fields);
  void ApplyUnset(const Stamp& s, const std::vector<std::string>& names);
  void ApplyDelete(const Stamp& s);
  // Folds another replica's state of the same record into this one: the
  // join of the two histories (put and delete stamps take the maximum, each
  // field the greater stamp). What a snapshot merge does, record by record.
  void Merge(const RecordState& other);
  // Drops field tombstones (unset fields) stamped before `cutoff`; true if
  // any was dropped. Compaction's part; see docs/merge-semantics.md.
  bool PurgeFieldTombstones(Hlc cutoff);
  // Forgets every stamp (and the field it carries) below `cutoff`: what a
  // snapshot merge does to incoming states on a replica that has purged
  // tombstones below it, so a snapshot read before a purge cannot bring back
  // what the purge made final. true if nothing is left.
  bool DropStampsBelow(Hlc cutoff);
  // Removes every field (value and stamp) for which keep(name) is false:
  // what an export policy strips before a record leaves its owner.
  template <typename Keep>
  void KeepFields(Keep keep) {
    for (auto it = fields_.begin(); it != fields_.end();) it = keep(it->first) ? std::next(it) : fields_.erase(it);
  }
  // Gives every stamp equal to `from` (put, delete and field stamps) the
  // origin `to`, keeping its hlc; true if any changed. What re-issuing a
  // change under a fresh node id does to the states it wrote
  // (DatabaseAccess::ReissueOwnChanges): the same write, now of `to`.
  bool Reattribute(const Stamp& from, NodeId to);
  // The greatest stamp in the state (what the clock must move past).
  Stamp MaxStamp() const;

  // Storage codec (docs/on-disk-format.md, "record state").
  std::string Encode() const;
  static Result<RecordState> Decode(std::string_view bytes);
  // Encode() of a new record after one put(s, fields), without building it.
  static std::string EncodeFresh(const Stamp& s, const Value::Map& fields);
  // VisibleDoc() of the encoded state, without building it; nullopt when the
  // record is not visible. The read path's fast lane.
  static Result<std::optional<Value>> DecodeVisibleDoc(std::string_view bytes);

  friend bool operator==(const RecordState& a, const RecordState& b);

 private:
  void Prune();
  Stamp put_;
  Stamp del_;
  std::map<std::string, FieldState, std::less<>> fields_;
};

bool operator==(const FieldState& a, const FieldState& b);

}  // namespace blaze::store

#endif  // BLAZE_STORE_RECORD_STATE_H_
