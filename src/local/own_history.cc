// own_history.cc — see own_history.h.
#include "local/own_history.h"

#include <algorithm>

#include "store/replica.h"

namespace blaze::local {

std::vector<Seq> ProbeSeqs(Seq top) {
  std::vector<Seq> seqs;
  if (top == 0) return seqs;
  for (Seq down = 0;;) {
    seqs.push_back(top - down);
    const Seq next = down == 0 ? 1 : down * 2;
    if (next >= top || next < down) break;  // (next < down: it wrapped)
    down = next;
  }
  if (seqs.back() != 1) seqs.push_back(1);
  std::reverse(seqs.begin(), seqs.end());
  return seqs;
}

Result<sync::OwnHistory> OwnHistoryFor(Database& owner_db, NodeId node, Seq app_holds) {
  sync::OwnHistory out;
  BLAZE_ASSIGN_OR_RETURN(VersionVector vv, DatabaseAccess::GetVersionVector(owner_db));
  const Seq top = std::min(SeqOf(vv, node), app_holds);
  if (top == 0) return out;
  BLAZE_ASSIGN_OR_RETURN(auto stamps, DatabaseAccess::StampsAt(owner_db, node, ProbeSeqs(top)));
  for (const auto& [seq, hlc] : stamps) out.stamps.emplace_back(seq, hlc);
  return out;
}

namespace {

// The owner's stamps compared with the file's: the lowest seq where both
// can tell and differ, and every seq where both can tell and agree.
struct Comparison {
  std::optional<Seq> first_differing;
  std::vector<Seq> agreeing;  // increasing
};

Result<Comparison> Compare(Database& replica, NodeId self, const sync::OwnHistory& owner) {
  Comparison out;
  if (owner.stamps.empty()) return out;
  std::vector<Seq> seqs;
  for (const auto& [seq, hlc] : owner.stamps) seqs.push_back(seq);
  BLAZE_ASSIGN_OR_RETURN(auto mine, DatabaseAccess::StampsAt(replica, self, seqs));
  for (const auto& [seq, hlc] : owner.stamps) {
    auto it = mine.find(seq);
    if (it == mine.end()) continue;  // the file cannot tell
    if (it->second == hlc) {
      out.agreeing.push_back(seq);
    } else if (!out.first_differing) {
      out.first_differing = seq;
    }
  }
  return out;
}

}  // namespace

Result<std::optional<Seq>> ForkPoint(Database& replica, NodeId self, const sync::OwnHistory& owner) {
  // Two histories of one node share a prefix and differ above it: the
  // lowest differing seq bounds the fork from above, the highest agreeing
  // seq below it from below. Seqs either side cannot tell are skipped.
  BLAZE_ASSIGN_OR_RETURN(Comparison c, Compare(replica, self, owner));
  if (!c.first_differing) return std::optional<Seq>();
  Seq agreed = 0;
  for (Seq seq : c.agreeing) {
    if (seq < *c.first_differing) agreed = seq;
  }
  return std::optional<Seq>(agreed);
}

Result<std::optional<Seq>> ReissuePoint(Database& replica, NodeId self, const sync::OwnHistory* owner,
                                        Seq owner_holds, Seq file_holds) {
  const sync::OwnHistory none;
  const sync::OwnHistory& history = owner != nullptr ? *owner : none;
  BLAZE_ASSIGN_OR_RETURN(std::optional<Seq> fork, ForkPoint(replica, self, history));
  if (fork) return fork;
  if (owner_holds <= file_holds) return std::optional<Seq>();
  // The file is behind its own history at the owner (restored or rolled
  // back). Its changes the owner verifiably holds stay; the others may have
  // been written after the backup under seqs the owner holds other changes
  // of, so they are re-issued: one the owner does hold merges to the same
  // record states under either id.
  BLAZE_ASSIGN_OR_RETURN(Comparison c, Compare(replica, self, history));
  Seq agreed = 0;
  for (Seq seq : c.agreeing) {
    if (seq <= file_holds) agreed = seq;
  }
  return std::optional<Seq>(agreed);
}

}  // namespace blaze::local
