// write_check.h — the owner's check of an app's changes against the app's
// policy, judged on the states the merge will actually produce
// (docs/cross-app.md, "App -> owner: changes, checked").
//
// The app chooses its own stamps, and the merge keeps the newest stamp per
// field (docs/merge-semantics.md): a write stamped in the past may lose to
// what the owner holds, partly or wholly, and several changes of one message
// build on each other. So the check runs inside the owner's apply
// transaction (store/change_check.h), on the stored states as the message's
// earlier changes left them, and folds each op with its real stamp into a
// copy of the record's state (store::RecordState, the same code the apply
// runs). The row check then compares the visible record before and after
// each op: inside the app's `where` before (if visible) and after (if
// visible). A refused change applies without its ops.
//
// Thread safety: a pure function of its arguments.
#ifndef BLAZE_LOCAL_WRITE_CHECK_H_
#define BLAZE_LOCAL_WRITE_CHECK_H_

#include "blaze/status.h"
#include "policy/app_policy.h"
#include "store/change.h"
#include "store/change_check.h"

namespace blaze::local {

// OK if every op of `change` is allowed on the states `read` returns;
// kPermissionDenied naming the first refused op otherwise; other codes for
// read errors.
[[nodiscard]] Status CheckAppWrite(const policy::AppPolicy& policy, const store::Change& change,
                                   const store::StateReader& read);

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_WRITE_CHECK_H_
