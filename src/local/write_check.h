// write_check.h — the owner's check of an app's changes against the app's
// policy, judged on the states the merge will actually produce
// (docs/cross-app.md, "App -> owner: changes, checked").
//
// The app chooses its own stamps, and the merge keeps the newest stamp per
// field (docs/merge-semantics.md): a write stamped in the past may lose to
// what the owner holds, partly or wholly, and several changes of one message
// build on each other. So each op is folded, with its real stamp, into an
// in-memory copy of the record state (store::RecordState, the same code the
// remote apply runs), starting from the owner's stored state and carrying
// over the changes of the same message accepted before it. The row check
// then compares the visible record before and after that fold: the record
// must be inside the app's `where` before (if visible) and after (if
// visible). A refused change folds nothing.
//
// Thread safety: one WriteCheck per message, used by one thread.
#ifndef BLAZE_LOCAL_WRITE_CHECK_H_
#define BLAZE_LOCAL_WRITE_CHECK_H_

#include <map>
#include <set>
#include <string>
#include <utility>

#include "blaze/database.h"
#include "policy/app_policy.h"
#include "store/change.h"
#include "store/record_state.h"

namespace blaze::local {

class WriteCheck {
 public:
  WriteCheck(Database* db, const policy::AppPolicy* policy) : db_(db), policy_(policy) {}

  // OK if every op of `change` is allowed on the states the changes checked
  // so far (and accepted) leave; the change's effect is then kept for the
  // next call. kPermissionDenied (nothing kept) if any op is refused; other
  // codes for read errors.
  [[nodiscard]] Status Check(const store::Change& change);

 private:
  using Key = std::pair<std::string, std::string>;  // (collection, id)
  // The state as the accepted changes leave it (default: absent).
  Result<store::RecordState> Load(const Key& key);

  Database* db_;
  const policy::AppPolicy* policy_;
  std::map<Key, store::RecordState> states_;
};

}  // namespace blaze::local

#endif  // BLAZE_LOCAL_WRITE_CHECK_H_
