// write_check.cc — judging an app's changes on the merged states.
#include "local/write_check.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace blaze::local {

Status CheckAppWrite(const policy::AppPolicy& policy, const store::Change& change, const store::StateReader& read) {
  std::map<std::pair<std::string, std::string>, store::RecordState> touched;  // as this change's ops leave them
  for (size_t i = 0; i < change.ops.size(); ++i) {
    const store::Op& op = change.ops[i];
    std::vector<std::string> fields;
    if (op.type == store::Op::Type::kPut) {
      for (const auto& [name, v] : op.fields) fields.push_back(name);
    } else if (op.type == store::Op::Type::kUnset) {
      fields = op.names;
    }
    BLAZE_RETURN_IF_ERROR(op.type == store::Op::Type::kDelete ? policy.CheckDelete(op.collection)
                                                               : policy.CheckWrite(op.collection, fields));
    auto key = std::make_pair(op.collection, op.id);
    auto it = touched.find(key);
    if (it == touched.end()) {
      BLAZE_ASSIGN_OR_RETURN(store::RecordState st, read(op.collection, op.id));
      it = touched.emplace(std::move(key), std::move(st)).first;
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
    BLAZE_RETURN_IF_ERROR(policy.CheckWriteRow(op.collection, op.id, before ? &*before : nullptr,
                                               after ? &*after : nullptr));
  }
  return Status::Ok();
}

}  // namespace blaze::local
