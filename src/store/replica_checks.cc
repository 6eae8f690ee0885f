// replica_checks.cc — the store's side of noticing copied files and divergent
// histories (docs/sync-protocol.md, "Copied and restored files"): rotating the
// node id, comparing received changes with held ones, and a digest of the
// visible state. Each call takes the database lock.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "store/database_impl.h"
#include "store/file_identity.h"
#include "store/replica.h"
#include "value/binary_codec.h"

namespace blaze {

Result<NodeId> DatabaseAccess::RotateNode(Database& db, NodeId expected) {
  BLAZE_RETURN_IF_ERROR(db.impl_->CheckNotInTransaction("RotateNode"));
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  BLAZE_RETURN_IF_ERROR(impl.conn_->Exec("BEGIN IMMEDIATE"));
  Result<NodeId> node = [&]() -> Result<NodeId> {
    BLAZE_ASSIGN_OR_RETURN(store::NodeRow row, store::ReadNodeRow(*impl.conn_));
    if (row.node != expected) return row.node;
    return store::RotateNodeLocked(*impl.conn_, impl.options_.random);
  }();
  Status s = node.ok() ? impl.conn_->Exec("COMMIT") : node.status();
  if (!s.ok()) {
    impl.conn_->Exec("ROLLBACK").IgnoreError();
    return s.WithContext("taking a fresh node id");
  }
  impl.node_ = *node;
  return node;
}

Status DatabaseAccess::VerifyHeld(Database& db, const std::vector<store::Change>& changes) {
  if (changes.empty()) return Status::Ok();
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  BLAZE_ASSIGN_OR_RETURN(auto stmt,
                         impl.conn_->Prepare("SELECT hlc, ops FROM blaze_changes WHERE origin = ? AND seq = ?"));
  for (const store::Change& c : changes) {
    stmt->BindInt(1, static_cast<int64_t>(c.origin.value));
    stmt->BindInt(2, static_cast<int64_t>(c.seq));
    BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
    const bool differs = row && (static_cast<uint64_t>(stmt->ColumnInt(0)) != c.hlc.value ||
                                 stmt->ColumnBlob(1) != store::EncodeOps(c.ops));
    stmt->Reset();
    if (differs) return store::DivergentChange(c.origin, c.seq);
  }
  return Status::Ok();
}

namespace {

// Two 64-bit FNV-1a streams with different offsets, finished with a
// SplitMix64 mix: a 128-bit digest for telling states apart.
class Digest128 {
 public:
  void Add(std::string_view bytes) {
    for (unsigned char ch : bytes) {
      a_ = (a_ ^ ch) * 0x100000001b3ULL;
      b_ = (b_ ^ ch) * 0x100000001b3ULL;
      b_ ^= b_ >> 29;
    }
  }
  std::string Hex() const {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, Mix(a_), Mix(b_ ^ a_));
    return buf;
  }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t a_ = 0xcbf29ce484222325ULL;
  uint64_t b_ = 0x84222325cbf29ce4ULL;
};

void PutStamp(value::Writer& w, const Stamp& s) {
  w.PutFixed64(s.hlc.value);
  w.PutFixed64(s.origin.value);
}

}  // namespace

Result<DatabaseAccess::StateDigest> DatabaseAccess::LiveStateDigest(Database& db) {
  auto& impl = *db.impl_;
  std::lock_guard<std::mutex> lock(impl.mu_);
  // One read transaction: a consistent state even while others write.
  BLAZE_RETURN_IF_ERROR(impl.conn_->Exec("BEGIN"));
  StateDigest out;
  Digest128 digest;
  Status s = [&]() -> Status {
    BLAZE_ASSIGN_OR_RETURN(out.vv, impl.GetVersionVector());
    BLAZE_ASSIGN_OR_RETURN(std::vector<std::string> names, impl.catalog_.List());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      BLAZE_ASSIGN_OR_RETURN(const store::TableInfo* table, impl.catalog_.Find(name));
      BLAZE_ASSIGN_OR_RETURN(auto stmt, impl.conn_->PrepareUncached("SELECT id, state FROM " + table->name +
                                                                     " WHERE doc IS NOT NULL ORDER BY id"));
      while (true) {
        BLAZE_ASSIGN_OR_RETURN(bool row, stmt->Step());
        if (!row) break;
        BLAZE_ASSIGN_OR_RETURN(store::RecordState st, store::RecordState::Decode(stmt->ColumnBlob(1)));
        if (!st.visible()) continue;
        std::string line;
        value::Writer w(&line);
        w.PutLengthPrefixed(name);
        w.PutLengthPrefixed(stmt->ColumnText(0));
        PutStamp(w, st.put_stamp());
        uint64_t present = 0;
        for (const auto& [field, f] : st.fields()) present += f.present ? 1 : 0;
        w.PutVarint(present);
        for (const auto& [field, f] : st.fields()) {
          if (!f.present) continue;
          w.PutLengthPrefixed(field);
          PutStamp(w, f.stamp);
          value::AppendValue(w, f.value);
        }
        digest.Add(line);
        ++out.records;
      }
    }
    return Status::Ok();
  }();
  impl.conn_->Exec(s.ok() ? "COMMIT" : "ROLLBACK").IgnoreError();
  BLAZE_RETURN_IF_ERROR(s);
  out.hex = digest.Hex();
  return out;
}

}  // namespace blaze
