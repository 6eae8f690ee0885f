// write_check.cc — judging an app's changes on the merged states.
#include "local/write_check.h"

#include "store/replica.h"

namespace blaze::local {

Result<store::RecordState> WriteCheck::Load(const Key& key) {
  auto it = states_.find(key);
  if (it != states_.end()) return it->second;
  BLAZE_ASSIGN_OR_RETURN(auto stored, DatabaseAccess::ReadStates(*db_, {key}));
  if (stored.empty()) return store::RecordState();
  return store::RecordState::Decode(stored.front().state);
}

Status WriteCheck::Check(const store::Change& change) {
  std::map<Key, store::RecordState> touched;  // this change's effect, kept only if all of it is allowed
  for (size_t i = 0; i < change.ops.size(); ++i) {
    const store::Op& op = change.ops[i];
    std::vector<std::string> fields;
    if (op.type == store::Op::Type::kPut) {
      for (const auto& [name, v] : op.fields) fields.push_back(name);
    } else if (op.type == store::Op::Type::kUnset) {
      fields = op.names;
    }
    BLAZE_RETURN_IF_ERROR(policy_->CheckWrite(op.collection, fields));
    Key key(op.collection, op.id);
    auto it = touched.find(key);
    if (it == touched.end()) {
      BLAZE_ASSIGN_OR_RETURN(store::RecordState st, Load(key));
      it = touched.emplace(key, std::move(st)).first;
    }
    store::RecordState& st = it->second;
    std::optional<Value> before;
    if (st.visible()) before = st.VisibleDoc();
    const Stamp stamp = change.StampOf(i);
    switch (op.type) {
      case store::Op::Type::kPut:
        st.ApplyPut(stamp, op.fields);
        break;
      case store::Op::Type::kUnset:
        st.ApplyUnset(stamp, op.names);
        break;
      case store::Op::Type::kDelete:
        st.ApplyDelete(stamp);
        break;
    }
    std::optional<Value> after;
    if (st.visible()) after = st.VisibleDoc();
    BLAZE_RETURN_IF_ERROR(policy_->CheckWriteRow(op.collection, op.id, before ? &*before : nullptr,
                                                 after ? &*after : nullptr));
  }
  for (auto& [key, st] : touched) states_[key] = std::move(st);
  return Status::Ok();
}

}  // namespace blaze::local
