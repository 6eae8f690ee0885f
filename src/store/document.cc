// document.cc — document validation and merge patch.
#include "store/document.h"

#include <cmath>
#include <string>

#include "value/utf8.h"

namespace blaze::store {
namespace {

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Status Check(const Value& v, const std::string& path, int depth) {
  if (depth > kMaxDocumentDepth) {
    return Status::InvalidArgument("document nests deeper than " + std::to_string(kMaxDocumentDepth) +
                                   " levels at '" + path + "'");
  }
  switch (v.type()) {
    case Value::Type::kNull:
    case Value::Type::kBool:
    case Value::Type::kInt:
    case Value::Type::kBytes:
      return Status::Ok();
    case Value::Type::kDouble:
      if (!std::isfinite(v.as_double())) {
        return Status::InvalidArgument("field '" + path + "' holds a NaN or infinite double; JSON cannot carry it");
      }
      return Status::Ok();
    case Value::Type::kString:
      if (!value::IsValidUtf8(v.as_string())) {
        return Status::InvalidArgument("field '" + path + "' holds a string that is not valid UTF-8; use bytes");
      }
      return Status::Ok();
    case Value::Type::kArray: {
      size_t i = 0;
      for (const Value& item : v.as_array()) {
        BLAZE_RETURN_IF_ERROR(Check(item, path + "[" + std::to_string(i++) + "]", depth + 1));
      }
      return Status::Ok();
    }
    case Value::Type::kMap: {
      const auto& m = v.as_map();
      if (m.size() == 1 && m.begin()->first == "$bytes") {
        return Status::InvalidArgument("field '" + path +
                                       "' is a map whose only key is \"$bytes\"; that shape is reserved for bytes");
      }
      for (const auto& [key, item] : m) {
        if (!value::IsValidUtf8(key)) {
          return Status::InvalidArgument("a field name under '" + path + "' is not valid UTF-8");
        }
        BLAZE_RETURN_IF_ERROR(Check(item, Join(path, key), depth + 1));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status CheckTop(const Value& doc, const char* what) {
  if (!doc.is_map()) {
    return Status::InvalidArgument(std::string(what) + " must be a JSON object (a map), got " +
                                   std::string(TypeName(doc.type())));
  }
  if (doc.Find("_id") != nullptr) {
    return Status::InvalidArgument(std::string(what) +
                                   " has a field named \"_id\"; the record id is given separately");
  }
  return Check(doc, "", 0);
}

}  // namespace

Status ValidateDocument(const Value& doc) { return CheckTop(doc, "document"); }

Status ValidateFields(const Value::Map& fields) {
  if (fields.count("_id") != 0) return Status::InvalidArgument("a put operation writes the reserved field \"_id\"");
  for (const auto& [key, item] : fields) {
    if (!value::IsValidUtf8(key)) return Status::InvalidArgument("a field name is not valid UTF-8");
    BLAZE_RETURN_IF_ERROR(Check(item, key, 1));
  }
  return Status::Ok();
}
Status ValidatePatch(const Value& patch) { return CheckTop(patch, "patch"); }

Status ValidateCollectionName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("collection name is empty; expected 1 to 256 bytes of UTF-8");
  if (name.size() > 256) return Status::InvalidArgument("collection name is longer than 256 bytes");
  if (!value::IsValidUtf8(name)) return Status::InvalidArgument("collection name is not valid UTF-8");
  return Status::Ok();
}

Value MergePatchValue(const Value* target, const Value& patch) {
  if (!patch.is_map()) return patch;
  Value::Map out = (target != nullptr && target->is_map()) ? target->as_map() : Value::Map{};
  for (const auto& [k, v] : patch.as_map()) {
    if (v.is_null()) {
      out.erase(k);
    } else {
      auto it = out.find(k);
      out.insert_or_assign(k, MergePatchValue(it == out.end() ? nullptr : &it->second, v));
    }
  }
  return Value(std::move(out));
}

}  // namespace blaze::store
