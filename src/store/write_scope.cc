// write_scope.cc — the file-level write scope: checks and JSON codec.
#include "store/write_scope.h"

#include <algorithm>

#include "blaze/json.h"

namespace blaze::store {

Status WriteScope::Check(const Op& op) const {
  auto it = collections.find(op.collection);
  if (it == collections.end()) {
    return Status::PermissionDenied("collection '" + op.collection + "' is not writable in this file (" + by + ")");
  }
  const Collection& c = it->second;
  auto check = [&](const std::string& f) -> Status {
    if (c.fields.count(f) != 0 ? !c.include_only : c.include_only) {
      return Status::PermissionDenied("field '" + f + "' of collection '" + op.collection +
                                      "' is not writable in this file (" + by + ")");
    }
    return Status::Ok();
  };
  if (op.type == Op::Type::kPut) {
    for (const auto& [name, v] : op.fields) BLAZE_RETURN_IF_ERROR(check(name));
  } else if (op.type == Op::Type::kUnset) {
    for (const auto& name : op.names) BLAZE_RETURN_IF_ERROR(check(name));
  } else if (c.include_only || !c.fields.empty()) {
    // A delete takes every field, the ones not writable here too.
    return Status::PermissionDenied("records of collection '" + op.collection +
                                    "' cannot be deleted in this file: some of their fields are not writable (" + by +
                                    ")");
  }
  return Status::Ok();
}

std::string WriteScope::Encode() const {
  Value::Map colls;
  for (const auto& [name, c] : collections) {
    Value::Array fields;
    for (const auto& f : c.fields) fields.emplace_back(f);
    Value::Map entry;
    entry.emplace(c.include_only ? "include" : "exclude", Value(std::move(fields)));
    colls.emplace(name, Value(std::move(entry)));
  }
  Value::Map top;
  top.emplace("by", Value(by));
  top.emplace("collections", Value(std::move(colls)));
  return ToJson(Value(std::move(top)));
}

Result<WriteScope> WriteScope::Decode(std::string_view text) {
  auto bad = [](const std::string& why) { return Status::Corruption("write scope: " + why); };
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return bad(parsed.status().ToString());
  if (!parsed->is_map()) return bad("not an object");
  WriteScope scope;
  const auto& top = parsed->as_map();
  auto by = top.find("by");
  if (by == top.end() || !by->second.is_string()) return bad("no \"by\" text");
  scope.by = by->second.as_string();
  auto colls = top.find("collections");
  if (colls == top.end() || !colls->second.is_map()) return bad("no \"collections\" object");
  for (const auto& [name, entry] : colls->second.as_map()) {
    if (!entry.is_map() || entry.as_map().size() != 1) return bad("collection '" + name + "' is not one field list");
    const auto& [kind, list] = *entry.as_map().begin();
    if ((kind != "include" && kind != "exclude") || !list.is_array()) return bad("collection '" + name + "'");
    Collection c;
    c.include_only = kind == "include";
    for (const auto& f : list.as_array()) {
      if (!f.is_string()) return bad("collection '" + name + "' lists a non-text field");
      c.fields.insert(f.as_string());
    }
    scope.collections.emplace(name, std::move(c));
  }
  return scope;
}

}  // namespace blaze::store
