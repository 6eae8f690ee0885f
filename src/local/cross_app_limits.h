// cross_app_limits.h — what one app may make the owner of a shared database
// hold or do (docs/cross-app.md, "Limits"), and text from an app made safe
// for the owner's log. Pure functions; thread-safe.
#ifndef BLAZE_LOCAL_CROSS_APP_LIMITS_H_
#define BLAZE_LOCAL_CROSS_APP_LIMITS_H_

#include <string>
#include <string_view>
#include <vector>

#include "blaze/cross_app.h"
#include "blaze/status.h"
#include "sync/messages.h"

namespace blaze::local {

// kPermissionDenied (naming the limit) if a message from an app exceeds a
// limit of `options`: more changes in one changes message than
// max_changes_per_message.
Status CheckAppMessage(const sync::Message& m, const CrossAppOptions& options);

// `batch` as one or more chunks of the same batch id (index/count set, the
// vector and `replace` in each), each holding at most `max_records` records
// and, but for a single record larger than that, about `max_bytes` of
// encoded records and evictions: every message stays under the receiver's
// message limit.
std::vector<sync::SnapshotChunk> SplitStates(sync::SnapshotChunk batch, size_t max_records, size_t max_bytes);

// The byte budget for the records of one message under a message limit of
// `max_message_size` (room left for the vector and framing).
size_t StateBudget(size_t max_message_size);

// `text` with control characters (newlines included) and backslashes
// escaped as \n, \r, \t, \\ or \xNN: what an app said cannot start a line of
// its own, or forge one, in the owner's log.
std::string EscapeForLog(std::string_view text);

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_CROSS_APP_LIMITS_H_
