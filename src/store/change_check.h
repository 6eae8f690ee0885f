// change_check.h — a check a receiver runs on each new remote change inside
// the transaction that applies it (a cross-app owner judging an app's
// writes, docs/cross-app.md). It sees the stored states as the batch's
// earlier changes left them and nothing another writer could change before
// the apply, and decides whether the change's ops apply: OK applies the
// change; kPermissionDenied applies it without its ops (its seq is still
// taken, so the origin's later changes follow in order); any other error
// stops the batch there. Changes already held are not checked.
//
// Thread safety: called on the applying thread with the database lock held;
// it must not call into the database (it reads through the given reader).
#ifndef BLAZE_STORE_CHANGE_CHECK_H_
#define BLAZE_STORE_CHANGE_CHECK_H_

#include <functional>
#include <string_view>

#include "blaze/status.h"
#include "store/change.h"
#include "store/record_state.h"

namespace blaze::store {

// The stored state of a record inside the apply transaction (a default,
// invisible RecordState when absent).
using StateReader = std::function<Result<RecordState>(std::string_view collection, std::string_view id)>;
using ChangeCheck = std::function<Status(const Change& change, const StateReader& read)>;

}  // namespace blaze::store

#endif  // BLAZE_STORE_CHANGE_CHECK_H_
