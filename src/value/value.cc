// value.cc — Value helpers.
#include "blaze/value.h"

namespace blaze {

const Value* Value::Find(std::string_view key) const {
  if (!is_map()) return nullptr;
  const Map& m = as_map();
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

std::string_view TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return "bool";
    case Value::Type::kInt: return "int";
    case Value::Type::kDouble: return "double";
    case Value::Type::kString: return "string";
    case Value::Type::kBytes: return "bytes";
    case Value::Type::kArray: return "array";
    case Value::Type::kMap: return "map";
  }
  return "unknown";
}

}  // namespace blaze
