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

Result<std::optional<Seq>> ForkPoint(Database& replica, NodeId self, const sync::OwnHistory& owner) {
  if (owner.stamps.empty()) return std::optional<Seq>();
  std::vector<Seq> seqs;
  for (const auto& [seq, hlc] : owner.stamps) seqs.push_back(seq);
  BLAZE_ASSIGN_OR_RETURN(auto mine, DatabaseAccess::StampsAt(replica, self, seqs));
  // Two histories of one node share a prefix and differ above it: the
  // lowest differing seq bounds the fork from above, the highest agreeing
  // seq below it from below. Seqs either side cannot tell are skipped.
  std::optional<Seq> first_differing;
  for (const auto& [seq, hlc] : owner.stamps) {
    auto it = mine.find(seq);
    if (it != mine.end() && it->second != hlc) {
      first_differing = seq;
      break;
    }
  }
  if (!first_differing) return std::optional<Seq>();
  Seq agreed = 0;
  for (const auto& [seq, hlc] : owner.stamps) {
    if (seq >= *first_differing) break;
    auto it = mine.find(seq);
    if (it != mine.end() && it->second == hlc) agreed = seq;
  }
  return std::optional<Seq>(agreed);
}

}  // namespace blaze::local
