// own_history.h — telling, at a cross-app hello, whether a replica's history
// under its node id forked from what the owner holds of that node
// (docs/cross-app.md, "Replicas restored in place"; cross-app protocol
// version 2).
//
// A replica file put back from a backup in place keeps its inode and node id;
// if it is written before it reconnects, its new changes reuse seqs the owner
// already holds under that id from the lost file (the same (origin, seq), a
// different change). The owner therefore sends the app, right before its
// hello, the hlc of the change it holds of the app's node at a few seqs — the
// top both sides hold and exponentially further down (OwnHistoryFor). The
// reader compares them with its own log (ForkPoint): a stamp that differs
// means the histories forked, below the lowest differing seq and at or above
// the highest agreeing one under it. The reader then re-issues its changes
// above that point under a fresh node id (DatabaseAccess::ReissueOwnChanges)
// and reconnects; the owner keeps what it holds under the old id, which the
// reader receives like any other origin's.
//
// The owner discloses stamps only of the node the app announced, after the
// node binding accepted it (node_binding.h): an app learns nothing of other
// apps' nodes. The reader's decision concerns its own file only.
//
// Stateless functions; each call takes the database lock of the file it reads.
#ifndef BLAZE_LOCAL_OWN_HISTORY_H_
#define BLAZE_LOCAL_OWN_HISTORY_H_

#include <optional>
#include <vector>

#include "blaze/database.h"
#include "blaze/status.h"
#include "blaze/types.h"
#include "sync/messages.h"

namespace blaze::local {

// The cross-app protocol versions this build speaks (docs/cross-app.md,
// "Protocol versions"). 2 adds the own-history message.
inline constexpr uint8_t kCrossAppOwnHistoryVersion = 2;

// The seqs probed below `top`: top, top-1, top-2, top-4, ... down to 1,
// increasing (at most 65).
std::vector<Seq> ProbeSeqs(Seq top);

// What the owner (`owner_db`) sends an app that announced `node`: the stamps
// it can tell at ProbeSeqs(min(what it holds of `node`, what the app says it
// holds)). Empty when either holds none.
[[nodiscard]] Result<sync::OwnHistory> OwnHistoryFor(Database& owner_db, NodeId node, Seq app_holds);

// The reader's side: compares the owner's stamps with the file's own changes
// under `self`. nullopt when no stamp differs (no fork seen); otherwise the
// seq after which the file's changes are not the owner's (0: from the first).
[[nodiscard]] Result<std::optional<Seq>> ForkPoint(Database& replica, NodeId self, const sync::OwnHistory& owner);

// What the reader does at the owner's hello: nullopt when the file goes on
// under `self`; otherwise it continues under a fresh node id with its
// changes after the returned seq re-issued. That is the fork point when the
// stamps show one; else, when the owner holds more of `self` than the file
// (`owner_holds` > `file_holds`: the file is older than its own history),
// the highest seq both can tell and agree on (0 when none: without stamps —
// an owner of version 1, or a log pruned below them — every change of the
// file is re-issued, since any of them may be one the owner lacks).
[[nodiscard]] Result<std::optional<Seq>> ReissuePoint(Database& replica, NodeId self, const sync::OwnHistory* owner,
                                                      Seq owner_holds, Seq file_holds);

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_OWN_HISTORY_H_
